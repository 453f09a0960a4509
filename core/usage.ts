/**
 * What an account's requests cost: a vendor's price list applied to every exchange the HTTP
 * seam completes. Counts billable requests and dollars per UTC day (the budget reads them)
 * and exports them as ev_api_billable_requests_total and ev_api_cost_usd_total.
 */
import type { Clock } from "./clock.ts";
import type { Exchange } from "./http.ts";
import type { Readings } from "./readings.ts";

/** A vendor's billing rule, supplied by its provider. */
export interface PriceList {
  /** USD per billable request, by the vendor's category (e.g. Tesla: data, wakes, commands). */
  readonly usd: Readonly<Record<string, number>>;
  /** The category of a request that names none. */
  readonly defaultCategory: string;
  /**
   * Whether an answer with this status (and the request's category) is billed (Tesla Fleet:
   * every status below 500; BMW: API calls, not sign-in calls).
   */
  billed(status: number, category?: string): boolean;
}

/**
 * For a vendor that does not bill but caps requests (Volvo: 10,000 a day): every answer counts
 * against the budget, at no price.
 */
export const COUNT_EVERY_REQUEST: PriceList = {
  usd: {},
  defaultCategory: "request",
  billed: () => true,
};

export interface UsageToday {
  readonly requests: number;
  readonly usd: number;
  readonly byCategory: Readonly<Record<string, number>>;
}

export interface UsageMeterOptions {
  readonly provider: string;
  readonly account: string;
  readonly pricing: PriceList;
  readonly clock: Clock;
  readonly readings?: Readings;
}

const DAY_MS = 86_400_000;

export class UsageMeter {
  #day = -1;
  #requests = 0;
  #usd = 0;
  #byCategory: Record<string, number> = {};

  constructor(readonly options: UsageMeterOptions) {}

  /** An Http observer: `http.observe(meter.observe)`. */
  readonly observe = (exchange: Exchange): void => {
    this.record(exchange.request.category, exchange.response.status);
  };

  record(category: string | undefined, status: number): void {
    const { pricing, readings, provider, account } = this.options;
    const cat = category ?? pricing.defaultCategory;
    if (!pricing.billed(status, cat)) return;
    const usd = pricing.usd[cat] ?? 0;
    this.#roll();
    this.#requests++;
    this.#usd += usd;
    this.#byCategory[cat] = (this.#byCategory[cat] ?? 0) + 1;
    const labels = { provider, account, category: cat };
    readings?.count("ev.api.billable_requests", labels);
    readings?.count("ev.api.cost.usd", labels, usd);
  }

  /** Spend since 00:00 UTC today. */
  today(): UsageToday {
    this.#roll();
    return { requests: this.#requests, usd: this.#usd, byCategory: { ...this.#byCategory } };
  }

  /** Seconds until the day's counters start again (00:00 UTC). */
  secondsToReset(): number {
    const now = this.options.clock.now();
    return (Math.floor(now / DAY_MS + 1) * DAY_MS - now) / 1000;
  }

  #roll(): void {
    const day = Math.floor(this.options.clock.now() / DAY_MS);
    if (day === this.#day) return;
    this.#day = day;
    this.#requests = 0;
    this.#usd = 0;
    this.#byCategory = {};
  }
}
