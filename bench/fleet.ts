/**
 * `deno task bench fleet`: N simulated Teslas, all charging, polled by the real scheduler in
 * a child process (bench/load_server.ts), for N in 1, 10, 100, 1,000. Per size: RSS steady
 * (median while scraped) and peak, /metrics p50/p99 with one client and with 20, /healthz p99
 * while the 20 scrape, exposition bytes, and one OTLP push decoded here: its points against
 * the series /metrics shows. Figures depend on the machine; the CI test asserts correctness
 * only (no errors, points == series, no retained growth).
 */
import { freeLoopbackPort } from "../core/listen.ts";
import root from "otlp-decoder/build/src/generated/root.js";
import { V8_OPTIONS } from "../app/launch.ts";
import { SERVER_PERMISSIONS } from "./load.ts";
import { exposedSeries, pushedSeries } from "./fleet_series.ts";
import { scrapeInProcess, type ScrapeResult } from "./fleet_scraper.ts";

export interface FleetRow {
  readonly impl: "ev-observer" | "python";
  readonly vehicles: number;
  readonly rss_steady_mib: number;
  readonly rss_peak_mib: number;
  readonly metrics_p50_ms_1: number;
  readonly metrics_p99_ms_1: number;
  readonly metrics_p50_ms_20: number;
  readonly metrics_p99_ms_20: number;
  readonly healthz_p99_ms: number | null;
  /** /healthz p99 and the loop lag's max while the exporter only polls (no scrapes), ms. */
  readonly healthz_p99_quiet_ms: number | null;
  readonly loop_lag_max_quiet_ms: number | null;
  /** The longest event-loop task while one OTLP push was encoded and sent (the lag probe), ms. */
  readonly loop_lag_max_otlp_ms: number | null;
  /** The exporter's CPU (all threads, polling included) per request while 20 clients scrape, ms. */
  readonly cpu_ms_per_scrape: number;
  /** The scraping process's CPU per request (fetch, gunzip, read), ms. */
  readonly client_cpu_ms_per_scrape: number;
  /** How late a 5 ms timer in the server fired while the 20 clients scraped: the longest
   * event-loop task (max) and the 99th percentile, ms. */
  readonly loop_lag_max_ms: number | null;
  readonly loop_lag_p99_ms: number | null;
  /** The longest of those delays the server spent on its own CPU (not waiting for a core), ms. */
  readonly loop_blocked_max_ms: number | null;
  readonly exposition_bytes: number;
  readonly otlp_points: number | null;
  readonly series: number;
  readonly errors: number;
  /** Heap surviving a full collection after / before the scraping, MiB. */
  readonly retained_before_mib: number | null;
  readonly retained_after_mib: number | null;
}

export interface FleetOptions {
  readonly sizes: readonly number[];
  /** Seconds of 20-client scraping per size. */
  readonly seconds: number;
  readonly deno?: string;
  /** Run the Python baseline beside each size when it can (default true). */
  readonly python?: boolean;
  /** Another checkout's export/prometheus.ts: the "before" of a comparison. */
  readonly exportModule?: string;
}

const SERVER = new URL("./load_server.ts", import.meta.url).pathname;
const SIM = new URL("./fleet_sim_server.ts", import.meta.url).pathname;
const BASELINE = new URL("./fleet_baseline.py", import.meta.url).pathname;
const BARE = new URL("./fleet_bare.ts", import.meta.url).pathname;
/** Debian's python3, where python3-prometheus-client installs the module. */
const PYTHON = "/usr/bin/python3";
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
// deno-lint-ignore no-explicit-any
const Request = (root as any).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const MIB = 1024 * 1024;
/** Scrapes by the lone client (or as many as `seconds` allow): for a p99 that is not its max. */
const ONE_CLIENT_SCRAPES = 200;

/** One car's steady RSS without OTLP against a bare Deno process importing the same libraries. */
export interface OneCar {
  readonly rss_steady_mib: number;
  readonly bare_deno_mib: number;
  readonly ratio: number;
}

