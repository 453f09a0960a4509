/**
 * A request budget per account (requests per day and/or dollars per month, minus a safety
 * margin) that the scheduler stays inside. As it tightens, idle and asleep polls slow down
 * first; driving and charging, where values change fastest, keep their pace longest. At zero
 * nothing is sent until the day's counters reset at 00:00 UTC.
 *
 * A vendor that caps requests per key rather than per account (Volvo: 100 a minute and 10,000
 * a day per API key) gets one Budget per key, shared by every account and vehicle on it: the
 * per-minute window is reserved before each read, and the vendor's "quota used up" or "too
 * many requests" answer pauses the whole key until it refills.
 */
import { MAX_WAIT_MS } from "./clock.ts";
import type { UsageMeter } from "./usage.ts";

/**
 * The longest pause a vendor can ask for (a Retry-After, a quota countdown): a day, as the
 * README promises. A bogus value must not park every car on the key for weeks.
 */
export const MAX_PAUSE_S = MAX_WAIT_MS / 1000;

export interface BudgetConfig {
  readonly requests_per_day?: number;
  /** Dollars per month at the vendor's list prices (before any credit). */
  readonly usd_per_month?: number;
  /** Requests in any 60 s (Volvo: 100 per API key). */
  readonly requests_per_minute?: number;
  /** Fraction kept in reserve against estimation error (default 0.1). */
  readonly safety_margin?: number;
  /**
   * Share of what is left that parked and asleep cars may plan on (default IDLE_SHARE); the
   * rest is kept for drives and charges. A vendor's default budget sets it (not the config).
   */
  readonly idle_share?: number;
}

/** Driving and charging, or everything else. */
export type Tier = "active" | "idle";

/**
 * Share of what is left that idle polling may plan on by default; the rest stays for drives and
 * charges (a plug-in whose parked reads cost many requests sets a lower `idle_share`).
 */
export const IDLE_SHARE = 0.7;
/** Idle intervals stretch at most this much (asleep 300 s → 1 h). */
export const MAX_IDLE_STRETCH = 12;
/** Driving and charging intervals stretch at most this much (30 s → 10 min). */
export const MAX_ACTIVE_STRETCH = 20;
/** How long a drive is assumed to go on when it is planned for (a charge says its own end). */
export const ACTIVE_HORIZON_S = 3600;

export interface StretchInput {
  /** Requests left today for the whole account. */
  readonly remaining: number;
  readonly secondsLeft: number;
  /** Vehicles sharing the budget. */
  readonly vehicles: number;
  readonly tier: Tier;
  /**
   * Requests per second the vehicle spends at its unstretched pace in this tier (a read of five
   * endpoints every 120 s: 5/120), so a vendor that bills per endpoint is planned in requests.
   */
  readonly rate: number;
  /** Part of `rate` that no stretch reduces (a parked read's endpoints that show a charge start). */
  readonly fixedRate?: number;
  /** An idle car's requests per second at full stretch: what the rest of the day costs at least. */
  readonly idleFloor: number;
  /** Active: how long this drive or charge is expected to go on (default ACTIVE_HORIZON_S). */
  readonly horizonS?: number;
  /** Share of what is left that idle polling may plan on (default IDLE_SHARE). */
  readonly idleShare?: number;
}

/**
 * How much longer than planned to wait (≥ 1), or Infinity when the budget is spent. Each
 * vehicle plans on its share; idle polling may use `idleShare` of it at its current pace, and
 * active polling what remains once the rest of the day is reserved for idle at full stretch.
 */
export function stretchFactor(input: StretchInput): number {
  const { remaining, secondsLeft, tier, rate } = input;
  if (remaining <= 0) return Infinity;
  if (!(rate > 0)) return 1;
  const share = remaining / Math.max(1, input.vehicles);
  if (tier === "idle") {
    const fixed = secondsLeft * Math.min(rate, input.fixedRate ?? 0);
    const need = secondsLeft * rate - fixed;
    const room = share * (input.idleShare ?? IDLE_SHARE) - fixed;
    if (need <= room) return 1;
    return room <= 0 ? MAX_IDLE_STRETCH : Math.min(MAX_IDLE_STRETCH, need / room);
  }
  const horizon = Math.min(secondsLeft, input.horizonS ?? ACTIVE_HORIZON_S);
  const need = horizon * rate;
  const spare = share - (secondsLeft - horizon) * input.idleFloor;
  if (need <= spare) return 1;
  if (spare <= 0) return MAX_ACTIVE_STRETCH;
  return Math.min(MAX_ACTIVE_STRETCH, need / spare);
}

