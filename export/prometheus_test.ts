import assert from "node:assert/strict";
import { CATALOG, prometheusName } from "../core/catalog.ts";
import { nextTask } from "./next_task.ts";
import { PROMETHEUS_CONTENT_TYPE, PrometheusExport } from "./prometheus.ts";
import { fixtureReadings, promtool, TESLA_VIN, teslaSnapshot, VOLVO_VIN } from "./test_helpers.ts";

const lines = (text: string) => text.split("\n");

Deno.test("exposition has HELP/TYPE and the series values", async () => {
  const text = await new PrometheusExport(fixtureReadings()).exposition();
  const l = lines(text);
  assert.ok(l.includes("# HELP ev_battery_level_ratio State of charge, 0–1."));
  assert.ok(l.includes("# TYPE ev_battery_level_ratio gauge"));
  assert.ok(l.includes(`ev_battery_level_ratio{provider="tesla",vin="${TESLA_VIN}"} 0.77`));
  assert.ok(
    l.includes(
      `ev_battery_range_meters{provider="tesla",vin="${TESLA_VIN}",estimate="rated"} 321868.8`,
    ),
  );
  assert.ok(
    l.includes(`ev_charging_state{provider="tesla",vin="${TESLA_VIN}",state="charging"} 1`),
  );
  assert.ok(
    l.includes(`ev_charging_state{provider="tesla",vin="${TESLA_VIN}",state="complete"} 0`),
  );
  assert.ok(l.includes(`ev_vehicle_state{provider="volvo",vin="${VOLVO_VIN}",state="asleep"} 1`));
  assert.ok(l.includes(
    `ev_vehicle_info{provider="tesla",vin="${TESLA_VIN}",name="Demo \\"Car\\"",model="model3",` +
      `trim="",software_version="2025.44.1",model_year="",fuel_type="",gearbox="",` +
      `exterior_color="",upholstery=""} 1`,
  ));
  assert.ok(l.includes(
    `ev_last_sample_timestamp_seconds{provider="tesla",vin="${TESLA_VIN}"} ` +
      "1763900000",
  ));
});

Deno.test("counters are Prometheus counters named _total with their own labels", async () => {
  const text = await new PrometheusExport(fixtureReadings()).exposition();
  const l = lines(text);
  assert.ok(l.includes("# TYPE ev_api_requests_total counter"));
  assert.ok(l.includes(
    'ev_api_requests_total{provider="tesla",endpoint="/api/1/vehicles/{id}/vehicle_data",' +
      'status="200"} 12',
  ));
  assert.ok(l.includes("# TYPE ev_parse_errors_total counter"));
  assert.ok(
    l.includes('ev_parse_errors_total{provider="tesla",field="charge_state.charger_power"} 1'),
  );
});

Deno.test("every exported catalog metric is registered under its prometheusName", async () => {
  const text = await new PrometheusExport(fixtureReadings()).exposition();
  for (const def of CATALOG.filter((d) => !d.location)) {
    const name = prometheusName(def);
    const kind = def.kind === "counter" || def.kind === "histogram" ? def.kind : "gauge";
    assert.ok(lines(text).includes(`# TYPE ${name} ${kind}`), name);
  }
  assert.doesNotMatch(text, /ev_location/);
});

Deno.test("location metrics appear only when enabled", async () => {
  const text = await new PrometheusExport(fixtureReadings(), { location: true }).exposition();
  assert.ok(
    lines(text).includes(
      `ev_location_latitude_deg{provider="tesla",vin="${TESLA_VIN}"} 52.52`,
    ),
  );
});

