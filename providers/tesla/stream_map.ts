/**
 * Fleet Telemetry as fleet-telemetry's MQTT dispatcher publishes it → what the stream knows →
 * a snapshot. Every Tesla unit conversion of the stream happens here, once (Tesla streams
 * miles, mph, bar, hours, kWh and kW: https://developer.tesla.com/docs/fleet-api/fleet-telemetry/available-data).
 *
 * Topics: `<topic_base>/<VIN>/v/<Field>` (one message per field, the bare JSON value),
 * `…/connectivity`, `…/alerts/<Name>/current|history`, `…/errors/<Name>`. No message carries a
 * sample time. Older firmware sent numbers as strings and enums without their prefix
 * (`"P"` for `"ShiftStateP"`); `null` means the car measures the field but it is invalid now.
 */
import type { Labels, Sample, Snapshot, StateSample, VehicleRef } from "../../core/snapshot.ts";
import * as u from "../../core/units.ts";

export type TelemetryTopic =
  | { readonly kind: "data"; readonly vin: string; readonly field: string }
  | { readonly kind: "connectivity"; readonly vin: string }
  | {
    readonly kind: "alert";
    readonly vin: string;
    readonly name: string;
    readonly current: boolean;
  }
  | { readonly kind: "error"; readonly vin: string; readonly name: string };

/** The parts of a topic under `topicBase`; undefined for anything else. */
export function parseTopic(topic: string, topicBase: string): TelemetryTopic | undefined {
  if (!topic.startsWith(topicBase + "/")) return undefined;
  const parts = topic.slice(topicBase.length + 1).split("/");
  const [vin, kind, name, which] = parts;
  if (!vin) return undefined;
  if (kind === "v" && parts.length === 3 && name) return { kind: "data", vin, field: name };
  if (kind === "connectivity" && parts.length === 2) return { kind: "connectivity", vin };
  if (
    kind === "alerts" && parts.length === 4 && name && (which === "current" || which === "history")
  ) {
    return { kind: "alert", vin, name, current: which === "current" };
  }
  if (kind === "errors" && parts.length === 3 && name) return { kind: "error", vin, name };
  return undefined;
}

/** A field's value as the stream keeps it; `null`: invalid now (the series goes absent). */
export type FieldValue =
  | number
  | boolean
  | string
  | null
  | { readonly latitude: number; readonly longitude: number }
  | Readonly<Record<string, boolean>>;

type Decoder = (raw: unknown) => FieldValue | undefined;

const number: Decoder = (raw) => {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  // Untyped firmware: "20.027"; the server rewrites scientific notation as "%.5f".
  if (typeof raw === "string" && /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(raw)) {
    return Number(raw);
  }
  return undefined;
};
const boolean: Decoder = (raw) => {
  if (typeof raw === "boolean") return raw;
  if (raw === "true" || raw === "false") return raw === "true";
  return undefined;
};
const text: Decoder = (raw) => typeof raw === "string" ? raw : undefined;
/** The enum value's name without its prefix: `ShiftStateP` and `P` both give `P`. */
const enumOf = (prefix: string): Decoder => (raw) => {
  if (typeof raw !== "string" || raw === "") return undefined;
  return raw.startsWith(prefix) && raw.length > prefix.length ? raw.slice(prefix.length) : raw;
};
const location: Decoder = (raw) => {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const { latitude, longitude } = raw as Record<string, unknown>;
    if (typeof latitude === "number" && typeof longitude === "number") {
      return { latitude, longitude };
    }
    return undefined;
  }
  // The untyped form, "(37.412374 N, 122.145867 W)" (the server converts it, but not always).
  const m = typeof raw === "string" &&
    /^\(?\s*(\d+(?:\.\d+)?)\s*([NS])\s*,\s*(\d+(?:\.\d+)?)\s*([EW])\s*\)?$/.exec(raw);
  if (!m) return undefined;
  return {
    latitude: Number(m[1]) * (m[2] === "S" ? -1 : 1),
    longitude: Number(m[3]) * (m[4] === "W" ? -1 : 1),
  };
};
/** DoorState (six booleans) and the TPMS warnings (only the true flags are sent). */
const flags: Decoder = (raw) => {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const out: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "boolean") return undefined;
    out[k] = v;
  }
  return out;
};

/**
 * The fields ev-observer maps (each has a catalog metric). Others are ignored, not counted:
 * the owner may stream fields for other consumers.
 */
export const FIELDS: Readonly<Record<string, Decoder>> = {
  Soc: number,
  BatteryLevel: number,
  EstBatteryRange: number,
  RatedRange: number,
  IdealBatteryRange: number,
  Odometer: number,
  VehicleSpeed: number,
  Gear: enumOf("ShiftState"),
  Location: location,
  GpsHeading: number,
  ACChargingPower: number,
  DCChargingPower: number,
  ACChargingEnergyIn: number,
  DCChargingEnergyIn: number,
  ChargerVoltage: number,
  ChargeAmps: number,
  ChargerPhases: number,
  DetailedChargeState: enumOf("DetailedChargeState"),
  ChargeLimitSoc: number,
  TimeToFullCharge: number,
  EstimatedHoursToChargeTermination: number,
  ChargePortDoorOpen: boolean,
  EnergyRemaining: number,
  ModuleTempMax: number,
  ModuleTempMin: number,
  InsideTemp: number,
  OutsideTemp: number,
  TpmsPressureFl: number,
  TpmsPressureFr: number,
  TpmsPressureRl: number,
  TpmsPressureRr: number,
  TpmsHardWarnings: flags,
  TpmsSoftWarnings: flags,
  Locked: boolean,
  DoorState: flags,
  SentryMode: enumOf("SentryModeState"),
  Version: text,
  CarType: enumOf("CarType"),
  Trim: text,
  VehicleName: text,
};

