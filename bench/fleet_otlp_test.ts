/**
 * A thousand cars in one OTLP push, nothing folded: every series /metrics shows is in the
 * decoded push, once. With the OTel SDK's default limit of 2,000 series per metric, 13 metrics
 * overflowed at this size; the push is now written without one.
 */
import root from "otlp-decoder/build/src/generated/root.js";
import { createLogger } from "../core/log.ts";
import { assert, assertEquals } from "../core/testing.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { fleetReadings } from "./fleet_readings.ts";
import { exposedSeries, pushedSeries } from "./fleet_series.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;
const Request = (root as Obj).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

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

    const exposed = exposedSeries(text);
    const pushed = pushedSeries(requests[0]);
    assert(exposed.length > 75_000, `${exposed.length} series on /metrics`);
    assertEquals(new Set(exposed).size, exposed.length, "each series once on /metrics");
    assertEquals(new Set(pushed).size, pushed.length, "each series once in the push");
    const inPush = new Set(pushed);
    const missing = exposed.filter((s) => !inPush.has(s));
    assertEquals(missing.slice(0, 5), [], `${missing.length} series of /metrics not pushed`);
    assertEquals(pushed.length, exposed.length, "points == series");
    assertEquals(lines.filter((l) => l.includes("failed")), []);
  } finally {
    await otlp.shutdown();
    await server.shutdown();
  }
});
