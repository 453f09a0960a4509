/**
 * OTLP export faults: a loopback receiver switched between up, down (nothing listens), slow
 * (answers after the exporter's timeout), GreptimeDB's 400 for a JSON body, and 503. For each:
 * the export fails without throwing, `ev_export_requests_total{backend="otlp",result="error"}`
 * and a log line count it, retries stay bounded, /metrics keeps answering, and the first export
 * after the backend is back carries the current values in one request.
 *
 * What the export does on failure, as the OTel SDK's exporter did (these tests ran against it
 * first): each tick encodes afresh and exports once; a failed batch is dropped, not queued (a
 * tick is skipped while one is still running); 429/502/503/504 and network errors are retried
 * with backoff, or after Retry-After, only inside the one export's timeout (at most 5 retries).
 * With cumulative counters nothing is lost by dropping a batch: the next one carries every
 * counter's running total and every gauge's current value.
 */
import root from "otlp-decoder/build/src/generated/root.js";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../core/testing.ts";
import { createLogger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { OtlpExport, otlpSettings } from "./otlp.ts";
import { PrometheusExport } from "./prometheus.ts";
import { startServer } from "./server.ts";
import { fixtureReadings, teslaSnapshot } from "./test_helpers.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;
const ExportRequest = (root as Obj).opentelemetry.proto.collector.metrics.v1
  .ExportMetricsServiceRequest;

/** GreptimeDB's exact answer to a JSON body, compact. */
const GREPTIME_400 = JSON.stringify(
  JSON.parse(
    await Deno.readTextFile(new URL("./testdata/greptimedb.400-otlp-json.json", import.meta.url)),
  ),
);

type Mode = "up" | "down" | "slow" | "400" | "503";

/** A switchable OTLP/HTTP receiver on one loopback port. */
class Receiver {
  mode: Mode = "up";
  /** Decoded requests accepted in mode "up". */
  readonly accepted: Obj[] = [];
  /** Requests seen, by the mode they met. */
  readonly seen = new Map<Mode, number>();
  retryAfter?: string;
  readonly port: number;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #release!: () => void;
  /** Slow answers come only once this settles (after the exporter gave up on them). */
  readonly #released = new Promise<void>((r) => (this.#release = r));

  constructor() {
    this.#server = this.#listen(0);
    this.port = this.#server.addr.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Switches modes; "down" stops listening (refused), any other listens on the same port. */
  async set(mode: Mode): Promise<void> {
    if (mode === "down" && this.mode !== "down") await this.#server.shutdown();
    if (mode !== "down" && this.mode === "down") this.#server = this.#listen(this.port);
    this.mode = mode;
  }

  async close(): Promise<void> {
    this.#release();
    if (this.mode !== "down") await this.#server.shutdown();
  }

  #listen(port: number): Deno.HttpServer<Deno.NetAddr> {
    const quiet = {
      hostname: "127.0.0.1",
      port,
      onListen: () => {},
      onError: () => new Response(),
    };
    // onError: a client that gave up on a slow answer leaves a body that cannot be read.
    return Deno.serve(quiet, async (req) => {
      // Pushes to a greptimedb URL are gzipped; GreptimeDB decompresses them, so does this.
      const body = req.headers.get("content-encoding") === "gzip"
        ? req.body!.pipeThrough(new DecompressionStream("gzip"))
        : req.body!;
      const bytes = new Uint8Array(await new Response(body).arrayBuffer());
      const mode = this.mode;
      this.seen.set(mode, (this.seen.get(mode) ?? 0) + 1);
      const json = (status: number, body: string, headers: Record<string, string> = {}) =>
        new Response(body, {
          status,
          headers: { "content-type": "application/json", ...headers },
        });
      switch (mode) {
        case "400":
          return json(400, GREPTIME_400);
        case "503":
          return json(503, '{"error":"service unavailable"}', {
            ...(this.retryAfter !== undefined ? { "retry-after": this.retryAfter } : {}),
          });
        case "slow":
          await this.#released;
          return new Response(new Uint8Array(0), { status: 200 });
        default: {
          const decoded = ExportRequest.toObject(ExportRequest.decode(bytes), {
            longs: Number,
            enums: String,
            defaults: false,
          });
          this.accepted.push(decoded);
          return new Response(new Uint8Array(0), {
            headers: { "content-type": "application/x-protobuf" },
          });
        }
      }
    });
  }
}

/** Data points of one metric in a decoded request: [attributes, value]. */
function pointsOf(request: Obj, name: string): [Record<string, string>, number][] {
  const out: [Record<string, string>, number][] = [];
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (m.name !== name) continue;
        for (const p of (m.gauge ?? m.sum).dataPoints) {
          const attrs = Object.fromEntries(
            (p.attributes ?? []).map((a: Obj) => [a.key, a.value.stringValue]),
          );
          out.push([attrs, p.asDouble ?? p.asInt]);
        }
      }
    }
  }
  return out;
}

