/**
 * Volvo vendor JSON → Snapshot. Every unit conversion for Volvo happens here, once.
 *
 * Each endpoint's body (without its `data` envelope) has its own mapper; a snapshot holds the
 * values of the endpoints that were read. Bad fields are dropped and counted. The details and
 * Energy v2 capabilities also give the facts (VehicleFacts) the provider plans requests with.
 */
import { z } from "zod";
import { newestSampleTime, parseFields, type ParseReport, reportField } from "../../core/parse.ts";
import type {
  Labels,
  Sample,
  Snapshot,
  StateSample,
  VehicleRef,
  VehicleState,
} from "../../core/snapshot.ts";
import * as u from "../../core/units.ts";
import type { EndpointName } from "./api.ts";
import { usableCapacityKwh } from "./capacity.ts";
import {
  BrakesFields,
  CommandAccessibilityFields,
  type CvEnum,
  type CvNum,
  DetailsFields,
  DiagnosticsFields,
  DoorsFields,
  EnergyCapabilities,
  EnergyError,
  type EnergyNum,
  EnergyStateFields,
  EngineFields,
  EngineStatusFields,
  FuelFields,
  LIGHTS,
  LocationFields,
  OdometerFields,
  StatisticsFields,
  TyresFields,
  WarningsFields,
  WindowsFields,
} from "./types.ts";

/** What the provider learns once per vehicle and uses to plan requests. */
export interface VehicleFacts {
  /** Vehicle details were read (they return 500 for some cars: retried until they work). */
  details: boolean;
  /** `PETROL`, `DIESEL`, `ELECTRIC`, `PETROL/ELECTRIC`, `NONE` (an EX30 says NONE). */
  fuelType?: string;
  capabilities?: EnergyCapabilities;
  /** Endpoints that answered 404 for this car: not asked again. */
  readonly unsupported: Set<EndpointName>;
}

export const newFacts = (): VehicleFacts => ({ details: false, unsupported: new Set() });

/** Facts the provider plans with, from the details and the Energy v2 capabilities. */
export function learn(
  f: VehicleFacts,
  name: EndpointName,
  body: unknown,
  report: ParseReport,
): void {
  if (name === "details") {
    f.details = true;
    const fuel = z.object({ fuelType: z.string() }).safeParse(body);
    if (fuel.success) f.fuelType = fuel.data.fuelType;
  } else if (name === "energy-capabilities") {
    const caps = EnergyCapabilities.safeParse(body);
    if (caps.success) f.capabilities = caps.data;
    else reportField(report, "energy-capabilities.getEnergyState", "missing or invalid");
  }
}

/** Energy v2 serves this field for the car (per its capabilities). */
export function energyGives(f: VehicleFacts, field: string): boolean {
  const state = f.capabilities?.getEnergyState;
  if (!state?.isSupported) return false;
  const entry = state[field] as { isSupported?: unknown } | undefined;
  return entry?.isSupported !== false;
}

export interface MapOptions {
  readonly report: ParseReport;
  readonly facts?: VehicleFacts;
  /**
   * When the bodies were read (Unix s): vendor times well after it are refused, and it is the
   * sample time when no value carries a believable timestamp.
   */
  readonly now: number;
}

/** Collects one snapshot's values, each tagged with the endpoint it came from. */
class Collector {
  readonly samples: Sample[] = [];
  readonly states: StateSample[] = [];
  readonly info: Labels = {};
  /** Vendor times of the values read: field, Unix s. */
  readonly stamps: [string, number][] = [];
  state: VehicleState = "unknown";
  source = "";
  constructor(readonly report: ParseReport) {}

  add(metric: string, value: number | undefined, labels?: Labels): void {
    if (value === undefined) return;
    // A finite vendor number can overflow in a unit conversion (1e306 km → meters).
    if (!Number.isFinite(value)) {
      return reportField(this.report, metric, "not finite in base units");
    }
    this.samples.push({ metric, value, source: this.source, ...(labels ? { labels } : {}) });
  }

  set(metric: string, state: string | undefined, labels?: Labels): void {
    if (state === undefined) return;
    this.states.push({ metric, state, source: this.source, ...(labels ? { labels } : {}) });
  }