export interface FleetResult {
  readonly rows: FleetRow[];
  /** When the sizes include 1. */
  readonly one_car?: OneCar;
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const python = o.python === false ? undefined : await pythonBaseline();
  if (o.python !== false && !python) {
    console.error(
      `bench fleet: no Python baseline (${PYTHON} with prometheus_client not found; ` +
        "Debian: apt-get install python3-prometheus-client)",
    );
  }
  const rows: FleetRow[] = [];
  let oneCar: OneCar | undefined;
  for (const size of o.sizes) {
    // One simulator per size; the exporter, then the baseline, read its cars over HTTP.
    const sim = await start(o.deno ?? Deno.execPath(), [
      "run",
      `--config=${CONFIG}`,
      "--no-prompt",
      "--allow-net=127.0.0.1",
      SIM,
      `--vehicles=${size}`,
    ]);
    try {
      rows.push(await runExporter(size, sim.url, o));
      if (python) rows.push(await runPython(size, sim.url, o));
      if (size === 1) oneCar = await runOneCar(sim.url, o);
    } finally {
      await sim.stop();
    }
  }
  return { rows, one_car: oneCar };
}

/** Seconds of RSS samples for the one-car comparison. */
const ONE_CAR_SECONDS = 3;

/**
 * The exporter polling one car without OTLP, scraped once, against a bare Deno process importing
 * the libraries it loads: median RSS over ONE_CAR_SECONDS each.
 */
async function runOneCar(sim: string, o: FleetOptions): Promise<OneCar> {
  const deno = o.deno ?? Deno.execPath();
  const steady = async (child: Child) => {
    const first = child.rss.length;
    await sleep(ONE_CAR_SECONDS * 1000);
    return percentile(child.rss.slice(first), 0.5) / MIB;
  };
  const ours = await start(deno, [
    "run",
    `--config=${CONFIG}`,
    `--v8-flags=${V8_OPTIONS.join(",")}`,
    ...SERVER_PERMISSIONS,
    SERVER,
    "--vehicles=1",
    `--sim=${sim}`,
    "--every=100",
  ]);
  let exporter: number;
  try {
    while (ours.polls() < 1) await sleep(50);
    await get(ours.url, "/metrics", []);
    exporter = await steady(ours);
  } finally {
    await ours.stop();
  }
  // The same V8 options: the ratio is what the exporter adds.
  const bare = await start(deno, [
    "run",
    `--config=${CONFIG}`,
    `--v8-flags=${V8_OPTIONS.join(",")}`,
    "--no-prompt",
    BARE,
  ]);
  try {
    const base = await steady(bare);
    return {
      rss_steady_mib: round(exporter),
      bare_deno_mib: round(base),
      ratio: Math.round((exporter / base) * 100) / 100,
    };
  } finally {
    await bare.stop();
  }
}

/** The Python that runs the baseline, if it can import prometheus_client. */
async function pythonBaseline(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import prometheus_client"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? PYTHON : undefined;
  } catch {
    return undefined; // not installed, or not allowed to run
  }
}

async function runExporter(vehicles: number, sim: string, o: FleetOptions): Promise<FleetRow> {
  let points = -1;
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const request = Request.toObject(Request.decode(new Uint8Array(await req.arrayBuffer())), {
        longs: Number,
      });
      points = pushedSeries(request).length;
      return new Response(new Uint8Array(0), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  );
  // The main thread's CPU time (the loop lag probe), and the other checkout's files.
  const read = ["/proc/thread-self/schedstat", o.exportModule?.replace(/export\/.*$/, "")];
  const child = await start(o.deno ?? Deno.execPath(), [
    "run",
    `--config=${CONFIG}`,
    ...SERVER_PERMISSIONS,
    `--allow-read=${read.filter(Boolean).join(",")}`,
    `--v8-flags=${["--expose-gc", ...V8_OPTIONS].join(",")}`,
    SERVER,
    `--vehicles=${vehicles}`,
    `--sim=${sim}`,
    "--every=100",
    `--otlp=http://127.0.0.1:${receiver.addr.port}/v1/metrics`,
    ...(o.exportModule ? [`--export=${o.exportModule}`] : []),
  ]);
  try {
    return {
      impl: "ev-observer",
      vehicles,
      ...await measure(child, vehicles, o, true),
      otlp_points: points,
    };
  } finally {
    await child.stop();
    await receiver.shutdown();
  }
}