Deno.test("each exposition reflects the current readings (old series are reset)", async () => {
  const readings = fixtureReadings();
  const prom = new PrometheusExport(readings);
  assert.match(await prom.exposition(), /ev_battery_level_ratio\{[^}]*\} 0\.77/);
  readings.setState(teslaSnapshot().vehicle, "asleep");
  let text = await prom.exposition();
  // Asleep: the last known value stays, with its sample time.
  assert.match(text, /^ev_battery_level_ratio\{[^}]*\} 0\.77$/m);
  assert.match(text, /^ev_last_sample_timestamp_seconds\{[^}]*\} 1763900000$/m);
  readings.forget(teslaSnapshot().vehicle);
  text = await prom.exposition();
  assert.doesNotMatch(text, /^ev_battery_level_ratio\{/m, "a vehicle that left: reset");
  readings.setState(teslaSnapshot().vehicle, "asleep");
  text = await prom.exposition();
  assert.ok(
    lines(text).includes(
      `ev_vehicle_state{provider="tesla",vin="${TESLA_VIN}",state="asleep"} 1`,
    ),
  );
  assert.ok(
    lines(text).includes(
      `ev_vehicle_state{provider="tesla",vin="${TESLA_VIN}",state="online"} 0`,
    ),
  );
  // Counters are set, not accumulated, across expositions.
  assert.match(text, /^ev_api_requests_total\{.*\} 12$/m);
});

Deno.test("no default process metrics, content type is text format 0.0.4", async () => {
  const text = await new PrometheusExport(fixtureReadings()).exposition();
  assert.doesNotMatch(text, /process_|nodejs_/);
  assert.equal(PROMETHEUS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("promtool check metrics finds nothing to report", async () => {
  for (const location of [false, true]) {
    const text = await new PrometheusExport(fixtureReadings(), { location }).exposition();
    const { code, output } = await promtool(text);
    assert.equal(output, "", `promtool (location=${location}) said:\n${output}`);
    assert.equal(code, 0);
  }
});

Deno.test("promtool itself flags a bad exposition (the check can fail)", async () => {
  const { code, output } = await promtool(
    "# HELP ev_requests Requests.\n# TYPE ev_requests counter\nev_requests 1\n",
  );
  assert.notEqual(code, 0);
  assert.match(output, /_total/);
});

Deno.test("request durations: a Prometheus histogram with the catalog's buckets, promtool clean", async () => {
  const readings = fixtureReadings();
  const prometheus = new PrometheusExport(readings);
  const labels = { provider: "volvo", endpoint: "/energy/v2/vehicles/{vin}/state", status: "200" };
  for (const v of [0.03, 0.07, 0.2, 0.2, 45]) {
    readings.observe("ev.api.request.duration", labels, v);
  }
  readings.observe("ev.api.request.duration", { ...labels, status: "timeout" }, 30);
  const text = await prometheus.exposition();
  const l = lines(text);
  assert.ok(l.includes("# TYPE ev_api_request_duration_seconds histogram"));
  const series = (le: string, status = "200") =>
    `ev_api_request_duration_seconds_bucket{le="${le}",provider="volvo",` +
    `endpoint="/energy/v2/vehicles/{vin}/state",status="${status}"}`;
  assert.ok(l.includes(`${series("0.05")} 1`), text);
  assert.ok(l.includes(`${series("0.25")} 4`));
  assert.ok(l.includes(`${series("30")} 4`));
  assert.ok(l.includes(`${series("+Inf")} 5`));
  assert.ok(l.includes(`${series("30", "timeout")} 1`));
  assert.ok(l.some((x) => /^ev_api_request_duration_seconds_count\{.*status="200"\} 5$/.test(x)));
  // A second scrape shows the same totals (histograms are not reset between scrapes).
  assert.ok(lines(await prometheus.exposition()).includes(`${series("+Inf")} 5`));
  const { code, output } = await promtool(text);
  assert.equal(code, 0, output);
});

Deno.test("a vehicle is rendered when its reading changes, not per scrape; scrapes see every change", async () => {
  const readings = fixtureReadings();
  const prom = new PrometheusExport(readings);
  const first = await Promise.all(Array.from({ length: 20 }, () => prom.exposition()));
  assert.equal(new Set(first).size, 1);
  assert.equal(prom.renders, 2, "the Tesla and the Volvo, once each for 20 scrapes");

  // A new reading is rendered in the task after it is stored: the scrape after renders nothing.
  const snapshot = teslaSnapshot();
  readings.record({
    ...snapshot,
    samples: snapshot.samples.map((s) =>
      s.metric === "ev.battery.level" ? { ...s, value: 0.5 } : s
    ),
  });
  assert.equal(prom.renders, 2, "not inside the poll that stored it");
  await nextTask();
  assert.equal(prom.renders, 3);
  // A state change is seen at the next scrape; so is an exporter counter, which moves per request.
  readings.setState({ provider: "volvo", id: VOLVO_VIN, vin: VOLVO_VIN }, "online");
  readings.count("ev.parse.errors", { provider: "tesla", field: "charge_state.charger_power" });
  const texts = await Promise.all(Array.from({ length: 20 }, () => prom.exposition()));
  assert.equal(new Set(texts).size, 1);
  assert.equal(prom.renders, 4, "only the Volvo again");
  assert.match(texts[0], /ev_battery_level_ratio\{[^}]*\} 0\.5\n/);
  assert.match(texts[0], /ev_vehicle_state\{provider="volvo",[^}]*state="online"\} 1\n/);
  assert.match(
    texts[0],
    /ev_parse_errors_total\{[^}]*field="charge_state.charger_power"[^}]*\} 2\n/,
  );

  // Forgotten: its series go at the next scrape.
  readings.forget({ provider: "volvo", vin: VOLVO_VIN });
  assert.doesNotMatch(await prom.exposition(), /provider="volvo"/);
});

