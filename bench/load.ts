/**
 * `deno task bench load`: many concurrent clients on /metrics, / and /status.json while the
 * server polls a fleet of simulated Teslas (bench/load_server.ts, a child process, so its
 * memory is its own). Reports throughput and latency per path, errors, polls made meanwhile,
 * and the server's memory in the first and last third of the run after warm-up. Figures
 * depend on the machine: the test asserts no errors and bounded memory only, never speed.
 */

export interface LoadOptions {
  readonly vehicles: number;
  readonly clients: number;
  /** Measured time, ms, after `warmupMs` of the same load. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Virtual-clock speed of the polling. */
  readonly speed?: number;
  readonly paths?: readonly string[];
  /** How to start Deno for the child (default: this Deno). */
  readonly deno?: string;
}

export interface PathFigures {
  readonly path: string;
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

export interface MemoryFigures {
  /** Heap surviving a full garbage collection before and after the measured run, MiB. */
  readonly retained_before_mib: number;
  readonly retained_after_mib: number;
  readonly retained_ratio: number;
  /** Mean over the first and the last third of the measured time, MiB. */
  readonly heap_first_mib: number;
  readonly heap_last_mib: number;
  readonly rss_first_mib: number;
  readonly rss_last_mib: number;
  /** last / first. */
  readonly heap_ratio: number;
  readonly rss_ratio: number;
  readonly samples: number;
}

export interface LoadReport {
  readonly vehicles: number;
  readonly clients: number;
  readonly seconds: number;
  readonly paths: readonly PathFigures[];
  readonly total: PathFigures;
  /** Latency of one client alone before the load (same paths), for the ratios. */
  readonly idle_p99_ms: number;
  /** p99 under load / p99 alone. */
  readonly p99_ratio: number;
  /** Polls the server made during the measured time (it kept polling). */
  readonly polls: number;
  readonly memory: MemoryFigures;
  /** First lines of anything that went wrong (status or error message). */
  readonly failures: readonly string[];
}

const SERVER = new URL("./load_server.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const DEFAULT_PATHS = ["/metrics", "/", "/status.json"];
/** The load server's permissions: loopback only, no file (the bench task may start Deno). */
export const SERVER_PERMISSIONS = ["--no-prompt", "--allow-net=127.0.0.1"];

interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
  readonly polls: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const paths = o.paths ?? DEFAULT_PATHS;
  const child = new Deno.Command(o.deno ?? Deno.execPath(), {
    args: [
      "run",
      `--config=${CONFIG}`,
      ...SERVER_PERMISSIONS,
      "--v8-flags=--expose-gc",
      SERVER,
      `--vehicles=${o.vehicles}`,
      `--speed=${o.speed ?? 60}`,
      "--every=100",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const samples: Sample[] = [];
  const collected: number[] = [];
  const stdin = child.stdin.getWriter();
  /** Heap after a full collection in the server, bytes. */
  const retained = async () => {
    const n = collected.length;
    await stdin.write(new TextEncoder().encode("gc\n"));
    while (collected.length === n) await new Promise((r) => setTimeout(r, 10));
    return collected[n];
  };
  const stderr = new Response(child.stderr).text();
  let started!: (url: string) => void;
  const urlReady = new Promise<string>((r) => (started = r));
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.url) started(line.url);
        else if ("gc" in line) collected.push(line.gc);
        else samples.push(line);
      }
    }
  })();
  try {
    const base = await Promise.race([
      urlReady,
      child.status.then(async () => {
        throw new Error(`load server exited: ${await stderr}`);
      }),
    ]);
    // The first round of polls (every car at once) is over before anything is measured.
    while (!samples.some((s) => s.polls >= o.vehicles)) await new Promise((r) => setTimeout(r, 50));
    const idle = await hammer(base, paths, 1, 20 * paths.length);
    await hammer(base, paths, o.clients, Infinity, o.warmupMs);
    const before = await retained();
    const from = Date.now();
    const measured = await hammer(base, paths, o.clients, Infinity, o.durationMs);
    const to = Date.now();
    const after = await retained();
    const seconds = (to - from) / 1000;
    const during = samples.filter((s) => s.t >= from && s.t <= to);
    const figures = paths.map((p) => figuresOf(p, measured.latencies.get(p)!, seconds));
    const all = [...measured.latencies.values()].flatMap((l) => l.ms);
    const total = figuresOf("all", { ms: all, errors: measured.failures.length }, seconds);
    const idleAll = [...idle.latencies.values()].flatMap((l) => l.ms);
    const idleP99 = percentile(idleAll, 0.99);
    return {
      vehicles: o.vehicles,
      clients: o.clients,
      seconds: round(seconds, 1),
      paths: figures,
      total,
      idle_p99_ms: round(idleP99, 2),
      p99_ratio: round(total.p99_ms / Math.max(idleP99, 0.01), 1),
      polls: during.length ? during.at(-1)!.polls - during[0].polls : 0,
      memory: memoryOf(during, before, after),
      failures: [...idle.failures, ...measured.failures].slice(0, 5),
    };
  } finally {
    await stdin.close().catch(() => {});
    child.kill("SIGTERM");
    await child.status;
    await reading.catch(() => {});
    await stderr;
  }
}

