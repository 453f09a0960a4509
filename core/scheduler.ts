/**
 * Decides when to call which endpoint for each vehicle, so that a car that could sleep does,
 * and the account's budget holds. Vendor-neutral: a provider supplies a cheap state check that
 * never wakes the car, a full read, and (optionally) a wake call; the snapshot's catalog
 * metrics tell whether the car is driving, charging or kept awake by something else.
 *
 * Per vehicle (times in seconds, all configurable):
 * - asleep or offline: state checks every `asleep_s`; never a full read, never a wake unless
 *   `wake_up` is on.
 * - it comes online: wait `confirm_online_s` with state checks only, since the MCU's "fake
 *   online" blips last a few minutes and a full read then would keep the car up 15 min; still
 *   online after that means someone woke it: read it.
 * - driving: full reads every `driving_s`. Charging: every `charging_kwh_per_poll` kWh at the
 *   charger's power (11 kW → 327 s), within [`charging_min_s`, `charging_max_s`], and just
 *   after the car's own estimate of the end of charge, so the finish is seen at once.
 * - parked and awake with a reason to stay so (user present, climate on, sentry mode): full
 *   reads every `online_s`; a drive may start any moment.
 * - parked with no such reason for `idle_before_suspend_s`: the sleep attempt. No full reads
 *   for `suspend_s` (TeslaMate's 21 min), state checks every `suspended_s`; asleep ends it, and
 *   so does the window's end (then one full read decides again).
 * - errors: backoff from `backoff_s` doubling to `max_backoff_s`, with jitter; Retry-After
 *   and rate limits are honoured exactly; a dead sign-in is retried slowly.
 * The budget stretches the waits (idle first), and stops all calls when it is spent. A
 * provider that reads endpoint by endpoint gets only the due ones (dueEndpoints).
 *
 * `VehiclePlanner` is the pure decision part (tests drive it with explicit times);
 * `runScheduler` executes its plans on a Clock, one loop per vehicle.
 */
import type { Budget, Tier } from "./budget.ts";
import { type Clock, type Participant, participate } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { HttpError } from "./http.ts";
import type { Logger } from "./log.ts";
import { checkRanges } from "./parse.ts";
import type { Readings } from "./readings.ts";
import type { Snapshot, VehicleRef, VehicleState } from "./snapshot.ts";
import type { POLL_STATES } from "./catalog.ts";
import type { EndpointSpec, Provider } from "../providers/mod.ts";

export interface SchedulerConfig {
  readonly driving_s: number;
  readonly charging_kwh_per_poll: number;
  readonly charging_min_s: number;
  readonly charging_max_s: number;
  readonly online_s: number;
  readonly asleep_s: number;
  readonly suspended_s: number;
  readonly idle_before_suspend_s: number;
  readonly suspend_s: number;
  readonly confirm_online_s: number;
  readonly backoff_s: number;
  readonly max_backoff_s: number;
  /** Wake a car that has been asleep `wake_after_s` (costs a wake call each time). */
  readonly wake_up: boolean;
  readonly wake_after_s: number;
  /** Providers that read endpoint by endpoint: slow ones (diagnostics…) and static facts. */
  readonly slow_endpoints_s: number;
  readonly static_endpoints_s: number;
  /**
   * Read once more after the estimated end of charge to see "complete" (costs the car a few
   * seconds of its sleep: any read after a charge ends restarts its sleep timer). Off: the
   * last read lands just before the end.
   */
  readonly read_charge_complete: boolean;
  /** …and their "in use" ones (doors, engine) while charging: it cannot drive off plugged in. */
  readonly use_while_charging_s: number;
}

export const DEFAULT_SCHEDULER: SchedulerConfig = {
  driving_s: 30,
  charging_kwh_per_poll: 1,
  charging_min_s: 30,
  charging_max_s: 600,
  online_s: 30,
  asleep_s: 300,
  suspended_s: 180,
  idle_before_suspend_s: 0,
  suspend_s: 21 * 60,
  confirm_online_s: 240,
  backoff_s: 30,
  max_backoff_s: 1800,
  wake_up: false,
  wake_after_s: 12 * 3600,
  read_charge_complete: false,
  slow_endpoints_s: 3600,
  static_endpoints_s: 86400,
  use_while_charging_s: 600,
};

