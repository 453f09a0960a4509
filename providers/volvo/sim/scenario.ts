/**
 * Scripted Volvo days: three fictional cars over one day, as Volvo's APIs would answer them,
 * and the cassettes made from them (fixtures/volvo/<scenario>/cassette.json), written by
 * `deno task fixtures` (scripts/fixtures.ts); never edit them by hand.
 *
 * - `xc40-bev-day`: an XC40 BEV on a UK account (electric range in `mi`): two commutes, then
 *   AC charging from 41 % to 90 % with the charging power an ERROR entry while unplugged.
 * - `xc90-phev-day`: an XC90 PHEV (range in `miles`): unplugged full in the morning, drives
 *   partly on fuel, charges at night; Energy v2 answers NOT_SUPPORTED / ERROR_READING_PROPERTY
 *   for three fields all day, /fuel sends numeric strings, time to service is in days.
 * - `xc60-petrol-day`: a petrol XC60: no Energy v2 (its capabilities say so), fuel only.
 *
 * The day is the Tesla reference day (2026-03-10T00:00:00Z) so a demo can play them together.
 * Bodies follow the reference payloads (providers/volvo/testdata/) field for field: CV v2
 * values `{value, unit?, timestamp}` inside `data`, Energy v2 entries `{status, value, unit,
 * updatedAt}` or `{status: "ERROR", code, message}` with no envelope. Each field's timestamp is
 * when its value last changed, so they differ within one body as Volvo's do. The cloud gets
 * energy values every 5 minutes while a car drives or charges, and trip values (odometer,
 * statistics, diagnostics, location) when a trip ends; a parked car drops into power-saving
 * mode 30 minutes after the last activity.
 *
 * Identity is fake: VINs with valid check digits, placeholder tokens, fictional places at sea
 * in the Kattegat. Nothing here reads the clock, the network or the disk.
 */
import type { Cassette, CassetteExchange } from "../../../replay/cassette.ts";
import { withSerial } from "../../../replay/vin.ts";
import { type EndpointName, ENDPOINTS, VEHICLES_TEMPLATE } from "../api.ts";

/** 2026-03-10T00:00:00Z, the start of the Tesla reference day too. */
export const DAY_START = 1773100800;
export const DAY_LENGTH = 86_400;
export const FIXTURE_TOOL = "ev-observer providers/volvo/scenario.ts";
export const TOKEN_PATH = "/as/token.oauth2";

const hm = (h: number, m: number, s = 0) => h * 3600 + m * 60 + s;

export interface Place {
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
}

export interface Drive {
  /** Seconds from DAY_START. */
  readonly start: number;
  readonly end: number;
  readonly km: number;
  readonly to: Place;
  /** Share of the distance driven on fuel (hybrids and combustion cars). */
  readonly fuelShare: number;
  /** Tailgate opened after parking (shopping). */
  readonly tailgate?: boolean;
}

export interface Charge {
  /** Seconds from DAY_START; negative when the car was plugged in the day before. */
  readonly plug: number;
  readonly start: number;
  readonly unplug?: number;
  /** Power at the plug, watts; what reaches the pack is `CHARGE_EFFICIENCY` of it. */
  readonly powerW: number;
}

interface Battery {
  /** `batteryCapacityKWH` of the details; the usable part is taken to be all of it. */
  readonly capacityKWh: number;
  readonly kWhPer100km: number;
  readonly socStart: number;
  readonly targetPct: number;
  readonly rangeUnit: "km" | "mi" | "miles";
  /** `chargingCurrentLimit`; undefined → a NOT_SUPPORTED entry (as the reference XC90). */
  readonly currentLimitA?: number;
  /** Whether `chargingPower` and `targetBatteryChargeLevel` are readable. */
  readonly powerReadable: boolean;
  readonly targetReadable: boolean;
}

