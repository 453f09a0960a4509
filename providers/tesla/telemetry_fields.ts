/**
 * Which Fleet Telemetry fields a car is asked to stream, how often, and what that costs. Tesla
 * bills every streamed value as one signal (150,000 per US$1); the car sends a field when its
 * `interval_seconds` has passed and its value moved by `minimum_delta`, and every field once
 * when it connects (https://developer.tesla.com/docs/fleet-api/fleet-telemetry).
 *
 * The estimate multiplies how fast each value moves while driving, charging or parked awake
 * (Tesla's units: miles, mph, %, kWh, kW, V, A, hours, °C, bar, metres for Location) by a month
 * of a commuter's use: the project's reference day (two drives, 75 min; one 3.5 h home charge;
 * an hour parked awake; four wakes). The rates are of real driving, which moves more than the
 * simulated day, so the estimate errs high.
 */
import { FIELDS } from "./stream_map.ts";

export interface FieldConfig {
  readonly interval_seconds: number;
  readonly minimum_delta?: number;
}

/**
 * A field set for an owner who wants drives seen within seconds and pays per signal: fast
 * gear, speed and charge state; slow range and temperatures; facts only when they change.
 * Location every 5 s (50 m: any moving car) keeps a drive's newest value under 5 s old.
 * Energy left to 0.1 kWh: at 0.5 the last few tenths a drive used stayed unsent until the car
 * next woke (3.7 % of the day's drive energy).
 * Every field has a catalog metric (stream_map.ts maps it).
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

/** What the car is doing; parked asleep it streams nothing. */
export type Activity = "driving" | "charging" | "awake";

/** How one field's value moves: per second of an activity, and discrete changes per session. */
interface Motion {
  /** Tesla units per second, by activity (a continuous value). */
  readonly perS?: Partial<Record<Activity, number>>;
  /** Changes per drive, per charge and per wake (a state that flips). */
  readonly perDrive?: number;
  readonly perCharge?: number;
  readonly perWake?: number;
}

/** Typical motion of each mapped field (a commuter's EV: 55 km/h average, 11 kW at home). */
const MOTION: Readonly<Record<string, Motion>> = {
  Gear: { perDrive: 4 },
  VehicleSpeed: { perS: { driving: 0.5 } },
  Location: { perS: { driving: 15 } },
  GpsHeading: { perS: { driving: 2 } },
  Odometer: { perS: { driving: 0.0095 } },
  DetailedChargeState: { perCharge: 3 },
  ChargePortDoorOpen: { perCharge: 2 },
  Locked: { perDrive: 2, perWake: 1 },
  DoorState: { perDrive: 4, perWake: 2 },
  SentryMode: { perWake: 0.5 },
  Soc: { perS: { driving: 0.005, charging: 0.004 } },
  BatteryLevel: { perS: { driving: 0.005, charging: 0.004 } },
  EstBatteryRange: { perS: { driving: 0.02, charging: 0.012 } },
  RatedRange: { perS: { driving: 0.015, charging: 0.012 } },
  IdealBatteryRange: { perS: { driving: 0.015, charging: 0.012 } },
  EnergyRemaining: { perS: { driving: 0.0025, charging: 0.003 } },
  ACChargingPower: { perS: { charging: 0.005 }, perCharge: 2 },
  DCChargingPower: {},
  ACChargingEnergyIn: { perS: { charging: 0.003 } },
  DCChargingEnergyIn: { perS: { charging: 0.003 } },
  ChargerVoltage: { perS: { charging: 0.02 }, perCharge: 2 },
  ChargeAmps: { perS: { charging: 0.002 }, perCharge: 2 },
  ChargerPhases: { perCharge: 2 },
  ChargeLimitSoc: { perWake: 0.1 },
  TimeToFullCharge: { perS: { charging: 0.0003 } },
  EstimatedHoursToChargeTermination: { perS: { charging: 0.0003 } },
  InsideTemp: { perS: { driving: 0.002, charging: 0.001, awake: 0.001 } },
  OutsideTemp: { perS: { driving: 0.001, charging: 0.0005 } },
  ModuleTempMin: { perS: { driving: 0.002, charging: 0.001 } },
  ModuleTempMax: { perS: { driving: 0.002, charging: 0.001 } },
  TpmsPressureFl: { perS: { driving: 0.0001 } },
  TpmsPressureFr: { perS: { driving: 0.0001 } },
  TpmsPressureRl: { perS: { driving: 0.0001 } },
  TpmsPressureRr: { perS: { driving: 0.0001 } },
  TpmsHardWarnings: {},
  TpmsSoftWarnings: {},
  PackVoltage: { perS: { driving: 0.5, charging: 0.01 } },
  PackCurrent: { perS: { driving: 5, charging: 0.05 } },
  Version: {},
  CarType: {},
  Trim: {},
  VehicleName: {},
};

