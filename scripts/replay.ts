/**
 * `deno task replay`: plays recorded cassettes through the full pipeline (fake vendor API →
 * provider → both exports) on a virtual clock. With no arguments it is the demo.
 */
import { ConfigError, loadConfig } from "../core/config.ts";
import { listenFailure, portProblem } from "../core/listen.ts";
import { VirtualClock } from "../core/clock.ts";
import { type Logger, loggerFromEnv } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { pollOnce, type PollOutcome, type PollTarget, runScheduler } from "../core/scheduler.ts";
import { type Cassette, loadCassette, parseCassette } from "../replay/cassette.ts";
import { startReplay } from "../app/replay_session.ts";
import { brokerInstalled, BrokerMissingError, MOSQUITTO } from "../replay/mosquitto.ts";
import { activityWord } from "../core/activity.ts";
import { sampleValue, vehicleKey } from "../core/snapshot.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { startFakeServer } from "../replay/fake_server.ts";
import { PLUGINS } from "../providers/mod.ts";
import { simOf } from "../providers/sims.ts";
import { fail, flags, onShutdownSignal } from "../app/cli.ts";
import { metricsListen, startExports } from "../app/exports.ts";
import { startSessions } from "../app/sessions.ts";

export const DEFAULT_FIXTURES = [
  "fixtures/tesla/day/cassette.json",
  "fixtures/volvo/xc40-bev-day/cassette.json",
  "fixtures/bmw/i4-day/cassette.json",
];
export const TESLA_STREAM_FIXTURE = "fixtures/tesla/stream-day/cassette.json";

/**
 * The bundled demo day, imported as a module rather than read from disk: the demo then works
 * from any directory, in the container and from the compiled binary, without read permission.
 * `teslaStream`: the Tesla day over Fleet Telemetry instead of polled.
 */
async function demoCassettes(teslaStream: boolean): Promise<Cassette[]> {
  const [tesla, volvo, bmw] = await Promise.all([
    teslaStream
      ? import("../fixtures/tesla/stream-day/cassette.json", { with: { type: "json" } })
      : import("../fixtures/tesla/day/cassette.json", { with: { type: "json" } }),
    import("../fixtures/volvo/xc40-bev-day/cassette.json", { with: { type: "json" } }),
    import("../fixtures/bmw/i4-day/cassette.json", { with: { type: "json" } }),
  ]);
  return [
    parseCassette(tesla.default, teslaStream ? TESLA_STREAM_FIXTURE : DEFAULT_FIXTURES[0]),
    parseCassette(volvo.default, DEFAULT_FIXTURES[1]),
    parseCassette(bmw.default, DEFAULT_FIXTURES[2]),
  ];
}

/**
 * The bundled demo where Mosquitto is missing: its polled days still play, and the log says
 * which streamed days were left out and how to get them. Named cassettes keep the hard error.
 */
export async function withoutBroker(
  cassettes: Cassette[],
  log: Logger,
  binary = MOSQUITTO,
): Promise<Cassette[]> {
  const streamed = cassettes.filter((c) => c.messages?.length);
  if (streamed.length === 0 || await brokerInstalled(binary)) return cassettes;
  const names = streamed.map((c) => `${c.vendor}/${c.scenario}`).join(", ");
  if (streamed.length === cassettes.length) throw new BrokerMissingError(binary);
  log.warn(
    `the demo plays without its streamed days (${names}): ${
      new BrokerMissingError(MOSQUITTO).message
    }`,
  );
  return cassettes.filter((c) => !c.messages?.length);
}

/** What the consumers need to handle a burst before `--once` polls (real ms). */
const SETTLE_MS = 300;

