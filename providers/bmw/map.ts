/**
 * BMW telematic keys → the catalog, in base units (the one place units are converted). REST
 * (`telematicData`) and the stream deliver the same `{value, unit, timestamp}` entries; both
 * merge them into one `Telematics` per account (the newest value of each key wins), and every
 * update records the vehicle's whole merged state, so a key the stream did not repeat keeps
 * the value REST or an earlier message gave.
 */
import { type ParseReport, reportField, sampleTimeProblem } from "../../core/parse.ts";
import type { Labels, Sample, Snapshot, StateSample, VehicleRef } from "../../core/snapshot.ts";
import * as u from "../../core/units.ts";
import { TelematicEntry } from "./types.ts";

const NAV = "vehicle.cabin.infotainment.navigation.currentLocation";
const CHARGING = "vehicle.drivetrain.electricEngine.charging";

/** The keys ev-observer reads: the container asks for these, and the portal's stream should. */
export const KEYS = {
  soc: "vehicle.drivetrain.batteryManagement.header",
  socDisplayed: "vehicle.powertrain.electric.battery.stateOfCharge.displayed",
  socTarget: "vehicle.powertrain.electric.battery.stateOfCharge.target",
  range: "vehicle.drivetrain.electricEngine.kombiRemainingElectricRange",
  chargingStatus: `${CHARGING}.status`,
  plug: "vehicle.body.chargingPort.status",
  chargingPower: "vehicle.powertrain.electric.battery.charging.power",
  acVoltage: `${CHARGING}.acVoltage`,
  acAmpere: `${CHARGING}.acAmpere`,
  phases: `${CHARGING}.phaseNumber`,
  timeRemaining: `${CHARGING}.timeRemaining`,
  capacity: "vehicle.drivetrain.batteryManagement.maxEnergy",
  odometer: "vehicle.vehicle.travelledDistance",
  latitude: `${NAV}.latitude`,
  longitude: `${NAV}.longitude`,
  heading: `${NAV}.heading`,
  altitude: `${NAV}.altitude`,
  moving: "vehicle.isMoving",
  lock: "vehicle.cabin.door.lock.status",
  doorFrontLeft: "vehicle.cabin.door.row1.driver.isOpen",
  doorFrontRight: "vehicle.cabin.door.row1.passenger.isOpen",
  doorRearLeft: "vehicle.cabin.door.row2.driver.isOpen",
  doorRearRight: "vehicle.cabin.door.row2.passenger.isOpen",
  trunk: "vehicle.body.trunk.door.isOpen",
  tireFrontLeft: "vehicle.chassis.axle.row1.wheel.left.tire.pressure",
  tireFrontRight: "vehicle.chassis.axle.row1.wheel.right.tire.pressure",
  tireRearLeft: "vehicle.chassis.axle.row2.wheel.left.tire.pressure",
  tireRearRight: "vehicle.chassis.axle.row2.wheel.right.tire.pressure",
} as const;

export const TELEMATIC_KEYS: readonly string[] = Object.values(KEYS);

/** One key's newest value. */
export interface Field {
  readonly value: string | number | boolean;
  readonly unit?: string;
  /** When the car sent it, ms. */
  readonly at: number;
}

/** The newest value of every key, per VIN, for one account (REST and stream alike). */
export class Telematics {
  readonly #cars = new Map<string, Map<string, Field>>();
  readonly #info = new Map<string, Labels>();

  /**
   * Merges `data` (key → entry) for `vin`; an entry older than the stored one is skipped, and
   * so is one whose time cannot be true. `fallbackAt` (now) stamps entries without a time.
   * Returns how many keys changed.
   */
  merge(vin: string, data: Record<string, unknown>, fallbackAt: number, report: ParseReport) {
    const fields = this.fields(vin);
    let changed = 0;
    for (const [key, raw] of Object.entries(data)) {
      const entry = TelematicEntry.safeParse(raw);
      if (!entry.success) {
        reportField(report, key, "expected {value, unit, timestamp}");
        continue;
      }
      const { value, unit, timestamp } = entry.data;
      if (value === null || value === undefined || value === "") continue;
      const parsed = timestamp === undefined ? NaN : Date.parse(timestamp);
      const problem = Number.isNaN(parsed)
        ? undefined
        : sampleTimeProblem(parsed / 1000, fallbackAt / 1000);
      if (problem) {
        // Kept, an impossible time (a year ahead, 1970) would outrank every later value.
        reportField(report, `${key}.timestamp`, problem);
        continue;
      }
      const at = Number.isNaN(parsed) ? fallbackAt : parsed;
      const before = fields.get(key);
      if (before && before.at > at) continue;
      fields.set(key, { value, ...(unit ? { unit } : {}), at });
      changed++;
    }
    return changed;
  }