export interface VolvoCar {
  readonly scenario: string;
  readonly vin: string;
  readonly details: Record<string, unknown>;
  readonly battery?: Battery;
  readonly fuel?: { readonly startL: number; readonly lPer100km: number };
  readonly odometerKm: number;
  readonly tripManualKm: number;
  /** The previous day's last trip (the automatic trip meter before today's first drive). */
  readonly lastTripKm: number;
  readonly home: Place;
  readonly drives: readonly Drive[];
  readonly charges: readonly Charge[];
  readonly service: {
    readonly distanceKm: number;
    readonly engineHours: number;
    readonly time: { readonly value: number; readonly unit: "months" | "days" };
    readonly warning: string;
    readonly washer: string;
  };
  readonly tyres: Readonly<Record<string, string>>;
  readonly oil: string;
  readonly sunroof: string;
  /** Lamp warnings other than the default (NO_WARNING; hazard and reverse UNSPECIFIED). */
  readonly lampFailures: readonly { readonly key: string; readonly from: number }[];
  /** A window left ajar, and when. */
  readonly ajar?: { readonly key: string; readonly from: number; readonly to: number };
  /** `replay --once` polls here. */
  readonly sampleAt: number;
  readonly summary: string;
}

/** Share of the plug's power that reaches the pack. */
const CHARGE_EFFICIENCY = 0.92;
const KM_PER_MILE = 1.609344;
/** When the cars' charge settings were last changed (they carry an old `updatedAt`). */
const SETTINGS_AT = DAY_START - 40 * 86_400 + hm(9, 40, 12);
/** Where yesterday ended: the first values of the day carry this time. */
const YESTERDAY_EVENING = DAY_START - hm(5, 12);
/** A parked car drops into power-saving mode this long after the last activity. */
const AWAKE_AFTER = 1800;

// Fictional places at sea in the Kattegat: no one lives or works there.
const place = (name: string, latitude: number, longitude: number): Place => ({
  name,
  latitude,
  longitude,
});
const BEV_HOME = place("Demo Home A", 57.3, 11.6);
const BEV_WORK = place("Demo Work A", 57.42, 11.45);
const PHEV_HOME = place("Demo Home B", 57.26, 11.66);
const PHEV_WORK = place("Demo Work B", 57.4, 11.5);
const ICE_HOME = place("Demo Home C", 57.34, 11.55);
const ICE_WORK = place("Demo Work C", 57.46, 11.4);

const details = (
  vin: string,
  model: string,
  modelYear: number,
  fuelType: string,
  colour: string,
  steering: string,
  batteryCapacityKWH?: number,
) => ({
  vin,
  modelYear,
  gearbox: "AUTOMATIC",
  fuelType,
  externalColour: colour,
  ...(batteryCapacityKWH ? { batteryCapacityKWH } : {}),
  images: { exteriorImageUrl: "", internalImageUrl: "" },
  descriptions: { model, upholstery: "null", steering },
});

const NO_TYRE_WARNING = {
  frontLeft: "NO_WARNING",
  frontRight: "NO_WARNING",
  rearLeft: "NO_WARNING",
  rearRight: "NO_WARNING",
};

// WMI YV1 (Volvo cars), invented model codes, model year R = 2024 / P = 2023, serials 00000n.
// withSerial recomputes the check digit (position 9).
const BEV_VIN = withSerial("YV1XZEFV0R2000000", "000001");
const PHEV_VIN = withSerial("YV1LFBAV0R1000000", "000002");
const ICE_VIN = withSerial("YV1UZK1V0P1000000", "000003");

