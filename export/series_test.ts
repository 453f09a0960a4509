import assert from "node:assert/strict";
import { CATALOG, CHARGING_STATES, prometheusName, VEHICLE_STATES } from "../core/catalog.ts";
import { Readings } from "../core/readings.ts";
import { collectSeries, exportedMetrics, type Series } from "./series.ts";
import { fixtureReadings, TESLA_VIN, teslaSnapshot, VOLVO_VIN } from "./test_helpers.ts";

const find = (series: Series[], name: string, labels: Record<string, string> = {}) =>
  series.filter((s) =>
    s.def.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );

Deno.test("vehicle gauges carry provider, vin and their sample labels", () => {
  const series = collectSeries(fixtureReadings(), { location: false });
  const [level] = find(series, "ev.battery.level", { vin: TESLA_VIN });
  assert.deepEqual(level.labels, { provider: "tesla", vin: TESLA_VIN });
  assert.equal(level.value, 0.77);
  const rated = find(series, "ev.battery.range", { vin: TESLA_VIN, estimate: "rated" });
  assert.equal(rated.length, 1);
  assert.deepEqual(rated[0].labels, { provider: "tesla", vin: TESLA_VIN, estimate: "rated" });
  const warning = find(series, "ev.tire.warning")[0];
  assert.deepEqual(Object.keys(warning.labels), ["provider", "vin", "wheel", "severity"]);
});

Deno.test("a state set expands to one series per catalog state, the current one 1", () => {
  const series = collectSeries(fixtureReadings());
  const charging = find(series, "ev.charging.state", { vin: TESLA_VIN });
  assert.deepEqual(charging.map((s) => s.labels.state), [...CHARGING_STATES]);
  assert.deepEqual(
    charging.filter((s) => s.value === 1).map((s) => s.labels.state),
    ["charging"],
  );
  assert.ok(charging.every((s) => s.value === 0 || s.value === 1));
});

Deno.test("a state set with its own labels expands per label set, state last", () => {
  const readings = new Readings();
  readings.record({
    ...teslaSnapshot(),
    states: [
      { metric: "ev.tire.pressure_state", state: "low", labels: { wheel: "front_left" } },
      { metric: "ev.tire.pressure_state", state: "ok", labels: { wheel: "rear_right" } },
    ],
  });
  const series = find(collectSeries(readings), "ev.tire.pressure_state");
  assert.equal(series.length, 2 * 5);
  const on = series.filter((s) => s.value === 1).map((s) => [s.labels.wheel, s.labels.state]);
  assert.deepEqual(on, [["front_left", "low"], ["rear_right", "ok"]]);
  assert.deepEqual(Object.keys(series[0].labels), ["provider", "vin", "wheel", "state"]);
});

Deno.test("a vendor state outside the catalog maps to unknown", () => {
  const readings = new Readings();
  readings.record({ ...teslaSnapshot(), states: [{ metric: "ev.charging.state", state: "Warp" }] });
  const on = find(collectSeries(readings), "ev.charging.state").filter((s) => s.value === 1);
  assert.deepEqual(on.map((s) => s.labels.state), ["unknown"]);
});

Deno.test("location metrics are off by default and on when enabled", () => {
  const readings = fixtureReadings();
  const isLocation = (s: Series) => s.def.name.startsWith("ev.location.");
  assert.equal(collectSeries(readings).filter(isLocation).length, 0);
  assert.equal(collectSeries(readings, { location: false }).filter(isLocation).length, 0);
  const on = collectSeries(readings, { location: true });
  assert.equal(find(on, "ev.location.latitude", { vin: TESLA_VIN })[0].value, 52.52);
  assert.equal(on.filter(isLocation).length, 3);
});