/** A car's use in one day: seconds per activity, and how many drives, charges and wakes. */
export interface DailyUse {
  readonly seconds: Readonly<Record<Activity, number>>;
  readonly drives: number;
  readonly charges: number;
  /** Connections to the server: each one sends every field once. */
  readonly wakes: number;
}

/** The reference day's use (providers/tesla/sim/scenario.ts), the estimate's month. */
export const COMMUTER_DAY: DailyUse = {
  seconds: { driving: 4500, charging: 12600, awake: 3780 },
  drives: 2,
  charges: 1,
  wakes: 4,
};

export const DAYS_PER_MONTH = 30.4;
/** Tesla's price of streaming: https://developer.tesla.com/ (pricing), "Streaming Signals". */
export const SIGNALS_PER_USD = 150_000;
/** The car's buckets: no field is sent more often than every 500 ms. */
const BUCKET_S = 0.5;

/** Signals one field sends in a day of `use`. */
export function fieldSignalsPerDay(field: string, config: FieldConfig, use: DailyUse): number {
  const motion = MOTION[field] ?? {};
  const interval = Math.max(config.interval_seconds, BUCKET_S);
  let n = use.wakes; // every field once on connect
  for (const activity of Object.keys(use.seconds) as Activity[]) {
    const rate = motion.perS?.[activity];
    if (!rate) continue;
    const delta = config.minimum_delta ?? 0;
    // A value moving `rate` per second crosses the delta every delta/rate seconds.
    const every = Math.max(interval, delta > 0 ? delta / rate : BUCKET_S);
    n += use.seconds[activity] / every;
  }
  n += (motion.perDrive ?? 0) * use.drives + (motion.perCharge ?? 0) * use.charges +
    (motion.perWake ?? 0) * use.wakes;
  return n;
}

export interface Estimate {
  /** Per field, signals a month for one car. */
  readonly perField: Readonly<Record<string, number>>;
  /** Signals a month for one car. */
  readonly perCar: number;
  /** Signals a month for every car. */
  readonly total: number;
  readonly usd: number;
}

/** The monthly signals and cost of `fields` streamed by `cars` cars used like `use`. */
export function estimate(
  fields: Readonly<Record<string, FieldConfig>>,
  cars: number,
  use: DailyUse = COMMUTER_DAY,
): Estimate {
  const perField: Record<string, number> = {};
  let perCar = 0;
  for (const [field, config] of Object.entries(fields)) {
    const month = fieldSignalsPerDay(field, config, use) * DAYS_PER_MONTH;
    perField[field] = month;
    perCar += month;
  }
  const total = perCar * cars;
  return { perField, perCar, total, usd: total / SIGNALS_PER_USD };
}

/** Slower and slower: every interval times these, until the estimate fits the budget. */
const SLOWER = [1, 1.5, 2, 3, 5, 10, 20, 30, 60] as const;
/** No field waits longer than an hour between values: a car parked awake would look stale. */
const MAX_INTERVAL_S = 3600;

export interface FieldChoice {
  readonly fields: Readonly<Record<string, FieldConfig>>;
  readonly estimate: Estimate;
  /** How much slower than the default set (1: the default set fits). */
  readonly factor: number;
}

/**
 * The default field set, its intervals stretched just enough that `cars` cars stay within
 * `budgetUsd` a month; undefined when even the slowest set costs more (`slowest` says what).
 */
export function chooseFields(
  budgetUsd: number,
  cars: number,
  base: Readonly<Record<string, FieldConfig>> = DEFAULT_FIELDS,
): FieldChoice | { readonly slowest: Estimate } {
  let last: Estimate | undefined;
  for (const factor of SLOWER) {
    const fields = stretch(base, factor);
    const est = estimate(fields, cars);
    if (est.usd <= budgetUsd) return { fields, estimate: est, factor };
    last = est;
  }
  return { slowest: last! };
}

function stretch(
  base: Readonly<Record<string, FieldConfig>>,
  factor: number,
): Record<string, FieldConfig> {
  const out: Record<string, FieldConfig> = {};
  for (const [field, config] of Object.entries(base)) {
    const interval = Math.min(
      MAX_INTERVAL_S,
      Math.max(config.interval_seconds, Math.round(config.interval_seconds * factor)),
    );
    out[field] = { ...config, interval_seconds: interval };
  }
  return out;
}

/** Fields the consumer maps (a config may name only these: others would be paid for unread). */
export function unmappedFields(fields: Readonly<Record<string, FieldConfig>>): string[] {
  return Object.keys(fields).filter((f) => !(f in FIELDS));
}