Deno.test("concurrent scrapes share one build and its bytes; its gzip is the same text", async () => {
  const readings = fixtureReadings();
  const prom = new PrometheusExport(readings);
  const bodies = await Promise.all(Array.from({ length: 20 }, () => prom.body()));
  assert.equal(prom.builds, 1, "one build for 20 overlapping scrapes");
  assert.ok(bodies.every((b) => b === bodies[0]), "the same bytes, not 20 copies");
  // Nothing changed: a later scrape gets the same bytes without building again.
  assert.equal(await prom.body(), bodies[0]);
  assert.equal(prom.builds, 1);

  const zipped = await Promise.all(Array.from({ length: 5 }, () => prom.body("gzip")));
  assert.ok(zipped.every((z) => z === zipped[0]), "gzipped once, shared");
  const unzipped = new Response(
    new Blob([zipped[0] as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip")),
  );
  assert.equal(await unzipped.text(), new TextDecoder().decode(bodies[0]));

  // A change (here an exporter counter, which moves per request) makes the next scrape build.
  readings.count("ev.parse.errors", { provider: "tesla", field: "charge_state.charger_power" });
  const after = await prom.body();
  assert.notEqual(after, bodies[0]);
  assert.equal(prom.builds, 2);
});

Deno.test("a build gathers again only the families whose lines changed, and the vehicles' order", async () => {
  const readings = fixtureReadings();
  const prom = new PrometheusExport(readings);
  await prom.exposition();
  const all = prom.gathered;
  assert.ok(all > 50, `${all} vehicle families at first`);

  // The Tesla's charge moves: only its family is gathered again, and the text shows it.
  const snapshot = teslaSnapshot();
  readings.record({
    ...snapshot,
    samples: snapshot.samples.map((s) =>
      s.metric === "ev.battery.level" ? { ...s, value: 0.5 } : s
    ),
  });
  const text = await prom.exposition();
  assert.equal(prom.gathered, all + 1);
  assert.match(text, /ev_battery_level_ratio\{[^}]*\} 0\.5\n/);
  // The same reading again changes nothing: no family, and the same text.
  readings.record({
    ...snapshot,
    samples: snapshot.samples.map((s) =>
      s.metric === "ev.battery.level" ? { ...s, value: 0.5 } : s
    ),
  });
  assert.equal(await prom.exposition(), text);
  assert.equal(prom.gathered, all + 1);
  // A vehicle leaves: every family is gathered again without it.
  readings.forget({ provider: "volvo", vin: VOLVO_VIN });
  assert.doesNotMatch(await prom.exposition(), /provider="volvo"/);
  assert.equal(prom.gathered, 2 * all + 1);
});
