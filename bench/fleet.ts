/**
 * `deno task bench fleet`: N simulated Teslas, all charging, polled by the real scheduler in
 * a child process (bench/load_server.ts), for N in 1, 10, 100, 1,000. Per size: RSS steady
 * (median while scraped) and peak, /metrics p50/p99 with one client and with 20, /healthz p99
 * while the 20 scrape, exposition bytes, and one OTLP push decoded here: its points against
 * the series /metrics shows. Figures depend on the machine; the CI test asserts correctness
 * only (no errors, points == series, no retained growth).
 */
import root from "otlp-decoder/build/src/generated/root.js";
import { SERVER_PERMISSIONS } from "./load.ts";
import { exposedSeries, pushedSeries } from "./fleet_series.ts";
import { scrapeInProcess } from "./fleet_scraper.ts";

export interface FleetRow {
  readonly impl: "ev-observer" | "python";
  readonly vehicles: number;
  readonly rss_steady_mib: number;
  readonly rss_peak_mib: number;
  readonly metrics_p50_ms_1: number;
  readonly metrics_p99_ms_1: number;
  readonly metrics_p50_ms_20: number;
  readonly metrics_p99_ms_20: number;
  readonly healthz_p99_ms: number;
  /** How late a 5 ms timer in the server fired while the 20 clients scraped: the longest
   * event-loop task (max) and the 99th percentile, ms. */
  readonly loop_lag_max_ms: number;
  readonly loop_lag_p99_ms: number;
  /** The longest of those delays the server spent on its own CPU (not waiting for a core), ms. */
  readonly loop_blocked_max_ms: number;
  readonly exposition_bytes: number;
  readonly otlp_points: number;
  readonly series: number;
  readonly errors: number;
  /** Heap surviving a full collection after / before the scraping, MiB. */
  readonly retained_before_mib: number;
  readonly retained_after_mib: number;
}

export interface FleetOptions {
  readonly sizes: readonly number[];
  /** Seconds of 20-client scraping per size. */
  readonly seconds: number;
  readonly deno?: string;
  /** Another checkout's export/prometheus.ts: the "before" of a comparison. */
  readonly exportModule?: string;
}

const SERVER = new URL("./load_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
// deno-lint-ignore no-explicit-any
const Request = (root as any).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const MIB = 1024 * 1024;
/** Scrapes by the lone client: enough for its p99 to be more than its slowest one. */
const ONE_CLIENT_SCRAPES = 200;

export async function runFleet(o: FleetOptions): Promise<FleetRow[]> {
  const rows: FleetRow[] = [];
  for (const size of o.sizes) rows.push(await runSize(size, o));
  return rows;
}

async function runSize(vehicles: number, o: FleetOptions): Promise<FleetRow> {
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
  const child = new Deno.Command(o.deno ?? Deno.execPath(), {
    args: [
      "run",
      `--config=${CONFIG}`,
      ...SERVER_PERMISSIONS,
      "--allow-env", // the OTel SDK reads its OTEL_* settings
      `--allow-read=${read.filter(Boolean).join(",")}`,
      "--v8-flags=--expose-gc",
      SERVER,
      `--vehicles=${vehicles}`,
      "--hour=19",
      "--spread=0",
      "--every=100",
      `--otlp=http://127.0.0.1:${receiver.addr.port}/v1/metrics`,
      ...(o.exportModule ? [`--export=${o.exportModule}`] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const rss: number[] = [];
  const answers: Record<string, unknown>[] = [];
  let polls = 0;
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
        if (line.url) started(line.url);
        else if ("rss" in line) {
          rss.push(line.rss);
          polls = line.polls;
        } else answers.push(line);
      }
    }
  })();
  const ask = async (word: string) => {
    const n = answers.length;
    await stdin.write(new TextEncoder().encode(`${word}\n`));
    while (answers.length === n) await sleep(10);
    return answers[n];
  };
  try {
    const base = await Promise.race([
      urlReady,
      child.status.then(async () => {
        throw new Error(`fleet server exited: ${await stderr}`);
      }),
    ]);
    while (polls < vehicles) await sleep(50);
    const errors: string[] = [];
    const text = await get(base, "/metrics", errors);
    const series = exposedSeries(text).length;
    await ask("otlp");
    const deno = o.deno ?? Deno.execPath();
    const one = await scrape(base, 1, ONE_CLIENT_SCRAPES, 0, errors, deno);
    const before = (await ask("gc")).gc as number;
    await ask("lag");
    const firstSample = rss.length;
    const health: number[] = [];
    let scraping = true;
    const probe = (async () => {
      while (scraping) {
        const t = performance.now();
        await get(base, "/healthz", errors);
        health.push(performance.now() - t);
        await sleep(50);
      }
    })();
    const twenty = await scrape(base, 20, Infinity, o.seconds * 1000, errors, deno);
    scraping = false;
    await probe;
    const steady = rss.slice(firstSample);
    const lag = (await ask("lag")).lag as { max: number; p99: number; blocked: number };
    const after = (await ask("gc")).gc as number;
    return {
      impl: "ev-observer",
      vehicles,
      rss_steady_mib: round(percentile(steady, 0.5) / MIB),
      rss_peak_mib: round(Math.max(...rss) / MIB),
      metrics_p50_ms_1: round(percentile(one, 0.5)),
      metrics_p99_ms_1: round(percentile(one, 0.99)),
      metrics_p50_ms_20: round(percentile(twenty, 0.5)),
      metrics_p99_ms_20: round(percentile(twenty, 0.99)),
      healthz_p99_ms: round(percentile(health, 0.99)),
      loop_lag_max_ms: round(lag.max),
      loop_lag_p99_ms: round(lag.p99),
      loop_blocked_max_ms: round(lag.blocked),
      exposition_bytes: new TextEncoder().encode(text).length,
      otlp_points: points,
      series,
      errors: errors.length,
      retained_before_mib: round(before / MIB),
      retained_after_mib: round(after / MIB),
    };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { // it exited on its own: the error above says why
    }
    await child.status;
    await reading.catch(() => {});
    await receiver.shutdown();
  }
}

/** `clients` scrape /metrics (in a process of their own) until `count` requests or `ms` pass; latencies in ms. */
async function scrape(
  base: string,
  clients: number,
  count: number,
  ms: number,
  errors: string[],
  deno: string,
): Promise<number[]> {
  const url = new URL("/metrics", base).href;
  const result = await scrapeInProcess({ url, clients, count, ms }, deno);
  errors.push(...result.errors);
  return result.latencies;
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

/** The rows as a Markdown table. */
export function fleetTable(rows: readonly FleetRow[]): string {
  const head = "| impl | vehicles | RSS steady / peak MiB | /metrics p50 / p99 ms, 1 client | " +
    "p50 / p99, 20 clients | /healthz p99 ms | loop lag max / p99 / blocked ms | bytes | " +
    "OTLP points / series |";
  return [
    head,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.impl} | ${r.vehicles} | ${r.rss_steady_mib} / ${r.rss_peak_mib} | ` +
      `${r.metrics_p50_ms_1} / ${r.metrics_p99_ms_1} | ${r.metrics_p50_ms_20} / ` +
      `${r.metrics_p99_ms_20} | ${r.healthz_p99_ms} | ${r.loop_lag_max_ms} / ` +
      `${r.loop_lag_p99_ms} / ${r.loop_blocked_max_ms} | ${r.exposition_bytes} | ` +
      `${r.otlp_points} / ${r.series} |`
    ),
  ].join("\n");
}
