/**
 * What the car is doing, computed once from catalog metrics, for the scheduler's pace, the
 * status page and the progress lines alike.
 */
import { sampleValue, type Snapshot, stateValue } from "./snapshot.ts";

/** What a full read says about the car. */
export interface Activity {
  readonly driving: boolean;
  readonly charging: boolean;
  readonly chargerPowerW?: number;
  readonly timeToFullS?: number;
  /** Why it will not sleep now: user_present, climate_on, sentry_mode. */
  readonly blockers: readonly string[];
}

const BLOCKERS = [
  ["user_present", "ev.user_present"],
  ["climate_on", "ev.climate.on"],
  ["sentry_mode", "ev.sentry_mode"],
] as const;

export function activityOf(snapshot: Snapshot): Activity {
  const shift = stateValue(snapshot, "ev.drive.shift_state");
  const charging = stateValue(snapshot, "ev.charging.state");
  return {
    // A vendor without a gear selector (Volvo) tells by its drive system running.
    driving: shift === "drive" || shift === "reverse" || shift === "neutral" ||
      sampleValue(snapshot, "ev.engine.running") === 1,
    charging: charging === "charging" || charging === "starting",
    chargerPowerW: sampleValue(snapshot, "ev.charging.power"),
    timeToFullS: sampleValue(snapshot, "ev.charging.time_to_full"),
    blockers: BLOCKERS.filter(([, m]) => sampleValue(snapshot, m) === 1).map(([name]) => name),
  };
}

/** One word for people: driving, charging or parked (the status page, the progress lines). */
export function activityWord(snapshot: Snapshot): "driving" | "charging" | "parked" {
  const a = activityOf(snapshot);
  return a.driving ? "driving" : a.charging ? "charging" : "parked";
}

/** The scheduler's view of a car, in words for the log: "woke up", "charging at 11 kW". */
export function stateWords(mode: string, snapshot?: Snapshot): string {
  switch (mode) {
    case "asleep":
      return "asleep";
    case "waking":
      return "woke up";
    case "online":
      return "awake, parked";
    case "suspended":
      return "parked, letting it sleep";
    case "driving":
      return "driving";
    case "charging": {
      const watts = snapshot && sampleValue(snapshot, "ev.charging.power");
      return watts ? `charging at ${Math.round(watts / 100) / 10} kW` : "charging";
    }
    default:
      return mode;
  }
}

/** A short progress summary of a reading for a log line: state of charge, speed, time to full. */
export function progressFields(snapshot: Snapshot): Record<string, string> {
  const fields: Record<string, string> = {};
  const soc = sampleValue(snapshot, "ev.battery.level");
  if (soc !== undefined) fields.soc = `${Math.round(soc * 100)}%`;
  const speed = sampleValue(snapshot, "ev.drive.speed");
  if (speed !== undefined && activityOf(snapshot).driving) {
    fields.speed = `${Math.round(speed * 3.6)}km/h`;
  }
  const toFull = sampleValue(snapshot, "ev.charging.time_to_full");
  if (toFull !== undefined && toFull > 0 && activityOf(snapshot).charging) {
    const h = Math.floor(toFull / 3600);
    const m = Math.round((toFull % 3600) / 60);
    fields.full_in = h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m`;
  }
  return fields;
}