const HELP = `
deno task replay [options]

Plays recorded vendor cassettes through ev-observer on a virtual clock: a fake vendor API on
loopback answers the real provider code, and the result is served on /metrics and pushed over
OTLP when an endpoint is configured. A cassette's streamed messages (BMW, Tesla Fleet
Telemetry) are published at their recorded times to a Mosquitto on loopback that replay
starts (Debian package mosquitto), where the vendor's real stream consumer receives them.
With no options it plays the bundled Tesla day, a Volvo XC40 BEV day and a streamed BMW i4
day together in about a minute.

Options:
  --fixtures PATH   cassette to play (repeatable; default ${DEFAULT_FIXTURES.join(", ")})
  --tesla-stream    in the bundled demo, the Tesla day over Fleet Telemetry (MQTT) instead
                    of polled (${TESLA_STREAM_FIXTURE})
  --speed N         virtual seconds per real second (default 1440: a day in a minute)
  --start TIME      start this far into the cassette: seconds or HH:MM
                    (default: the beginning; with --once, the cassette's sample moment)
  --once            run one poll cycle, flush OTLP, and exit (status 1 when the OTLP
                    backend did not take the push: a connection check)
  --print           with --once: print the /metrics exposition to stdout
  --loop            start the cassette over when it ends (for long-running demos)
  --serve           run only the fake vendor API from the cassette(s) on loopback and print
                    its base URL, for curl, a browser or another client (default speed 1)
  --port N          with --serve only: listen on N (the next cassette on N+1, …; default: any)
  --listen ADDR     /metrics address (default from config, 127.0.0.1:9464)
  --config PATH     config file (location, greptimedb block, log level)
  --location        export latitude/longitude/heading
  -h, --help        this text

Environment: OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_METRICS_ENDPOINT turn the OTLP
push on (or a greptimedb block in the config); EV_LOG_LEVEL=debug shows every request.
`;

/** `--start`: seconds, or HH:MM with minutes 00–59 (hours past 23 reach a later day). */
function parseStart(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const hm = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (hm && Number(hm[2]) < 60) return Number(hm[1]) * 3600 + Number(hm[2]) * 60;
  const n = hm || value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new ConfigError(
      `--start: expected seconds or HH:MM (minutes 00–59), e.g. --start 18:00, got "${value}"`,
    );
  }
  return n;
}

/** Flags that only mean something together with another one. */
function checkFlagPairs(
  values: { once?: boolean; print?: boolean; serve?: boolean; port?: string },
) {
  if (values.print && !values.once) {
    throw new ConfigError(
      "--print prints the exposition of one poll cycle: add --once (deno task replay --once " +
        "--print), or scrape /metrics while the replay runs",
    );
  }
  if (values.port !== undefined && !values.serve) {
    throw new ConfigError(
      "--port sets the fake vendor API's port and needs --serve; /metrics takes --listen ADDR",
    );
  }
}

