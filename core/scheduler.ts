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
 * The budget, counted in requests (a read of five endpoints costs five), stretches the idle
 * pace first (state checks that cost a request, parked reads where checks are free, the "in
 * use" and slow endpoints; never the blip check of a car that just came online, nor the reads
 * of a parked car with someone in it), then driving and charging reads, never past a charge's
 * end nor beyond `driving_max_s`; a car just parked after a drive is then left to sleep at
 * once. It stops all calls when it is spent. A provider that reads endpoint by endpoint gets
 * only the due ones (dueEndpoints).
 *
 * `VehiclePlanner` is the pure decision part (tests drive it with explicit times);
 * `runScheduler` executes its plans on a Clock, one loop per vehicle.
 */
import { type Activity, activityOf, progressFields, stateWords } from "./activity.ts";
import { type Budget, MAX_IDLE_STRETCH, MAX_PAUSE_S, rateOf, type Tier } from "./budget.ts";
import { type Clock, type Participant, participate } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { HttpError } from "./http.ts";
import type { Logger } from "./log.ts";
import { checkRanges } from "./parse.ts";
import type { Readings, ScheduleView } from "./readings.ts";
import {
  type Snapshot,
  vehicleKey,
  type VehicleRef,
  type VehicleState,
  vinTail,
} from "./snapshot.ts";
import type { POLL_STATES } from "./catalog.ts";
import { DEFAULT_SCHEDULER, type SchedulerConfig } from "./scheduler_config.ts";
import type { EndpointSpec, Provider, PushSource } from "./source.ts";

/** Seconds after the car's estimated end of charge at which to look again (when asked to). */
export const CHARGE_END_MARGIN_S = 10;
/** Otherwise the last read of a charge lands this many seconds before the estimated end… */
export const CHARGE_END_LEAD_S = 30;
/** …and a read this close to the end is the last: after it the car is left to sleep. */
const CHARGE_END_WINDOW_S = 60;
/** While a car drives or charges, the log says how it is doing this often. */
const PROGRESS_S = 15 * 60;
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
  /** Active: how long this drive or charge should go on (a charge's time to full). */
  readonly horizonS?: number;
  /** A budget stretches the wait up to here at most (a charge's end, `driving_max_s`). */
  readonly notAfterS?: number;
}

const MODES = ["start", "asleep", "waking", "online", "driving", "charging", "suspended"] as const;
type Mode = (typeof MODES)[number];

/** The decisions for one vehicle. Times are Unix seconds; it never reads a clock. */
export class VehiclePlanner {
  mode: Mode = "start";
  #asleepSince = 0;
  #onlineSince = 0;
  #busyAt = -Infinity;
  #suspendUntil = 0;
  #wokeAt = -Infinity;
  #errors = 0;
  /** The budget's factor on idle intervals (asleep checks, parked reads), ≥ 1. */
  idleStretch = 1;
  /**
   * …and on the sleep attempt, where it is how often a parked car is read (its checks are
   * free); where checks cost, a longer attempt saves nothing and hides a charge starting.
   */
  suspendStretch = 1;

  constructor(
    readonly config: SchedulerConfig = DEFAULT_SCHEDULER,
    readonly random: () => number = Math.random,
  ) {}

  first(): Plan {
    return plan("check", 0, "idle", "polling", "start");
  }