async function runPython(vehicles: number, sim: string, o: FleetOptions): Promise<FleetRow> {
  const port = freeLoopbackPort();
  const child = await start(PYTHON, [BASELINE, sim, String(port)]);
  try {
    return {
      impl: "python",
      vehicles,
      ...await measure(child, vehicles, o, false),
      otlp_points: null,
    };
  } finally {
    await child.stop();
  }
}

/**
 * The figures of one exporter under test: its series, one client alone, then 20 clients for
 * `o.seconds` (with a /healthz probe and the loop lag probe when `ours`).
 */
async function measure(
  child: Child,
  vehicles: number,
  o: FleetOptions,
  ours: boolean,
): Promise<Omit<FleetRow, "impl" | "vehicles" | "otlp_points">> {
  while (child.polls() < vehicles) await sleep(50);
  const base = child.url;
  const errors: string[] = [];
  const text = await get(base, "/metrics", errors);
  const series = exposedSeries(text).length;
  await child.ask("lag");
  await child.ask("otlp"); // one push, while the series are those of `text`
  const pushLag = (await child.ask("lag")).lag as { max: number } | null;
  const deno = o.deno ?? Deno.execPath();
  const one = await scrape(base, 1, ONE_CLIENT_SCRAPES, o.seconds * 1000, errors, deno);
  const before = (await child.ask("gc")).gc as number | null;
  // The baseline answers every path with its metrics: /healthz is probed on ours only.
  const probe = (during: Promise<unknown>) => {
    const health: number[] = [];
    let probing = ours;
    during.finally(() => (probing = false)).catch(() => {}); // its failure is awaited elsewhere
    return (async () => {
      while (probing) {
        const t = performance.now();
        await get(base, "/healthz", errors);
        health.push(performance.now() - t);
        await sleep(50);
      }
      return health;
    })();
  };
  // Polling alone first, for a part of the run: what the loop and /healthz do without scrapes.
  await child.ask("lag");
  const quiet = await probe(sleep((o.seconds * 1000) / 2));
  const quietLag = (await child.ask("lag")).lag as { max: number } | null;
  const firstSample = child.rss.length;
  const cpuBefore = child.cpu();
  const scraping = scrape(base, 20, Infinity, o.seconds * 1000, errors, deno);
  const health = await probe(scraping);
  const twenty = await scraping;
  await sleep(300); // one more report, with the CPU used until the end
  const cpuPerScrape = (child.cpu() - cpuBefore) / twenty.latencies.length;
  const steady = child.rss.slice(firstSample);
  const lag = (await child.ask("lag")).lag as { max: number; p99: number; blocked: number } | null;
  const after = (await child.ask("gc")).gc as number | null;
  const mib = (n: number | null) => n === null ? null : round(n / MIB);
  return {
    rss_steady_mib: round(percentile(steady, 0.5) / MIB),
    rss_peak_mib: round(Math.max(...child.rss) / MIB),
    metrics_p50_ms_1: round(percentile(one.latencies, 0.5)),
    metrics_p99_ms_1: round(percentile(one.latencies, 0.99)),
    metrics_p50_ms_20: round(percentile(twenty.latencies, 0.5)),
    metrics_p99_ms_20: round(percentile(twenty.latencies, 0.99)),
    healthz_p99_ms: ours ? round(percentile(health, 0.99)) : null,
    healthz_p99_quiet_ms: ours ? round(percentile(quiet, 0.99)) : null,
    loop_lag_max_quiet_ms: quietLag && round(quietLag.max),
    loop_lag_max_otlp_ms: pushLag && round(pushLag.max),
    cpu_ms_per_scrape: round(cpuPerScrape),
    client_cpu_ms_per_scrape: round(twenty.cpuMs / twenty.latencies.length),
    loop_lag_max_ms: lag && round(lag.max),
    loop_lag_p99_ms: lag && round(lag.p99),
    loop_blocked_max_ms: lag && round(lag.blocked),
    exposition_bytes: new TextEncoder().encode(text).length,
    series,
    errors: errors.length,
    retained_before_mib: mib(before),
    retained_after_mib: mib(after),
  };
}

