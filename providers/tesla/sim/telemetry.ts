/**
 * A fleet-telemetry emulator: what Tesla's fleet-telemetry server publishes to MQTT for the
 * simulated car of the reference day (scenario.ts), second by second:
 *
 * - topics `<topic_base>/<VIN>/v/<Field>` and `…/connectivity`; one message per field, the
 *   fields of one record in random order; the payload is the bare value as Go's encoding/json
 *   writes it (sorted keys, `<>&` escaped, float32 printed short, enum value names with their
 *   prefix, `null` for invalid), timestamps in whole seconds;
 * - per field, `interval_seconds` and `minimum_delta` as the car applies them: a changed value
 *   is sent once its interval has passed since the field was last sent; every field is sent
 *   when the car connects;
 * - silent while the car sleeps: CONNECTED when it wakes, DISCONNECTED when it falls asleep;
 * - an outage (the server unreachable): the car keeps its records, up to 5,000 messages, and
 *   delivers them all right after it reconnects, before live data.
 *
 * Tesla's units throughout: miles, mph, bar, kW, kWh, hours, °C, percent.
 */
import type { TeslaScenario } from "./scenario.ts";

export interface FieldConfig {
  readonly interval_seconds: number;
  readonly minimum_delta?: number;
}

/**
 * A field set for an owner who wants drives seen within seconds and pays per signal: fast
 * gear, speed and charge state; slow range and temperatures; facts only when they change.
 * Location every 5 s (50 m: any moving car) keeps a drive's newest value under 5 s old, at
 * about 2,200 signals on the reference day ($0.43 a month). Energy left to 0.1 kWh: at 0.5 the
 * last few tenths a drive used stayed unsent until the car next woke (3.7 % of the day's drives).
 */
export const DEFAULT_FIELDS: Readonly<Record<string, FieldConfig>> = {
  Gear: { interval_seconds: 1 },
  VehicleSpeed: { interval_seconds: 2, minimum_delta: 2 },
  Location: { interval_seconds: 5, minimum_delta: 50 },
  GpsHeading: { interval_seconds: 10, minimum_delta: 5 },
  Odometer: { interval_seconds: 30, minimum_delta: 0.1 },
  DetailedChargeState: { interval_seconds: 1 },
  ChargePortDoorOpen: { interval_seconds: 1 },
  Locked: { interval_seconds: 1 },
  DoorState: { interval_seconds: 1 },
  SentryMode: { interval_seconds: 1 },
  Soc: { interval_seconds: 60, minimum_delta: 0.5 },
  BatteryLevel: { interval_seconds: 60, minimum_delta: 0.5 },
  EstBatteryRange: { interval_seconds: 120, minimum_delta: 1 },
  RatedRange: { interval_seconds: 120, minimum_delta: 1 },
  IdealBatteryRange: { interval_seconds: 120, minimum_delta: 1 },
  EnergyRemaining: { interval_seconds: 120, minimum_delta: 0.1 },
  ACChargingPower: { interval_seconds: 60, minimum_delta: 0.5 },
  DCChargingPower: { interval_seconds: 60, minimum_delta: 1 },
  DCChargingEnergyIn: { interval_seconds: 300, minimum_delta: 0.5 },
  ChargerVoltage: { interval_seconds: 60, minimum_delta: 5 },
  ChargeAmps: { interval_seconds: 60, minimum_delta: 1 },
  ChargerPhases: { interval_seconds: 300 },
  ChargeLimitSoc: { interval_seconds: 60 },
  TimeToFullCharge: { interval_seconds: 300, minimum_delta: 0.25 },
  InsideTemp: { interval_seconds: 300, minimum_delta: 1 },
  OutsideTemp: { interval_seconds: 600, minimum_delta: 1 },
  ModuleTempMin: { interval_seconds: 600, minimum_delta: 2 },
  ModuleTempMax: { interval_seconds: 600, minimum_delta: 2 },
  TpmsPressureFl: { interval_seconds: 3600, minimum_delta: 0.1 },
  TpmsPressureFr: { interval_seconds: 3600, minimum_delta: 0.1 },
  TpmsPressureRl: { interval_seconds: 3600, minimum_delta: 0.1 },
  TpmsPressureRr: { interval_seconds: 3600, minimum_delta: 0.1 },
  Version: { interval_seconds: 3600 },
  CarType: { interval_seconds: 3600 },
  VehicleName: { interval_seconds: 3600 },
};

export type FieldValue =
  | number
  | boolean
  | string
  | null
  | { readonly [key: string]: number | boolean };