/** Runs the replay with these command-line arguments (the `ev-observer replay` entry too). */
export async function main(args: string[] = Deno.args): Promise<void> {
  const { values } = flags(args, {
    fixtures: { type: "string", multiple: true },
    "tesla-stream": { type: "boolean" },
    speed: { type: "string" },
    start: { type: "string" },
    once: { type: "boolean" },
    print: { type: "boolean" },
    loop: { type: "boolean" },
    serve: { type: "boolean" },
    port: { type: "string" },
    listen: { type: "string" },
    config: { type: "string" },
    location: { type: "boolean" },
  }, HELP);
  const env = Deno.env.toObject();
  const config = await loadConfig(values.config, env, { vendors: PLUGINS }).catch((e) => fail(e));
  if (values.location) config.location = true;
  const log = loggerFromEnv();
  const speed = values.speed === undefined ? (values.serve ? 1 : 1440) : Number(values.speed);
  if (!Number.isFinite(speed) || speed <= 0) fail(new Error(`--speed must be a positive number`));
  let start: number | undefined;
  let listen;
  try {
    checkFlagPairs(values);
    if (values["tesla-stream"] && values.fixtures?.length) {
      throw new ConfigError(
        `--tesla-stream picks the streamed Tesla day of the bundled demo; with --fixtures ` +
          `name it instead: --fixtures ${TESLA_STREAM_FIXTURE}`,
      );
    }
    start = parseStart(values.start);
    listen = metricsListen(values.listen, config, env, values.config);
  } catch (e) {
    fail(e);
  }
  const cassettes =
    await (values.fixtures?.length
      ? Promise.all(values.fixtures.map((p) => loadCassette(p)))
      : demoCassettes(values["tesla-stream"] === true).then((all) => withoutBroker(all, log)))
      .catch((e) => fail(e));

  const origin = Math.min(...cassettes.map((c) => c.startedAt));
  const duration = Math.max(...cassettes.map((c) => c.startedAt + c.duration)) - origin;
  if (start !== undefined && start >= duration) {
    fail(
      new ConfigError(
        `--start ${values.start}: the cassettes last ${fmtClock(duration)} (${duration} s); ` +
          "start before their end",
      ),
    );
  }
  const offset = start ?? (values.once ? Math.min(...cassettes.map((c) => c.sampleAt)) : 0);
  const clock = new VirtualClock((origin + offset) * 1000, values.once ? 0 : speed);
  if (values.serve) return await serveOnly(cassettes, clock, log, values.port);
  const readings = new Readings();
  // Kept for this run only: a replay never writes into a live exporter's state.
  const sessions = await startSessions(config, { readings, clock, log, path: ":memory:" });
  const exports = values.once && !values.listen
    ? undefined
    : await startExports(config, readings, log, listen, {
      now: () => clock.now(),
      mode: `replay of ${cassettes.map((c) => `${c.vendor}/${c.scenario}`).join(", ")}`,
      sessions,
    }).catch((e) => fail(e, log));

  const session = await startReplay({ cassettes, clock, readings, log, location: config.location })
    .catch((e) => fail(e, log));
  await session.connectStreams().catch(async (e) => {
    await session.shutdown();
    fail(e, log);
  });
  const { targets } = session;
  log.info("replay started", {
    cassettes: cassettes.map((c) => `${c.vendor}/${c.scenario}`).join(","),
    vehicles: targets.length,
    speed: values.once ? undefined : speed,
  });

  const progress = progressReporter(log, clock, origin);
  if (values.once) {
    // One cycle: every vehicle polled once, then export and exit. The exports exist before
    // the poll (their histograms record requests as they happen); with --listen they are the
    // running server's, so nothing is pushed twice.
    const settings = exports ? undefined : otlpSettings(env, config.greptimedb);
    const otlp = exports?.otlp ?? (settings &&
      new OtlpExport(readings, settings, {
        location: config.location,
        log,
      }));
    const prometheus = exports?.prometheus ??
      (values.print ? new PrometheusExport(readings, { location: config.location }) : undefined);
    if (session.players.length) {
      // What the cars streamed up to the sample moment arrives first, as a burst.
      await session.publishUntil(clock.now() / 1000);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    for (const t of targets) {
      // As the scheduler does: a car its stream delivers live is not polled.
      const streamed = t.stream?.live(t.vehicle) &&
        readings.vehicles.get(vehicleKey(t.vehicle))?.snapshot;
      progress(
        t,
        streamed ? { kind: "snapshot", snapshot: streamed } : await pollOnce(t, readings, log),
      );
    }
    if (exports) await exports.close();
    else if (otlp) {
      await otlp.forceFlush();
      await otlp.shutdown();
    }
    if (values.print && prometheus) {
      await Deno.stdout.write(new TextEncoder().encode(await prometheus.exposition()));
    }
    // --once serves as a connection check: a push the backend did not take fails the run.
    if (otlp && otlp.failures > 0) {
      await session.shutdown();
      fail(
        new Error(
          `OTLP export failed (${otlp.failures} of ${otlp.failures + otlp.exports} pushes): ` +
            `${otlp.lastError} — check that the backend runs and that ` +
            "OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT or greptimedb.url points at it",
        ),
        log,
      );
    }
  } else {
    const controller = new AbortController();
    onShutdownSignal(controller, log);
    // A car its stream delivers is not polled: its progress lines come from what it streams.
    readings.onSnapshot((snapshot) => {
      const t = targets.find((t) => vehicleKey(t.vehicle) === vehicleKey(snapshot.vehicle));
      if (t?.stream?.live(t.vehicle)) progress(t, { kind: "snapshot", snapshot });
    });
    session.playStreams();
    do {
      const remaining = (origin + duration) * 1000 - clock.now();
      const loopController = new AbortController();
      // The end of the cassette ends this pass; with --loop the next one starts over.
      const timer = setTimeout(
        () => (values.loop ? loopController : controller).abort(),
        Math.max(0, remaining / speed),
      );
      const stop = () => loopController.abort();
      controller.signal.addEventListener("abort", stop, { once: true });
      await runScheduler({
        targets,
        readings,
        clock,
        log,
        signal: loopController.signal,
        // The progress lines below carry the virtual clock instead.
        narrate: false,
        onPoll: progress,
      });
      clearTimeout(timer);
      if (values.loop && !controller.signal.aborted) {
        log.info("cassette ended; starting over");
        // The streams stop before the clock goes back, so nothing of the new pass goes to the
        // consumers of the old one.
        if (session.streams.length) await session.rewind();
        clock.advance(-duration * 1000);
        if (session.streams.length) {
          await session.connectStreams().catch((e) => fail(e, log));
          session.playStreams();
        }
        continue;
      }
      break;
    } while (true);
    log.info("replay finished", { clock: fmtClock(clock.now() / 1000 - origin) });
    await exports?.close();
  }
  await session.shutdown();
  await sessions?.close();
  const unmatched = session.unmatched();
  if (unmatched.length) {
    log.error("the cassette had no answer for some requests", {
      requests: unmatched.length,
      first: unmatched[0],
    });
    Deno.exit(1);
  }
  Deno.exit(0);
}

/** `--serve`: the fake vendor APIs alone, until Ctrl-C. */
async function serveOnly(
  cassettes: Cassette[],
  clock: VirtualClock,
  log: Logger,
  port: string | undefined,
): Promise<never> {
  const first = port === undefined ? 0 : Number(port);
  const last = first + cassettes.length - 1;
  // The same check as every listen address; the fakes take N, N+1, … on loopback.
  const problem = port === undefined ? undefined : portProblem(port) ??
    (last > 65535 ? `ports ${first}–${last} (one per cassette) end past 65535` : undefined);
  if (problem) fail(new ConfigError(`--port: ${problem}, e.g. --port 8080`));
  const fakes: ReturnType<typeof startFakeServer>[] = [];
  for (const [i, cassette] of cassettes.entries()) {
    const hook = simOf(cassette.vendor)?.fakeHook;
    const at = first ? first + i : 0;
    try {
      fakes.push(startFakeServer({ cassette, clock, hook, log, port: at }));
    } catch (err) {
      await Promise.all(fakes.map((f) => f.shutdown()));
      const why = listenFailure(err, {
        address: `127.0.0.1:${at}`,
        key: "--port",
        set: (a) => `--port ${a.slice(a.lastIndexOf(":") + 1)}`,
      });
      fail(why ? new ConfigError(why) : err, log);
    }
    const fake = fakes[fakes.length - 1];
    console.log(`${cassette.vendor}/${cassette.scenario} ${fake.url}`);
  }
  log.info("serving the fake vendor API; Ctrl-C stops", { speed: clock.speed });
  const controller = new AbortController();
  onShutdownSignal(controller, log);
  await new Promise((resolve) => controller.signal.addEventListener("abort", resolve));
  await Promise.all(fakes.map((f) => f.shutdown()));
  const unmatched = fakes.flatMap((f) => f.unmatched);
  if (unmatched.length) {
    log.error("requests the cassette could not answer", {
      requests: unmatched.length,
      first: unmatched[0],
    });
    Deno.exit(1);
  }
  Deno.exit(0);
}

function fmtClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, "0");
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  return d ? `day${d + 1} ${hh}:${mm}` : `${hh}:${mm}`;
}