/** Seconds after the car's estimated end of charge at which to look again (when asked to). */
export const CHARGE_END_MARGIN_S = 10;
/** Otherwise the last read of a charge lands this many seconds before the estimated end… */
export const CHARGE_END_LEAD_S = 30;
/** …and a read this close to the end is the last: after it the car is left to sleep. */
const CHARGE_END_WINDOW_S = 60;
/** A state check right after our own wake call reads at once: no blip to rule out. */
const WAKE_GRACE_S = 120;

export type PollState = (typeof POLL_STATES)[number];
export type Action = "check" | "fetch" | "wake";

export interface Plan {
  readonly action: Action;
  /** Seconds from now. */
  readonly inS: number;
  readonly tier: Tier;
  readonly pollState: PollState;
  /** Why, in a few words (logs and tests). */
  readonly reason: string;
}

/** What a full read says about the car, from catalog metrics only. */
export interface Activity {
  readonly driving: boolean;
  readonly charging: boolean;
  readonly chargerPowerW?: number;
  readonly timeToFullS?: number;
  /** Why it will not sleep now: user_present, climate_on, sentry_mode. */
  readonly blockers: readonly string[];
}

export function activityOf(snapshot: Snapshot): Activity {
  const state = (m: string) => snapshot.states.find((s) => s.metric === m)?.state;
  const value = (m: string) => snapshot.samples.find((s) => s.metric === m)?.value;
  const shift = state("ev.drive.shift_state");
  const charging = state("ev.charging.state");
  const blockers = [
    ["user_present", "ev.user_present"],
    ["climate_on", "ev.climate.on"],
    ["sentry_mode", "ev.sentry_mode"],
  ].filter(([, m]) => value(m) === 1).map(([name]) => name);
  return {
    // A vendor without a gear selector (Volvo) tells by its drive system running.
    driving: shift === "drive" || shift === "reverse" || shift === "neutral" ||
      value("ev.engine.running") === 1,
    charging: charging === "charging" || charging === "starting",
    chargerPowerW: value("ev.charging.power"),
    timeToFullS: value("ev.charging.time_to_full"),
    blockers,
  };
}

type Mode = "start" | "asleep" | "waking" | "online" | "driving" | "charging" | "suspended";

/** The decisions for one vehicle. Times are Unix seconds; it never reads a clock. */
export class VehiclePlanner {
  mode: Mode = "start";
  #asleepSince = 0;
  #onlineSince = 0;
  #busyAt = -Infinity;
  #suspendUntil = 0;
  #wokeAt = -Infinity;
  #errors = 0;

  constructor(
    readonly config: SchedulerConfig = DEFAULT_SCHEDULER,
    readonly random: () => number = Math.random,
  ) {}

  first(): Plan {
    return plan("check", 0, "idle", "polling", "start");
  }

