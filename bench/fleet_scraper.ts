import process from "node:process";

/**
 * The scraping clients of `bench fleet`, in a process of their own (bench/fleet.ts starts one
 * per phase): a /healthz probe on their loop would time the bench's own stalls, not the
 * server's. Each client asks as Prometheus does (gzip accepted, one kept-alive connection)
 * and sends the next request when the last byte of its answer is in. The body is not
 * unzipped while timed: fetch unzips whatever it is sent (about 7 ms of CPU for 7.5 MB), and
 * twenty Prometheus servers do that on their own machines, not on the two cores the exporter
 * is measured on. Each client's first body is unzipped afterwards and checked to be an
 * exposition. Prints `{"latencies": [ms…], "errors": […], "cpuMs": …}`.
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
    const client = new RawClient(new URL(job.url));
    let first: Answer | undefined;
    while (made < count && performance.now() < end) {
      made++;
      const t = performance.now();
      try {
        const answer = await client.get();
        first ??= answer;
        if (answer.status !== 200) errors.push(`/metrics: HTTP ${answer.status}`);
      } catch (err) {
        errors.push(`/metrics: ${(err as Error).message}`);
        client.close();
      }
      latencies.push(performance.now() - t);
    }
    client.close();
    if (first) {
      const text = await exposition(first).catch((err) => `(${(err as Error).message})`);
      if (!text.includes("# TYPE ")) {
        errors.push(`/metrics: not an exposition: ${text.slice(0, 80)}`);
      }
    }
  }));
  const { user, system } = process.cpuUsage();
  return { latencies, errors, cpuMs: (user + system) / 1000 };
}

interface Answer {
  readonly status: number;
  readonly gzip: boolean;
  readonly body: Uint8Array;
}

async function exposition(answer: Answer): Promise<string> {
  const body = new Blob([answer.body as Uint8Array<ArrayBuffer>]).stream();
  return await new Response(answer.gzip ? body.pipeThrough(new DecompressionStream("gzip")) : body)
    .text();
}

const CRLF2 = new TextEncoder().encode("\r\n\r\n");

/**
 * A minimal HTTP/1.1 GET client over one kept-alive connection (a new one after a close):
 * Content-Length, chunked and read-to-close bodies, kept as they came over the wire.
 */
class RawClient {
  readonly #url: URL;
  #conn?: Deno.TcpConn;
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);

  constructor(url: URL) {
    this.#url = url;
  }

  async get(): Promise<Answer> {
    this.#conn ??= await Deno.connect({
      hostname: this.#url.hostname,
      port: Number(this.#url.port),
    });
    this.#buf = new Uint8Array(0);
    const request = `GET ${this.#url.pathname} HTTP/1.1\r\nHost: ${this.#url.host}\r\n` +
      "Accept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n";
    await this.#conn.write(new TextEncoder().encode(request));
    let end;
    while ((end = indexOf(this.#buf, CRLF2)) < 0) await this.#more();
    const head = new TextDecoder().decode(this.#buf.subarray(0, end)).split("\r\n");
    this.#buf = this.#buf.subarray(end + 4);
    const status = Number(head[0].split(" ")[1]);
    const headers = new Map(
      head.slice(1).map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as const;
      }),
    );
    const closes = head[0].startsWith("HTTP/1.0") || headers.get("connection") === "close";
    let body: Uint8Array;
    if (headers.has("content-length")) {
      body = await this.#take(Number(headers.get("content-length")));
    } else if (headers.get("transfer-encoding") === "chunked") body = await this.#chunked();
    else {
      while (await this.#more()) { /* to the end */ }
      body = this.#buf;
    }
    if (closes) this.close();
    return { status, gzip: headers.get("content-encoding") === "gzip", body };
  }

  close(): void {
    try {
      this.#conn?.close();
    } catch { /* closed already */ }
    this.#conn = undefined;
  }

  async #chunked(): Promise<Uint8Array> {
    const parts: Uint8Array<ArrayBuffer>[] = [];
    for (;;) {
      let nl;
      while ((nl = indexOf(this.#buf, CRLF2.subarray(0, 2))) < 0) await this.#more();
      const size = parseInt(new TextDecoder().decode(this.#buf.subarray(0, nl)), 16);
      this.#buf = this.#buf.subarray(nl + 2);
      const data = await this.#take(size + 2); // with its CRLF
      if (size === 0) return new Uint8Array(await new Blob(parts).arrayBuffer());
      parts.push(data.subarray(0, size));
    }
  }

  async #take(n: number): Promise<Uint8Array<ArrayBuffer>> {
    // Reads straight into the body's own buffer: no copy per read.
    const out = new Uint8Array(n);
    const have = Math.min(n, this.#buf.length);
    out.set(this.#buf.subarray(0, have));
    this.#buf = this.#buf.subarray(have);
    let at = have;
    while (at < n) {
      const got = await this.#conn!.read(out.subarray(at));
      if (got === null) throw new Error("connection closed mid-body");
      at += got;
    }
    return out;
  }

  /** Reads what arrived; false at the end of the stream. */
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(256 * 1024);
    const n = await this.#conn!.read(chunk);
    if (n === null) return false;
    this.#buf = new Uint8Array(await new Blob([this.#buf, chunk.subarray(0, n)]).arrayBuffer());
    return true;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

if (import.meta.main) console.log(JSON.stringify(await run(JSON.parse(Deno.args[0]))));