  stamp(iso: string | undefined, field: string): void {
    if (iso === undefined) return;
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) reportField(this.report, field, "timestamp is not a date");
    else this.stamps.push([field, ms / 1000]);
  }

  /** A numeric value converted by its unit (or `unit` when Volvo omits it); bad units count. */
  num(
    field: string,
    v: CvNum | EnergyNum,
    convert: (value: number, unit: string) => number | undefined,
    unit?: string,
  ): number | undefined {
    if (!v) return undefined;
    const t = v as { timestamp?: string; updatedAt?: string };
    this.stamp(t.timestamp ?? t.updatedAt, field);
    if (v.value === null) return undefined;
    const given = v.unit ?? unit;
    if (given === undefined) {
      reportField(this.report, field, "no unit");
      return undefined;
    }
    const out = convert(v.value, given);
    if (out === undefined) reportField(this.report, field, `unexpected unit "${given}"`);
    return out;
  }

  /**
   * An enum value through `table`. A value the table maps to undefined carries no information
   * (`UNSPECIFIED` for a flag); one missing from the table is counted and becomes "unknown".
   */
  enum<T>(
    field: string,
    v: { value: string; timestamp?: string; updatedAt?: string } | undefined,
    table: Record<string, T | undefined>,
    unknown: T,
  ): T | undefined {
    if (!v) return undefined;
    this.stamp(v.timestamp ?? v.updatedAt, field);
    // Own keys only: "constructor" or "toString" from a vendor must not match Object's.
    if (Object.hasOwn(table, v.value)) return table[v.value];
    reportField(this.report, field, `unknown value "${v.value.slice(0, 40)}"`);
    return unknown;
  }

  /** An enum that is a 0/1 flag; unknown values give no sample. */
  flag(field: string, v: CvEnum, table: Record<string, number | undefined>): number | undefined {
    return this.enum(field, v, table, undefined);
  }
}

// Unit conversions by vendor unit spelling. Undefined = a unit we do not know: counted, dropped.
const percent = (v: number, unit: string) =>
  ["%", "percentage", "percent"].includes(unit.toLowerCase()) ? u.percentToRatio(v) : undefined;
const watts = (v: number, unit: string) => {
  const x = unit.toLowerCase();
  if (x === "w" || x === "watts") return v;
  return x === "kw" || x === "kilowatts" ? u.kwToWatts(v) : undefined;
};
const amperes = (v: number, unit: string) =>
  ["a", "ampere", "amperes"].includes(unit.toLowerCase()) ? v : undefined;
const liters = (v: number, unit: string) =>
  ["l", "liters", "litres"].includes(unit.toLowerCase()) ? v : undefined;
/** kWh/100km → Wh/km: 1 kWh/100 km = 1000 Wh / 100 km = 10 Wh/km. */
const whPerKm = (v: number, unit: string) =>
  unit.toLowerCase() === "kwh/100km" ? v * 10 : undefined;
const litersPer100km = (v: number, unit: string) =>
  ["l/100km", "liters_per_100_kilometers"].includes(unit.toLowerCase()) ? v : undefined;