interface Backend {
  readonly rx: Receiver;
  readonly readings: Readings;
  readonly otlp: OtlpExport;
  /** Log lines of the exporter. */
  readonly lines: string[];
  /** GET /metrics of a server on the same readings. */
  scrape(): Promise<{ status: number; text: string }>;
  /** Switches the backend up: the next export is accepted, in one request. */
  recovers(): Promise<void>;
}

/** An exporter pushing to a fresh receiver, and /metrics beside it; all closed afterwards. */
async function withBackend(
  env: Record<string, string>,
  fn: (b: Backend) => Promise<void>,
): Promise<void> {
  const rx = new Receiver();
  const readings = fixtureReadings();
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const settings = otlpSettings({ OTEL_EXPORTER_OTLP_TIMEOUT: "300", ...env }, { url: rx.url })!;
  const otlp = new OtlpExport(readings, settings, { location: false, log });
  const server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    prometheus: new PrometheusExport(readings),
    log,
  });
  const scrape = async () => {
    const res = await fetch(new URL("/metrics", server.url));
    return { status: res.status, text: await res.text() };
  };
  const recovers = async () => {
    const before = rx.accepted.length;
    await rx.set("up");
    await otlp.forceFlush();
    assertEquals(rx.accepted.length, before + 1, "one request: no backlog of failed batches");
  };
  try {
    await fn({ rx, readings, otlp, lines, scrape, recovers });
  } finally {
    await Promise.all([otlp.shutdown(), server.shutdown()]);
    await rx.close();
  }
}

const ERRORS = { backend: "otlp", result: "error" };
const OK = { backend: "otlp", result: "ok" };
const failedLines = (lines: string[]) => lines.filter((l) => l.includes("OTLP export failed"));

Deno.test("OTLP backend down: each export fails at once, is counted and logged; /metrics answers; back up, the next export carries current values", async () => {
  await withBackend({}, async ({ rx, readings, lines, otlp, scrape }) => {
    await otlp.forceFlush();
    assertEquals(rx.accepted.length, 1);

    await rx.set("down");
    for (let i = 0; i < 5; i++) await otlp.forceFlush();
    assertEquals(otlp.failures, 5);
    assertEquals(readings.counterValue("ev.export.requests", ERRORS), 5);
    const failed = failedLines(lines);
    assertEquals(failed.length, 5);
    assertMatch(failed[0], /error="?[^"]*(refused|ECONNREFUSED)/i);
    // Meanwhile the Prometheus side answers, and shows the outage.
    const during = await scrape();
    assertEquals(during.status, 200);
    assertStringIncludes(during.text, 'ev_export_requests_total{backend="otlp",result="error"} 5');

    // The car moved on while the backend was down.
    const snap = teslaSnapshot();
    readings.record({
      ...snap,
      samples: snap.samples.map((s) => s.metric === "ev.battery.level" ? { ...s, value: 0.42 } : s),
    });
    await rx.set("up");
    await otlp.forceFlush();
    assertEquals(rx.accepted.length, 2, "one request: no backlog of the failed batches");
    const latest = rx.accepted[1];
    assertEquals(pointsOf(latest, "ev.battery.level").map(([, v]) => v), [0.42]);
    // Cumulative counters carry their running totals, the outage included.
    const exportsByResult = Object.fromEntries(
      pointsOf(latest, "ev.export.requests").map(([a, v]) => [a.result, v]),
    );
    assertEquals(exportsByResult, { ok: 1, error: 5 });
    assertEquals(readings.counterValue("ev.export.requests", OK), 2);
  });
});

Deno.test("OTLP backend slow (answers after the timeout): the export is given up at the timeout, not retried past it; nothing piles up", async () => {
  await withBackend({}, async ({ rx, lines, otlp, scrape, recovers }) => {
    await rx.set("slow");
    // The receiver answers only at the end of the test: each flush returning proves the timeout.
    for (let i = 0; i < 4; i++) await otlp.forceFlush();
    assertEquals(otlp.failures, 4);
    assertEquals(rx.seen.get("slow"), 4, "one attempt per export: no retry after the deadline");
    assert(failedLines(lines).every((l) => l.includes('error="Request timed out"')), lines.at(-1));
    assertEquals((await scrape()).status, 200);

    await recovers();
    assertEquals(otlp.exports, 1);
  });
});

