/**
 * Volvo vendor JSON, validated field by field (see core/parse.ts). Units and enum spellings are
 * Volvo's; map.ts converts them. Numbers may arrive as strings ("47.3"), so numeric values
 * use `numLike`.
 */
import { z } from "zod";
import { numLike, optStr } from "../../core/parse.ts";

/** Connected Vehicle v2 and Location v1 wrap every body in `data`; Energy v2 does not. */
export const DataEnvelope = z.object({ data: z.unknown() });

export const VehicleList = z.array(z.object({ vin: z.string().min(1) }));

/** A Connected Vehicle v2 value: `{value, unit?, timestamp?}` (the timestamp can be missing). */
const cv = <T extends z.ZodType>(value: T) =>
  z.object({ value, unit: z.string().optional(), timestamp: z.string().optional() }).optional();
export const cvNum = cv(numLike);
export const cvEnum = cv(z.string());
export type CvNum = z.infer<typeof cvNum>;
export type CvEnum = z.infer<typeof cvEnum>;

const fields = <K extends string, S extends z.ZodType>(keys: readonly K[], schema: S) =>
  Object.fromEntries(keys.map((k) => [k, schema])) as Record<K, S>;

export const DetailsFields = {
  vin: optStr,
  modelYear: numLike.optional(),
  gearbox: optStr,
  fuelType: optStr,
  externalColour: optStr,
  batteryCapacityKWH: numLike.optional(),
  descriptions: z.object({ model: optStr, upholstery: optStr, steering: optStr }).optional(),
};

export const DOORS = [
  "frontLeftDoor",
  "frontRightDoor",
  "rearLeftDoor",
  "rearRightDoor",
  "hood",
  "tailgate",
  "tankLid",
] as const;
export const DoorsFields = { centralLock: cvEnum, ...fields(DOORS, cvEnum) };

export const WINDOWS = [
  "frontLeftWindow",
  "frontRightWindow",
  "rearLeftWindow",
  "rearRightWindow",
  "sunroof",
] as const;
export const WindowsFields = fields(WINDOWS, cvEnum);

export const OdometerFields = { odometer: cvNum };

/** Current keys, plus the pre-November-2023 ones (`tripMeter1/2`, `distanceToEmpty`). */
export const STATISTICS = [
  "averageFuelConsumption",
  "averageFuelConsumptionAutomatic",
  "averageEnergyConsumption",
  "averageEnergyConsumptionAutomatic",
  "averageEnergyConsumptionSinceCharge",
  "averageSpeed",
  "averageSpeedAutomatic",
  "tripMeterManual",
  "tripMeterAutomatic",
  "distanceToEmptyTank",
  "distanceToEmptyBattery",
  "tripMeter1",
  "tripMeter2",
  "distanceToEmpty",
] as const;
export const StatisticsFields = fields(STATISTICS, cvNum);

export const TYRES = ["frontLeft", "frontRight", "rearLeft", "rearRight"] as const;
/** Before November 2023 a wheel was `<wheel>TyrePressure`, its value object carrying a `name`. */
export const LEGACY_TYRES = TYRES.map((wheel) => `${wheel}TyrePressure` as const);
export const TyresFields = { ...fields(TYRES, cvEnum), ...fields(LEGACY_TYRES, cvEnum) };

/** The 23 bulb warnings of `/warnings`, with the lamp label each gets. */
export const LIGHTS = {
  brakeLightCenterWarning: "brake_center",
  brakeLightLeftWarning: "brake_left",
  brakeLightRightWarning: "brake_right",
  fogLightFrontWarning: "fog_front",
  fogLightRearWarning: "fog_rear",
  positionLightFrontLeftWarning: "position_front_left",
  positionLightFrontRightWarning: "position_front_right",
  positionLightRearLeftWarning: "position_rear_left",
  positionLightRearRightWarning: "position_rear_right",
  highBeamLeftWarning: "high_beam_left",
  highBeamRightWarning: "high_beam_right",
  lowBeamLeftWarning: "low_beam_left",
  lowBeamRightWarning: "low_beam_right",
  daytimeRunningLightLeftWarning: "daytime_running_left",
  daytimeRunningLightRightWarning: "daytime_running_right",
  turnIndicationFrontLeftWarning: "turn_front_left",
  turnIndicationFrontRightWarning: "turn_front_right",
  turnIndicationRearLeftWarning: "turn_rear_left",
  turnIndicationRearRightWarning: "turn_rear_right",
  registrationPlateLightWarning: "registration_plate",
  sideMarkLightsWarning: "side_marker",
  hazardLightsWarning: "hazard",
  reverseLightsWarning: "reverse",
} as const;
export const WarningsFields = fields(
  Object.keys(LIGHTS) as (keyof typeof LIGHTS)[],
  cvEnum,
);

export const DiagnosticsFields = {
  serviceWarning: cvEnum,
  serviceTrigger: cvEnum,
  engineHoursToService: cvNum,
  distanceToService: cvNum,
  washerFluidLevelWarning: cvEnum,
  timeToService: cvNum,
};

export const EngineFields = { oilLevelWarning: cvEnum, engineCoolantLevelWarning: cvEnum };
export const EngineStatusFields = { engineStatus: cvEnum };
export const BrakesFields = { brakeFluidLevelWarning: cvEnum };
export const FuelFields = { fuelAmount: cvNum, batteryChargeLevel: cvNum };

/**
 * HA reads `unavailableReason` inside `availabilityStatus`; the spec models it as a sibling
 * value object. Both are accepted.
 */
export const CommandAccessibilityFields = {
  availabilityStatus: z.object({
    value: z.string(),
    unavailableReason: z.string().optional(),
    timestamp: z.string().optional(),
  }).optional(),
  unavailableReason: cvEnum,
};

/** An Energy v2 entry that failed: it has a code and no value. */
export const EnergyError = z.object({
  status: z.literal("ERROR"),
  code: z.string().default("UNKNOWN"),
  message: z.string().optional(),
});

const energyOk = <T extends z.ZodType>(value: T) =>
  z.object({
    status: z.literal("OK"),
    value,
    unit: z.string().optional(),
    updatedAt: z.string().optional(),
  }).optional();
export type EnergyNum = z.infer<ReturnType<typeof energyOk<typeof numLike>>>;

export const EnergyStateFields = {
  batteryChargeLevel: energyOk(numLike),
  electricRange: energyOk(numLike),
  chargerConnectionStatus: energyOk(z.string()),
  chargingStatus: energyOk(z.string()),
  chargingType: energyOk(z.string()),
  chargerPowerStatus: energyOk(z.string()),
  estimatedChargingTimeToTargetBatteryChargeLevel: energyOk(numLike),
  targetBatteryChargeLevel: energyOk(numLike),
  chargingCurrentLimit: energyOk(numLike),
  chargingPower: energyOk(numLike),
};

/** `{getEnergyState: {isSupported, <field>: {isSupported}}}`; ICE cars say false throughout. */
export const EnergyCapabilities = z.object({
  getEnergyState: z.object({ isSupported: z.boolean() }).loose(),
});
export type EnergyCapabilities = z.infer<typeof EnergyCapabilities>;

/** GeoJSON Feature: coordinates are `[longitude, latitude, altitude?]`; heading is a string. */
export const LocationFields = {
  properties: z.object({
    timestamp: z.string().optional(),
    heading: numLike.optional(),
  }).optional(),
  geometry: z.object({ coordinates: z.array(z.number().finite()).min(2) }),
};
