import process from "node:process";

/**
 * The scraping clients of `bench fleet`, in a process of their own (bench/fleet.ts starts one
 * per phase): twenty clients reading 7 MB each keep their event loop busy, and a /healthz probe
 * on that same loop would time the bench's own stalls, not the server's. Each client asks as
 * Prometheus does (gzip accepted, the body read whole) and sends the next request when its
 * answer is in. Prints `{"latencies": [ms…], "errors": […]}`.
 *
 *   deno run --allow-net=127.0.0.1 bench/fleet_scraper.ts '{"url": …, "clients": 20, …}'
 */

export interface ScrapeJob {
  readonly url: string;
  readonly clients: number;
  /** Requests in all; Infinity for as many as `ms` allow. */
  readonly count: number;
  /** Milliseconds to go on for; 0 for no limit. */
  readonly ms: number;
}

export interface ScrapeResult {
  /** Milliseconds per request, from sending it to the last byte of its body. */
  readonly latencies: number[];
  readonly errors: string[];
  /** CPU this process used (fetching, unzipping, reading the bodies), ms. */
  readonly cpuMs: number;
}

/** Runs a job in a new process; `deno` is the executable to run it with. */
export async function scrapeInProcess(
  job: ScrapeJob,
  deno = Deno.execPath(),
): Promise<ScrapeResult> {
  const out = await new Deno.Command(deno, {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      import.meta.filename!,
      JSON.stringify({
        ...job,
        // Infinity does not survive JSON; -1 stands for it.
        count: Number.isFinite(job.count) ? job.count : -1,
      }),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`scraper failed: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function run(job: ScrapeJob): Promise<ScrapeResult> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const end = job.ms ? performance.now() + job.ms : Infinity;
  const count = job.count < 0 ? Infinity : job.count;
  let made = 0;
  await Promise.all(Array.from({ length: job.clients }, async () => {
    while (made < count && performance.now() < end) {
      made++;
      const t = performance.now();
      try {
        const res = await fetch(job.url, { headers: { "accept-encoding": "gzip" } });
        await res.arrayBuffer();
        if (!res.ok) errors.push(`/metrics: HTTP ${res.status}`);
      } catch (err) {
        errors.push(`/metrics: ${(err as Error).message}`);
      }
      latencies.push(performance.now() - t);
    }
  }));
  const { user, system } = process.cpuUsage();
  return { latencies, errors, cpuMs: (user + system) / 1000 };
}

if (import.meta.main) console.log(JSON.stringify(await run(JSON.parse(Deno.args[0]))));