export type Decoded =
  | { readonly ok: true; readonly value: FieldValue }
  | { readonly ok: false; readonly problem: string }
  /** A field ev-observer does not map. */
  | { readonly ok: "ignored" };

/** One `…/v/<Field>` payload, decoded; never throws. */
export function decodeField(field: string, payload: Uint8Array | string): Decoded {
  if (!Object.hasOwn(FIELDS, field)) return { ok: "ignored" };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === "string" ? payload : new TextDecoder().decode(payload));
  } catch {
    return { ok: false, problem: "not JSON" };
  }
  if (raw === null) return { ok: true, value: null };
  const value = FIELDS[field](raw);
  return value === undefined
    ? { ok: false, problem: "unexpected value type" }
    : { ok: true, value };
}

export interface Connectivity {
  readonly connectionId: string;
  readonly connected: boolean;
  /** Server time, Unix seconds (whole seconds). */
  readonly createdAt?: number;
}

/** A `…/connectivity` payload; undefined when malformed. */
export function decodeConnectivity(payload: Uint8Array | string): Connectivity | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === "string" ? payload : new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== "object") return undefined;
  const { ConnectionId, Status, CreatedAt } = raw as Record<string, unknown>;
  if (typeof ConnectionId !== "string" || (Status !== "CONNECTED" && Status !== "DISCONNECTED")) {
    return undefined;
  }
  const at = typeof CreatedAt === "string" ? Date.parse(CreatedAt) / 1000 : NaN;
  return {
    connectionId: ConnectionId,
    connected: Status === "CONNECTED",
    ...(Number.isFinite(at) ? { createdAt: at } : {}),
  };
}

const CHARGING: Readonly<Record<string, string>> = {
  Disconnected: "disconnected",
  NoPower: "no_power",
  Starting: "starting",
  Charging: "charging",
  Complete: "complete",
  Stopped: "stopped",
};
const SHIFT: Readonly<Record<string, string>> = {
  P: "park",
  D: "drive",
  R: "reverse",
  N: "neutral",
};
/** As the Owner/Fleet API's `vehicle_config.car_type` spells them, so `model` stays one value. */
const CAR_TYPES: Readonly<Record<string, string>> = {
  ModelS: "models",
  ModelX: "modelx",
  Model3: "model3",
  ModelY: "modely",
  Cybertruck: "cybertruck",
  SemiTruck: "semi",
};
const lookup = (table: Readonly<Record<string, string>>, key: string) =>
  Object.hasOwn(table, key) ? table[key] : undefined;
const TIRES = [
  ["Fl", "front_left"],
  ["Fr", "front_right"],
  ["Rl", "rear_left"],
  ["Rr", "rear_right"],
] as const;

export interface StreamMapOptions {
  /** Export latitude/longitude/heading (the config's `location`). */
  readonly location: boolean;
  /** Sample time, Unix seconds: when the newest message of the snapshot arrived. */
  readonly sampledAt: number;
}