export const CARS: readonly VolvoCar[] = [
  {
    scenario: "xc40-bev-day",
    vin: BEV_VIN,
    details: details(BEV_VIN, "XC40", 2024, "ELECTRIC", "Sage Green", "RIGHT", 78),
    battery: {
      capacityKWh: 78,
      kWhPer100km: 20.5,
      socStart: 62,
      targetPct: 90,
      rangeUnit: "mi",
      currentLimitA: 16,
      powerReadable: true,
      targetReadable: true,
    },
    odometerKm: 18_412.6,
    tripManualKm: 1_204.3,
    lastTripKm: 12.4,
    home: BEV_HOME,
    drives: [
      { start: hm(7, 40), end: hm(8, 12), km: 38.4, to: BEV_WORK, fuelShare: 0 },
      { start: hm(17, 32), end: hm(18, 10), km: 40.1, to: BEV_HOME, fuelShare: 0, tailgate: true },
    ],
    charges: [{ plug: hm(18, 20), start: hm(18, 21), powerW: 10_800 }],
    service: {
      distanceKm: 21_800,
      engineHours: 1_180,
      time: { value: 11, unit: "months" },
      warning: "NO_WARNING",
      washer: "NO_WARNING",
    },
    tyres: NO_TYRE_WARNING,
    oil: "UNSPECIFIED",
    sunroof: "UNSPECIFIED",
    lampFailures: [{ key: "registrationPlateLightWarning", from: hm(17, 32) }],
    sampleAt: hm(19, 30),
    summary: "XC40 BEV (UK account, electric range in mi): parked at Demo Home A at 62 %, " +
      "drives 07:40-08:12 (38.4 km) and 17:32-18:10 (40.1 km), the number plate lamp fails " +
      "on the way home, plugged in 18:20 and AC charging 18:21 at 10.8 kW to 90 %, then DONE; " +
      "chargingPower is an ERROR entry (PROPERTY_NOT_FOUND) while unplugged.",
  },
  {
    scenario: "xc90-phev-day",
    vin: PHEV_VIN,
    details: details(PHEV_VIN, "XC90", 2024, "PETROL/ELECTRIC", "Onyx Black", "LEFT", 18.8),
    battery: {
      capacityKWh: 14.9,
      kWhPer100km: 22,
      socStart: 100,
      targetPct: 100,
      rangeUnit: "miles",
      powerReadable: false,
      targetReadable: false,
    },
    fuel: { startL: 52, lPer100km: 7.5 },
    odometerKm: 41_077.2,
    tripManualKm: 5_935.8,
    lastTripKm: 23.7,
    home: PHEV_HOME,
    drives: [
      { start: hm(7, 55), end: hm(8, 35), km: 41, to: PHEV_WORK, fuelShare: 0.35 },
      { start: hm(17, 10), end: hm(17, 52), km: 42, to: PHEV_HOME, fuelShare: 0.2 },
    ],
    charges: [
      { plug: -hm(10, 0), start: -hm(10, 0), unplug: hm(7, 50), powerW: 3_600 },
      { plug: hm(18, 5), start: hm(18, 6), powerW: 3_600 },
    ],
    service: {
      distanceKm: 1_900,
      engineHours: 96,
      time: { value: 26, unit: "days" },
      warning: "REGULAR_MAINTENANCE_ALMOST_TIME_FOR_SERVICE",
      washer: "NO_WARNING",
    },
    tyres: { ...NO_TYRE_WARNING, frontLeft: "LOW_PRESSURE" },
    oil: "NO_WARNING",
    sunroof: "CLOSED",
    lampFailures: [],
    sampleAt: hm(19, 0),
    summary: "XC90 PHEV (range in miles): plugged and full overnight at Demo Home B, " +
      "unplugged 07:50, drives 07:55-08:35 (41 km, 35 % on fuel) and 17:10-17:52 (42 km, " +
      "20 % on fuel), AC charging from 18:06; chargingCurrentLimit and chargingPower are " +
      "NOT_SUPPORTED and targetBatteryChargeLevel ERROR_READING_PROPERTY all day; /fuel sends " +
      "numeric strings; the front left tyre is low and service is due in 26 days.",
  },
  {
    scenario: "xc60-petrol-day",
    vin: ICE_VIN,
    details: details(ICE_VIN, "XC60", 2023, "PETROL", "Crystal White", "LEFT"),
    fuel: { startL: 46.5, lPer100km: 7.6 },
    odometerKm: 63_950.4,
    tripManualKm: 812.9,
    lastTripKm: 8.1,
    home: ICE_HOME,
    drives: [
      { start: hm(7, 10), end: hm(7, 48), km: 33.5, to: ICE_WORK, fuelShare: 1 },
      { start: hm(16, 50), end: hm(17, 31), km: 35.2, to: ICE_HOME, fuelShare: 1 },
    ],
    charges: [],
    service: {
      distanceKm: 9_400,
      engineHours: 412,
      time: { value: 7, unit: "months" },
      warning: "NO_WARNING",
      washer: "TOO_LOW",
    },
    tyres: NO_TYRE_WARNING,
    oil: "NO_WARNING",
    sunroof: "CLOSED",
    lampFailures: [],
    ajar: { key: "frontRightWindow", from: hm(7, 49), to: hm(16, 48) },
    sampleAt: hm(7, 30),
    summary: "XC60 petrol: no Energy v2 (capabilities all false), drives 07:10-07:48 " +
      "(33.5 km) and 16:50-17:31 (35.2 km), front right window ajar while parked at work, " +
      "washer fluid low all day.",
  },
];

