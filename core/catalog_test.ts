import { assert, assertEquals, normalizeMarkdownTable } from "./testing.ts";
import { CATALOG, inRange, metric, prometheusName } from "./catalog.ts";
import { catalogMarkdown, README_BEGIN, README_END } from "./catalog_doc.ts";
import { SEED_GAUGES } from "../providers/tesla/sim/seed_gauges.ts";

Deno.test("prometheus names follow GreptimeDB's translation (its documented examples)", () => {
  const cases: [string, string, "gauge" | "counter", string][] = [
    ["tesla.battery.level", "%", "gauge", "tesla_battery_level_percent"],
    ["ev.battery.soc", "1", "gauge", "ev_battery_soc_ratio"],
    ["ev.odometer", "m", "gauge", "ev_odometer_meters"],
    ["ev.charger.power", "W", "gauge", "ev_charger_power_watts"],
    ["ev.energy.added", "kWh", "gauge", "ev_energy_added_kWh"],
    ["ev.speed", "km/h", "gauge", "ev_speed_km_per_hour"],
    ["ev.api.requests", "{request}", "counter", "ev_api_requests_total"],
    ["ChargeState_battery_level", "", "gauge", "ChargeState_battery_level"],
    ["ev.last_sample.timestamp", "s", "gauge", "ev_last_sample_timestamp_seconds"],
    ["ev.drive.speed", "m/s", "gauge", "ev_drive_speed_meters_per_second"],
    ["http.duration.seconds", "s", "gauge", "http_duration_seconds"],
  ];
  for (const [name, unit, kind, want] of cases) {
    assertEquals(prometheusName({ name, unit, kind }), want, name);
  }
});

Deno.test("catalog: unique names, base units, valid Prometheus names", () => {
  const names = CATALOG.map(prometheusName);
  assertEquals(new Set(names).size, names.length, "two metrics map to one Prometheus name");
  assertEquals(new Set(CATALOG.map((m) => m.name)).size, CATALOG.length);
  const baseUnits = new Set(["1", "m", "W", "V", "A", "Cel", "Pa", "J", "s", "m/s", "deg"]);
  // Exceptions whose catalog entries say why: fuel volume and consumption per 100 km.
  const documented = new Set(["l", "Wh/km", "l/100km"]);
  for (const m of CATALOG) {
    assert(
      baseUnits.has(m.unit) || documented.has(m.unit) || /^\{[A-Za-z_]+\}$/.test(m.unit),
      `${m.name}: unit ${m.unit} is not a base unit`,
    );
    assert(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prometheusName(m)), m.name);
    if (m.kind === "stateset") assert(m.states && m.states.includes("unknown"), m.name);
  }
  assertEquals(prometheusName(metric("ev.vehicle.info")), "ev_vehicle_info");
  assertEquals(prometheusName(metric("ev.battery.level")), "ev_battery_level_ratio");
});

Deno.test("every gauge of the original demo has a home or a reason", () => {
  assertEquals(SEED_GAUGES.length, 37);
  assertEquals(new Set(SEED_GAUGES.map((s) => s.seed)).size, 37);
  for (const s of SEED_GAUGES) {
    assert(Boolean(s.metric) !== Boolean(s.reason), `${s.seed}: exactly one of metric/reason`);
    if (s.metric) {
      const def = metric(s.metric);
      for (const k of Object.keys(s.labels ?? {})) {
        assert(def.labels.includes(k), `${s.seed}: ${k}`);
      }
    }
  }
});

Deno.test("README carries the current catalog table (run `deno task catalog`)", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const start = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  assert(start >= 0 && end > start, "README lacks the catalog markers");
  const table = readme.slice(start + README_BEGIN.length, end).trim();
  if (Deno.env.get("UPDATE_GOLDEN")) {
    const updated = readme.slice(0, start + README_BEGIN.length) + "\n" + catalogMarkdown() +
      "\n" + readme.slice(end);
    await Deno.writeTextFile(new URL("../README.md", import.meta.url), updated);
    return;
  }
  // deno fmt pads table cells; compare cell contents only.
  assertEquals(
    normalizeMarkdownTable(table),
    normalizeMarkdownTable(catalogMarkdown()),
    "README metric table is out of date: run `deno task test:update`",
  );
});

Deno.test("every gauge has a sane range that holds its unit's everyday values", () => {
  for (const m of CATALOG) {
    if (m.kind !== "gauge") continue;
    assert(m.range && m.range[0] < m.range[1], `${m.name}: no range`);
  }
  const ok = (name: string, v: number) => inRange(metric(name), v);
  assert(ok("ev.battery.level", 1) && !ok("ev.battery.level", 77), "ratio, not percent");
  assert(ok("ev.climate.outside.temperature", -40) && !ok("ev.climate.outside.temperature", 300));
  assert(ok("ev.drive.power", -250_000) && ok("ev.tire.pressure", 290_000));
  assert(!ok("ev.drive.speed", 1e6) && !ok("ev.battery.level", NaN));
  assert(ok("ev.location.longitude", -179.9) && !ok("ev.location.latitude", 91));
});
