/**
 * A replay session: one fake vendor server per cassette, and each vendor's account opened
 * through the same path as live polling (its plug-in, pace, meter and budget), pointed at
 * the fake, on a shared virtual clock. Used by `deno task replay`, the fault suite and the
 * end-to-end tests.
 */
import type { Clock } from "../core/clock.ts";
import type { HttpOptions } from "../core/http.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { type PollTarget, runScheduler } from "../core/scheduler.ts";
import type { SchedulerConfig } from "../core/scheduler_config.ts";
import type { Cassette } from "../replay/cassette.ts";
import { type FakeServer, startFakeServer } from "../replay/fake_server.ts";
import { type FaultPlan, faultyFetch } from "../replay/faults.ts";
import { simOf } from "../providers/sims.ts";
import { openAccount } from "./accounts.ts";
import type { Budget } from "../core/budget.ts";

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
  readonly onHttp?: Parameters<typeof openAccount>[2]["onHttp"];
  /** Fault plans by cassette index (replay/faults.ts): the fault suite and bench use these. */
  readonly faults?: readonly (FaultPlan | undefined)[];
  /** Http limits (timeout, body cap) by cassette index, instead of the defaults. */
  readonly http?: readonly Pick<HttpOptions, "timeoutMs" | "maxBodyBytes">[];
  /** Token source; a fixed placeholder token when absent. */
  readonly accessToken?: () => Promise<string>;
  /**
   * Account settings by cassette index over the simulator's (the fault suite gives each
   * Volvo its own API key, so one key's quota fault leaves the other car alone).
   */
  readonly accounts?: readonly (Readonly<Record<string, string>> | undefined)[];
}

const REPLAY_TOKEN = () => Promise.resolve("replay-access-token");

/** Starts the fakes and lists each cassette's vehicles through the real provider code. */
export async function startReplay(options: ReplayOptions): Promise<ReplaySession> {
  const { clock, readings, log } = options;
  const fakes: FakeServer[] = [];
  const targets: PollTarget[] = [];
  const budgets = new Map<string, Budget>();
  const shutdown = () => Promise.all(fakes.map((f) => f.shutdown())).then(() => {});
  try {
    for (const [i, cassette] of options.cassettes.entries()) {
      const sim = simOf(cassette.vendor);
      const faults = options.faults?.[i];
      const fake = startFakeServer({ cassette, clock, hook: sim?.fakeHook, log, faults });
      fakes.push(fake);
      const account = {
        provider: cassette.vendor,
        name: "replay",
        vehicles: [],
        ...sim?.replayAccount,
        ...options.accounts?.[i],
        api_base_url: fake.url,
      };
      const { run } = await openAccount(account, i, {
        location: options.location,
        stateDir: "",
        configPath: `${cassette.vendor}/${cassette.scenario}`,
        env: {},
        readings,
        clock,
        log,
        invokedAs: "deno task",
        budgets,
        onHttp: options.onHttp,
        http: { ...options.http?.[i], fetch: faults ? faultyFetch(faults) : undefined },
        token: options.accessToken ?? REPLAY_TOKEN,
      });
      let vehicles;
      try {
        vehicles = await run.provider.listVehicles();
      } catch (err) {
        throw new Error(
          `${cassette.vendor}/${cassette.scenario}: cannot list vehicles: ${
            (err as Error).message
          }`,
        );
      }
      for (const vehicle of vehicles) {
        targets.push({
          provider: run.provider,
          vehicle,
          budget: run.budget,
          account: run.name,
          config: run.config,
        });
      }
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
    /** Scheduler settings over every vehicle's own (tests that sample the day coarsely). */
    config?: Partial<SchedulerConfig>;
  },
): Promise<void> {
  const { clock, readings, log, origin, at } = options;
  const controller = new AbortController();
  const targets = options.config
    ? session.targets.map((t) => ({ ...t, config: { ...t.config, ...options.config } }))
    : session.targets;
  await runScheduler({
    targets,
    readings,
    clock,
    log,
    signal: controller.signal,
    onPoll: () => {
      if (clock.now() / 1000 - origin >= at) controller.abort();
    },
  });
}
