/**
 * A replay session: one fake vendor server per cassette and the real provider pointed at it,
 * on a shared virtual clock. Used by `deno task replay` and by the end-to-end tests.
 */
import type { Clock } from "../core/clock.ts";
import { Http } from "../core/http.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { UsageMeter } from "../core/usage.ts";
import { type Intervals, type PollTarget, runScheduler } from "../core/scheduler.ts";
import { providerEntry, replayAccount } from "../providers/mod.ts";
import type { Cassette } from "./cassette.ts";
import { type FakeServer, startFakeServer } from "./fake_server.ts";
import { type FaultPlan, faultyFetch } from "./faults.ts";

export interface ReplaySession {
  readonly targets: PollTarget[];
  readonly fakes: FakeServer[];
  /** Requests no cassette could answer (the replay must fail on these). */
  unmatched(): string[];
  shutdown(): Promise<void>;
}

export interface ReplayOptions {
  readonly cassettes: readonly Cassette[];
  readonly clock: Clock;
  readonly readings: Readings;
  readonly log: Logger;
  readonly location: boolean;
  /** Called with each provider's Http seam before its first request (a recorder attaches here). */
  readonly onHttp?: (http: Http) => void;
  /** Fault plans by cassette index (replay/faults.ts): the fault suite and bench use these. */
  readonly faults?: readonly (FaultPlan | undefined)[];
  /** Http limits (timeout, body cap) by cassette index, instead of the defaults. */
  readonly http?: readonly ({ readonly timeoutMs?: number; readonly maxBodyBytes?: number })[];
  /** Token source; a fixed placeholder token when absent. */
  readonly accessToken?: () => Promise<string>;
}

/** Starts the fakes and lists each cassette's vehicles through the real provider code. */
export async function startReplay(options: ReplayOptions): Promise<ReplaySession> {
  const { clock, readings, log } = options;
  const fakes: FakeServer[] = [];
  const targets: PollTarget[] = [];
  const shutdown = () => Promise.all(fakes.map((f) => f.shutdown())).then(() => {});
  try {
    for (const [i, cassette] of options.cassettes.entries()) {
      const entry = providerEntry(cassette.vendor);
      const faults = options.faults?.[i];
      const fake = startFakeServer({ cassette, clock, hook: entry.fakeHook, log, faults });
      fakes.push(fake);
      const http = new Http({
        provider: entry.id,
        readings,
        now: () => clock.now(),
        ...options.http?.[i],
        fetch: faults ? faultyFetch(faults) : undefined,
      });
      options.onHttp?.(http);
      if (entry.pricing) {
        const pricing = entry.pricing;
        http.observe(
          new UsageMeter({ provider: entry.id, account: "replay", pricing, clock, readings })
            .observe,
        );
      }
      const provider = entry.create({
        http,
        readings,
        clock,
        log: log.child({ provider: entry.id }),
        baseUrl: fake.url,
        accessToken: options.accessToken ?? (() => Promise.resolve("replay-access-token")),
        location: options.location,
        account: replayAccount(entry),
      });
      let vehicles;
      try {
        vehicles = await provider.listVehicles();
      } catch (err) {
        throw new Error(
          `${cassette.vendor}/${cassette.scenario}: cannot list vehicles: ${
            (err as Error).message
          }`,
        );
      }
      for (const vehicle of vehicles) targets.push({ provider, vehicle });
    }
  } catch (err) {
    await shutdown();
    throw err;
  }
  return {
    targets,
    fakes,
    unmatched: () => fakes.flatMap((f) => f.unmatched),
    shutdown,
  };
}

/**
 * Runs the real scheduler over the session's vehicles until the clock is `at` seconds past
 * `origin` (Unix seconds). With a speed-0 virtual clock this is instant and exact.
 */
export async function playUntil(
  session: ReplaySession,
  options: {
    clock: Clock;
    readings: Readings;
    log: Logger;
    origin: number;
    at: number;
    intervals?: Intervals;
  },
): Promise<void> {
  const { clock, readings, log, origin, at } = options;
  const controller = new AbortController();
  await runScheduler({
    targets: session.targets,
    readings,
    clock,
    log,
    intervals: options.intervals,
    signal: controller.signal,
    onPoll: () => {
      if (clock.now() / 1000 - origin >= at) controller.abort();
    },
  });
}