  fields(vin: string): Map<string, Field> {
    let fields = this.#cars.get(vin);
    if (!fields) this.#cars.set(vin, fields = new Map());
    return fields;
  }

  setInfo(vin: string, info: Labels): void {
    this.#info.set(vin, info);
  }

  info(vin: string): Labels {
    return this.#info.get(vin) ?? {};
  }
}

export interface MapOptions {
  readonly location: boolean;
  readonly report: ParseReport;
  readonly info?: Labels;
}

/** The vehicle's snapshot from its merged fields. */
export function telematicSnapshot(
  vehicle: VehicleRef,
  fields: ReadonlyMap<string, Field>,
  options: MapOptions,
): Snapshot {
  const { report } = options;
  const samples: Sample[] = [];
  const states: StateSample[] = [];
  let newest = 0;
  for (const f of fields.values()) newest = Math.max(newest, f.at);

  const num = (key: string): Field & { n: number } | undefined => {
    const f = fields.get(key);
    if (!f) return undefined;
    const n = typeof f.value === "number" ? f.value : Number(f.value);
    if (typeof f.value === "boolean" || !Number.isFinite(n) || f.value === "") {
      reportField(report, key, "not a number");
      return undefined;
    }
    return { ...f, n };
  };
  const word = (key: string): string | undefined => {
    const v = fields.get(key)?.value;
    return v === undefined ? undefined : String(v).toUpperCase();
  };
  const add = (metric: string, value: number | undefined, labels?: Labels) => {
    if (value !== undefined && Number.isFinite(value)) {
      samples.push({ metric, value, ...(labels ? { labels } : {}) });
    }
  };
  /** A value in the unit BMW sent (or the documented one when it sent none). */
  const converted = (
    key: string,
    fallbackUnit: string,
    convert: (n: number, unit: string) => number | undefined,
  ) => {
    const f = num(key);
    if (!f) return undefined;
    const out = convert(f.n, f.unit ?? fallbackUnit);
    if (out === undefined) reportField(report, key, `unknown unit ${f.unit}`);
    return out;
  };

  const soc = num(KEYS.soc) ?? num(KEYS.socDisplayed);
  add("ev.battery.level", soc && u.percentToRatio(soc.n));
  add("ev.charging.limit", converted(KEYS.socTarget, "%", percent));
  add("ev.battery.range", converted(KEYS.range, "km", u.distanceToMeters), {
    estimate: "estimated",
  });
  add("ev.odometer", converted(KEYS.odometer, "km", u.distanceToMeters));
  add("ev.battery.capacity", converted(KEYS.capacity, "kWh", energy));
  add("ev.charging.power", converted(KEYS.chargingPower, "W", power));
  add("ev.charging.voltage", num(KEYS.acVoltage)?.n);
  add("ev.charging.current", num(KEYS.acAmpere)?.n);
  add("ev.charging.time_to_full", converted(KEYS.timeRemaining, "min", u.durationToSeconds));
  const phases = word(KEYS.phases);
  if (phases !== undefined) {
    const m = /^(\d)-PHASES$/.exec(phases);
    add("ev.charging.phases", m ? Number(m[1]) : phases === "NO_CHARGING" ? 0 : undefined);
  }

  const plug = word(KEYS.plug);
  const plugState = plug === "CONNECTED"
    ? "connected"
    : plug === "DISCONNECTED"
    ? "disconnected"
    : plug === undefined
    ? undefined
    : "unknown";
  if (plugState) states.push({ metric: "ev.charging.plug_state", state: plugState });
  if (plugState === "connected" || plugState === "disconnected") {
    add("ev.charging.plugged_in", plugState === "connected" ? 1 : 0);
  }
  const status = word(KEYS.chargingStatus);
  if (status !== undefined) {
    const state = plugState === "disconnected" ? "disconnected" : CHARGING_STATE[status];
    if (!state) reportField(report, KEYS.chargingStatus, "unknown charging status");
    states.push({ metric: "ev.charging.state", state: state ?? "unknown" });
  }

  // BMW's only driving signal: the drive system runs while the car moves.
  add(
    "ev.engine.running",
    flag(fields.get(KEYS.moving)?.value, ["TRUE", "ASN_ISTRUE"], [
      "FALSE",
      "ASN_ISFALSE",
    ]),
  );
  const lock = word(KEYS.lock);
  add(
    "ev.locked",
    lock === "SECURED" || lock === "LOCKED"
      ? 1
      : lock === "UNLOCKED" || lock === "SELECTIVE-LOCKED"
      ? 0
      : undefined,
  );
  for (
    const [key, door] of [
      [KEYS.doorFrontLeft, "front_left"],
      [KEYS.doorFrontRight, "front_right"],
      [KEYS.doorRearLeft, "rear_left"],
      [KEYS.doorRearRight, "rear_right"],
    ] as const
  ) add("ev.door.open", flag(fields.get(key)?.value, OPEN, CLOSED), { door });
  add("ev.trunk.open", flag(fields.get(KEYS.trunk)?.value, OPEN, CLOSED), { trunk: "rear" });
  for (
    const [key, wheel] of [
      [KEYS.tireFrontLeft, "front_left"],
      [KEYS.tireFrontRight, "front_right"],
      [KEYS.tireRearLeft, "rear_left"],
      [KEYS.tireRearRight, "rear_right"],
    ] as const
  ) add("ev.tire.pressure", converted(key, "kPa", pressure), { wheel });

  if (options.location) {
    add("ev.location.latitude", num(KEYS.latitude)?.n);
    add("ev.location.longitude", num(KEYS.longitude)?.n);
    add("ev.location.heading", num(KEYS.heading)?.n);
    add("ev.location.altitude", num(KEYS.altitude)?.n);
  }

  return {
    vehicle,
    sampledAt: newest / 1000,
    // CarData answers from BMW's cloud: the car is reachable as far as this API goes.
    state: "online",
    samples,
    states,
    info: options.info ?? {},
  };
}