/** Logs a line per vehicle when its state changes, and hourly while it stays the same. */
function progressReporter(log: Logger, clock: VirtualClock, origin: number) {
  const last = new Map<string, { key: string; at: number }>();
  return (target: PollTarget, outcome: PollOutcome) => {
    const now = clock.now() / 1000;
    const v = target.vehicle;
    const fields: Record<string, string | number> = {
      clock: fmtClock(now - origin),
      vehicle: v.name ?? v.provider,
    };
    let key: string;
    if (outcome.kind === "snapshot") {
      const s = outcome.snapshot;
      const soc = sampleValue(s, "ev.battery.level");
      const speed = sampleValue(s, "ev.drive.speed");
      const activity = activityWord(s);
      fields.state = `online/${activity}`;
      if (soc !== undefined) fields.soc = `${Math.round(soc * 100)}%`;
      if (activity === "driving" && speed !== undefined) {
        fields.speed = `${Math.round(speed * 3.6)}km/h`;
      }
      key = String(fields.state);
    } else if (outcome.kind === "state") {
      fields.state = outcome.state;
      key = outcome.state;
    } else if (outcome.kind === "woke") {
      fields.state = "waking";
      key = "waking";
    } else {
      fields.state = "error";
      fields.error = outcome.error.message;
      key = "error";
    }
    const id = vehicleKey(v);
    const prev = last.get(id);
    if (prev && prev.key === key && now - prev.at < 3600) return;
    last.set(id, { key, at: now });
    log.info("vehicle", fields);
  };
}

if (import.meta.main) await main();
