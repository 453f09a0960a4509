/** The status model and its bounded history, without a browser. */
import { Readings } from "../core/readings.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { StatusHistory, statusModel } from "./status.ts";
import { renderVehicles } from "./status_page.ts";
import { teslaSnapshot } from "./test_helpers.ts";

const at = (s: Snapshot, sampledAt: number, soc: number): Snapshot => ({
  ...s,
  sampledAt,
  samples: s.samples.map((x) => x.metric === "ev.battery.level" ? { ...x, value: soc } : x),
});

Deno.test("history keeps at most one point a minute for 24 hours, however long it runs", () => {
  const readings = new Readings();
  const history = new StatusHistory(readings);
  const base = teslaSnapshot();
  const t0 = 1_700_000_000;
  // Three days of samples every 20 s.
  for (let t = 0; t <= 3 * 86_400; t += 20) readings.record(at(base, t0 + t, (t % 1000) / 1000));
  const now = t0 + 3 * 86_400;
  const points = history.points(base.vehicle, now);
  assert(history.size() <= 1441, `bounded: ${history.size()} points`);
  assert(points.length >= 1400, `a point a minute: ${points.length}`);
  assert(points[0][0] >= now - 86_400, "nothing older than 24 hours");
  assertEquals(points.at(-1), [now, ((3 * 86_400) % 1000) / 1000, 1], "the newest, charging");
  // A replay that starts over goes back in time: the old day is dropped.
  readings.record(at(base, t0, 0.5));
  assertEquals(history.points(base.vehicle, t0), [[t0, 0.5, 1]]);
  history.close();
  readings.record(at(base, t0 + 60, 0.6));
  assertEquals(history.size(), 1, "closed: no longer listening");
});

Deno.test("the model: last known values while asleep, VIN tail only, budget when known", () => {
  const readings = new Readings();
  const history = new StatusHistory(readings);
  const snap = teslaSnapshot();
  readings.record(snap);
  readings.count("ev.api.requests", { provider: "tesla", endpoint: "/x", status: "200" }, 7);
  readings.setState(snap.vehicle, "asleep");
  const now = () => (snap.sampledAt + 600) * 1000;
  const model = statusModel(readings, history, { now });
  const [v] = model.vehicles;
  assertEquals(v.state, "asleep");
  assertEquals(v.soc, 0.77, "the last known charge stays visible while the car sleeps");
  assertEquals(v.ageS, 600);
  assertEquals(v.vinTail, snap.vehicle.vin.slice(-6));
  assert(!JSON.stringify(model).includes(snap.vehicle.vin), "the full VIN is not shown");
  assertEquals(v.requestsSinceStart, 7);
  const html = renderVehicles(model);
  assertStringIncludes(html, "no budget configured");
  assertStringIncludes(html, '<span class="muted">n/a</span>', "token n/a without a poller");

  const withBudget = statusModel(readings, history, {
    now,
    account: () => ({
      token: { state: "valid", expiresAt: snap.sampledAt + 600 + 7200 },
      today: { requests: 120, limit: 500, billable: 118 },
      month: { requests: 2400, costUsd: 1.25, budgetUsd: 10 },
      pollState: "asleep",
    }),
  });
  const budgetHtml = renderVehicles(withBudget);
  assertStringIncludes(budgetHtml, "120 / 500 requests (118 billable)");
  assertStringIncludes(budgetHtml, "est. $1.25 of $10.00");
  assertStringIncludes(budgetHtml, "valid, expires in 2 h");
  assertStringIncludes(budgetHtml, "<dt>Polling</dt><dd>asleep</dd>");
  assert(!budgetHtml.includes("no budget configured"));
});

Deno.test("renderVehicles runs from its own source text, as the browser runs it", () => {
  const readings = new Readings();
  const history = new StatusHistory(readings);
  readings.record(teslaSnapshot());
  const model = statusModel(readings, history, { now: Date.now });
  // The page embeds the function's source: it must not depend on anything outside itself.
  const fromSource = new Function(`return (${renderVehicles.toString()})`)();
  assertEquals(fromSource(model), renderVehicles(model));
});

Deno.test("the model: a Volvo whose drive system runs shows as driving (it has no gear)", () => {
  const readings = new Readings();
  const history = new StatusHistory(readings);
  const vehicle = { provider: "volvo", id: "YV1XZEFV1R2000001", vin: "YV1XZEFV1R2000001" };
  const snapshot = (running: number): Snapshot => ({
    vehicle,
    sampledAt: 1_700_000_000,
    state: "online",
    samples: [
      { metric: "ev.battery.level", value: 0.5 },
      { metric: "ev.engine.running", value: running },
    ],
    states: [{ metric: "ev.charging.state", state: "disconnected" }],
    info: {},
  });
  const now = () => 1_700_000_060_000;
  readings.record(snapshot(1));
  assertEquals(statusModel(readings, history, { now }).vehicles[0].state, "driving");
  readings.record(snapshot(0));
  assertEquals(statusModel(readings, history, { now }).vehicles[0].state, "parked");
  history.close();
});

Deno.test("the page in metric and imperial units, from the same base-unit model", () => {
  const readings = new Readings();
  const history = new StatusHistory(readings);
  readings.record(teslaSnapshot());
  const now = () => (teslaSnapshot().sampledAt + 30) * 1000;
  const metric = renderVehicles(statusModel(readings, history, { now }));
  assertStringIncludes(metric, "<dt>Odometer</dt><dd>24,140 km</dd>");
  assertStringIncludes(metric, "<dt>Range</dt><dd>322 km</dd>");
  assertStringIncludes(metric, "inside 21.5 °C");
  assertStringIncludes(metric, '<span class="tyre">FL 2.9</span> bar');
  assertStringIncludes(metric, "11.0 kW");
  const imperial = renderVehicles(statusModel(readings, history, { now, units: "imperial" }));
  assertStringIncludes(imperial, "<dt>Odometer</dt><dd>15,000 mi</dd>");
  assertStringIncludes(imperial, "<dt>Range</dt><dd>200 mi</dd>");
  assertStringIncludes(imperial, "inside 71 °F");
  assertStringIncludes(imperial, '<span class="tyre">FL 42</span> psi');
  history.close();
});

Deno.test("the last drives follow the units too: km and Wh/km, or mi and Wh/mi", () => {
  const now = 1_700_000_000;
  const drive = {
    kind: "drive" as const,
    endS: now - 3600,
    durationS: 1800,
    km: 32.19,
    kwh: 5.2,
    whPerKm: 161.5,
    socStart: 0.8,
    socEnd: 0.73,
  };
  const model = (units: "metric" | "imperial") => ({
    now,
    units,
    vehicles: [{
      provider: "tesla",
      name: "Model 3",
      vinTail: "000001",
      state: "parked",
      requestsSinceStart: 0,
      history: [],
      sessions: [drive],
    }],
  });
  assertStringIncludes(renderVehicles(model("metric")), "32.2 km · 5.2 kWh · 162 Wh/km · 80→73 %");
  assertStringIncludes(
    renderVehicles(model("imperial")),
    "20.0 mi · 5.2 kWh · 260 Wh/mi · 80→73 %",
  );
});