// ---------------------------------------------------------------------------------------------
// The car's state at time t (seconds from DAY_START)
// ---------------------------------------------------------------------------------------------

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Piecewise-linear value over sorted knots; constant before the first and after the last. */
function linear(knots: readonly (readonly [number, number])[], t: number): number {
  let out = knots[0][1];
  for (let i = 1; i < knots.length; i++) {
    const [t0, v0] = knots[i - 1];
    const [t1, v1] = knots[i];
    if (t >= t1) out = v1;
    else if (t > t0) return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
  }
  return out;
}

export interface CarModel {
  readonly car: VolvoCar;
  socAt(t: number): number;
  fuelAt(t: number): number;
  /** Kilometers driven today by t (continuous while driving). */
  kmAt(t: number): number;
  /** When each charge reaches its target (seconds from DAY_START). */
  readonly chargeDone: readonly number[];
  driveAt(t: number): Drive | undefined;
  chargeAt(t: number): { charge: Charge; done: number } | undefined;
  /** The last drive that ended at or before t. */
  lastDrive(t: number): Drive | undefined;
}

export function carModel(car: VolvoCar): CarModel {
  const b = car.battery;
  const socKnots: [number, number][] = [[-DAY_LENGTH, b?.socStart ?? 0]];
  const fuelKnots: [number, number][] = [[-DAY_LENGTH, car.fuel?.startL ?? 0]];
  const kmKnots: [number, number][] = [[-DAY_LENGTH, 0]];
  const chargeDone: number[] = [];
  const events = [
    ...car.drives.map((d) => ({ at: d.start, drive: d })),
    ...car.charges.map((c) => ({ at: c.start, charge: c })),
  ].sort((x, y) => x.at - y.at);
  let soc = b?.socStart ?? 0;
  let fuel = car.fuel?.startL ?? 0;
  let km = 0;
  for (const e of events) {
    if ("drive" in e && e.drive) {
      const d = e.drive;
      const electricKm = d.km * (1 - d.fuelShare);
      socKnots.push([d.start, soc]);
      fuelKnots.push([d.start, fuel]);
      kmKnots.push([d.start, km]);
      if (b) soc -= (electricKm * b.kWhPer100km / 100) / b.capacityKWh * 100;
      if (car.fuel) fuel -= d.km * d.fuelShare * car.fuel.lPer100km / 100;
      km += d.km;
      socKnots.push([d.end, soc]);
      fuelKnots.push([d.end, fuel]);
      kmKnots.push([d.end, km]);
    } else if ("charge" in e && e.charge && b) {
      const c = e.charge;
      const pctPerS = (c.powerW * CHARGE_EFFICIENCY / 1000 / 3600) / b.capacityKWh * 100;
      const done = c.start + Math.max(0, b.targetPct - soc) / pctPerS;
      chargeDone.push(Math.round(done));
      if (done > 0) {
        socKnots.push([c.start, soc], [Math.round(done), b.targetPct]);
      }
      soc = b.targetPct;
    }
  }
  const charges = car.charges.map((charge, i) => ({ charge, done: chargeDone[i] }));
  return {
    car,
    socAt: (t) => linear(socKnots, t),
    fuelAt: (t) => linear(fuelKnots, t),
    kmAt: (t) => linear(kmKnots, t),
    chargeDone,
    driveAt: (t) => car.drives.find((d) => t >= d.start && t < d.end),
    chargeAt: (t) =>
      charges.find(({ charge }) => t >= charge.plug && t < (charge.unplug ?? Infinity)),
    lastDrive: (t) => car.drives.filter((d) => d.end <= t).at(-1),
  };
}

// ---------------------------------------------------------------------------------------------
// Endpoint values at t (without timestamps)
// ---------------------------------------------------------------------------------------------

type CvValue = { value: unknown; unit?: string };
type EnergyValue =
  | { status: "OK"; value: unknown; unit?: string }
  | { status: "ERROR"; code: string; message: string };
type Fields = Record<string, CvValue | EnergyValue>;