/** What the stream knows of one car → a full snapshot of it (state online). */
export function streamSnapshot(
  vehicle: VehicleRef,
  fields: ReadonlyMap<string, FieldValue>,
  opts: StreamMapOptions,
): Snapshot {
  const num = (f: string) => {
    const v = fields.get(f);
    return typeof v === "number" ? v : undefined;
  };
  const str = (f: string) => {
    const v = fields.get(f);
    return typeof v === "string" ? v : undefined;
  };
  const bit = (f: string) => {
    const v = fields.get(f);
    return typeof v === "boolean" ? (v ? 1 : 0) : undefined;
  };
  const obj = (f: string) => {
    const v = fields.get(f);
    return v !== null && typeof v === "object" ? v as Record<string, unknown> : undefined;
  };
  const samples: Sample[] = [];
  const states: StateSample[] = [];
  const add = (metric: string, value: number | undefined, labels?: Labels) => {
    if (value === undefined || !Number.isFinite(value)) return;
    samples.push(labels ? { metric, value, labels } : { metric, value });
  };
  const conv = (v: number | undefined, f: (x: number) => number) =>
    v === undefined ? undefined : f(v);

  // Battery and range: percent → ratio, miles → meters, kWh → J.
  add("ev.battery.level", conv(num("BatteryLevel"), u.percentToRatio));
  add("ev.battery.usable_level", conv(num("Soc"), u.percentToRatio));
  add("ev.battery.range", conv(num("RatedRange"), u.milesToMeters), { estimate: "rated" });
  add("ev.battery.range", conv(num("EstBatteryRange"), u.milesToMeters), {
    estimate: "estimated",
  });
  add("ev.battery.range", conv(num("IdealBatteryRange"), u.milesToMeters), { estimate: "ideal" });
  add("ev.battery.module.temperature", num("ModuleTempMin"), { bound: "min" });
  add("ev.battery.module.temperature", num("ModuleTempMax"), { bound: "max" });
  add("ev.battery.energy_remaining", conv(num("EnergyRemaining"), u.kwhToJoules));
  add("ev.odometer", conv(num("Odometer"), u.milesToMeters));

  // Charging: kW → W, kWh → J, hours → s.
  const detailed = str("DetailedChargeState");
  if (detailed !== undefined) {
    states.push({ metric: "ev.charging.state", state: lookup(CHARGING, detailed) ?? "unknown" });
    if (detailed !== "Unknown") add("ev.charging.plugged_in", detailed === "Disconnected" ? 0 : 1);
  }
  add("ev.charging.port_open", bit("ChargePortDoorOpen"));
  // One charger at a time: DC when it delivers, else AC.
  const dc = num("DCChargingPower");
  const ac = num("ACChargingPower");
  add("ev.charging.power", conv(dc !== undefined && dc > 0 ? dc : ac ?? dc, u.kwToWatts));
  add("ev.charging.voltage", num("ChargerVoltage"));
  add("ev.charging.current", num("ChargeAmps"));
  add("ev.charging.phases", num("ChargerPhases"));
  // DCChargingEnergyIn is measured at the battery and valid for AC sessions too.
  add(
    "ev.charging.energy_added",
    conv(num("DCChargingEnergyIn") ?? num("ACChargingEnergyIn"), u.kwhToJoules),
  );
  add("ev.charging.limit", conv(num("ChargeLimitSoc"), u.percentToRatio));
  add(
    "ev.charging.time_to_full",
    conv(num("TimeToFullCharge") ?? num("EstimatedHoursToChargeTermination"), u.hoursToSeconds),
  );

  // Driving: mph → m/s.
  add("ev.drive.speed", conv(num("VehicleSpeed"), u.mphToMetersPerSecond));
  const gear = str("Gear");
  if (gear !== undefined) {
    // Invalid/SNA: the selector reports nothing, which the car does parked and asleep.
    const shift = gear === "Invalid" || gear === "SNA" ? "park" : lookup(SHIFT, gear);
    states.push({ metric: "ev.drive.shift_state", state: shift ?? "unknown" });
  }
  if (opts.location) {
    const loc = obj("Location");
    if (loc) {
      add("ev.location.latitude", loc.latitude as number);
      add("ev.location.longitude", loc.longitude as number);
    }
    add("ev.location.heading", num("GpsHeading"));
  }

  // Climate (°C already).
  add("ev.climate.inside.temperature", num("InsideTemp"));
  add("ev.climate.outside.temperature", num("OutsideTemp"));

  // Tires: bar → Pa; warnings name only the wheels that warn.
  for (const [suffix, wheel] of TIRES) {
    add("ev.tire.pressure", conv(num(`TpmsPressure${suffix}`), u.barToPascals), { wheel });
  }
  for (const [field, severity] of [["TpmsSoftWarnings", "soft"], ["TpmsHardWarnings", "hard"]]) {
    const warn = obj(field);
    if (!warn) continue;
    for (const [, wheel] of TIRES) {
      add("ev.tire.warning", warn[wheel] === true ? 1 : 0, { wheel, severity });
    }
  }

  // Body.
  const doors = obj("DoorState");
  if (doors) {
    // Firmware before 2024.44.32 swapped PassengerFront and DriverRear; its `Version` then
    // held the available update, so the swap cannot be told from the stream: taken as sent.
    const door = (key: string) =>
      typeof doors[key] === "boolean" ? (doors[key] ? 1 : 0) : undefined;
    add("ev.door.open", door("DriverFront"), { door: "front_left" });
    add("ev.door.open", door("PassengerFront"), { door: "front_right" });
    add("ev.door.open", door("DriverRear"), { door: "rear_left" });
    add("ev.door.open", door("PassengerRear"), { door: "rear_right" });
    add("ev.trunk.open", door("TrunkFront"), { trunk: "front" });
    add("ev.trunk.open", door("TrunkRear"), { trunk: "rear" });
  }
  add("ev.locked", bit("Locked"));
  const sentry = str("SentryMode");
  if (sentry !== undefined && sentry !== "Unknown") add("ev.sentry_mode", sentry === "Off" ? 0 : 1);

  const info: Labels = {};
  const name = str("VehicleName") ?? vehicle.name;
  if (name) info.name = name;
  const car = str("CarType");
  if (car) info.model = lookup(CAR_TYPES, car) ?? car.toLowerCase();
  const trim = str("Trim");
  if (trim) info.trim = trim;
  const version = str("Version");
  if (version) info.software_version = version.split(" ")[0];

  return { vehicle, sampledAt: opts.sampledAt, state: "online", samples, states, info };
}
