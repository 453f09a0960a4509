import { freeLoopbackPort } from "../core/listen.ts";
import assert from "node:assert/strict";
import root from "otlp-decoder/build/src/generated/root.js";
import { CHARGING_STATES } from "../core/catalog.ts";
import { createLogger } from "../core/log.ts";
import { OtlpExport, otlpSettings } from "./otlp.ts";
import { fixtureReadings, TESLA_VIN, teslaSnapshot } from "./test_helpers.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

interface Received {
  path: string;
  headers: Headers;
  request: Obj;
}

// The generated module's typings declare only a protobufjs Root.
const Request = (root as Obj).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** A loopback OTLP/HTTP receiver that decodes what the real exporter sends. */
function receiver(status = 200) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    // GreptimeDB decompresses a gzip body (tower-http RequestDecompressionLayer); so does this.
    const body = req.headers.get("content-encoding") === "gzip"
      ? req.body!.pipeThrough(new DecompressionStream("gzip"))
      : req.body!;
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    const request = Request.toObject(Request.decode(bytes), {
      longs: Number,
      enums: String,
      defaults: false,
    });
    received.push({ path: new URL(req.url).pathname, headers: req.headers, request });
    if (status !== 200) {
      return new Response(JSON.stringify({ error: "rejected by test receiver" }), {
        status,
        headers: { "content-type": "application/json" },
      });
    }
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return { received, url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

function quietLog() {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l) }) };
}

/** All metrics of a decoded request, by name. */
function metricsByName(request: Obj): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) out.set(m.name, m);
    }
  }
  return out;
}

const points = (m: Obj): Obj[] => (m.gauge ?? m.sum ?? m.histogram).dataPoints ?? [];
const attrs = (p: Obj): Record<string, unknown> =>
  Object.fromEntries((p.attributes ?? []).map((a: Obj) => [a.key, a.value]));
const strAttrs = (p: Obj): Record<string, string> =>
  Object.fromEntries((p.attributes ?? []).map((a: Obj) => [a.key, a.value.stringValue]));

/** Every attribute anywhere in the request (resource, scope, data points). */
function allAttributes(request: Obj): Obj[] {
  const out: Obj[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    out.push(...(rm.resource?.attributes ?? []));
    for (const sm of rm.scopeMetrics ?? []) {
      out.push(...(sm.scope?.attributes ?? []));
      for (const m of sm.metrics ?? []) {
        for (const p of points(m)) out.push(...(p.attributes ?? []));
      }
    }
  }
  return out;
}