/** The car's Fleet Telemetry fields at one moment, from the polled body of the same moment. */
export function carFields(data: Record<string, unknown>): Record<string, FieldValue> {
  const cs = data.charge_state as Record<string, number | string | boolean | null>;
  const ds = data.drive_state as Record<string, number | string | null>;
  const cl = data.climate_state as Record<string, number | boolean>;
  const vs = data.vehicle_state as Record<string, number | string | boolean>;
  const num = (v: unknown) => typeof v === "number" ? v : null;
  const charging = cs.charging_state === "Charging";
  return {
    Gear: ds.shift_state === null ? null : `ShiftState${ds.shift_state}`,
    VehicleSpeed: num(ds.speed) ?? 0,
    Location: { latitude: ds.latitude as number, longitude: ds.longitude as number },
    GpsHeading: num(ds.heading),
    Odometer: num(vs.odometer),
    DetailedChargeState: `DetailedChargeState${cs.charging_state}`,
    ChargePortDoorOpen: cs.charge_port_door_open as boolean,
    Locked: vs.locked as boolean,
    DoorState: {
      DriverFront: vs.df !== 0,
      DriverRear: vs.dr !== 0,
      PassengerFront: vs.pf !== 0,
      PassengerRear: vs.pr !== 0,
      TrunkFront: vs.ft !== 0,
      TrunkRear: vs.rt !== 0,
    },
    SentryMode: vs.sentry_mode ? "SentryModeStateArmed" : "SentryModeStateOff",
    Soc: num(cs.usable_battery_level),
    BatteryLevel: num(cs.battery_level),
    EstBatteryRange: num(cs.est_battery_range),
    RatedRange: num(cs.battery_range),
    IdealBatteryRange: num(cs.ideal_battery_range),
    EnergyRemaining: num(cs.energy_remaining),
    ACChargingPower: charging ? num(cs.charger_power) : 0,
    DCChargingPower: 0,
    DCChargingEnergyIn: num(cs.charge_energy_added),
    ChargerVoltage: num(cs.charger_voltage),
    ChargeAmps: num(cs.charger_actual_current),
    ChargerPhases: num(cs.charger_phases),
    ChargeLimitSoc: num(cs.charge_limit_soc),
    TimeToFullCharge: num(cs.time_to_full_charge),
    InsideTemp: num(cl.inside_temp),
    OutsideTemp: num(cl.outside_temp),
    ModuleTempMin: num(cs.module_temp_min),
    ModuleTempMax: num(cs.module_temp_max),
    TpmsPressureFl: num(vs.tpms_pressure_fl),
    TpmsPressureFr: num(vs.tpms_pressure_fr),
    TpmsPressureRl: num(vs.tpms_pressure_rl),
    TpmsPressureRr: num(vs.tpms_pressure_rr),
    Version: String(vs.car_version).split(" ")[0],
    CarType: "CarTypeModel3",
    VehicleName: String(vs.vehicle_name),
  };
}

/** Location is a pair of doubles; every other number of the stream is a float32. */
const DOUBLES = new Set(["Location"]);