/** What a planned pace costs: `requests` every `intervalS`, as requests per second. */
export function rateOf(requests: number, intervalS: number): number {
  return requests / Math.max(1, intervalS);
}

export class Budget {
  /** Requests per day after the margin, if limited. */
  readonly requestsPerDay?: number;
  /** Dollars per day after the margin, if limited. */
  readonly usdPerDay?: number;
  /** Requests per 60 s after the margin, if limited. */
  readonly requestsPerMinute?: number;
  /** Send times (ms) reserved in the last minute and ahead, sorted. */
  #window: number[] = [];
  #pausedUntil = 0;
  readonly #meters: UsageMeter[];
  readonly #vehicles = new Set<string>();

  constructor(
    readonly config: BudgetConfig,
    readonly meter: UsageMeter,
    /** Vehicles that share it (the account's vehicles). */
    public vehicles = 1,
  ) {
    this.#meters = [meter];
    const keep = 1 - (config.safety_margin ?? 0.1);
    if (config.requests_per_day !== undefined) {
      this.requestsPerDay = Math.floor(config.requests_per_day * keep);
    }
    if (config.usd_per_month !== undefined) this.usdPerDay = (config.usd_per_month / 30) * keep;
    if (config.requests_per_minute !== undefined) {
      this.requestsPerMinute = Math.max(1, Math.floor(config.requests_per_minute * keep));
    }
  }

  get limited(): boolean {
    return this.requestsPerDay !== undefined || this.usdPerDay !== undefined;
  }

  /** Another account's meter on the same key: its requests count against this budget too. */
  addMeter(meter: UsageMeter): void {
    if (!this.#meters.includes(meter)) this.#meters.push(meter);
  }

  /** Vehicles polled on this budget, from every account that shares it. */
  register(vehicleKeys: readonly string[]): void {
    for (const k of vehicleKeys) this.#vehicles.add(k);
    this.vehicles = Math.max(1, this.#vehicles.size);
  }

  /** Billable requests left today (in the default category's price when limited by money). */
  remaining(): number {
    const requests = this.#meters.reduce((n, m) => n + m.today().requests, 0);
    let left = Infinity;
    if (this.requestsPerDay !== undefined) left = this.requestsPerDay - requests;
    if (this.usdPerDay !== undefined) {
      const usd = this.#meters.reduce((n, m) => n + m.today().usd, 0);
      const { pricing } = this.meter.options;
      const price = pricing.usd[pricing.defaultCategory] ?? 0;
      if (price > 0) left = Math.min(left, Math.floor((this.usdPerDay - usd) / price + 1e-9));
    }
    return Math.max(0, left);
  }

  /**
   * The budget's say on a pace (requests per second in `tier`): a factor ≥ 1 to stretch its
   * intervals by, Infinity when spent.
   */
  stretch(
    tier: Tier,
    pace: Pick<StretchInput, "rate" | "fixedRate" | "idleFloor" | "horizonS">,
  ): number {
    if (!this.limited) return 1;
    return stretchFactor({
      remaining: this.remaining(),
      secondsLeft: this.meter.secondsToReset(),
      vehicles: this.vehicles,
      tier,
      idleShare: this.config.idle_share,
      ...pace,
    });
  }

  /**
   * Seconds to wait until `count` more requests fit in the per-minute window (0 without a
   * per-minute limit), and reserves them at that moment, so vehicles sharing the key queue up
   * instead of all sending at once.
   */
  reserve(count: number): number {
    const limit = this.requestsPerMinute;
    if (limit === undefined || count <= 0) return 0;
    const now = this.#now();
    this.#window = this.#window.filter((at) => at > now - MINUTE_MS);
    const n = Math.min(count, limit);
    // The earliest moment at which at most `limit - n` reserved sends are less than a minute old.
    const excess = this.#window.length - (limit - n);
    const at = excess > 0 ? Math.max(now, this.#window[excess - 1] + MINUTE_MS) : now;
    for (let i = 0; i < n; i++) this.#window.push(at);
    this.#window.sort((a, b) => a - b);
    return (at - now) / 1000;
  }

  /**
   * The vendor refused the key (quota used up, too many requests): nobody sends for `seconds`,
   * at most MAX_PAUSE_S (a value that is not a number counts as the most).
   */
  pause(seconds: number): void {
    const s = Number.isNaN(seconds) ? MAX_PAUSE_S : Math.min(MAX_PAUSE_S, Math.max(0, seconds));
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + s * 1000);
  }

  /** Seconds the key stays paused (0 when it is not). */
  pausedFor(): number {
    return Math.max(0, (this.#pausedUntil - this.#now()) / 1000);
  }

  #now(): number {
    return this.meter.options.clock.now();
  }
}

const MINUTE_MS = 60_000;