const CHARGING_STATE: Record<string, string> = {
  NOCHARGING: "stopped",
  INITIALIZATION: "starting",
  CHARGINGACTIVE: "charging",
  CHARGINGPAUSED: "stopped",
  CHARGINGENDED: "complete",
  CHARGINGERROR: "error",
};

const OPEN = ["OPEN", "TRUE"];
const CLOSED = ["CLOSED", "FALSE"];

/** 1, 0, or nothing (INVALID, UNKNOWN). */
function flag(
  value: string | number | boolean | undefined,
  yes: readonly string[],
  no: readonly string[],
): number | undefined {
  if (value === undefined) return undefined;
  const w = String(value).toUpperCase();
  return yes.includes(w) ? 1 : no.includes(w) ? 0 : undefined;
}

function percent(n: number, unit: string): number | undefined {
  return unit === "%" ? u.percentToRatio(n) : undefined;
}

function energy(n: number, unit: string): number | undefined {
  const w = unit.toLowerCase();
  return w === "kwh" ? u.kwhToJoules(n) : w === "wh" ? n * 3600 : undefined;
}

function power(n: number, unit: string): number | undefined {
  const w = unit.toLowerCase();
  return w === "w" ? n : w === "kw" ? u.kwToWatts(n) : undefined;
}

function pressure(n: number, unit: string): number | undefined {
  const w = unit.toLowerCase();
  return w === "kpa"
    ? n * 1000
    : w === "bar"
    ? u.barToPascals(n)
    : w === "psi"
    ? u.psiToPascals(n)
    : undefined;
}
