/**
 * The server side of `deno task bench load` (bench/load.ts starts it as a child process): a
 * fleet of simulated Teslas polled by the real scheduler on a fast virtual clock, the readings
 * served on /metrics, / and /status.json. Prints its URL as the first stdout line, then a
 * JSON line every `--every` ms with `Deno.memoryUsage()`, the polls so far and the CPU ms used. A line "gc" on
 * stdin collects garbage (with --v8-flags=--expose-gc) and prints the heap that survived, as
 * `{"gc": bytes}`: what a leak would grow. A line "lag" prints how late a 5 ms timer fired
 * since the last "lag" (max and p99, ms) and the longest of those delays spent on this
 * process's CPU (`blocked`): the longest task that held the event loop.
 * Stops on SIGTERM.
 *
 *   deno run --allow-net=127.0.0.1 --v8-flags=--expose-gc bench/load_server.ts --vehicles 200
 */
import process from "node:process";
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { runScheduler } from "../core/scheduler.ts";
import * as Prometheus from "../export/prometheus.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
import { startServer } from "../export/server.ts";
import { StatusHistory, statusModel } from "../export/status.ts";
import { fakeFleet, fleetTargets } from "../providers/tesla/sim/fake_fleet.ts";
import { DAY_START } from "../providers/tesla/sim/scenario.ts";
import { flags } from "../app/flags.ts";

const HELP = `
bench/load_server.ts [--vehicles N] [--speed X] [--every MS] [--hour H] [--spread S]
                     [--otlp URL] [--export MODULE] [--sim URL]

N simulated Teslas (default 200) polled on a virtual clock X times faster than real time
(default 30), served on a free loopback port; memory reported every MS ms (default 200). The
clock starts at hour H of the reference day (default 6), car i runs i × S seconds ahead
(default 251; 0 with H 19: every car charging). With --otlp, a line "otlp" on stdin pushes
once to URL. --export loads PrometheusExport from another checkout's export/prometheus.ts
(the bench's before/after). --sim reads the cars of a bench/fleet_sim_server.ts at URL over
HTTP instead of simulating them in this process (its --vehicles, --hour and --spread apply).
`;

const { values } = flags(Deno.args, {
  vehicles: { type: "string" },
  speed: { type: "string" },
  every: { type: "string" },
  hour: { type: "string" },
  spread: { type: "string" },
  otlp: { type: "string" },
  export: { type: "string" },
  sim: { type: "string" },
}, HELP);
const size = Number(values.vehicles ?? 200);
const speed = Number(values.speed ?? 30);
const every = Number(values.every ?? 200);
const hour = Number(values.hour ?? 6);
const spread = Number(values.spread ?? 251);
const { PrometheusExport } = values.export
  ? await import(new URL(values.export, `file://${Deno.cwd()}/`).href) as typeof Prometheus
  : Prometheus;

const log = createLogger({ level: "error" });
const readings = new Readings();
// 06:00 on the reference day by default; the cars are spread over the 14 hours after it.
const clock = new VirtualClock((DAY_START + hour * 3600) * 1000, speed);
// In-process cars, unless --sim names a simulator process to read them from.
const fleet = values.sim ? [] : fakeFleet({ clock, size, spreadS: spread, spanS: 14 * 3600 });
const targets = await fleetTargets(values.sim ? await simCars(values.sim) : fleet, {
  clock,
  readings,
  log,
});

/** The cars of a bench/fleet_sim_server.ts at `sim`, each read over HTTP with its token. */
async function simCars(sim: string) {
  const cars: { token: string }[] = await (await fetch(new URL("/cars", sim))).json();
  return cars.map(({ token }) => ({
    token,
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : input);
      return fetch(new URL(url.pathname + url.search, sim), init);
    },
  }));
}

/** An export from before shared bodies (--export of an older checkout) answers with its text. */
function shared(p: Prometheus.PrometheusExport): Prometheus.PrometheusExport {
  const old = p as unknown as { body?: unknown; exposition(): Promise<string> };
  old.body ??= async (encoding?: Prometheus.Encoding) => {
    const text = new Blob([await old.exposition()]).stream();
    if (encoding !== "gzip") return new Uint8Array(await new Response(text).arrayBuffer());
    const gzipped = text.pipeThrough(new CompressionStream("gzip"));
    return new Uint8Array(await new Response(gzipped).arrayBuffer());
  };
  return p;
}

const history = new StatusHistory(readings);
const server = startServer({
  hostname: "127.0.0.1",
  port: 0,
  prometheus: shared(new PrometheusExport(readings)),
  log,
  status: () => statusModel(readings, history, { now: () => clock.now(), mode: "load test" }),
});
const otlp = values.otlp
  ? new OtlpExport(
    readings,
    otlpSettings({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: values.otlp,
      OTEL_METRIC_EXPORT_INTERVAL: "86400000",
    })!,
    { location: false, log },
  )
  : undefined;
console.log(JSON.stringify({ url: server.url, vehicles: targets.length }));

const controller = new AbortController();
let polls = 0;
const polling = runScheduler({
  targets,
  readings,
  clock,
  log,
  signal: controller.signal,
  onPoll: () => polls++,
});
/**
 * How late each 5 ms timer fired since the last "lag" line, ms, and how much of that lateness
 * the main thread spent on a CPU: on a shared machine a timer is also late when the process
 * waits for a core, which no code here can change. The thread's time is read from
 * /proc/thread-self/schedstat (nanoseconds) when --allow-read grants it.
 */
let lateness: number[] = [];
let blocked: number[] = [];
const LAG_TICK_MS = 5;
let lagTimer: ReturnType<typeof setTimeout>;
/** The main thread's time on a CPU, ms (Linux; the whole process's when it cannot be read). */
const cpuMs = () => {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1e6;
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
};
const tick = (due: number, cpu: number) => {
  lagTimer = setTimeout(() => {
    const now = performance.now();
    const used = cpuMs();
    const late = Math.max(0, now - due);
    lateness.push(late);
    blocked.push(Math.min(late, used - cpu));
    tick(now + LAG_TICK_MS, used);
  }, LAG_TICK_MS);
};
tick(performance.now() + LAG_TICK_MS, cpuMs());

const report = setInterval(() => {
  const m = Deno.memoryUsage();
  const { user, system } = process.cpuUsage();
  const cpu = (user + system) / 1000; // ms of CPU, all threads, since start
  console.log(JSON.stringify({
    t: Date.now(),
    rss: m.rss,
    heap: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    polls,
    cpu,
  }));
}, every);

(async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    if (line.includes("otlp")) {
      await otlp?.forceFlush();
      console.log(JSON.stringify({ otlp: otlp?.exports ?? 0 }));
      continue;
    }
    if (line.includes("lag")) {
      const late = lateness.sort((a, b) => a - b);
      const max = Math.max(0, ...blocked);
      lateness = [];
      blocked = [];
      const p99 = late[Math.min(late.length - 1, Math.floor(0.99 * late.length))] ?? 0;
      console.log(JSON.stringify({ lag: { max: late.at(-1) ?? 0, p99, blocked: max } }));
      continue;
    }
    if (!line.includes("gc")) continue;
    gc?.();
    gc?.();
    console.log(JSON.stringify({ gc: gc ? Deno.memoryUsage().heapUsed : null }));
  }
})();

Deno.addSignalListener("SIGTERM", async () => {
  clearInterval(report);
  clearTimeout(lagTimer);
  controller.abort();
  await polling;
  await server.shutdown();
  await otlp?.shutdown();
  history.close();
  Deno.exit(0);
});