Deno.test("an asleep vehicle keeps its last known values, their sample time and its state", () => {
  const readings = fixtureReadings();
  const tesla = teslaSnapshot().vehicle;
  const awake = collectSeries(readings).filter((s) => s.labels.vin === TESLA_VIN);
  readings.setState(tesla, "asleep");
  const series = collectSeries(readings);
  const state = find(series, "ev.vehicle.state", { vin: TESLA_VIN });
  assert.deepEqual(state.map((s) => s.labels.state), [...VEHICLE_STATES]);
  assert.deepEqual(state.filter((s) => s.value === 1).map((s) => s.labels.state), ["asleep"]);
  for (const name of ["ev.battery.level", "ev.charging.state", "ev.locked", "ev.tire.pressure"]) {
    assert.ok(find(series, name, { vin: TESLA_VIN }).length > 0, name);
  }
  // Every sampled series of the car is still there with the value it had while awake.
  const values = (xs: Series[]) =>
    xs.filter((s) => s.labels.vin === TESLA_VIN && s.def.name !== "ev.vehicle.state")
      .map((s) => `${s.def.name}${JSON.stringify(s.labels)} ${s.value}`).sort();
  assert.deepEqual(values(series), values(awake));
  assert.equal(find(series, "ev.last_sample.timestamp", { vin: TESLA_VIN })[0].value, 1763900000);
  assert.equal(find(series, "ev.vehicle.info", { vin: TESLA_VIN }).length, 1);
  // A vehicle only ever seen asleep has its state and info, and no timestamp nor values.
  const volvo = find(series, "ev.vehicle.state", { vin: VOLVO_VIN, state: "asleep" });
  assert.equal(volvo[0].value, 1);
  assert.equal(find(series, "ev.last_sample.timestamp", { vin: VOLVO_VIN }).length, 0);
  assert.equal(find(series, "ev.battery.level", { vin: VOLVO_VIN }).length, 0);
});

Deno.test("values go once they outlive max_value_age, or when the vehicle leaves", () => {
  const readings = fixtureReadings();
  const tesla = teslaSnapshot().vehicle;
  readings.setState(tesla, "offline");
  assert.deepEqual(readings.expireValues(1763900000), [], "not older than the limit");
  const dropped = readings.expireValues(1763900001);
  assert.deepEqual(dropped.map((e) => e.vehicle.vin), [TESLA_VIN]);
  let series = collectSeries(readings);
  assert.equal(find(series, "ev.battery.level", { vin: TESLA_VIN }).length, 0);
  // Its age and whose car it is stay visible.
  assert.equal(find(series, "ev.last_sample.timestamp", { vin: TESLA_VIN })[0].value, 1763900000);
  assert.equal(find(series, "ev.vehicle.info", { vin: TESLA_VIN }).length, 1);
  assert.ok(readings.forget(tesla));
  series = collectSeries(readings);
  assert.equal(series.filter((s) => s.labels.vin === TESLA_VIN).length, 0, "left: nothing");
});

Deno.test("ev.vehicle.info has value 1 and exactly the catalog's info labels", () => {
  const [info] = find(collectSeries(fixtureReadings()), "ev.vehicle.info", { vin: TESLA_VIN });
  assert.equal(info.value, 1);
  assert.deepEqual(info.labels, {
    provider: "tesla",
    vin: TESLA_VIN,
    name: 'Demo "Car"',
    model: "model3",
    trim: "", // missing in the snapshot
    software_version: "2025.44.1",
    // Volvo's vehicle facts: empty for a Tesla.
    model_year: "",
    fuel_type: "",
    gearbox: "",
    exterior_color: "",
    upholstery: "",
    // "color" is not a catalog info label: dropped
  });
});