Deno.test("pushes protobuf to GreptimeDB's path with db header and Basic auth", async () => {
  const rx = receiver();
  const { log } = quietLog();
  const settings = otlpSettings({}, {
    url: `${rx.url}/`,
    database: "ev",
    username: "writer",
    password: "s3cret:pw",
  })!;
  const otlp = new OtlpExport(fixtureReadings(), settings, { location: false, log });
  try {
    await otlp.forceFlush();
    assert.equal(rx.received.length, 1);
    const [{ path, headers, request }] = rx.received;
    assert.equal(path, "/v1/otlp/v1/metrics");
    assert.equal(headers.get("content-type"), "application/x-protobuf");
    // GreptimeDB's OTLP route decompresses request bodies: its pushes go gzipped.
    assert.equal(headers.get("content-encoding"), "gzip");
    assert.equal(headers.get("x-greptime-db-name"), "ev");
    assert.equal(headers.get("authorization"), `Basic ${btoa("writer:s3cret:pw")}`);
    assert.equal(otlp.failures, 0);
    assert.equal(otlp.exports, 1);

    const byName = metricsByName(request);
    // Dotted OTel names and UCUM units, as the catalog defines them.
    const level = byName.get("ev.battery.level");
    assert.equal(level.unit, "1");
    assert.equal(level.description, "State of charge, 0–1.");
    assert.ok(level.gauge, "ev.battery.level is a gauge");
    const [lp] = points(level);
    assert.equal(lp.asDouble, 0.77);
    assert.deepEqual(attrs(lp), {
      provider: { stringValue: "tesla" },
      vin: { stringValue: TESLA_VIN },
    });

    assert.equal(byName.get("ev.battery.range").unit, "m");
    const rated = points(byName.get("ev.battery.range")).find((p) =>
      strAttrs(p).estimate === "rated"
    );
    assert.equal(rated.asDouble, 321868.8);

    // A state set: one point per state, the current one 1.
    const charging = byName.get("ev.charging.state");
    assert.equal(charging.unit, "{state}");
    const cps = points(charging);
    assert.equal(cps.length, CHARGING_STATES.length);
    const on = cps.filter((p: Obj) => p.asDouble === 1).map((p: Obj) => strAttrs(p).state);
    assert.deepEqual(on, ["charging"]);

    // Flags are 0/1 gauges.
    const locked = byName.get("ev.locked");
    assert.equal(locked.unit, "{boolean}");
    assert.equal(points(locked)[0].asDouble, 1);

    // Info: value 1, labels as string attributes.
    const info = points(byName.get("ev.vehicle.info")).find((p) => strAttrs(p).vin === TESLA_VIN);
    assert.equal(info.asDouble, 1);
    assert.equal(strAttrs(info).model, "model3");
    assert.equal(strAttrs(info).trim, "");

    // Counters are monotonic cumulative sums with their own labels only.
    const requests = byName.get("ev.api.requests");
    assert.ok(requests.sum, "ev.api.requests is a sum");
    assert.equal(requests.sum.isMonotonic, true);
    assert.equal(requests.sum.aggregationTemporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
    assert.equal(requests.unit, "{request}");
    const [rp] = points(requests);
    assert.equal(rp.asDouble, 12);
    assert.deepEqual(strAttrs(rp), {
      provider: "tesla",
      endpoint: "/api/1/vehicles/{id}/vehicle_data",
      status: "200",
    });

    // Location is off by default.
    assert.ok(![...byName.keys()].some((n) => n.startsWith("ev.location.")));

    // No boolean (or other non-string) attribute on any data point; none boolean anywhere.
    const all = allAttributes(request);
    assert.ok(all.length > 100);
    for (const a of all) assert.equal(a.value.boolValue, undefined, `${a.key} is boolean`);
    for (const m of byName.values()) {
      for (const p of points(m)) {
        for (const a of p.attributes ?? []) {
          assert.deepEqual(Object.keys(a.value), ["stringValue"], `${m.name} ${a.key}`);
        }
      }
    }

    const resource = Object.fromEntries(
      request.resourceMetrics[0].resource.attributes.map((a: Obj) => [a.key, a.value]),
    );
    assert.deepEqual(resource["service.name"], { stringValue: "ev-observer" });
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});

Deno.test("OTLP pushes what /metrics shows: last values while asleep, none once expired or gone", async () => {
  const rx = receiver();
  const { log } = quietLog();
  const readings = fixtureReadings();
  const otlp = new OtlpExport(readings, otlpSettings({}, { url: rx.url })!, {
    location: false,
    log,
  });
  try {
    await otlp.forceFlush();
    readings.setState(teslaSnapshot().vehicle, "asleep");
    await otlp.forceFlush();
    assert.equal(rx.received.length, 2);
    const byName = metricsByName(rx.received[1].request);
    const tesla = (name: string) =>
      points(byName.get(name)).filter((p: Obj) => strAttrs(p).vin === TESLA_VIN);
    assert.equal(tesla("ev.battery.level")[0].asDouble, 0.77, "the last known charge");
    assert.equal(tesla("ev.odometer")[0].asDouble, 24140121.6);
    assert.equal(tesla("ev.last_sample.timestamp")[0].asDouble, 1763900000, "its age");
    const state = tesla("ev.vehicle.state").filter((p: Obj) => p.asDouble === 1);
    assert.deepEqual(state.map((p: Obj) => strAttrs(p).state), ["asleep"], "why nothing newer");
    // Past max_value_age the values go, the sample time stays; gone from the account, all goes.
    const pushed = async () => {
      await otlp.forceFlush();
      const byName = metricsByName(rx.received.at(-1)!.request);
      return [...byName.values()].flatMap((m) =>
        points(m).filter((p: Obj) => strAttrs(p).vin === TESLA_VIN).map(() => m.name)
      );
    };
    readings.expireValues(1763900001);
    const expired = new Set(await pushed());
    assert.ok(!expired.has("ev.battery.level"), "expired: no charge");
    assert.ok(expired.has("ev.last_sample.timestamp"), "expired: the sample time stays");
    readings.forget(teslaSnapshot().vehicle);
    assert.deepEqual(await pushed(), [], "a vehicle that left is not pushed any more");
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});

Deno.test("no Authorization header without a user; database defaults to public", async () => {
  const rx = receiver();
  const { log } = quietLog();
  const settings = otlpSettings({}, { url: rx.url, password: "ignored" })!;
  assert.equal(settings.headers["authorization"], undefined);
  const otlp = new OtlpExport(fixtureReadings(), settings, { location: true, log });
  try {
    await otlp.forceFlush();
    assert.equal(rx.received.length, 1);
    const [{ headers, request }] = rx.received;
    assert.equal(headers.get("authorization"), null);
    assert.equal(headers.get("x-greptime-db-name"), "public");
    // Location on: the three location metrics are pushed.
    const byName = metricsByName(request);
    assert.equal(points(byName.get("ev.location.latitude"))[0].asDouble, 52.52);
    assert.equal(byName.get("ev.location.heading").unit, "deg");
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});

Deno.test("OTEL_* env: endpoint, headers and resource attributes reach the backend", async () => {
  const rx = receiver();
  const { log } = quietLog();
  const settings = otlpSettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: `${rx.url}/custom`,
    OTEL_EXPORTER_OTLP_HEADERS: "x-team=ev%20team",
    OTEL_SERVICE_NAME: "garage",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test,service.instance.id=pi",
  })!;
  const otlp = new OtlpExport(fixtureReadings(), settings, { location: false, log });
  try {
    await otlp.forceFlush();
    const [{ path, headers, request }] = rx.received;
    assert.equal(path, "/custom/v1/metrics");
    assert.equal(headers.get("x-team"), "ev team");
    assert.equal(headers.get("x-greptime-db-name"), null);
    const resource = Object.fromEntries(
      request.resourceMetrics[0].resource.attributes.map((a: Obj) => [a.key, a.value]),
    );
    assert.deepEqual(resource["service.name"], { stringValue: "garage" });
    assert.deepEqual(resource["deployment.environment"], { stringValue: "test" });
    assert.deepEqual(resource["service.instance.id"], { stringValue: "pi" });
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});

Deno.test("a dead backend: forceFlush resolves, the failure is logged and counted", async () => {
  const port = freeLoopbackPort();

  const { lines, log } = quietLog();
  const settings = otlpSettings({ OTEL_EXPORTER_OTLP_TIMEOUT: "300" }, {
    url: `http://127.0.0.1:${port}`,
    username: "writer",
    password: "hunter2-secret",
  })!;
  const readings = fixtureReadings();
  const otlp = new OtlpExport(readings, settings, { location: false, log });
  try {
    await otlp.forceFlush();
    assert.equal(otlp.failures, 1);
    assert.equal(otlp.exports, 0);
    const errors = { backend: "otlp", result: "error" };
    assert.equal(readings.counterValue("ev.export.requests", errors), 1);
    const failed = lines.filter((l) => l.includes("OTLP export failed"));
    assert.equal(failed.length, 1);
    assert.match(failed[0], new RegExp(`127\\.0\\.0\\.1:${port}/v1/otlp/v1/metrics`));
    const authValue = settings.headers["authorization"].replace("Basic ", "");
    for (const line of lines) {
      assert.ok(!line.includes("hunter2-secret"), line);
      assert.ok(!line.includes(authValue), line);
    }
    await otlp.forceFlush();
    assert.equal(otlp.failures, 2);
  } finally {
    await otlp.shutdown();
  }
});

Deno.test("a backend that rejects the push (HTTP 400) counts as a failure", async () => {
  const rx = receiver(400);
  const { lines, log } = quietLog();
  const otlp = new OtlpExport(fixtureReadings(), otlpSettings({}, { url: rx.url })!, {
    location: false,
    log,
  });
  try {
    await otlp.forceFlush();
    assert.equal(rx.received.length, 1); // not retried: 400 is final
    assert.equal(otlp.failures, 1);
    assert.ok(lines.some((l) => l.includes("OTLP export failed") && l.includes("status=400")));
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});

Deno.test("otlpSettings: nothing configured gives undefined", () => {
  assert.equal(otlpSettings({}), undefined);
  assert.equal(otlpSettings({ OTEL_EXPORTER_OTLP_HEADERS: "a=b" }), undefined);
  assert.equal(
    otlpSettings({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318" }),
    undefined,
  );
  assert.equal(
    otlpSettings({ OTEL_METRICS_EXPORTER: "none" }, { url: "http://h:4000" }),
    undefined,
  );
});

Deno.test("otlpSettings: endpoint gets /v1/metrics, the metrics endpoint is used as is and wins", () => {
  assert.equal(
    otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4000/v1/otlp/" })!.url,
    "http://h:4000/v1/otlp/v1/metrics",
  );
  assert.equal(
    otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318" })!.url,
    "http://h:4318/v1/metrics",
  );
  assert.equal(
    otlpSettings({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://m:9000/ingest",
    })!.url,
    "http://m:9000/ingest",
  );
  assert.equal(
    otlpSettings({}, { url: "http://g:4000///" })!.url,
    "http://g:4000/v1/otlp/v1/metrics",
  );
  assert.equal(
    otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://o:4318" }, { url: "http://g:4000" })!.url,
    "http://o:4318/v1/metrics",
  );
});

Deno.test("otlpSettings: headers are URL-decoded and the metrics ones win", () => {
  const s = otlpSettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318",
    OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc%3D%3D, x-a=1 ,x-b=2",
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: "X-B=3,x-c=a%2Cb",
  })!;
  assert.deepEqual(s.headers, {
    authorization: "Bearer abc==",
    "x-a": "1",
    "x-b": "3",
    "x-c": "a,b",
  });
  const g = otlpSettings({ OTEL_EXPORTER_OTLP_HEADERS: "x-greptime-db-name=other" }, {
    url: "http://g:4000",
    database: "ev",
    username: "u",
    password: "p",
  })!;
  assert.equal(g.headers["x-greptime-db-name"], "other");
  assert.equal(g.headers["authorization"], `Basic ${btoa("u:p")}`);
  assert.throws(
    () =>
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://h", OTEL_EXPORTER_OTLP_HEADERS: "x" }),
    /OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not key=value/,
  );
  assert.throws(
    () =>
      otlpSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://h",
        OTEL_EXPORTER_OTLP_HEADERS: "a=%zz",
      }),
    /OTEL_EXPORTER_OTLP_HEADERS: entry 1/,
  );
});

Deno.test("otlpSettings: timeouts, interval, service name and resource attributes", () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:4318" };
  const d = otlpSettings(base)!;
  assert.equal(d.timeoutMillis, 10_000);
  assert.equal(d.intervalMillis, 60_000);
  assert.equal(d.serviceName, "ev-observer");
  assert.equal(d.compression, "none");
  assert.equal(otlpSettings({}, { url: "http://g:4000" })!.compression, "gzip");
  assert.equal(
    otlpSettings({ OTEL_EXPORTER_OTLP_COMPRESSION: "none" }, { url: "http://g:4000" })!.compression,
    "none",
  );
  assert.deepEqual(d.headers, {});
  assert.deepEqual(d.resourceAttributes, {});

  const s = otlpSettings({
    ...base,
    OTEL_EXPORTER_OTLP_TIMEOUT: "5000",
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "2500",
    OTEL_METRIC_EXPORT_INTERVAL: "15000",
    OTEL_RESOURCE_ATTRIBUTES:
      "service.name=from-attrs,host.name=pi%204, deployment.environment=home",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
  })!;
  assert.equal(s.timeoutMillis, 2500);
  assert.equal(s.intervalMillis, 15000);
  assert.equal(s.serviceName, "from-attrs");
  assert.equal(s.compression, "gzip");
  assert.deepEqual(s.resourceAttributes, { "host.name": "pi 4", "deployment.environment": "home" });
  assert.equal(
    otlpSettings({ ...base, OTEL_EXPORTER_OTLP_TIMEOUT: "5000" })!.timeoutMillis,
    5000,
  );
  assert.equal(
    otlpSettings({ ...base, OTEL_SERVICE_NAME: "svc", OTEL_RESOURCE_ATTRIBUTES: "service.name=x" })!
      .serviceName,
    "svc",
  );
  assert.throws(
    () => otlpSettings({ ...base, OTEL_METRIC_EXPORT_INTERVAL: "soon" }),
    /OTEL_METRIC_EXPORT_INTERVAL/,
  );
  assert.throws(() => otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "h:4318" }), /ENDPOINT/);
  assert.throws(
    () => otlpSettings({}, { url: "not a url" }),
    /greptimedb\.url: not a valid URL/,
  );
});