const NOT_SUPPORTED: EnergyValue = {
  status: "ERROR",
  code: "NOT_SUPPORTED",
  message: "Resource is not supported for this vehicle",
};
const NOT_FOUND: EnergyValue = {
  status: "ERROR",
  code: "PROPERTY_NOT_FOUND",
  message: "No valid value could be found for the requested property",
};
const ERROR_READING: EnergyValue = {
  status: "ERROR",
  code: "ERROR_READING_PROPERTY",
  message: "Failed to retrieve property.",
};
const ok = (value: unknown, unit?: string): EnergyValue => ({
  status: "OK",
  value,
  ...(unit ? { unit } : {}),
});
const cv = (value: unknown, unit?: string): CvValue => ({ value, ...(unit ? { unit } : {}) });

const LAMPS = [
  "brakeLightCenterWarning",
  "brakeLightLeftWarning",
  "brakeLightRightWarning",
  "fogLightFrontWarning",
  "fogLightRearWarning",
  "positionLightFrontLeftWarning",
  "positionLightFrontRightWarning",
  "positionLightRearLeftWarning",
  "positionLightRearRightWarning",
  "highBeamLeftWarning",
  "highBeamRightWarning",
  "lowBeamLeftWarning",
  "lowBeamRightWarning",
  "daytimeRunningLightLeftWarning",
  "daytimeRunningLightRightWarning",
  "turnIndicationFrontLeftWarning",
  "turnIndicationFrontRightWarning",
  "turnIndicationRearLeftWarning",
  "turnIndicationRearRightWarning",
  "registrationPlateLightWarning",
  "sideMarkLightsWarning",
  "hazardLightsWarning",
  "reverseLightsWarning",
];