/** A value as Go's encoding/json marshals it (float32 numbers unless `double`). */
export function goJson(value: unknown, double = false): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return goNumber(value, double);
  if (typeof value === "string") return goString(value);
  if (Array.isArray(value)) return `[${value.map((v) => goJson(v, double)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  // Go sorts map keys by their bytes.
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  return `{${keys.map((k) => `${goString(k)}:${goJson(obj[k], double)}`).join(",")}}`;
}

function goString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** strconv.FormatFloat(f, 'f' or 'e', -1, 32|64) as encoding/json chooses it. */
function goNumber(n: number, double: boolean): string {
  if (!Number.isFinite(n)) throw new Error("encoding/json cannot marshal NaN or Inf");
  let digits = String(n);
  if (!double) {
    const f = Math.fround(n);
    // The shortest decimal that reads back as the same float32.
    for (let p = 1; p <= 9; p++) {
      const candidate = Number(f.toPrecision(p));
      if (Math.fround(candidate) === f) {
        digits = String(candidate);
        break;
      }
    }
  }
  // Go switches to exponent form at the same bounds as JavaScript, but writes e-07, not e-7.
  return digits.replace(/e([+-])(\d)$/, "e$10$2");
}

/** A whole-second RFC 3339 UTC time, as the server writes `CreatedAt`. */
export function goTime(unixS: number): string {
  return new Date(Math.floor(unixS) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface Message {
  readonly topic: string;
  readonly payload: string;
  /** Seconds from the scenario start at which the server publishes it. */
  readonly t: number;
  /** Part of a backlog delivered after an outage. */
  readonly backlog?: boolean;
}

export interface EmulatorOptions {
  readonly scenario: TeslaScenario;
  readonly topicBase?: string;
  readonly fields?: Readonly<Record<string, FieldConfig>>;
  /** The server is unreachable over [from, to): the car buffers (seconds from day start). */
  readonly outages?: readonly { readonly from: number; readonly to: number }[];
  /** Is the car awake at t (default: the scenario's own state)? */
  readonly awake?: (t: number) => boolean;
  /** Seed of the field order within a record. */
  readonly seed?: number;
}

/** The car's buffer (Tesla: "5,000 messages (≥ 2,500 s of data)"); the oldest go first. */
export const BACKLOG_LIMIT = 5000;

export class TelemetryEmulator {
  readonly topicBase: string;
  readonly fields: Readonly<Record<string, FieldConfig>>;
  /** Vehicle-data messages published so far: Tesla bills each as a streaming signal. */
  signals = 0;
  readonly #o: EmulatorOptions;
  readonly #sent = new Map<string, { value: FieldValue; at: number }>();
  #connected = false;
  #connections = 0;
  #connectionId = "";
  #buffer: Message[] = [];
  #random: () => number;

  constructor(options: EmulatorOptions) {
    this.#o = options;
    this.topicBase = options.topicBase ?? "telemetry";
    this.fields = options.fields ?? DEFAULT_FIELDS;
    let s = options.seed ?? 1;
    // A small deterministic generator: the same day gives the same order.
    this.#random = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  }

  get #vin(): string {
    return this.#o.scenario.vin;
  }

  /** What the server publishes during second t (call with t = 0, 1, 2, … in order). */
  step(t: number): Message[] {
    const awake = this.#o.awake?.(t) ?? this.#o.scenario.stateAt(t) === "online";
    const out = this.#o.outages?.some((o) => t >= o.from && t < o.to) ?? false;
    const messages: Message[] = [];
    if (this.#connected && (!awake || out)) {
      // The socket closes: the car slept, or it lost the server.
      messages.push(this.#connectivity(t, false));
      this.#connected = false;
    }
    if (!awake) return messages;
    if (out) {
      this.#buffer.push(...this.#record(t, false).map((m) => ({ ...m, backlog: true })));
      const over = this.#buffer.length - BACKLOG_LIMIT;
      if (over > 0) this.#buffer.splice(0, over);
      return messages;
    }
    let startup = false;
    if (!this.#connected) {
      // A new socket: CONNECTED, what the car kept meanwhile, then every field once.
      this.#connected = true;
      startup = true;
      messages.push(this.#connectivity(t, true));
      messages.push(...this.#buffer.map((m) => ({ ...m, t })));
      this.#buffer = [];
    }
    messages.push(...this.#record(t, startup));
    return messages;
  }

  /** Every message of the seconds [from, to). */
  range(from: number, to: number): Message[] {
    const out: Message[] = [];
    for (let t = from; t < to; t++) out.push(...this.step(t));
    return out;
  }

  /** The fields due at t: changed beyond their delta and their interval passed; all on connect. */
  #record(t: number, startup: boolean): Message[] {
    const values = carFields(this.#o.scenario.vehicleDataAt(t));
    const due: Message[] = [];
    for (const [field, config] of Object.entries(this.fields)) {
      if (!(field in values)) continue;
      const value = values[field];
      const last = this.#sent.get(field);
      if (!startup && last) {
        if (t - last.at < config.interval_seconds) continue;
        if (!changed(last.value, value, config.minimum_delta ?? 0, field)) continue;
      }
      this.#sent.set(field, { value, at: t });
      this.signals++;
      due.push({
        topic: `${this.topicBase}/${this.#vin}/v/${field}`,
        payload: goJson(value, DOUBLES.has(field)),
        t,
      });
    }
    // The server iterates a Go map: the fields of one record come in no set order.
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [due[i], due[j]] = [due[j], due[i]];
    }
    return due;
  }

  #connectivity(t: number, connected: boolean): Message {
    if (connected) this.#connectionId = uuid(++this.#connections);
    return {
      topic: `${this.topicBase}/${this.#vin}/connectivity`,
      payload: goJson({
        ConnectionId: this.#connectionId,
        CreatedAt: goTime(this.#o.scenario.startedAt + t),
        Status: connected ? "CONNECTED" : "DISCONNECTED",
      }),
      t,
    };
  }
}

function changed(a: FieldValue, b: FieldValue, delta: number, field: string): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return Math.abs(a - b) >= Math.max(delta, 1e-9);
  }
  if (field === "Location" && a && b && typeof a === "object" && typeof b === "object") {
    return metres(a as Record<string, number>, b as Record<string, number>) >= delta;
  }
  return JSON.stringify(a) !== JSON.stringify(b);
}

function metres(a: Record<string, number>, b: Record<string, number>): number {
  const rad = Math.PI / 180;
  const x = (b.longitude - a.longitude) * rad * Math.cos(((a.latitude + b.latitude) / 2) * rad);
  const y = (b.latitude - a.latitude) * rad;
  return Math.hypot(x, y) * 6_371_000;
}

/** A fixed, well-formed version-4 UUID for connection n. */
function uuid(n: number): string {
  const hex = n.toString(16).padStart(12, "0");
  return `7d0f5c1e-9c1a-4a55-8f57-${hex}`;
}