Deno.test("request durations are an explicit-bucket histogram with the catalog's bounds", async () => {
  const rx = receiver();
  const { log } = quietLog();
  const readings = fixtureReadings();
  // Exponential by default must not win: the view pins explicit buckets (GreptimeDB).
  const settings = otlpSettings({
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: "base2_exponential_bucket_histogram",
  }, { url: rx.url })!;
  const otlp = new OtlpExport(readings, settings, { location: false, log });
  try {
    const labels = {
      provider: "volvo",
      endpoint: "/energy/v2/vehicles/{vin}/state",
      status: "200",
    };
    for (const v of [0.03, 0.07, 0.2, 0.2, 45]) {
      readings.observe("ev.api.request.duration", labels, v);
    }
    await otlp.forceFlush();
    const m = metricsByName(rx.received[0].request).get("ev.api.request.duration");
    assert.ok(m.histogram, "a histogram, not an exponential histogram or a gauge");
    assert.equal(m.exponentialHistogram, undefined);
    assert.equal(m.unit, "s");
    assert.equal(m.histogram.aggregationTemporality, "AGGREGATION_TEMPORALITY_CUMULATIVE");
    const [p] = points(m);
    assert.deepEqual(strAttrs(p), labels);
    assert.deepEqual(p.explicitBounds, [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    assert.deepEqual(p.bucketCounts, [1, 1, 2, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(p.count, 5);
    assert.ok(Math.abs(p.sum - 45.5) < 1e-9);
  } finally {
    await otlp.shutdown();
    await rx.close();
  }
});