/** The car's values per endpoint at t; what the cloud would answer (see the module doc). */
function valuesAt(m: CarModel, t: number): Partial<Record<EndpointName, Fields>> {
  const { car } = m;
  const b = car.battery;
  const drive = m.driveAt(t);
  const plugged = m.chargeAt(t);
  const last = m.lastDrive(t);
  // Energy values move in 5-minute steps while driving or charging; trip values at trip end.
  const step = (x: number) => x - (((x % 300) + 300) % 300);
  const energyT = drive || (plugged && t < plugged.done + 300) ? step(t) : t;
  const tripT = last?.end ?? -1;
  const soc = round(m.socAt(energyT), 1);
  const rangeKm = b ? m.socAt(energyT) * b.capacityKWh / b.kWhPer100km : 0;
  const kmDriven = m.kmAt(tripT);
  const out: Partial<Record<EndpointName, Fields>> = {};

  // Doors: unlock 2 min before a drive, driver's door open and shut, locked 1 min after (or
  // after the tailgate was opened and shut).
  const near = car.drives.find((d) => t >= d.start - 120 && t < d.end + (d.tailgate ? 240 : 60));
  const within = (from: number, to: number) => t >= from && t < to;
  const driverDoor = near !== undefined &&
    (within(near.start - 90, near.start - 80) || within(near.end + 20, near.end + 35));
  const tailgate = near?.tailgate === true && within(near.end + 60, near.end + 180);
  out.doors = {
    centralLock: cv(near ? "UNLOCKED" : "LOCKED"),
    frontLeftDoor: cv(driverDoor ? "OPEN" : "CLOSED"),
    frontRightDoor: cv("CLOSED"),
    rearLeftDoor: cv("CLOSED"),
    rearRightDoor: cv("CLOSED"),
    hood: cv("CLOSED"),
    tailgate: cv(tailgate ? "OPEN" : "CLOSED"),
    tankLid: cv("CLOSED"),
  };
  out.windows = {
    frontLeftWindow: cv("CLOSED"),
    frontRightWindow: cv("CLOSED"),
    rearLeftWindow: cv("CLOSED"),
    rearRightWindow: cv("CLOSED"),
    sunroof: cv(car.sunroof),
  };
  if (car.ajar && t >= car.ajar.from && t < car.ajar.to) out.windows[car.ajar.key] = cv("AJAR");
  out["engine-status"] = { engineStatus: cv(drive ? "RUNNING" : "STOPPED") };

  const awake = car.drives.some((d) => t >= d.start - 180 && t < d.end + AWAKE_AFTER) ||
    (plugged !== undefined && t < Math.max(plugged.charge.plug, plugged.done) + AWAKE_AFTER);
  out["command-accessibility"] = {
    availabilityStatus: awake
      ? cv("AVAILABLE")
      : { value: "UNAVAILABLE", unavailableReason: "POWER_SAVING_MODE" } as CvValue,
  };

  out.odometer = { odometer: cv(Math.round(car.odometerKm + kmDriven), "km") };
  out.fuel = {
    ...(car.fuel ? { fuelAmount: cv(m.fuelAt(tripT).toFixed(1), "l") } : {}),
    ...(b ? { batteryChargeLevel: cv(soc.toFixed(1), "%") } : {}),
  };

  const todays = car.drives.filter((d) => d.end <= t);
  const lastKm = last?.km ?? car.lastTripKm;
  const lastKmh = last ? round(last.km / ((last.end - last.start) / 3600), 0) : 31;
  const stats: Fields = {};
  if (car.fuel) {
    const fuelNow = m.fuelAt(tripT);
    const lastL = last ? last.km * last.fuelShare * car.fuel.lPer100km / 100 : 0;
    stats.averageFuelConsumption = cv(round(b ? 2.1 : car.fuel.lPer100km, 1), "l/100km");
    stats.averageFuelConsumptionAutomatic = cv(
      round(last ? lastL / last.km * 100 : car.fuel.lPer100km * 0.9, 1),
      "l/100km",
    );
    stats.distanceToEmptyTank = cv(Math.round(fuelNow / car.fuel.lPer100km * 100), "km");
  }
  if (b) {
    stats.averageEnergyConsumption = cv(b.kWhPer100km - 0.7, "kWh/100km");
    // The last trip's electric energy over its whole distance (the evening trip ran warmer).
    const lastKWh = last ? b.kWhPer100km * (1 - last.fuelShare) + (todays.length - 1) * 0.6 : 0;
    stats.averageEnergyConsumptionAutomatic = cv(round(last ? lastKWh : 19.4, 1), "kWh/100km");
  }
  stats.averageSpeed = cv(b ? 44 : 49, "km/h");
  stats.averageSpeedAutomatic = cv(lastKmh, "km/h");
  stats.tripMeterManual = cv(round(car.tripManualKm + kmDriven, 1), "km");
  stats.tripMeterAutomatic = cv(lastKm, "km");
  // Always km and rounded to 10 km (home-assistant/core #150213).
  if (b) stats.distanceToEmptyBattery = cv(Math.round(rangeKm / 10) * 10, "km");
  out.statistics = stats;

  out.tyres = Object.fromEntries(Object.entries(car.tyres).map(([k, v]) => [k, cv(v)]));
  out.warnings = Object.fromEntries(LAMPS.map((key) => {
    const failed = car.lampFailures.some((f) => f.key === key && t >= f.from);
    const idle = key === "hazardLightsWarning" || key === "reverseLightsWarning";
    return [key, cv(failed ? "FAILURE" : idle ? "UNSPECIFIED" : "NO_WARNING")];
  }));
  const hoursDriven = todays.reduce((h, d) => h + (d.end - d.start) / 3600, 0);
  out.diagnostics = {
    serviceWarning: cv(car.service.warning),
    engineHoursToService: cv(Math.floor(car.service.engineHours - hoursDriven), "h"),
    distanceToService: cv(Math.round((car.service.distanceKm - kmDriven) / 100) * 100, "km"),
    washerFluidLevelWarning: cv(car.service.washer),
    timeToService: cv(car.service.time.value, car.service.time.unit),
  };
  out.engine = { oilLevelWarning: cv(car.oil), engineCoolantLevelWarning: cv("NO_WARNING") };
  out.brakes = { brakeFluidLevelWarning: cv("NO_WARNING") };

  const where = last?.to ?? car.home;
  const from = last ? (last.to === car.home ? car.drives[0].to : car.home) : car.drives[0].to;
  out.location = {
    // Not a value object: the GeoJSON Feature is built in bodyOf().
    feature: cv({ where, heading: String(Math.round(bearing(from, where))) }),
  };

  if (b) {
    const charging = plugged && t >= plugged.charge.start && t < plugged.done;
    const done = plugged && t >= plugged.done;
    const minutes = charging ? Math.ceil((plugged.done - energyT) / 60) : 0;
    out["energy-state"] = {
      batteryChargeLevel: ok(soc, "percentage"),
      electricRange: ok(
        Math.round(b.rangeUnit === "km" ? rangeKm : rangeKm / KM_PER_MILE),
        b.rangeUnit,
      ),
      chargerConnectionStatus: ok(plugged ? "CONNECTED" : "DISCONNECTED"),
      chargingStatus: ok(charging ? "CHARGING" : done ? "DONE" : "IDLE"),
      chargingType: ok(plugged ? "AC" : "NONE"),
      chargerPowerStatus: ok(
        charging
          ? "PROVIDING_POWER"
          : done
          ? "POWER_AVAILABLE_BUT_NOT_ACTIVATED"
          : plugged
          ? "PROVIDING_POWER"
          : "NO_POWER_AVAILABLE",
      ),
      estimatedChargingTimeToTargetBatteryChargeLevel: ok(minutes, "minutes"),
      chargingCurrentLimit: b.currentLimitA ? ok(b.currentLimitA, "ampere") : NOT_SUPPORTED,
      targetBatteryChargeLevel: b.targetReadable ? ok(b.targetPct, "percentage") : ERROR_READING,
      chargingPower: !b.powerReadable
        ? NOT_SUPPORTED
        : charging
        ? ok(plugged!.charge.powerW - (Math.floor(energyT / 300) % 3) * 40, "watts")
        : plugged
        ? ok(0, "watts")
        : NOT_FOUND,
    };
  }
  return out;
}

