/**
 * One benchmark run: a fresh simulated Tesla (providers/tesla/sim/fake_api.ts) on its own virtual
 * clock at the start of the reference day, and the pieces a client needs to talk to it through
 * the real HTTP seam. Calls after the day's end are refused before they reach the fake, so
 * every strategy is billed for exactly one day.
 */
import { VirtualClock } from "../core/clock.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import type { ProviderContext } from "../core/source.ts";
import type { UsageMeter } from "../core/usage.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { teslaPricing } from "../providers/tesla/pricing.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { dayHttp } from "./common.ts";

export interface Harness {
  readonly clock: VirtualClock;
  readonly fake: FakeTesla;
  readonly ctx: ProviderContext;
  readonly readings: Readings;
  readonly log: Logger;
  /** What the seam billed (a budget reads it). */
  readonly meter: UsageMeter;
  /** Unix ms at which the day is over. */
  readonly endMs: number;
  /** Aborted when a strategy tries to call after the day's end. */
  readonly over: AbortSignal;
  shutdown(): Promise<void>;
}

export interface HarnessOptions {
  /** Talk to the fake in-process instead of over loopback HTTP (same answers, no sockets). */
  readonly inProcess?: boolean;
  readonly log?: Logger;
}

export function startHarness(options: HarnessOptions = {}): Harness {
  const scenario = teslaDay();
  const clock = new VirtualClock(scenario.startedAt * 1000, 0);
  // Tokens outlive the day: token care has its own tests, the benchmark measures polling.
  const fake = new FakeTesla({ clock, scenario, accessLifetimeS: 3 * 86400 }, !options.inProcess);
  const endMs = (scenario.startedAt + scenario.duration) * 1000;
  const readings = new Readings();
  const log = options.log ?? createLogger({ write: () => {} });
  // The meter feeds ev_api_billable_requests_total (the billing test reads it).
  const { http, meter, over } = dayHttp({
    provider: "tesla",
    pricing: teslaPricing,
    clock,
    endMs,
    fetch: options.inProcess ? fake.fetch : fetch,
    readings,
  });
  const token = fake.auth.mint().access_token;
  const ctx: ProviderContext = {
    http: http.withAuth({ token: () => Promise.resolve(token) }),
    readings,
    clock,
    log,
    baseUrl: fake.url,
    location: false,
  };
  return {
    clock,
    fake,
    ctx,
    readings,
    log,
    meter,
    endMs,
    over,
    shutdown: () => fake.shutdown(),
  };
}