/** A child process that prints `{"url"}` first, then `{"rss", "polls"}` lines and answers. */
interface Child {
  readonly url: string;
  /** RSS samples so far, bytes. */
  readonly rss: number[];
  polls(): number;
  /** CPU it used since it started, ms, as of its last report. */
  cpu(): number;
  /** Writes `word` on its stdin and waits for its next answer line. */
  ask(word: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function start(cmd: string, args: string[]): Promise<Child> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const stdin = child.stdin.getWriter();
  const rss: number[] = [];
  const answers: Record<string, unknown>[] = [];
  let polls = 0;
  let cpu = 0;
  let started!: (url: string) => void;
  const urlReady = new Promise<string>((r) => (started = r));
  const stderr = new Response(child.stderr).text();
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if ("url" in line) started(line.url);
        else if ("rss" in line) {
          rss.push(line.rss);
          polls = line.polls;
          cpu = line.cpu ?? 0;
        } else answers.push(line);
      }
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { // it exited on its own: the error says why
    }
    await child.status;
    await reading.catch(() => {});
    await stdin.close().catch(() => {});
  };
  const url = await Promise.race([
    urlReady,
    child.status.then(async () => {
      throw new Error(`${args.at(-1)}: exited: ${(await stderr).slice(-2000)}`);
    }),
  ]).catch(async (err) => {
    await stop();
    throw err;
  });
  return {
    url,
    rss,
    polls: () => polls,
    cpu: () => cpu,
    async ask(word) {
      const n = answers.length;
      await stdin.write(new TextEncoder().encode(`${word}\n`));
      while (answers.length === n) await sleep(10);
      return answers[n];
    },
    stop,
  };
}

/** `clients` scrape /metrics (in a process of their own) until `count` requests or `ms` pass; latencies in ms. */
async function scrape(
  base: string,
  clients: number,
  count: number,
  ms: number,
  errors: string[],
  deno: string,
): Promise<ScrapeResult> {
  const url = new URL("/metrics", base).href;
  const result = await scrapeInProcess({ url, clients, count, ms }, deno);
  errors.push(...result.errors);
  return result;
}

async function get(base: string, path: string, errors: string[]): Promise<string> {
  try {
    const res = await fetch(new URL(path, base));
    const text = await res.text();
    if (!res.ok) errors.push(`${path}: HTTP ${res.status}`);
    return text;
  } catch (err) {
    errors.push(`${path}: ${(err as Error).message}`);
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 10) / 10;

function percentile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The rows as a Markdown table, and the one-car comparison under it. */
export function fleetTable({ rows, one_car }: FleetResult): string {
  const head = "| impl | vehicles | RSS steady / peak MiB | /metrics p50 / p99 ms, 1 client | " +
    "p50 / p99, 20 clients | /healthz p99 ms, quiet / scraped | " +
    "loop lag max quiet / pushing OTLP / scraped, p99, blocked ms | " +
    "CPU ms per scrape, server / client | bytes | " +
    "OTLP points / series |";
  return [
    head,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.impl} | ${r.vehicles} | ${r.rss_steady_mib} / ${r.rss_peak_mib} | ` +
      `${r.metrics_p50_ms_1} / ${r.metrics_p99_ms_1} | ${r.metrics_p50_ms_20} / ` +
      `${r.metrics_p99_ms_20} | ${r.healthz_p99_quiet_ms} / ${r.healthz_p99_ms} | ` +
      `${r.loop_lag_max_quiet_ms} / ${r.loop_lag_max_otlp_ms} / ${r.loop_lag_max_ms} / ` +
      `${r.loop_lag_p99_ms} / ${r.loop_blocked_max_ms} | ${r.cpu_ms_per_scrape} / ` +
      `${r.client_cpu_ms_per_scrape} | ${r.exposition_bytes} | ` +
      `${r.otlp_points} / ${r.series} |`
    ),
    ...(one_car
      ? [
        "",
        `One car without OTLP: steady RSS ${one_car.rss_steady_mib} MiB, a bare Deno importing ` +
        `the same libraries ${one_car.bare_deno_mib} MiB (${one_car.ratio}×).`,
      ]
      : []),
  ].join("\n");
}