function bearing(a: Place, b: Place): number {
  const rad = (d: number) => d * Math.PI / 180;
  const y = Math.sin(rad(b.longitude - a.longitude)) * Math.cos(rad(b.latitude));
  const x = Math.cos(rad(a.latitude)) * Math.sin(rad(b.latitude)) -
    Math.sin(rad(a.latitude)) * Math.cos(rad(b.latitude)) *
      Math.cos(rad(b.longitude - a.longitude));
  return (Math.atan2(y, x) * 180 / Math.PI + 360) % 360;
}

// ---------------------------------------------------------------------------------------------
// Bodies with per-field timestamps, and the cassettes
// ---------------------------------------------------------------------------------------------

const cvTime = (t: number) => new Date((DAY_START + t) * 1000).toISOString();
/** Energy v2 sends no milliseconds. */
const energyTime = (t: number) => cvTime(t).replace(/\.\d{3}Z$/, "Z");

/** Fields of the charge settings: changed weeks ago, so their updatedAt is old. */
const SETTINGS = new Set(["chargingCurrentLimit", "targetBatteryChargeLevel"]);

function bodyOf(name: EndpointName, fields: Fields, changed: Record<string, number>): unknown {
  if (name === "energy-state") {
    return Object.fromEntries(
      Object.entries(fields).map(([k, v]) => {
        if (v && "status" in v && v.status === "ERROR") return [k, v];
        return [k, { ...v, updatedAt: energyTime(changed[k]) }];
      }),
    );
  }
  if (name === "location") {
    const { where, heading } = (fields.feature as CvValue).value as {
      where: Place;
      heading: string;
    };
    return {
      status: 200,
      operationId: "00000000-0000-4000-8000-000000000000",
      data: {
        type: "Feature",
        properties: { timestamp: cvTime(changed.feature), heading },
        geometry: { type: "Point", coordinates: [where.longitude, where.latitude, 0.0] },
      },
    };
  }
  return {
    data: Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, { ...v, timestamp: cvTime(changed[k]) }]),
    ),
  };
}

/** The next 5-minute step of the day at or after t. */
const up = (t: number) => Math.ceil(t / 300) * 300;

/** Every moment at which some value can change: events, and 5-minute steps while active. */
function sampleTimes(m: CarModel): number[] {
  const times = new Set<number>([0]);
  const add = (t: number) => {
    if (t >= 0 && t < DAY_LENGTH) times.add(Math.round(t));
  };
  for (const d of m.car.drives) {
    for (const dt of [-180, -120, -90, -80, 0, 20, 35, 60, 180, 240, AWAKE_AFTER]) {
      add(d.start + dt);
    }
    for (const dt of [0, 20, 35, 60, 180, 240, AWAKE_AFTER]) add(d.end + dt);
    for (let t = up(d.start); t < d.end; t += 300) add(t);
  }
  m.car.charges.forEach((c, i) => {
    const done = m.chargeDone[i];
    for (const t of [c.plug, c.start, done, done + 300, done + AWAKE_AFTER, c.unplug ?? -1]) add(t);
    for (let t = up(c.start); t < done + 300; t += 300) add(t);
  });
  for (const f of m.car.lampFailures) add(f.from);
  if (m.car.ajar) [m.car.ajar.from, m.car.ajar.to].forEach(add);
  return [...times].sort((a, b) => a - b);
}