const OPEN: Record<string, number | undefined> = {
  OPEN: 1,
  AJAR: 1,
  CLOSED: 0,
  UNSPECIFIED: undefined,
};
const LOCK: Record<string, number | undefined> = {
  LOCKED: 1,
  UNLOCKED: 0,
  // Transitional or absent: no reading to give.
  LOCKING: undefined,
  UNLOCKING: undefined,
  UNSPECIFIED: undefined,
};
const RUNNING: Record<string, number | undefined> = { RUNNING: 1, STOPPED: 0 };
const TIRE: Record<string, string> = {
  NO_WARNING: "ok",
  // The pre-November-2023 spelling of "no warning".
  NORMAL: "ok",
  LOW_PRESSURE: "low",
  VERY_LOW_PRESSURE: "very_low",
  HIGH_PRESSURE: "high",
  UNSPECIFIED: "unknown",
};
const LIGHT: Record<string, string> = {
  NO_WARNING: "ok",
  FAILURE: "failure",
  UNSPECIFIED: "unknown",
};
const FLUID: Record<string, string> = {
  NO_WARNING: "ok",
  TOO_LOW: "too_low",
  TOO_HIGH: "too_high",
  SERVICE_REQUIRED: "service_required",
  UNSPECIFIED: "unknown",
};
const SERVICE: Record<string, string> = {
  NO_WARNING: "ok",
  UNKNOWN_WARNING: "unknown",
  DISTANCE_DRIVEN_ALMOST_TIME_FOR_SERVICE: "distance_almost_due",
  DISTANCE_DRIVEN_TIME_FOR_SERVICE: "distance_due",
  DISTANCE_DRIVEN_OVERDUE_FOR_SERVICE: "distance_overdue",
  ENGINE_HOURS_ALMOST_TIME_FOR_SERVICE: "engine_hours_almost_due",
  ENGINE_HOURS_TIME_FOR_SERVICE: "engine_hours_due",
  ENGINE_HOURS_OVERDUE_FOR_SERVICE: "engine_hours_overdue",
  REGULAR_MAINTENANCE_ALMOST_TIME_FOR_SERVICE: "maintenance_almost_due",
  REGULAR_MAINTENANCE_TIME_FOR_SERVICE: "maintenance_due",
  REGULAR_MAINTENANCE_OVERDUE_FOR_SERVICE: "maintenance_overdue",
};
const PLUG: Record<string, string> = {
  CONNECTED: "connected",
  DISCONNECTED: "disconnected",
  FAULT: "fault",
};
const SUPPLY: Record<string, string> = {
  PROVIDING_POWER: "providing_power",
  POWER_AVAILABLE_BUT_NOT_ACTIVATED: "not_activated",
  NO_POWER_AVAILABLE: "no_power",
  FAULT: "fault",
};
const CHARGING_TYPE: Record<string, string> = { AC: "ac", DC: "dc", NONE: "none" };
/** `IDLE` is resolved with the plug and supply state (see chargingState). */
const CHARGING: Record<string, string> = {
  CHARGING: "charging",
  DONE: "complete",
  SCHEDULED: "scheduled",
  DISCHARGING: "discharging",
  ERROR: "error",
  IDLE: "idle",
};

/** Idle means unplugged, plugged without a live supply, or plugged and stopped. */
function chargingState(status: string, plug?: string, supply?: string): string {
  if (status !== "idle") return status;
  if (plug === "disconnected") return "disconnected";
  if (plug === "connected") return supply === "no_power" ? "no_power" : "stopped";
  return "unknown";
}

const WHEEL: Record<string, string> = {
  frontLeft: "front_left",
  frontRight: "front_right",
  rearLeft: "rear_left",
  rearRight: "rear_right",
};
const SIDES = ["frontLeft", "frontRight", "rearLeft", "rearRight"] as const;

/** Vendor enum → label value: `PETROL/ELECTRIC` → `petrol_electric`. */
const labelValue = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "_");

type Mapper = (c: Collector, body: unknown, f: VehicleFacts) => void;