Deno.test("a backend that accepts and never answers: every connection is closed at the timeout", async () => {
  // Raw TCP: counts connections the exporter leaves open (Deno.serve cannot see a client go).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let open = 0;
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      open++;
      accepted++;
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        try {
          while ((await conn.read(buf)) !== null) { /* never answer */ }
        } catch { /* reset by the client */ }
        open--;
        conn.close();
      })();
    }
  })().catch(() => {});
  const lines: string[] = [];
  const readings = fixtureReadings();
  const settings = otlpSettings({ OTEL_EXPORTER_OTLP_TIMEOUT: "200" }, {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
  })!;
  const otlp = new OtlpExport(readings, settings, {
    location: false,
    log: createLogger({ write: (l) => lines.push(l) }),
  });
  try {
    for (let i = 0; i < 8; i++) {
      await otlp.forceFlush();
      // The client's close reaches the listener a moment later.
      for (let w = 0; w < 50 && open > 0; w++) await new Promise((r) => setTimeout(r, 10));
      assertEquals(open, 0, `export ${i + 1} left its connection open`);
    }
    assertEquals(accepted, 8);
    assertEquals(readings.counterValue("ev.export.requests", ERRORS), 8);
  } finally {
    listener.close();
    await serving;
    await otlp.shutdown();
  }
});

Deno.test("OTLP backend answers 400 like GreptimeDB refusing JSON: not retried, its message logged", async () => {
  await withBackend({}, async ({ rx, readings, lines, otlp, recovers }) => {
    await rx.set("400");
    await otlp.forceFlush();
    await otlp.forceFlush();
    assertEquals(rx.seen.get("400"), 2, "a 400 is final: one request per export");
    assertEquals(readings.counterValue("ev.export.requests", ERRORS), 2);
    const [line] = failedLines(lines);
    assertStringIncludes(line, "status=400");
    assertStringIncludes(line, "OTLP endpoint only supports 'application/x-protobuf'");
    await recovers();
  });
});

Deno.test("OTLP backend answers 503: retried at most 5 times within the timeout, a far Retry-After not at all", async () => {
  await withBackend({
    OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
  }, async ({ rx, readings, lines, otlp, scrape, recovers }) => {
    await rx.set("503");
    // A date in the past: retry at once, so only the attempt limit stops it.
    rx.retryAfter = "Thu, 01 Jan 1970 00:00:00 GMT";
    await otlp.forceFlush();
    assertEquals(rx.seen.get("503"), 6, "the first attempt and 5 retries");
    assertEquals(readings.counterValue("ev.export.requests", ERRORS), 1, "one failed export");

    rx.retryAfter = "3600"; // beyond the export's deadline: give up at once
    await otlp.forceFlush();
    assertEquals(rx.seen.get("503"), 7);
    assertEquals(readings.counterValue("ev.export.requests", ERRORS), 2);
    assertEquals(failedLines(lines).length, 2);
    assertEquals((await scrape()).status, 200);

    await recovers();
  });
});

Deno.test("periodic export through a long outage: one attempt per tick, no backlog, recovery with current values", async () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 500 && !ok(); i++) await sleep(10);
    assert(ok(), `timed out waiting for ${what}`);
  };
  const env = { OTEL_METRIC_EXPORT_INTERVAL: "40", OTEL_EXPORTER_OTLP_TIMEOUT: "30" };
  await withBackend(env, async ({ rx, readings, otlp, scrape }) => {
    await until("a first export", () => rx.accepted.length >= 1);
    await rx.set("down");
    const before = otlp.failures;
    await until("30 failed ticks", () => otlp.failures >= before + 30);
    assertEquals((await scrape()).status, 200);
    await rx.set("slow");
    // Slow and refused alike: a tick waits for the previous export, so at most one is open.
    const heapBefore = Deno.memoryUsage().heapUsed;
    await until("30 more failed ticks", () => otlp.failures >= before + 60);
    const heapGrowth = Deno.memoryUsage().heapUsed - heapBefore;
    assert(heapGrowth < 32 * 1024 * 1024, `heap grew ${heapGrowth} bytes during the outage`);
    assert((rx.seen.get("slow") ?? 0) <= 31, `${rx.seen.get("slow")} slow requests for 30 ticks`);

    const failedSoFar = readings.counterValue("ev.export.requests", ERRORS);
    await rx.set("up");
    const accepted = rx.accepted.length;
    await until("a recovery export", () => rx.accepted.length > accepted);
    await otlp.forceFlush(); // let the tick's count land
    const first = rx.accepted[accepted];
    // One point per series: a fresh collection, not the outage's batches.
    const levels = pointsOf(first, "ev.battery.level");
    assertEquals(levels.length, 1);
    assertEquals(levels[0][1], 0.77);
    const errors = pointsOf(first, "ev.export.requests").find(([a]) => a.result === "error");
    assert(errors && errors[1] >= failedSoFar, "the error total so far rides along");
  });
});
