/**
 * A replay session: one fake vendor server per cassette, and each vendor's account opened
 * through the same path as live polling (its plug-in, pace, meter and budget), pointed at
 * the fake, on a shared virtual clock. Cassettes with streamed messages get a real Mosquitto
 * on loopback (no file written: it only needs to be installed), the vendor's real stream
 * consumer subscribed to it, and a player publishing each message at its recorded time, so
 * the stream code runs as it does live. Used by `deno task replay`, the fault suite and the
 * end-to-end tests.
 */
import type { Clock } from "../core/clock.ts";
import type { HttpOptions } from "../core/http.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { type PollTarget, runScheduler } from "../core/scheduler.ts";
import type { SchedulerConfig } from "../core/scheduler_config.ts";
import type { Cassette } from "../replay/cassette.ts";
import { type FakeServer, type ReplayStream, startFakeServer } from "../replay/fake_server.ts";
import { type FaultPlan, faultyFetch } from "../replay/faults.ts";
import { BrokerMissingError, Mosquitto } from "../replay/mosquitto.ts";
import { StreamPlayer } from "../replay/stream_player.ts";
import { simOf } from "../providers/sims.ts";
import { openAccount } from "./accounts.ts";
import type { Budget } from "../core/budget.ts";

export interface ReplaySession {
  readonly targets: PollTarget[];
  readonly fakes: FakeServer[];
  /** One consumer and one player per cassette with messages. */
  readonly streams: readonly ReplayStream[];
  readonly players: readonly StreamPlayer[];
  /** Requests no cassette could answer (the replay must fail on these). */
  unmatched(): string[];
  /** Starts the stream consumers; resolves once each is subscribed to the broker. */
  connectStreams(): Promise<void>;
  /** Publishes each message when the clock reaches its time, until shutdown. */
  playStreams(): void;
  /** Publishes every message recorded up to `unixS` (replay --once, tests). */
  publishUntil(unixS: number): Promise<void>;
  /**
   * Stops the consumers and players and opens new consumers (in `streams` and `targets`), for
   * a pass of the cassettes over again (`replay --loop`): a consumer keeps the newest value it
   * saw (BMW drops older ones), so the same day again needs a fresh one. Then connect and play.
   */
  rewind(): Promise<void>;
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
  /** The broker program (default Debian's Mosquitto; tests name a missing one). */
  readonly brokerBinary?: string;
}

/** How long the consumers may take to subscribe to the replay broker (real ms). */
const SUBSCRIBE_MS = 10_000;

const REPLAY_TOKEN = () => Promise.resolve("replay-access-token");

/** Starts the fakes and lists each cassette's vehicles through the real provider code. */
export async function startReplay(options: ReplayOptions): Promise<ReplaySession> {
  const { clock, readings, log } = options;
  const fakes: FakeServer[] = [];
  const targets: PollTarget[] = [];
  const budgets = new Map<string, Budget>();
  const streams: ReplayStream[] = [];
  /** Opens each stream's consumer again (rewind). */
  const openers: (() => ReplayStream)[] = [];
  const players: StreamPlayer[] = [];
  /** The consumers' and players' runs of this pass. */
  let pass = new AbortController();
  let running: Promise<void>[] = [];
  let broker: Mosquitto | undefined;
  const stopPass = async () => {
    pass.abort();
    await Promise.all(running);
    running = [];
    pass = new AbortController();
  };
  const shutdown = async () => {
    await stopPass();
    await Promise.all(players.map((p) => p.close()));
    await broker?.close();
    await Promise.all(fakes.map((f) => f.shutdown()));
  };
  try {
    broker = await startBroker(options);
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
      let stream: ReplayStream | undefined;
      if (broker && cassette.messages?.length) {
        if (!sim?.replayStream) {
          throw new Error(
            `${cassette.vendor}/${cassette.scenario} has streamed messages, and the ` +
              `${cassette.vendor} simulator has no stream consumer to play them to`,
          );
        }
        const { replayStream } = sim;
        const url = broker.url;
        const open = () =>
          replayStream({
            brokerUrl: url,
            cassette,
            account: run.name,
            readings,
            clock,
            log,
            location: options.location,
          });
        stream = open();
        streams.push(stream);
        openers.push(open);
        players.push(
          await StreamPlayer.connect(
            broker.url,
            cassette.messages,
            cassette.startedAt,
            `replay-${i}-${cassette.vendor}`,
          ),
        );
      }
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
          ...(stream ? { stream } : {}),
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
    streams,
    players,
    unmatched: () => fakes.flatMap((f) => f.unmatched),
    connectStreams: async () => {
      for (const stream of streams) running.push(stream.run(pass.signal));
      const deadline = Date.now() + SUBSCRIBE_MS;
      while (!streams.every((s) => s.connected)) {
        if (Date.now() > deadline) {
          throw new Error(
            `the stream consumers did not subscribe to the replay broker within ` +
              `${SUBSCRIBE_MS / 1000} s:\n${broker?.log ?? ""}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    playStreams: () => {
      for (const p of players) running.push(p.run(clock, pass.signal));
    },
    publishUntil: async (unixS) => {
      for (const p of players) await p.publishUntil(unixS - p.startedAt);
    },
    rewind: async () => {
      await stopPass();
      for (const [k, open] of openers.entries()) {
        const old = streams[k];
        streams[k] = open();
        for (const [j, t] of targets.entries()) {
          if (t.stream === old) targets[j] = { ...t, stream: streams[k] };
        }
      }
    },
    shutdown,
  };
}

/** A broker when a cassette streams; a missing Mosquitto named with the cassettes needing it. */
async function startBroker(options: ReplayOptions): Promise<Mosquitto | undefined> {
  const streamed = options.cassettes.filter((c) => c.messages?.length);
  if (streamed.length === 0) return undefined;
  try {
    return await Mosquitto.start({ binary: options.brokerBinary });
  } catch (err) {
    if (!(err instanceof BrokerMissingError)) throw err;
    const names = streamed.map((c) => `${c.vendor}/${c.scenario}`).join(", ");
    throw new BrokerMissingError(
      options.brokerBinary ?? "/usr/sbin/mosquitto",
      `replay plays the streamed messages of ${names} through an MQTT broker it starts`,
    );
  }
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
