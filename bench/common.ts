/**
 * What every benchmark shares: an HTTP seam that ends the simulated day (a strategy is billed
 * for exactly one day) with its usage meter, running strategies one by one, and the freshness
 * statistics.
 */
import type { Clock } from "../core/clock.ts";
import { Http, HttpError } from "../core/http.ts";
import type { Readings } from "../core/readings.ts";
import { type PriceList, UsageMeter } from "../core/usage.ts";

export interface DayHttp {
  readonly http: Http;
  /** Counts what the seam sends by the vendor's price list (the budget reads it). */
  readonly meter: UsageMeter;
  /** Aborted when a strategy tries to call after the day's end. */
  readonly over: AbortSignal;
}

/** The seam to a fake vendor; calls at or after `endMs` are refused before they reach it. */
export function dayHttp(options: {
  provider: string;
  clock: Clock;
  endMs: number;
  fetch: typeof fetch;
  readings: Readings;
  pricing: PriceList;
}): DayHttp {
  const { clock, endMs } = options;
  const controller = new AbortController();
  const http = new Http({
    provider: options.provider,
    readings: options.readings,
    now: () => clock.now(),
    fetch: (input, init) => {
      if (clock.now() >= endMs) {
        controller.abort();
        return Promise.reject(new HttpError("network", "", "the benchmark day is over"));
      }
      return options.fetch(input, init);
    },
  });
  const meter = new UsageMeter({
    provider: options.provider,
    account: "bench",
    pricing: options.pricing,
    clock,
    readings: options.readings,
  });
  http.observe(meter.observe);
  return { http, meter, over: controller.signal };
}

/** Runs each strategy on its own (fresh fake, fresh clock), in order. */
export async function runEach<S extends { readonly name: string }, R>(
  strategies: readonly S[],
  run: (s: S) => Promise<R>,
  onDone?: (s: S, r: R) => void,
): Promise<Record<string, R>> {
  const out: Record<string, R> = {};
  for (const s of strategies) {
    out[s.name] = await run(s);
    onDone?.(s, out[s.name]);
  }
  return out;
}

/** Age of the newest answer (times ascending, s) at each second of the intervals. */
export function agesEachSecond(
  served: readonly number[],
  intervals: readonly { readonly start: number; readonly end: number }[],
): number[] {
  const out: number[] = [];
  let i = 0;
  let last = -Infinity;
  for (const { start, end } of intervals) {
    for (let t = start; t < end; t++) {
      while (i < served.length && served[i] <= t) last = served[i++];
      out.push(t - last);
    }
  }
  return out;
}

/** Nearest-rank 95th percentile, to 0.1; null when there is nothing (or nothing finite). */
export function p95(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const v = sorted[Math.ceil(0.95 * sorted.length) - 1];
  return Number.isFinite(v) ? round(v, 1) : null;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