  afterCheck(state: VehicleState, now: number): Plan {
    const c = this.config;
    if (state !== "online") {
      // A clean poll: nothing more to read. (An online car's poll succeeds with its read.)
      this.#errors = 0;
      if (this.mode !== "asleep") {
        this.mode = "asleep";
        this.#asleepSince = now;
      }
      if (now - this.#wokeAt < WAKE_GRACE_S) {
        return plan("check", 10, "idle", "polling", "waiting for it to wake");
      }
      const due = now - this.#asleepSince >= c.wake_after_s && now - this.#wokeAt >= c.wake_after_s;
      if (c.wake_up && due) {
        return plan("wake", 0, "idle", "polling", `asleep for ${c.wake_after_s} s: wake_up is on`);
      }
      return plan("check", c.asleep_s, "idle", "sleeping", state);
    }
    switch (this.mode) {
      case "asleep":
        if (now - this.#wokeAt <= WAKE_GRACE_S) return this.#read("we woke it");
        this.mode = "waking";
        this.#onlineSince = now;
        return plan("check", c.confirm_online_s, "idle", "suspended", "woke: not a blip?");
      case "waking": {
        const left = this.#onlineSince + c.confirm_online_s - now;
        if (left <= 0) return this.#read("still online: someone woke it");
        return plan("check", left, "idle", "suspended", "woke: not a blip?");
      }
      case "suspended": {
        const left = this.#suspendUntil - now;
        if (left <= 0) return this.#read("sleep attempt over, still online");
        return plan(
          "check",
          Math.min(c.suspended_s, left),
          "idle",
          "suspended",
          "letting it sleep",
        );
      }
      default:
        return this.#read("online");
    }
  }

  afterFetch(activity: Activity | "asleep", now: number): Plan {
    const c = this.config;
    this.#errors = 0;
    if (activity === "asleep") return this.afterCheck("asleep", now);
    if (activity.driving) {
      this.mode = "driving";
      this.#busyAt = now;
      return plan("fetch", c.driving_s, "active", "polling", "driving");
    }
    if (activity.charging) {
      this.mode = "charging";
      this.#busyAt = now;
      const ttf = activity.timeToFullS;
      if (!c.read_charge_complete && ttf !== undefined && ttf <= CHARGE_END_WINDOW_S) {
        // The charge ends within a minute: a read after it would keep the car awake longer.
        this.mode = "suspended";
        this.#suspendUntil = now + ttf + c.suspend_s;
        return plan("check", c.suspended_s, "idle", "suspended", "charge ending: letting it sleep");
      }
      return plan("fetch", this.#chargingInterval(activity), "active", "polling", "charging");
    }
    if (activity.blockers.length) {
      this.mode = "online";
      this.#busyAt = now;
      return plan("fetch", c.online_s, "idle", "polling", activity.blockers.join(","));
    }
    const idleLeft = this.#busyAt + c.idle_before_suspend_s - now;
    if (idleLeft > 0) {
      this.mode = "online";
      return plan("fetch", Math.min(c.online_s, idleLeft), "idle", "polling", "idle");
    }
    this.mode = "suspended";
    this.#suspendUntil = now + c.suspend_s;
    return plan("check", c.suspended_s, "idle", "suspended", "idle: letting it sleep");
  }

  afterWake(now: number): Plan {
    this.#wokeAt = now;
    return plan("check", 10, "idle", "polling", "waking it");
  }

  afterError(error: unknown, action: Action, now: number): Plan {
    const c = this.config;
    if (error instanceof VendorError) {
      if (error.kind === "asleep") return this.afterCheck("asleep", now);
      if (error.kind === "sign_in_needed") {
        return plan("check", c.max_backoff_s, "idle", "sign_in_needed", "sign in again");
      }
    }
    // Every other failure, 429 and quota included, extends the streak: a vendor that keeps
    // refusing is asked less and less often.
    this.#errors++;
    const retryAfter = error instanceof VendorError ? error.retryAfterS : undefined;
    const wait = backoffWait(this.#errors, retryAfter, c, this.random);
    const limited = error instanceof VendorError &&
      (error.kind === "rate_limited" || error.kind === "quota");
    const reading = this.mode === "driving" || this.mode === "charging" || this.mode === "online";
    return plan(
      action === "fetch" && reading && !limited ? "fetch" : "check",
      wait,
      reading ? "active" : "idle",
      limited ? "rate_limited" : "backing_off",
      limited ? (error as VendorError).kind : `error #${this.#errors}`,
    );
  }

  #read(reason: string): Plan {
    if (this.mode === "asleep" || this.mode === "waking" || this.mode === "suspended") {
      this.mode = "online";
    }
    return plan("fetch", 0, "idle", "polling", reason);
  }

  #chargingInterval(a: Activity): number {
    const c = this.config;
    const kw = (a.chargerPowerW ?? 0) / 1000;
    let s = kw > 0 ? (c.charging_kwh_per_poll * 3600) / kw : c.charging_min_s;
    s = Math.min(c.charging_max_s, Math.max(c.charging_min_s, s));
    if (a.timeToFullS !== undefined && a.timeToFullS > 0) {
      const end = c.read_charge_complete
        ? a.timeToFullS + CHARGE_END_MARGIN_S
        : Math.max(1, a.timeToFullS - CHARGE_END_LEAD_S);
      s = Math.min(s, end);
    }
    return Math.round(s);
  }
}

/** A vendor's `Retry-After` is honoured up to a day: a bogus header must not park a car. */
export const MAX_RETRY_AFTER_S = 86_400;

/**
 * The wait after the `streak`-th failure in a row: the backoff doubling to its cap, ±20 %
 * jitter, or the vendor's Retry-After (capped at a day) plus up to 10 % if that is longer.
 * The jitter both ways keeps cars that failed together from coming back together.
 */
export function backoffWait(
  streak: number,
  retryAfterS: number | undefined,
  config: Pick<SchedulerConfig, "backoff_s" | "max_backoff_s">,
  random: () => number = Math.random,
): number {
  const base = Math.min(config.max_backoff_s, config.backoff_s * 2 ** Math.max(0, streak - 1));
  const backoff = base * (0.8 + 0.4 * random());
  if (retryAfterS === undefined) return backoff;
  return Math.max(backoff, Math.min(retryAfterS, MAX_RETRY_AFTER_S) * (1 + 0.1 * random()));
}

/** Fixed intervals in the older form (the fault suite and range checks use it). */
export interface Intervals {
  readonly driving: number;
  readonly charging: number;
  readonly online: number;
  readonly asleep: number;
  readonly backoff: number;
  readonly maxBackoff: number;
}

/** The scheduler config that polls at exactly these intervals. */
export function fromIntervals(i: Intervals): Partial<SchedulerConfig> {
  return {
    driving_s: i.driving,
    charging_min_s: i.charging,
    charging_max_s: i.charging,
    online_s: i.online,
    asleep_s: i.asleep,
    backoff_s: i.backoff,
    max_backoff_s: i.maxBackoff,
  };
}

/** The wait after a failed poll (`streak` failures in a row), from older-style intervals. */
export function nextDelay(
  outcome: { kind: "error"; error: Error },
  intervals: Intervals,
  streak: number,
): number {
  const retry = outcome.error instanceof VendorError ? outcome.error.retryAfterS : undefined;
  return backoffWait(streak, retry, {
    backoff_s: intervals.backoff,
    max_backoff_s: intervals.maxBackoff,
  });
}

function plan(action: Action, inS: number, tier: Tier, pollState: PollState, reason: string) {
  return { action, inS, tier, pollState, reason };
}

/**
 * Which endpoints a full read asks for, when the provider reads them one by one (Volvo: a
 * request each, against a per-key quota), by pace: what shows use and charging on every read
 * (it is also how the scheduler learns the car is driving or charging), but the "in use" ones
 * only every `use_while_charging_s` while charging; trip values (odometer, location) once the
 * car has moved and stopped, and hourly; slow ones hourly; static facts daily. Undefined means
 * everything.
 */
export function dueEndpoints(
  specs: readonly EndpointSpec[] | undefined,
  lastRead: ReadonlyMap<string, number>,
  now: number,
  mode: string,
  config: Pick<
    SchedulerConfig,
    "slow_endpoints_s" | "static_endpoints_s" | "use_while_charging_s"
  >,
  /** A read saw the car driving since its trip endpoints were last read. */
  moved = false,
): string[] | undefined {
  if (!specs?.length) return undefined;
  const due = specs.filter((spec) => {
    const age = now - (lastRead.get(spec.name) ?? -Infinity);
    switch (spec.pace) {
      case "use":
        return mode !== "charging" || age >= config.use_while_charging_s;
      case "charging":
        return true;
      case "trip":
        return (moved && mode !== "driving") || age >= config.slow_endpoints_s;
      case "slow":
        return age >= config.slow_endpoints_s;
      case "static":
        return age >= config.static_endpoints_s;
    }
  });
  return due.length === specs.length ? undefined : due.map((spec) => spec.name);
}

/** Requests an action costs, for a budget's per-minute window. */
function requestsOf(
  provider: Provider,
  action: Action,
  endpoints: readonly string[] | undefined,
): number {
  if (action === "check") return provider.requestsPerCheck ?? 1;
  if (action === "fetch") return endpoints?.length ?? provider.endpoints?.length ?? 1;
  return 1;
}

export type PollOutcome =
  | { kind: "snapshot"; snapshot: Snapshot }
  | { kind: "state"; state: string }
  | { kind: "woke" }
  | { kind: "error"; error: Error };

export interface PollTarget {
  readonly provider: Provider;
  readonly vehicle: VehicleRef;
  /** The account's budget, shared by its vehicles. */
  readonly budget?: Budget;
  /** Account name for logs and exporter metrics. */
  readonly account?: string;
}

/** One poll: cheap state check, full read only when online. Never throws. */
export async function pollOnce(
  target: PollTarget,
  readings: Readings,
  log: Logger,
): Promise<PollOutcome> {
  const first = await execute(target, "check", readings, log);
  if (first.kind !== "state" || first.state !== "online") return first;
  return execute(target, "fetch", readings, log);
}

/** Waits out the key's pause, then until `count` requests fit in its per-minute window. */
async function hold(
  budget: Budget,
  count: number,
  turn: Participant,
  signal: AbortSignal,
  onPause: () => void,
): Promise<void> {
  const paused = budget.pausedFor();
  if (paused > 0) {
    onPause();
    await turn.sleep(paused * 1000, signal);
  }
  const wait = budget.reserve(count);
  if (wait > 0) await turn.sleep(wait * 1000, signal);
}

const paceOf = (provider: Provider, endpoint: string) =>
  provider.endpoints?.find((e) => e.name === endpoint)?.pace;

/** Runs one action against the provider and records what it learnt. Never throws. */
async function execute(
  target: PollTarget,
  action: Action,
  readings: Readings,
  log: Logger,
  endpoints?: readonly string[],
): Promise<PollOutcome> {
  const { provider, vehicle } = target;
  try {
    if (action === "wake") {
      await provider.wake!(vehicle);
      return { kind: "woke" };
    }
    if (action === "check") {
      const { state } = await provider.checkState(vehicle);
      // Known state first: a failed full read still leaves ev_vehicle_state truthful.
      readings.setState(vehicle, state);
      return { kind: "state", state };
    }
    const snapshot = await provider.fetch(vehicle, endpoints ? { endpoints } : undefined);
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
    // Logs name a vehicle by its VIN's last six characters only (the status page does too).
    const fields = { provider: vehicle.provider, vehicle: vehicle.vin.slice(-6), action };
    const message = error?.message ?? String(err);
    if (known) log.warn("poll failed", { ...fields, kind, error: message });
    else log.error("unexpected error while polling", { ...fields, error: message });
    return { kind: "error", error };
  }
}

export interface RunOptions {
  readonly targets: readonly PollTarget[];
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config?: Partial<SchedulerConfig>;
  /** Older-style fixed intervals; applied over `config` (see fromIntervals). */
  readonly intervals?: Intervals;
  readonly signal: AbortSignal;
  /** Jitter source (tests pass a seeded one). */
  readonly random?: () => number;
  /** Called after every action (progress output). */
  readonly onPoll?: (target: PollTarget, outcome: PollOutcome, plan: Plan) => void;
}

/** Runs one independent loop per vehicle until `signal` aborts; one bad car never stalls others. */
export async function runScheduler(options: RunOptions): Promise<void> {
  const config = {
    ...DEFAULT_SCHEDULER,
    ...options.config,
    ...(options.intervals ? fromIntervals(options.intervals) : {}),
  };
  await Promise.all(options.targets.map((target) => runVehicle(target, config, options)));
}

async function runVehicle(target: PollTarget, config: SchedulerConfig, o: RunOptions) {
  // Joined before the first await, so every vehicle of the call is counted from the start.
  const turn = participate(o.clock);
  try {
    await pollVehicle(target, config, o, turn);
  } finally {
    turn.leave();
  }
}

async function pollVehicle(
  target: PollTarget,
  config: SchedulerConfig,
  o: RunOptions,
  turn: Participant,
) {
  const { readings, clock, log, signal } = o;
  const { vehicle, budget } = target;
  const vlog = log.child({ provider: vehicle.provider, vehicle: vehicle.vin.slice(-6) });
  // A provider without a wake call makes `wake_up` moot.
  const canWake = typeof target.provider.wake === "function";
  const planner = new VehiclePlanner({ ...config, wake_up: config.wake_up && canWake }, o.random);
  /** When each endpoint was last read (providers that read endpoints one by one). */
  const lastRead = new Map<string, number>();
  /** A read saw it driving since the trip endpoints were last read. */
  let moved = false;
  let next = planner.first();
  while (!signal.aborted) {
    let waitS = next.inS;
    let pollState = next.pollState;
    if (budget) {
      const factor = budget.stretch(next.tier, next.inS, config.asleep_s);
      if (factor === Infinity) {
        waitS = budget.meter.secondsToReset();
        pollState = "rate_limited";
        vlog.warn("budget spent for today: waiting for 00:00 UTC", { wait_s: Math.round(waitS) });
      } else waitS *= factor;
      // The key is paused (its quota used up, or too many requests): wait with it.
      const paused = budget.pausedFor();
      if (paused > 0) {
        waitS = Math.max(waitS, paused);
        pollState = "rate_limited";
      }
    }
    readings.setPollState(vehicle, pollState);
    try {
      await turn.sleep(waitS * 1000, signal);
    } catch {
      return; // aborted
    }
    // One poll: an action, and a full read right after a state check that calls for one (so
    // progress output and tests see "a poll" as before: state check, then read if online),
    // and the trip values right after a read that sees a drive end.
    let action = next.action;
    let outcome: PollOutcome;
    let only: string[] | undefined;
    const previous = planner.mode;
    for (;;) {
      const mode = planner.mode;
      let endpoints = action === "fetch"
        ? only ??
          dueEndpoints(target.provider.endpoints, lastRead, clock.now() / 1000, mode, config, moved)
        : undefined;
      if (budget) {
        // The key may be paused (its quota used up, or too many requests), and a read must fit
        // in its per-minute window; vehicles sharing the key queue up here.
        try {
          await hold(
            budget,
            requestsOf(target.provider, action, endpoints),
            turn,
            signal,
            () => readings.setPollState(vehicle, "rate_limited"),
          );
        } catch {
          return; // aborted
        }
        if (action === "fetch" && !only) {
          endpoints = dueEndpoints(
            target.provider.endpoints,
            lastRead,
            clock.now() / 1000,
            mode,
            config,
            moved,
          );
        }
      }
      const before = clock.now() / 1000;
      outcome = await execute(target, action, readings, log, endpoints);
      const now = clock.now() / 1000;
      if (outcome.kind === "snapshot") {
        const read = endpoints ?? target.provider.endpoints?.map((x) => x.name) ?? [];
        for (const e of read) lastRead.set(e, before);
        if (read.some((e) => paceOf(target.provider, e) === "trip")) moved = false;
      }
      if (outcome.kind === "error" && budget && outcome.error instanceof VendorError) {
        const { kind, retryAfterS } = outcome.error;
        if (kind === "quota") budget.pause(retryAfterS ?? 3600);
        if (kind === "rate_limited") budget.pause(retryAfterS ?? 60);
      }
      next = outcome.kind === "error"
        ? planner.afterError(outcome.error, action, now)
        : outcome.kind === "woke"
        ? planner.afterWake(now)
        : outcome.kind === "snapshot"
        ? planner.afterFetch(activityOf(outcome.snapshot), now)
        : action === "fetch"
        ? planner.afterFetch("asleep", now)
        : planner.afterCheck(outcome.state as VehicleState, now);
      if (outcome.kind === "snapshot" && planner.mode === "driving") moved = true;
      if (signal.aborted || (budget && budget.remaining() <= 0)) break;
      const readNow = action === "check" && next.action === "fetch" && next.inS === 0;
      // The drive just ended: odometer, location and trip meters have their final values now.
      const tripNow = outcome.kind === "snapshot" && mode === "driving" &&
        planner.mode !== "driving" && only === undefined;
      const trip = tripNow
        ? dueEndpoints(target.provider.endpoints, lastRead, now, planner.mode, config, moved)
          ?.filter((e) => paceOf(target.provider, e) === "trip")
        : undefined;
      if (readNow) {
        action = "fetch";
        only = undefined;
      } else if (trip?.length) {
        action = "fetch";
        only = trip;
      } else break;
    }
    if (planner.mode !== previous) {
      vlog.info("vehicle", { mode: planner.mode, why: next.reason });
    }
    if (budget?.limited) {
      const labels = { provider: vehicle.provider, account: target.account ?? "default" };
      readings.setGauge("ev.api.budget.remaining", labels, budget.remaining());
    }
    o.onPoll?.(target, outcome, next);
  }
}