const MAPPERS: Record<EndpointName, Mapper> = {
  "details"(c, body) {
    const d = parseFields(c.report, "details", body, DetailsFields);
    if (d.descriptions?.model) c.info.model = d.descriptions.model;
    if (d.modelYear != null) c.info.model_year = String(d.modelYear);
    if (d.fuelType) c.info.fuel_type = labelValue(d.fuelType);
    if (d.gearbox) c.info.gearbox = labelValue(d.gearbox);
    if (d.externalColour) c.info.exterior_color = d.externalColour;
    // Volvo sends the literal string "null" when it does not know.
    const upholstery = d.descriptions?.upholstery;
    if (upholstery && upholstery !== "null") c.info.upholstery = upholstery;
    // kWh → J; absent on combustion cars.
    if (d.batteryCapacityKWH) c.add("ev.battery.capacity", u.kwhToJoules(d.batteryCapacityKWH));
    const usable = usableCapacityKwh(d.fuelType, d.batteryCapacityKWH);
    if (usable !== undefined) c.add("ev.battery.usable_capacity", u.kwhToJoules(usable));
  },

  "doors"(c, body) {
    const d = parseFields(c.report, "doors", body, DoorsFields);
    c.add("ev.locked", c.flag("doors.centralLock", d.centralLock, LOCK));
    for (const side of SIDES) {
      const key = `${side}Door` as const;
      c.add("ev.door.open", c.flag(`doors.${key}`, d[key], OPEN), { door: WHEEL[side] });
    }
    // The hood is the front lid (a frunk on electric Volvos), as Tesla's front trunk is.
    c.add("ev.trunk.open", c.flag("doors.hood", d.hood, OPEN), { trunk: "front" });
    c.add("ev.trunk.open", c.flag("doors.tailgate", d.tailgate, OPEN), { trunk: "rear" });
    c.add("ev.door.open", c.flag("doors.tankLid", d.tankLid, OPEN), { door: "tank_lid" });
  },

  "windows"(c, body) {
    const w = parseFields(c.report, "windows", body, WindowsFields);
    for (const side of SIDES) {
      const key = `${side}Window` as const;
      c.add("ev.window.open", c.flag(`windows.${key}`, w[key], OPEN), { window: WHEEL[side] });
    }
    c.add("ev.window.open", c.flag("windows.sunroof", w.sunroof, OPEN), { window: "sunroof" });
  },

  "odometer"(c, body) {
    const o = parseFields(c.report, "odometer", body, OdometerFields);
    c.add("ev.odometer", c.num("odometer.odometer", o.odometer, u.distanceToMeters));
  },

  "statistics"(c, body) {
    const s = parseFields(c.report, "statistics", body, StatisticsFields);
    const put = (
      key: keyof typeof s,
      metric: string,
      convert: (v: number, unit: string) => number | undefined,
      labels?: Labels,
    ) => c.add(metric, c.num(`statistics.${key}`, s[key], convert), labels);
    const manual = { trip: "manual" };
    const automatic = { trip: "automatic" };
    put("averageEnergyConsumption", "ev.trip.average_energy_consumption", whPerKm, manual);
    put(
      "averageEnergyConsumptionAutomatic",
      "ev.trip.average_energy_consumption",
      whPerKm,
      automatic,
    );
    put("averageEnergyConsumptionSinceCharge", "ev.trip.average_energy_consumption", whPerKm, {
      trip: "since_charge",
    });
    put("averageFuelConsumption", "ev.trip.average_fuel_consumption", litersPer100km, manual);
    put(
      "averageFuelConsumptionAutomatic",
      "ev.trip.average_fuel_consumption",
      litersPer100km,
      automatic,
    );
    put("averageSpeed", "ev.trip.average_speed", u.speedToMetersPerSecond, manual);
    put("averageSpeedAutomatic", "ev.trip.average_speed", u.speedToMetersPerSecond, automatic);
    // Before November 2023 the trip meters were tripMeter1/2 and the tank range distanceToEmpty.
    put("tripMeterManual", "ev.trip.distance", u.distanceToMeters, manual);
    put("tripMeter1", "ev.trip.distance", u.distanceToMeters, manual);
    put("tripMeterAutomatic", "ev.trip.distance", u.distanceToMeters, automatic);
    put("tripMeter2", "ev.trip.distance", u.distanceToMeters, automatic);
    put("distanceToEmptyTank", "ev.fuel.range", u.distanceToMeters);
    put("distanceToEmpty", "ev.fuel.range", u.distanceToMeters);
    // Always km and rounded to 10 km, even for mile-region cars; Energy v2 has the finer one.
    put("distanceToEmptyBattery", "ev.battery.range", u.distanceToMeters, {
      estimate: "trip_computer",
    });
  },

  "tyres"(c, body) {
    const t = parseFields(c.report, "tyres", body, TyresFields);
    for (const side of SIDES) {
      const legacy = `${side}TyrePressure` as const;
      const [key, v] = t[side] ? [side, t[side]] : [legacy, t[legacy]];
      c.set("ev.tire.pressure_state", c.enum(`tyres.${key}`, v, TIRE, "unknown"), {
        wheel: WHEEL[side],
      });
    }
    // A tyre under a key no wheel maps to would otherwise vanish without a trace.
    if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      for (const key of Object.keys(body)) {
        if (!Object.hasOwn(TyresFields, key)) reportField(c.report, `tyres.${key}`, "not mapped");
      }
    }
  },

  "warnings"(c, body) {
    const w = parseFields(c.report, "warnings", body, WarningsFields);
    for (const [key, light] of Object.entries(LIGHTS) as [keyof typeof LIGHTS, string][]) {
      c.set("ev.light.warning", c.enum(`warnings.${key}`, w[key], LIGHT, "unknown"), { light });
    }
  },

  "diagnostics"(c, body) {
    const d = parseFields(c.report, "diagnostics", body, DiagnosticsFields);
    c.set(
      "ev.service.warning",
      c.enum("diagnostics.serviceWarning", d.serviceWarning, SERVICE, "unknown"),
    );
    // serviceTrigger is not exported: its values are undocumented, and the service warning
    // already says which counter (distance, engine hours, maintenance) triggered.
    c.add(
      "ev.service.engine_time_remaining",
      c.num("diagnostics.engineHoursToService", d.engineHoursToService, u.durationToSeconds, "h"),
    );
    c.add(
      "ev.service.distance_remaining",
      c.num("diagnostics.distanceToService", d.distanceToService, u.distanceToMeters),
    );
    // months (30.436875 days each) or days → s.
    c.add(
      "ev.service.time_remaining",
      c.num("diagnostics.timeToService", d.timeToService, u.durationToSeconds),
    );
    c.set(
      "ev.fluid.warning",
      c.enum("diagnostics.washerFluidLevelWarning", d.washerFluidLevelWarning, FLUID, "unknown"),
      { fluid: "washer" },
    );
  },

  "engine"(c, body) {
    const e = parseFields(c.report, "engine", body, EngineFields);
    c.set(
      "ev.fluid.warning",
      c.enum("engine.oilLevelWarning", e.oilLevelWarning, FLUID, "unknown"),
      {
        fluid: "oil",
      },
    );
    c.set(
      "ev.fluid.warning",
      c.enum("engine.engineCoolantLevelWarning", e.engineCoolantLevelWarning, FLUID, "unknown"),
      { fluid: "coolant" },
    );
  },

  "brakes"(c, body) {
    const b = parseFields(c.report, "brakes", body, BrakesFields);
    c.set(
      "ev.fluid.warning",
      c.enum("brakes.brakeFluidLevelWarning", b.brakeFluidLevelWarning, FLUID, "unknown"),
      { fluid: "brake" },
    );
  },

  "engine-status"(c, body) {
    const e = parseFields(c.report, "engine-status", body, EngineStatusFields);
    c.add("ev.engine.running", c.flag("engine-status.engineStatus", e.engineStatus, RUNNING));
  },

  "fuel"(c, body, f) {
    const x = parseFields(c.report, "fuel", body, FuelFields);
    c.add("ev.fuel.amount", c.num("fuel.fuelAmount", x.fuelAmount, liters));
    // Energy v2's level is fresher; /fuel's is the only one on cars without Energy v2.
    const soc = c.num("fuel.batteryChargeLevel", x.batteryChargeLevel, percent);
    if (!energyGives(f, "batteryChargeLevel")) c.add("ev.battery.level", soc);
  },

  "command-accessibility"(c, body) {
    const a = parseFields(c.report, "command-accessibility", body, CommandAccessibilityFields);
    const status = a.availabilityStatus;
    if (!status) return;
    c.stamp(status.timestamp, "command-accessibility.availabilityStatus");
    if (status.value === "AVAILABLE") {
      c.state = "online";
      return;
    }
    const reason = status.unavailableReason ?? a.unavailableReason?.value;
    c.state = reason === "NO_INTERNET"
      ? "offline"
      : reason === "POWER_SAVING_MODE"
      ? "asleep"
      : reason === "CAR_IN_USE" || reason === "OTA_INSTALLATION_IN_PROGRESS"
      ? "online"
      : "unknown";
  },

  "energy-state"(c, body) {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      reportField(c.report, "energy-state", "expected an object");
      return;
    }
    // An ERROR entry is the vendor saying "no value": drop the metric, count the code.
    const ok: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(body)) {
      const err = EnergyError.safeParse(entry);
      if (!err.success) {
        ok[key] = entry;
        continue;
      }
      c.report.readings?.count("ev.vendor.value_errors", {
        provider: c.report.provider,
        field: `energy.${key}`,
        code: err.data.code,
      });
      c.report.log?.debug("vendor reported no value", {
        field: `energy.${key}`,
        code: err.data.code,
      });
    }
    const e = parseFields(c.report, "energy", ok, EnergyStateFields);
    c.add("ev.battery.level", c.num("energy.batteryChargeLevel", e.batteryChargeLevel, percent));
    // km, mi or miles, by the account's region.
    c.add(
      "ev.battery.range",
      c.num("energy.electricRange", e.electricRange, u.distanceToMeters),
      { estimate: "estimated" },
    );
    const plug = c.enum(
      "energy.chargerConnectionStatus",
      e.chargerConnectionStatus,
      PLUG,
      "unknown",
    );
    c.set("ev.charging.plug_state", plug);
    c.add(
      "ev.charging.plugged_in",
      plug === "connected" ? 1 : plug === "disconnected" ? 0 : undefined,
    );
    const supply = c.enum("energy.chargerPowerStatus", e.chargerPowerStatus, SUPPLY, "unknown");
    c.set("ev.charging.supply_state", supply);
    const status = c.enum("energy.chargingStatus", e.chargingStatus, CHARGING, "unknown");
    if (status) c.set("ev.charging.state", chargingState(status, plug, supply));
    c.set(
      "ev.charging.type",
      c.enum("energy.chargingType", e.chargingType, CHARGING_TYPE, "unknown"),
    );
    c.add(
      "ev.charging.time_to_full",
      c.num(
        "energy.estimatedChargingTimeToTargetBatteryChargeLevel",
        e.estimatedChargingTimeToTargetBatteryChargeLevel,
        u.durationToSeconds,
        "minutes",
      ),
    );
    c.add(
      "ev.charging.limit",
      c.num("energy.targetBatteryChargeLevel", e.targetBatteryChargeLevel, percent, "percentage"),
    );
    // The user's AC current limit: what Tesla calls the requested current.
    c.add(
      "ev.charging.requested_current",
      c.num("energy.chargingCurrentLimit", e.chargingCurrentLimit, amperes, "ampere"),
      { bound: "request" },
    );
    c.add("ev.charging.power", c.num("energy.chargingPower", e.chargingPower, watts, "watts"));
  },

  // Facts only: what it says about the car steers which endpoints are read (see learn()).
  "energy-capabilities"() {},

  "location"(c, body) {
    const l = parseFields(c.report, "location", body, LocationFields);
    c.stamp(l.properties?.timestamp, "location.properties.timestamp");
    const coords = l.geometry?.coordinates;
    if (coords) {
      c.add("ev.location.longitude", coords[0]);
      c.add("ev.location.latitude", coords[1]);
      c.add("ev.location.altitude", coords[2]);
    }
    c.add("ev.location.heading", l.properties?.heading ?? undefined);
  },
};

/**
 * Maps endpoint bodies (without their `data` envelope) to one partial snapshot naming those
 * endpoints as its sources. Bad fields are dropped and counted; the rest is used.
 */
export function mapBodies(
  vehicle: VehicleRef,
  bodies: Partial<Record<EndpointName, unknown>>,
  opts: MapOptions,
): Snapshot {
  const c = new Collector(opts.report);
  const f = opts.facts ?? newFacts();
  const sources = Object.keys(bodies) as EndpointName[];
  for (const name of sources) {
    c.source = name;
    MAPPERS[name](c, bodies[name], f);
  }
  return {
    vehicle,
    sampledAt: newestSampleTime(opts.report, c.stamps, opts.now),
    readAt: opts.now,
    state: c.state,
    samples: c.samples,
    states: c.states,
    info: c.info,
    partial: { sources },
  };
}