const JSON_HEADERS = { "content-type": "application/json" };
const exchange = (
  at: number,
  method: "GET" | "POST",
  path: string,
  json: unknown,
  note?: string,
  body?: Record<string, string>,
): CassetteExchange => ({
  at,
  request: { method, path, query: {}, ...(body ? { body } : {}) },
  response: { status: 200, headers: { ...JSON_HEADERS }, json },
  ...(note ? { note } : {}),
});

/** The cassette of one car's day. */
export function dayCassette(car: VolvoCar): Cassette {
  const m = carModel(car);
  const path = (name: EndpointName) => ENDPOINTS[name].template.replace("{vin}", car.vin);
  const exchanges: CassetteExchange[] = [
    exchange(
      0,
      "POST",
      TOKEN_PATH,
      {
        access_token: "fake-volvo-access-token",
        refresh_token: "fake-volvo-refresh-token",
        id_token: "fake-volvo-id-token",
        token_type: "Bearer",
        expires_in: 299,
      },
      "token refresh (placeholder tokens; 5 min lifetime)",
      { grant_type: "refresh_token" },
    ),
    exchange(0, "GET", VEHICLES_TEMPLATE, { data: [{ vin: car.vin }] }),
    exchange(0, "GET", path("details"), { data: car.details }),
    exchange(0, "GET", path("energy-capabilities"), capabilities(car)),
  ];
  const last: Record<string, string> = {};
  const changed: Record<string, Record<string, number>> = {};
  const initial = (field: string) =>
    SETTINGS.has(field) ? SETTINGS_AT - DAY_START : YESTERDAY_EVENING - DAY_START;
  for (const t of sampleTimes(m)) {
    const values = valuesAt(m, t);
    for (const name of Object.keys(values) as EndpointName[]) {
      const fields = values[name]!;
      const text = JSON.stringify(fields);
      if (last[name] === text) continue;
      const prev = last[name] ? JSON.parse(last[name]) as Fields : undefined;
      const stamps = changed[name] ??= {};
      for (const [k, v] of Object.entries(fields)) {
        if (!prev) stamps[k] = initial(k);
        else if (JSON.stringify(prev[k]) !== JSON.stringify(v)) stamps[k] = t;
      }
      last[name] = text;
      exchanges.push(exchange(t, "GET", path(name), bodyOf(name, fields, stamps)));
    }
  }
  return {
    version: 1,
    vendor: "volvo",
    scenario: car.scenario,
    tool: FIXTURE_TOOL,
    startedAt: DAY_START,
    duration: DAY_LENGTH,
    sampleAt: car.sampleAt,
    description: `A scripted (not recorded) Volvo day, generated by ${FIXTURE_TOOL}; do not ` +
      `edit by hand. Starts 2026-03-10T00:00:00Z. ${car.summary} Fake identity (VIN ` +
      `${car.vin} with a valid check digit), placeholder tokens, fictional places at sea.`,
    exchanges: exchanges.sort((a, b) => a.at - b.at),
  };
}

/** Energy v2 capabilities: what the car's Energy v2 state can tell (all false on an ICE car). */
function capabilities(car: VolvoCar) {
  const b = car.battery;
  const field = (supported: boolean) => ({ isSupported: supported });
  return {
    getEnergyState: {
      isSupported: b !== undefined,
      batteryChargeLevel: field(b !== undefined),
      electricRange: field(b !== undefined),
      chargerConnectionStatus: field(b !== undefined),
      chargingStatus: field(b !== undefined),
      chargingType: field(b !== undefined),
      chargerPowerStatus: field(b !== undefined),
      estimatedChargingTimeToTargetBatteryChargeLevel: field(b !== undefined),
      targetBatteryChargeLevel: field(b !== undefined),
      chargingCurrentLimit: field(b?.currentLimitA !== undefined),
      chargingPower: field(b?.powerReadable ?? false),
    },
  };
}

/** Every cassette this module makes, by path relative to fixtures/. */
export function volvoCassettes(): Record<string, Cassette> {
  return Object.fromEntries(
    CARS.map((car) => [`volvo/${car.scenario}/cassette.json`, dayCassette(car)]),
  );
}