  /** What a restart needs to resume this vehicle (saved with its values). */
  view(): ScheduleView {
    const finite = (n: number) => Number.isFinite(n) && n > 0 ? n : undefined;
    return {
      mode: this.mode,
      asleepSince: this.mode === "asleep" ? finite(this.#asleepSince) : undefined,
      onlineSince: this.mode === "waking" ? finite(this.#onlineSince) : undefined,
      busyAt: finite(this.#busyAt),
      suspendUntil: this.mode === "suspended" ? finite(this.#suspendUntil) : undefined,
    };
  }

  /**
   * Starts from a previous run's view instead of from nothing: a car known asleep stays
   * asleep, so when it next shows online the blip rule holds (no read that would keep it up).
   * Returns whether the view was usable.
   */
  resume(view: ScheduleView): boolean {
    const mode = MODES.find((m) => m === view.mode);
    if (!mode || mode === "start") return false;
    this.mode = mode;
    this.#asleepSince = view.asleepSince ?? 0;
    this.#onlineSince = view.onlineSince ?? 0;
    this.#busyAt = view.busyAt ?? -Infinity;
    this.#suspendUntil = view.suspendUntil ?? 0;
    return true;
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
      return plan("check", this.#idle(c.asleep_s), "idle", "sleeping", state);
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
          Math.min(this.#idle(c.suspended_s), left),
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
      const read = plan("fetch", c.driving_s, "active", "polling", "driving");
      return { ...read, notAfterS: Math.max(c.driving_s, c.driving_max_s) };
    }
    if (activity.charging) {
      this.mode = "charging";
      this.#busyAt = now;
      const ttf = activity.timeToFullS;
      if (!c.read_charge_complete && ttf !== undefined && ttf <= CHARGE_END_WINDOW_S) {
        // The charge ends within a minute: a read after it would keep the car awake longer.
        this.mode = "suspended";
        this.#suspendUntil = now + ttf + c.suspend_s * this.suspendStretch;
        return plan(
          "check",
          this.#idle(c.suspended_s),
          "idle",
          "suspended",
          "charge ending: letting it sleep",
        );
      }
      const read = plan("fetch", this.#chargingInterval(activity), "active", "polling", "charging");
      if (ttf === undefined || ttf <= 0) return read;
      return { ...read, horizonS: ttf, notAfterS: Math.max(read.inS, this.#chargeEndRead(ttf)) };
    }
    // Under a budget, a car just parked after a drive is being left: no reads while the driver
    // gets out (each read after they leave would keep it up longer, and costs); the sleep
    // attempt's end reads it again.
    const leaving = this.mode === "driving" && this.idleStretch > 1;
    if (activity.blockers.length && !leaving) {
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
    this.#suspendUntil = now + c.suspend_s * this.suspendStretch;
    return plan("check", this.#idle(c.suspended_s), "idle", "suspended", "idle: letting it sleep");
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

  #idle(s: number): number {
    return s * this.idleStretch;
  }

  #chargingInterval(a: Activity): number {
    const c = this.config;
    const kw = (a.chargerPowerW ?? 0) / 1000;
    let s = kw > 0 ? (c.charging_kwh_per_poll * 3600) / kw : c.charging_min_s;
    s = Math.min(c.charging_max_s, Math.max(c.charging_min_s, s));
    if (a.timeToFullS !== undefined && a.timeToFullS > 0) {
      s = Math.min(s, this.#chargeEndRead(a.timeToFullS));
    }
    return Math.round(s);
  }

  /** Seconds to the read that sees the end of a charge: just after it, or just before. */
  #chargeEndRead(timeToFullS: number): number {
    return this.config.read_charge_complete
      ? timeToFullS + CHARGE_END_MARGIN_S
      : Math.max(1, timeToFullS - CHARGE_END_LEAD_S);
  }
}

/** A vendor's `Retry-After` is honoured up to a day: a bogus header must not park a car. */
export const MAX_RETRY_AFTER_S = MAX_PAUSE_S;

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

function plan(action: Action, inS: number, tier: Tier, pollState: PollState, reason: string) {
  return { action, inS, tier, pollState, reason };
}

/**
 * Which endpoints a full read asks for, when the provider reads them one by one (Volvo: a
 * request each, against a per-key quota), by pace: what shows driving, use and charging on every
 * read (it is also how the scheduler learns the car is driving or charging), but the driving and
 * "in use" ones only every `use_while_charging_s` while charging; when a budget asks for fewer,
 * the "in use" ones only every `useS` and after a drive (the driving and charging ones still
 * show a drive or a charge starting); trip values (odometer, location) once the car has moved
 * and stopped, and hourly; slow ones hourly; static facts daily. Undefined means everything.
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
  /** The "in use" endpoints only this often, whatever the car does (a budget asks for fewer). */
  useS?: number,
): string[] | undefined {
  if (!specs?.length) return undefined;
  const due = specs.filter((spec) => {
    const age = now - (lastRead.get(spec.name) ?? -Infinity);
    switch (spec.pace) {
      case "driving":
        return mode !== "charging" || age >= config.use_while_charging_s;
      case "use":
        // Under a tight budget: every `useS`, and once when a drive ended (locked, closed?).
        if (useS !== undefined) return (moved && mode !== "driving") || age >= useS;
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

/** What a car nothing happens to costs, in requests per second. */
export interface IdlePace {
  /** At the unstretched pace. */
  readonly rate: number;
  /** The part no stretch reduces. */
  readonly fixed: number;
  /** At full stretch (MAX_IDLE_STRETCH). */
  readonly floor: number;
}

/**
 * What a car nothing happens to costs: asleep and checked every `asleep_s`, or, where checks
 * are free (the vendor's cloud answers for a car it never wakes), read every `suspend_s`. A
 * budget stretches all of it, except, for a provider that reads endpoint by endpoint, the
 * endpoints that show a drive or a charge starting (they keep `suspend_s`).
 */
export function idlePaceOf(
  provider: Pick<Provider, "requestsPerCheck" | "endpoints">,
  config: SchedulerConfig,
): IdlePace {
  const pace = (rate: number, fixed: number) => ({
    rate,
    fixed,
    floor: fixed + (rate - fixed) / MAX_IDLE_STRETCH,
  });
  const check = provider.requestsPerCheck ?? 1;
  if (check > 0) return pace(rateOf(check, config.asleep_s), 0);
  const specs = provider.endpoints;
  if (!specs?.length) return pace(rateOf(1, config.suspend_s), 0);
  const count = (...paces: string[]) => specs.filter((e) => paces.includes(e.pace)).length;
  const fixed = rateOf(count("driving", "charging"), config.suspend_s);
  return pace(
    fixed + rateOf(count("use"), config.suspend_s) +
      rateOf(count("trip", "slow"), config.slow_endpoints_s) +
      rateOf(count("static"), config.static_endpoints_s),
    fixed,
  );
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
  /** The vendor's and the account's scheduler settings over the run's common ones. */
  readonly config?: Partial<SchedulerConfig>;
  /** The account's stream: while it delivers this vehicle live, nothing is polled. */
  readonly stream?: PushSource;
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
      target.stream?.polled?.(vehicle, state);
      return { kind: "state", state };
    }
    const snapshot = await provider.fetch(vehicle, endpoints ? { endpoints } : undefined);
    if (!snapshot) {
      readings.setState(vehicle, "asleep");
      target.stream?.polled?.(vehicle, "asleep");
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
    const fields = { provider: vehicle.provider, vehicle: vinTail(vehicle.vin), action };
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
  readonly signal: AbortSignal;
  /** Jitter source (tests pass a seeded one). */
  readonly random?: () => number;
  /** Log state changes and progress in words (default); replay prints its own. */
  readonly narrate?: boolean;
  /** Called after every action (progress output). */
  readonly onPoll?: (target: PollTarget, outcome: PollOutcome, plan: Plan) => void;
}

/** Runs one independent loop per vehicle until `signal` aborts; one bad car never stalls others. */
export async function runScheduler(options: RunOptions): Promise<void> {
  await Promise.all(options.targets.map((target) => {
    const config = { ...DEFAULT_SCHEDULER, ...options.config, ...target.config };
    return runVehicle(target, config, options);
  }));
}

async function runVehicle(target: PollTarget, config: SchedulerConfig, o: RunOptions) {
  // Joined before the first await, so every vehicle of the call is counted from the start.
  const turn = participate(o.clock);
  try {
    await new VehicleLoop(target, config, o, turn).run();
  } catch (err) {
    if (!o.signal.aborted) throw err;
  } finally {
    turn.leave();
  }
}

/** The poll loop of one vehicle: wait as planned, act, plan again. */
class VehicleLoop {
  readonly #planner: VehiclePlanner;
  readonly #log: Logger;
  /** When each endpoint was last read (providers that read endpoints one by one). */
  readonly #lastRead = new Map<string, number>();
  /** A read saw it driving since the trip endpoints were last read. */
  #moved = false;
  /** The last full read, and when the log last said how the car is doing. */
  #last?: Snapshot;
  #saidAt = -Infinity;
  /** What this car costs when nothing happens, for the budget. */
  readonly #idle: IdlePace;
  /** The budget's factor on idle pace (≥ 1). */
  #idleStretch = 1;

  constructor(
    readonly target: PollTarget,
    readonly config: SchedulerConfig,
    readonly o: RunOptions,
    readonly turn: Participant,
  ) {
    // A provider without a wake call makes `wake_up` moot.
    const canWake = typeof target.provider.wake === "function";
    this.#planner = new VehiclePlanner({ ...config, wake_up: config.wake_up && canWake }, o.random);
    this.#idle = idlePaceOf(target.provider, config);
    this.#log = o.log.child({
      provider: target.vehicle.provider,
      vehicle: vinTail(target.vehicle.vin),
    });
    // A previous run's view of this car (restored with its values): resume from it.
    const saved = o.readings.vehicles.get(vehicleKey(target.vehicle))?.schedule;
    if (saved && this.#planner.resume(saved)) {
      this.#log.info("vehicle", { mode: this.#planner.mode, why: "resumed from the saved state" });
    }
  }

  /** Throws only when the run's signal aborts a wait. */
  async run(): Promise<void> {
    const { readings, signal } = this.o;
    const { vehicle, budget, stream } = this.target;
    let next = this.#planner.first();
    let streaming = false;
    while (!signal.aborted) {
      await this.#wait(next);
      const live = stream?.live(vehicle) ?? false;
      if (live !== streaming) {
        streaming = live;
        this.#log.info(live ? "streaming: not polled" : "not streaming: polling", {
          mode: this.#planner.mode,
        });
      }
      if (live) {
        // The stream delivers this car's readings: look again later, without a request.
        next = plan("check", this.config.asleep_s, "idle", "streaming", "streaming");
        continue;
      }
      const previous = this.#planner.mode;
      const { outcome, plan: after } = await this.#poll(next.action);
      next = after;
      this.#narrate(previous, outcome);
      readings.setSchedule(vehicle, this.#planner.view(), this.target.account);
      if (budget?.limited) {
        const labels = { provider: vehicle.provider, account: this.target.account ?? "default" };
        readings.setGauge("ev.api.budget.remaining", labels, budget.remaining());
      }
      this.o.onPoll?.(this.target, outcome, next);
    }
  }

  /**
   * One log line when the car's state changes, in words, and while it drives or charges a
   * progress line at most every PROGRESS_S, so a long charge is not silent.
   */
  #narrate(previous: string, outcome: PollOutcome): void {
    if (this.o.narrate === false) return;
    const mode = this.#planner.mode;
    const now = this.o.clock.now() / 1000;
    if (outcome.kind === "snapshot") this.#last = outcome.snapshot;
    const busy = mode === "driving" || mode === "charging";
    if (mode === previous && !(busy && now - this.#saidAt >= PROGRESS_S)) return;
    const snapshot = busy ? this.#last : undefined;
    this.#log.info(stateWords(mode, snapshot), snapshot ? progressFields(snapshot) : {});
    this.#saidAt = now;
  }

  /**
   * Sleeps out the plan, held by a paused key. The budget stretched idle intervals when they
   * were planned; a drive's or charge's read is stretched here, by what it costs.
   */
  async #wait(next: Plan): Promise<void> {
    const { budget, vehicle } = this.target;
    let waitS = next.inS;
    let pollState = next.pollState;
    if (budget) {
      const factor = next.tier === "active"
        ? budget.stretch("active", {
          rate: rateOf(this.#cost(next.action), next.inS),
          idleFloor: this.#idle.floor,
          horizonS: next.horizonS,
        })
        : budget.remaining() > 0
        ? 1
        : Infinity;
      if (factor === Infinity) {
        waitS = budget.meter.secondsToReset();
        pollState = "rate_limited";
        this.#log.warn("budget spent for today: waiting for 00:00 UTC", {
          wait_s: Math.round(waitS),
        });
      } else waitS = Math.max(waitS, Math.min(waitS * factor, next.notAfterS ?? Infinity));
      // The key is paused (its quota used up, or too many requests): wait with it.
      const paused = budget.pausedFor();
      if (paused > 0) {
        waitS = Math.max(waitS, paused);
        pollState = "rate_limited";
      }
    }
    this.o.readings.setPollState(vehicle, pollState);
    await this.turn.sleep(waitS * 1000, this.o.signal);
  }

  /**
   * One poll: the planned action, then at once a full read when a state check calls for one
   * (so progress and tests see "a poll" as state check + read), and the trip values when a
   * read sees a drive end.
   */
  async #poll(first: Action): Promise<{ outcome: PollOutcome; plan: Plan }> {
    const { budget } = this.target;
    const clock = this.o.clock;
    let action = first;
    let only: string[] | undefined;
    for (;;) {
      const mode = this.#planner.mode;
      const endpoints = await this.#reserve(action, only, mode);
      const before = clock.now() / 1000;
      const outcome = await execute(this.target, action, this.o.readings, this.o.log, endpoints);
      const now = clock.now() / 1000;
      this.#learn(outcome, endpoints, before);
      const next = this.#planAfter(action, outcome, now);
      if (this.o.signal.aborted || (budget && budget.remaining() <= 0)) {
        return { outcome, plan: next };
      }
      if (action === "check" && next.action === "fetch" && next.inS === 0) {
        action = "fetch";
        only = undefined;
        continue;
      }
      // The drive just ended: odometer, location and trip meters have their final values now.
      const trip = outcome.kind === "snapshot" && mode === "driving" &&
          this.#planner.mode !== "driving" && only === undefined
        ? this.#due(now, this.#planner.mode)?.filter((e) => this.#pace(e) === "trip")
        : undefined;
      if (!trip?.length) return { outcome, plan: next };
      action = "fetch";
      only = trip;
    }
  }

  /**
   * The endpoints a read asks for; with a budget, first waits until the key's pause is over
   * and the requests fit in its per-minute window (vehicles sharing the key queue up here).
   */
  async #reserve(
    action: Action,
    only: string[] | undefined,
    mode: string,
  ): Promise<readonly string[] | undefined> {
    const { budget, provider, vehicle } = this.target;
    const due = () =>
      action !== "fetch" ? undefined : only ?? this.#due(this.o.clock.now() / 1000, mode);
    if (!budget) return due();
    await hold(
      budget,
      requestsOf(provider, action, due()),
      this.turn,
      this.o.signal,
      () => this.o.readings.setPollState(vehicle, "rate_limited"),
    );
    // Time passed while waiting: what is due may have changed.
    return due();
  }

  #due(now: number, mode: string): string[] | undefined {
    // Slow endpoints and the "in use" ones are idle pace: the budget stretches them.
    const f = this.#idleStretch;
    const c = this.config;
    return dueEndpoints(
      this.target.provider.endpoints,
      this.#lastRead,
      now,
      mode,
      {
        slow_endpoints_s: c.slow_endpoints_s * f,
        static_endpoints_s: c.static_endpoints_s * f,
        use_while_charging_s: c.use_while_charging_s * f,
      },
      this.#moved,
      f > 1 ? Math.max(c.suspend_s, c.use_while_charging_s) * f : undefined,
    );
  }

  /** Requests the next action costs, with the endpoints due now. */
  #cost(action: Action): number {
    const due = action === "fetch"
      ? this.#due(this.o.clock.now() / 1000, this.#planner.mode)
      : undefined;
    return requestsOf(this.target.provider, action, due);
  }

  /**
   * The budget's factor on idle pace, set before each plan. A provider that reads endpoint by
   * endpoint spends it on fewer endpoints per parked read, not fewer reads: its charging
   * endpoint keeps the pace at which a charge is seen starting.
   */
  #stretchIdle(): void {
    const { budget, provider } = this.target;
    if (!budget) return;
    const { rate, fixed, floor } = this.#idle;
    const f = budget.stretch("idle", { rate, fixedRate: fixed, idleFloor: floor });
    this.#idleStretch = Math.min(f, MAX_IDLE_STRETCH);
    const byEndpoint = (provider.endpoints?.length ?? 0) > 0;
    this.#planner.idleStretch = byEndpoint ? 1 : this.#idleStretch;
    this.#planner.suspendStretch = byEndpoint || (provider.requestsPerCheck ?? 1) > 0
      ? 1
      : this.#idleStretch;
  }

  #pace(endpoint: string) {
    return this.target.provider.endpoints?.find((e) => e.name === endpoint)?.pace;
  }

  /** Remembers which endpoints were read, and pauses a key the vendor says is spent. */
  #learn(outcome: PollOutcome, endpoints: readonly string[] | undefined, at: number): void {
    const { budget, provider } = this.target;
    if (outcome.kind === "snapshot") {
      const read = endpoints ?? provider.endpoints?.map((x) => x.name) ?? [];
      for (const e of read) this.#lastRead.set(e, at);
      if (read.some((e) => this.#pace(e) === "trip")) this.#moved = false;
    }
    if (outcome.kind === "error" && budget && outcome.error instanceof VendorError) {
      const { kind, retryAfterS } = outcome.error;
      if (kind === "quota") budget.pause(retryAfterS ?? 3600);
      if (kind === "rate_limited") budget.pause(retryAfterS ?? 60);
    }
  }

  #planAfter(action: Action, outcome: PollOutcome, now: number): Plan {
    const planner = this.#planner;
    this.#stretchIdle();
    let next: Plan;
    switch (outcome.kind) {
      case "error":
        next = planner.afterError(outcome.error, action, now);
        break;
      case "woke":
        next = planner.afterWake(now);
        break;
      case "snapshot":
        next = planner.afterFetch(activityOf(outcome.snapshot), now);
        if (planner.mode === "driving") this.#moved = true;
        break;
      case "state":
        next = action === "fetch"
          ? planner.afterFetch("asleep", now)
          : planner.afterCheck(outcome.state as VehicleState, now);
    }
    return next;
  }
}
