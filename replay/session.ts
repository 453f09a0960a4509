/**
 * A replay session: one fake vendor server per cassette and the real provider pointed at it,
 * on a shared virtual clock. Used by `deno task replay` and by the end-to-end tests.
 */
import type { Clock } from "../core/clock.ts";
import { Http } from "../core/http.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import type { PollTarget } from "../core/scheduler.ts";
import { providerEntry } from "../providers/mod.ts";
import type { Cassette } from "./cassette.ts";
import { type FakeServer, startFakeServer } from "./fake_server.ts";

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
}

/** Starts the fakes and lists each cassette's vehicles through the real provider code. */
export async function startReplay(options: ReplayOptions): Promise<ReplaySession> {
  const { clock, readings, log } = options;
  const fakes: FakeServer[] = [];
  const targets: PollTarget[] = [];
  const shutdown = () => Promise.all(fakes.map((f) => f.shutdown())).then(() => {});
  try {
    for (const cassette of options.cassettes) {
      const entry = providerEntry(cassette.vendor);
      const fake = startFakeServer({ cassette, clock, hook: entry.fakeHook, log });
      fakes.push(fake);
      const provider = entry.create({
        http: new Http({ provider: entry.id, readings, now: () => clock.now() }),
        readings,
        clock,
        log: log.child({ provider: entry.id }),
        baseUrl: fake.url,
        accessToken: () => Promise.resolve("replay-access-token"),
        location: options.location,
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
