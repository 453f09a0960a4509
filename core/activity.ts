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
