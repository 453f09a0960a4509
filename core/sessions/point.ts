/**
 * What session detection needs from one reading, taken from catalog metrics only (so every
 * vendor, polled or streamed, feeds the same detector). Values in base units; absent when the
 * reading did not carry them.
 */
import { activityOf } from "../activity.ts";
import { type Snapshot, stateValue } from "../snapshot.ts";

export interface Point {
  /** The vendor's sample time, Unix seconds. */
  readonly t: number;
  readonly driving: boolean;
  readonly charging: boolean;
  /** The catalog's charging state (charging, stopped, complete, disconnected, …). */
  readonly chargeState?: string;
  /** A cable is connected (undefined: the vendor did not say). */
  readonly plugged?: boolean;
  /** State of charge, 0–1. */
  readonly soc?: number;
  /** Meters. */
  readonly odometer?: number;
  /** Energy left in the pack, joules (some vendors only). */
  readonly energy?: number;
  /** The vendor's range, meters (rated, else estimated, else ideal). */
  readonly range?: number;
  /** The vendor's per-plug-in energy counter, joules. */
  readonly added?: number;
  /** Charger power, watts. */
  readonly power?: number;
  /** "ac" or "dc" when the vendor says, or infers from the phases. */
  readonly current?: "ac" | "dc";
  /** m/s. */
  readonly speed?: number;
  /** °C. */
  readonly outside?: number;
  readonly latitude?: number;
  readonly longitude?: number;
  /** The pack's usable capacity, joules: the vendor's usable figure, else its stated one. */
  readonly capacity?: number;
}

const RANGE_ORDER = ["rated", "estimated", "ideal"];

export function pointOf(s: Snapshot): Point {
  const a = activityOf(s);
  const get = (metric: string) => s.samples.find((x) => x.metric === metric)?.value;
  const range = RANGE_ORDER.map((e) =>
    s.samples.find((x) => x.metric === "ev.battery.range" && x.labels?.estimate === e)?.value
  ).find((v) => v !== undefined);
  const plugState = stateValue(s, "ev.charging.state");
  const plugged = get("ev.charging.plugged_in");
  const type = stateValue(s, "ev.charging.type");
  const phases = get("ev.charging.phases");
  // A charger that reports no AC phase while delivering power is DC (TeslaMate's rule).
  const current = type === "ac" || type === "dc"
    ? type
    : a.charging && phases !== undefined
    ? (phases > 0 ? "ac" : "dc")
    : undefined;
  const point: Point = {
    t: s.sampledAt,
    driving: a.driving,
    charging: a.charging,
    chargeState: plugState,
    plugged: plugged !== undefined
      ? plugged === 1
      : plugState === "disconnected"
      ? false
      : undefined,
    soc: get("ev.battery.level"),
    odometer: get("ev.odometer"),
    energy: get("ev.battery.energy_remaining"),
    range,
    added: get("ev.charging.energy_added"),
    power: get("ev.charging.power"),
    current,
    speed: get("ev.drive.speed"),
    outside: get("ev.climate.outside.temperature"),
    latitude: get("ev.location.latitude"),
    longitude: get("ev.location.longitude"),
    capacity: get("ev.battery.usable_capacity") ?? get("ev.battery.capacity"),
  };
  // Absent keys rather than `undefined` values: points are persisted as JSON.
  return Object.fromEntries(
    Object.entries(point).filter(([, v]) => v !== undefined),
  ) as unknown as Point;
}