Deno.test("NaN and Infinity samples are skipped, the others kept", () => {
  const readings = new Readings();
  const snap = teslaSnapshot();
  readings.record({
    ...snap,
    samples: [
      { metric: "ev.battery.level", value: NaN },
      { metric: "ev.charging.power", value: Infinity },
      { metric: "ev.drive.power", value: -Infinity },
      { metric: "ev.odometer", value: 1000 },
    ],
  });
  const series = collectSeries(readings);
  assert.equal(find(series, "ev.battery.level").length, 0);
  assert.equal(find(series, "ev.charging.power").length, 0);
  assert.equal(find(series, "ev.drive.power").length, 0);
  assert.equal(find(series, "ev.odometer")[0].value, 1000);
  assert.ok(series.every((s) => Number.isFinite(s.value)));
});

Deno.test("counters carry only their own labels", () => {
  const series = collectSeries(fixtureReadings());
  const [requests] = find(series, "ev.api.requests");
  assert.deepEqual(requests.labels, {
    provider: "tesla",
    endpoint: "/api/1/vehicles/{id}/vehicle_data",
    status: "200",
  });
  assert.equal(requests.value, 12);
  const [errors] = find(series, "ev.parse.errors");
  assert.deepEqual(errors.labels, { provider: "tesla", field: "charge_state.charger_power" });
  assert.equal(errors.value, 1);
});

Deno.test("a sample of a metric outside the catalog throws", () => {
  const readings = new Readings();
  readings.record({ ...teslaSnapshot(), samples: [{ metric: "ev.battery.levle", value: 1 }] });
  assert.throws(() => collectSeries(readings), /ev\.battery\.levle.*not in the catalog/);
});

Deno.test("a label the catalog does not declare throws", () => {
  const readings = new Readings();
  readings.record({
    ...teslaSnapshot(),
    samples: [{ metric: "ev.battery.level", value: 0.5, labels: { pack: "a" } }],
  });
  assert.throws(() => collectSeries(readings), /label "pack" is not declared/);
});

Deno.test("a missing declared label is exported as empty, keeping label sets uniform", () => {
  const readings = new Readings();
  readings.record({
    ...teslaSnapshot(),
    samples: [{ metric: "ev.battery.range", value: 1000 }],
  });
  const [range] = find(collectSeries(readings), "ev.battery.range");
  assert.deepEqual(range.labels, { provider: "tesla", vin: TESLA_VIN, estimate: "" });
});

Deno.test("exporter gauges and the poll state set come out with their own labels", () => {
  const readings = fixtureReadings();
  readings.setGauge("ev.api.budget.remaining", { provider: "tesla", account: "home" }, 412);
  readings.setGauge("ev.api.budget.remaining", { provider: "tesla", account: "home" }, 411);
  readings.setGauge("ev.token.expiry.timestamp", { provider: "tesla", account: "home" }, 1.7e9);
  const vehicle = [...readings.vehicles.values()][0].vehicle;
  readings.setPollState(vehicle, "suspended");
  const series = collectSeries(readings);
  const [budget] = find(series, "ev.api.budget.remaining");
  assert.deepEqual(budget.labels, { provider: "tesla", account: "home" });
  assert.equal(budget.value, 411, "the latest value wins");
  assert.equal(find(series, "ev.token.expiry.timestamp")[0].value, 1.7e9);
  const poll = find(series, "ev.poll.state");
  assert.equal(poll.length, 8, "one series per poll state (streaming included)");
  assert.deepEqual(
    poll.filter((s) => s.value === 1).map((s) => s.labels),
    [{ provider: "tesla", vin: TESLA_VIN, state: "suspended" }],
  );
  assert.throws(() => readings.setGauge("ev.battery.level", {}, 1), /not an exporter-level gauge/);
});

Deno.test("exports list every catalog metric once, sorted by Prometheus name", () => {
  const names = exportedMetrics({ location: true }).map((m) => prometheusName(m));
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(
    exportedMetrics({ location: true }).map((m) => m.name).sort(),
    CATALOG.map((m) => m.name).sort(),
  );
  assert.deepEqual(
    exportedMetrics().map((m) => m.name).sort(),
    CATALOG.filter((m) => !m.location).map((m) => m.name).sort(),
  );
});
