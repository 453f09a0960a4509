/**
 * Decides when to call which endpoint for each vehicle. This first version polls by state with
 * fixed intervals; it never wakes the car and calls the full read only when it is online.
 */
import type { Clock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { HttpError } from "./http.ts";
import type { Logger } from "./log.ts";
import { checkRanges } from "./parse.ts";
import type { Readings } from "./readings.ts";
import type { Snapshot, VehicleRef } from "./snapshot.ts";
import type { Provider } from "../providers/mod.ts";

export interface Intervals {
  /** Seconds between polls per situation. */
  readonly driving: number;
  readonly charging: number;
  readonly online: number;
  readonly asleep: number;
  /** First backoff after an error; doubles up to `maxBackoff`. */
  readonly backoff: number;
  readonly maxBackoff: number;
}

export const DEFAULT_INTERVALS: Intervals = {
  driving: 30,
  charging: 60,
  online: 120,
  asleep: 300,
  backoff: 30,
  maxBackoff: 1800,
};

export type PollOutcome =
  | { kind: "snapshot"; snapshot: Snapshot }
  | { kind: "state"; state: string }
  | { kind: "error"; error: Error };

export interface PollTarget {
  readonly provider: Provider;
  readonly vehicle: VehicleRef;
}

/** One poll: cheap state check, full read only when online. Never throws. */
export async function pollOnce(
  target: PollTarget,
  readings: Readings,
  log: Logger,
): Promise<PollOutcome> {
  const { provider, vehicle } = target;
  try {
    const { state } = await provider.checkState(vehicle);
    // Known state first: a failed full read still leaves ev_vehicle_state truthful.
    readings.setState(vehicle, state);
    if (state !== "online") return { kind: "state", state };
    const snapshot = await provider.fetch(vehicle);
    if (!snapshot) {
      readings.setState(vehicle, "asleep");
      return { kind: "state", state: "asleep" };
    }
    // Absurd values are dropped and counted; a partial snapshot (some endpoints only) is
    // merged: report what the store holds now.
    const sane = checkRanges({ provider: vehicle.provider, readings, log }, snapshot);
    return { kind: "snapshot", snapshot: readings.record(sane) };
  } catch (err) {
    const error = err as Error;
    const known = err instanceof VendorError || err instanceof HttpError;
    const kind = known ? err.kind : "unexpected";
    readings.count("ev.poll.errors", { provider: vehicle.provider, kind });
    if (!known) {
      log.error("unexpected error while polling", {
        provider: vehicle.provider,
        error: error?.message ?? String(err),
      });
    } else {
      log.warn("poll failed", { provider: vehicle.provider, kind, error: error.message });
    }
    return { kind: "error", error };
  }
}

/** A vendor's `Retry-After` is honoured up to a day: a bogus header must not park a car. */
export const MAX_RETRY_AFTER_S = 86_400;

/** Seconds until the next poll after `outcome`, given the previous error streak. */
export function nextDelay(outcome: PollOutcome, intervals: Intervals, errorStreak: number): number {
  if (outcome.kind === "error") {
    const retry = outcome.error instanceof VendorError ? outcome.error.retryAfterS : undefined;
    const backoff = Math.min(
      intervals.maxBackoff,
      intervals.backoff * 2 ** Math.max(0, errorStreak - 1),
    );
    // Jitter on both, so cars told "retry in 60 s" together do not all come back together.
    const waited = retry === undefined
      ? 0
      : Math.min(retry, MAX_RETRY_AFTER_S) * (1 + Math.random() * 0.1);
    return Math.max(waited, backoff * (0.8 + Math.random() * 0.4));
  }
  if (outcome.kind === "state") return intervals.asleep;
  const s = outcome.snapshot;
  const state = s.states.find((x) => x.metric === "ev.charging.state")?.state;
  const shift = s.states.find((x) => x.metric === "ev.drive.shift_state")?.state;
  if (shift && shift !== "park") return intervals.driving;
  if (state === "charging" || state === "starting") return intervals.charging;
  return intervals.online;
}

export interface RunOptions {
  readonly targets: readonly PollTarget[];
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervals?: Intervals;
  readonly signal: AbortSignal;
  /** Called after every poll (progress output). */
  readonly onPoll?: (target: PollTarget, outcome: PollOutcome) => void;
}

/** Runs one independent loop per vehicle until `signal` aborts; one bad car never stalls others. */
export async function runScheduler(options: RunOptions): Promise<void> {
  const intervals = options.intervals ?? DEFAULT_INTERVALS;
  await Promise.all(options.targets.map(async (target) => {
    let streak = 0;
    while (!options.signal.aborted) {
      const outcome = await pollOnce(target, options.readings, options.log);
      streak = outcome.kind === "error" ? streak + 1 : 0;
      options.onPoll?.(target, outcome);
      try {
        await options.clock.sleep(nextDelay(outcome, intervals, streak) * 1000, options.signal);
      } catch {
        return; // aborted
      }
    }
  }));
}
