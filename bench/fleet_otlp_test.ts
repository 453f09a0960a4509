/**
 * A thousand cars in one OTLP push, nothing folded: every series /metrics shows is in the
 * decoded push, once. With the SDK's default limit of 2,000 series per metric, 13 metrics
 * overflowed at this size.
 */
import root from "otlp-decoder/build/src/generated/root.js";
import { metric, prometheusName } from "../core/catalog.ts";
import { createLogger } from "../core/log.ts";
import { assert, assertEquals } from "../core/testing.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { fleetReadings } from "./fleet_readings.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;
const Request = (root as Obj).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** `family|labels` of every series on /metrics; a histogram counts once per label set. */
export function exposedSeries(text: string, histograms: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    let name = m[1];
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k] = v.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    }
    const family = name.replace(HISTOGRAM_SUFFIX, "");
    if (family !== name && histograms.has(family)) {
      if (!name.endsWith("_count")) continue;
      name = family;
      delete labels.le;
    }
    out.push(key(name, labels));
  }
  return out;
}

/** `family|labels` of every data point of a decoded OTLP request. */
export function pushedSeries(request: Obj): string[] {
  const out: string[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const name = prometheusName(metric(m.name));
        for (const p of (m.gauge ?? m.sum ?? m.histogram).dataPoints ?? []) {
          const labels = Object.fromEntries(
            (p.attributes ?? []).map((a: Obj) => [a.key, String(Object.values(a.value)[0])]),
          );
          out.push(key(name, labels));
        }
      }
    }
  }
  return out;
}

function key(name: string, labels: Record<string, string>): string {
  return `${name}|${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1))}`;
}

Deno.test("a 1,000-car OTLP push carries every series of /metrics, none folded", async () => {
  const readings = await fleetReadings(1000);
  const requests: Obj[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = req.headers.get("content-encoding") === "gzip"
      ? req.body!.pipeThrough(new DecompressionStream("gzip"))
      : req.body!;
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    requests.push(Request.toObject(Request.decode(bytes), { longs: Number, defaults: false }));
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const settings = otlpSettings({}, { url: `http://127.0.0.1:${server.addr.port}` })!;
  const otlp = new OtlpExport(readings, settings, { location: false, log });
  try {
    const text = await new PrometheusExport(readings).exposition();
    await otlp.forceFlush();
    assertEquals(otlp.failures, 0, otlp.lastError);
    assertEquals(requests.length, 1);

    const histograms = new Set(
      [...readings.histograms.values()].map((h) => prometheusName(metric(h.metric))),
    );
    const exposed = exposedSeries(text, histograms);
    const pushed = pushedSeries(requests[0]);
    assert(exposed.length > 75_000, `${exposed.length} series on /metrics`);
    assertEquals(new Set(exposed).size, exposed.length, "each series once on /metrics");
    assertEquals(new Set(pushed).size, pushed.length, "each series once in the push");
    const inPush = new Set(pushed);
    const missing = exposed.filter((s) => !inPush.has(s));
    assertEquals(missing.slice(0, 5), [], `${missing.length} series of /metrics not pushed`);
    assertEquals(pushed.length, exposed.length, "points == series");
    assertEquals(otlp.overflows, 0);
    assertEquals(lines.filter((l) => l.includes("cardinality")), []);
  } finally {
    await otlp.shutdown();
    await server.shutdown();
  }
});