interface Latencies {
  readonly ms: number[];
  errors: number;
}

/** `clients` loops over `paths` until `ms` pass or `count` requests are made. */
async function hammer(
  base: string,
  paths: readonly string[],
  clients: number,
  count: number,
  ms = Infinity,
): Promise<{ latencies: Map<string, Latencies>; failures: string[] }> {
  const latencies = new Map(paths.map((p) => [p, { ms: [] as number[], errors: 0 }]));
  const failures: string[] = [];
  const end = performance.now() + ms;
  let sent = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = c; performance.now() < end && sent < count; i++) {
      sent++;
      const path = paths[i % paths.length];
      const l = latencies.get(path)!;
      const t0 = performance.now();
      try {
        const res = await fetch(new URL(path, base));
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
        l.ms.push(performance.now() - t0);
      } catch (err) {
        l.errors++;
        failures.push(`${path}: ${(err as Error).message}`);
      }
    }
  }));
  return { latencies, failures };
}

function figuresOf(path: string, l: Latencies, seconds: number): PathFigures {
  return {
    path,
    requests: l.ms.length + l.errors,
    errors: l.errors,
    rps: round((l.ms.length + l.errors) / seconds, 0),
    p50_ms: round(percentile(l.ms, 0.5), 2),
    p99_ms: round(percentile(l.ms, 0.99), 2),
    max_ms: round(Math.max(0, ...l.ms), 2),
  };
}

function memoryOf(samples: readonly Sample[], before: number, after: number): MemoryFigures {
  const third = Math.floor(samples.length / 3);
  const mean = (xs: readonly Sample[], key: "heap" | "rss") =>
    xs.reduce((s, x) => s + x[key], 0) / Math.max(1, xs.length) / 2 ** 20;
  const first = samples.slice(0, third);
  const last = samples.slice(samples.length - third);
  const heapFirst = mean(first, "heap");
  const heapLast = mean(last, "heap");
  const rssFirst = mean(first, "rss");
  const rssLast = mean(last, "rss");
  return {
    retained_before_mib: round(before / 2 ** 20, 1),
    retained_after_mib: round(after / 2 ** 20, 1),
    retained_ratio: round(after / before, 2),
    heap_first_mib: round(heapFirst, 1),
    heap_last_mib: round(heapLast, 1),
    rss_first_mib: round(rssFirst, 1),
    rss_last_mib: round(rssLast, 1),
    heap_ratio: round(heapLast / heapFirst, 2),
    rss_ratio: round(rssLast / rssFirst, 2),
    samples: samples.length,
  };
}

function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The report as Markdown (the README quotes a run of it). */
export function loadTable(r: LoadReport): string {
  const m = r.memory;
  return [
    `${r.clients} clients for ${r.seconds} s against ${r.vehicles} simulated Teslas being ` +
    `polled (${r.polls} polls meanwhile):`,
    "",
    "| path | requests | errors | requests/s | p50 ms | p99 ms | max ms |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...[...r.paths, r.total].map((p) =>
      `| ${p.path} | ${p.requests} | ${p.errors} | ${p.rps} | ${p.p50_ms} | ${p.p99_ms} | ${p.max_ms} |`
    ),
    "",
    `p99 under load / p99 of one client alone: ${r.p99_ratio} (${r.total.p99_ms} / ` +
    `${r.idle_p99_ms} ms). Server heap surviving a full collection: ` +
    `${m.retained_before_mib} MiB before the run, ${m.retained_after_mib} MiB after ` +
    `(×${m.retained_ratio}); heap mean ${m.heap_first_mib} → ${m.heap_last_mib} MiB ` +
    `(×${m.heap_ratio}), RSS ${m.rss_first_mib} → ${m.rss_last_mib} MiB (×${m.rss_ratio}), ` +
    `first vs last third of the run.`,
  ].join("\n");
}
