/**
 * A request budget per account (requests per day and/or dollars per month, minus a safety
 * margin) that the scheduler stays inside. As it tightens, idle and asleep polls slow down
 * first; driving and charging, where values change fastest, keep their pace longest. At zero
 * nothing is sent until the day's counters reset at 00:00 UTC.
 */
import type { UsageMeter } from "./usage.ts";

export interface BudgetConfig {
  readonly requests_per_day?: number;
  /** Dollars per month at the vendor's list prices (before any credit). */
  readonly usd_per_month?: number;
  /** Fraction kept in reserve against estimation error (default 0.1). */
  readonly safety_margin?: number;
}

/** Driving and charging, or everything else. */
export type Tier = "active" | "idle";

/** Share of what is left that idle polling may plan on; the rest stays for drives and charges. */
export const IDLE_SHARE = 0.7;
/** Idle intervals stretch at most this much (asleep 300 s → 1 h). */
export const MAX_IDLE_STRETCH = 12;
/** Driving and charging intervals stretch at most this much (30 s → 10 min). */
export const MAX_ACTIVE_STRETCH = 20;
/** How long a drive or charge is assumed to go on when it is planned for. */
export const ACTIVE_HORIZON_S = 3600;

export interface StretchInput {
  /** Requests left today for the whole account. */
  readonly remaining: number;
  readonly secondsLeft: number;
  /** Vehicles sharing the budget. */
  readonly vehicles: number;
  readonly tier: Tier;
  /** The interval the scheduler would use with no budget. */
  readonly intervalS: number;
  /** The slowest regular interval (asleep): what a vehicle costs when nothing happens. */
  readonly idleBaselineS: number;
}

/**
 * How much longer than planned to wait (≥ 1), or Infinity when the budget is spent. Each
 * vehicle plans on its share; idle polling may use IDLE_SHARE of it at its current pace, and
 * active polling what remains once the rest of the day is reserved for idle at full stretch.
 */
export function stretchFactor(input: StretchInput): number {
  const { remaining, secondsLeft, tier, intervalS, idleBaselineS } = input;
  if (remaining <= 0) return Infinity;
  const share = remaining / Math.max(1, input.vehicles);
  if (tier === "idle") {
    const need = secondsLeft / intervalS;
    const room = share * IDLE_SHARE;
    return need <= room ? 1 : Math.min(MAX_IDLE_STRETCH, need / room);
  }
  const horizon = Math.min(secondsLeft, ACTIVE_HORIZON_S);
  const need = horizon / intervalS;
  const spare = share - (secondsLeft - horizon) / idleBaselineS / MAX_IDLE_STRETCH;
  if (need <= spare) return 1;
  if (spare <= 0) return MAX_ACTIVE_STRETCH;
  return Math.min(MAX_ACTIVE_STRETCH, need / spare);
}

export class Budget {
  /** Requests per day after the margin, if limited. */
  readonly requestsPerDay?: number;
  /** Dollars per day after the margin, if limited. */
  readonly usdPerDay?: number;

  constructor(
    readonly config: BudgetConfig,
    readonly meter: UsageMeter,
    /** Vehicles that share it (the account's vehicles). */
    public vehicles = 1,
  ) {
    const keep = 1 - (config.safety_margin ?? 0.1);
    if (config.requests_per_day !== undefined) {
      this.requestsPerDay = Math.floor(config.requests_per_day * keep);
    }
    if (config.usd_per_month !== undefined) this.usdPerDay = (config.usd_per_month / 30) * keep;
  }

  get limited(): boolean {
    return this.requestsPerDay !== undefined || this.usdPerDay !== undefined;
  }

  /** Billable requests left today (in the default category's price when limited by money). */
  remaining(): number {
    const today = this.meter.today();
    let left = Infinity;
    if (this.requestsPerDay !== undefined) left = this.requestsPerDay - today.requests;
    if (this.usdPerDay !== undefined) {
      const { pricing } = this.meter.options;
      const price = pricing.usd[pricing.defaultCategory] ?? 0;
      if (price > 0) left = Math.min(left, Math.floor((this.usdPerDay - today.usd) / price + 1e-9));
    }
    return Math.max(0, left);
  }

  /** The budget's say on a planned wait: a factor ≥ 1 to stretch it by, Infinity when spent. */
  stretch(tier: Tier, intervalS: number, idleBaselineS: number): number {
    if (!this.limited) return 1;
    return stretchFactor({
      remaining: this.remaining(),
      secondsLeft: this.meter.secondsToReset(),
      vehicles: this.vehicles,
      tier,
      intervalS: Math.max(1, intervalS),
      idleBaselineS,
    });
  }
}
