import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../../core/testing.ts";
import { VirtualClock } from "../../core/clock.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { Snapshot, VehicleRef } from "../../core/snapshot.ts";
import { VendorError } from "../../core/errors.ts";
import { mapVehicleData } from "./provider.ts";
import { createTeslaProvider } from "./provider.ts";
import { classify } from "./api.ts";

const dir = new URL("./testdata/", import.meta.url);
const load = async (name: string) => JSON.parse(await Deno.readTextFile(new URL(name, dir)));
const vehicle: VehicleRef = { provider: "tesla", id: "1234", vin: "TESTVIN0000000000" };

/** When the tests' bodies are read: after every timestamp in them. */
const READ_AT = Date.parse("2026-01-01T00:00:00Z") / 1000;

function setup(location = false) {
  const readings = new Readings();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  return { readings, lines, report: { provider: "tesla", readings, log }, location, now: READ_AT };
}

const value = (s: Snapshot, metric: string, labels: Record<string, string> = {}) =>
  s.samples.find((x) =>
    x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)
  )?.value;

Deno.test("vehicle_data reference payload: every unit converted to base units", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  const ctx = setup(true);
  const s = mapVehicleData(vehicle, body, ctx);
  // percent → ratio
  assertEquals(value(s, "ev.battery.level"), 0.77);
  assertEquals(value(s, "ev.charging.limit"), 0.8);
  // miles → meters (266.87 mi)
  assertAlmostEquals(value(s, "ev.battery.range", { estimate: "rated" })!, 429_485.633, 0.001);
  assertAlmostEquals(value(s, "ev.battery.range", { estimate: "estimated" })!, 442_633.974, 0.001);
  assertAlmostEquals(value(s, "ev.odometer")!, 6481.019282 * 1609.344, 1e-6);
  // bar → Pa (2.775 bar)
  assertAlmostEquals(value(s, "ev.tire.pressure", { wheel: "front_left" })!, 277_500, 1e-6);
  assertAlmostEquals(value(s, "ev.tire.pressure", { wheel: "front_right" })!, 280_000, 1e-6);
  // kW → W: power -7 kW regen
  assertEquals(value(s, "ev.drive.power"), -7000);
  assertEquals(value(s, "ev.charging.power"), 0);
  // kWh → J (46.92 kWh)
  assertAlmostEquals(value(s, "ev.battery.energy_remaining")!, 46.92 * 3.6e6, 1e-3);
  // null speed = parked → 0 m/s; null charger_phases → absent
  assertEquals(value(s, "ev.drive.speed"), 0);
  assertEquals(value(s, "ev.charging.phases"), undefined);
  // epoch ms → s
  assertEquals(s.sampledAt, 1705707520.649);
  // epoch s stays s
  assertEquals(value(s, "ev.charging.scheduled_departure.timestamp"), 1704837600);
  // states and flags
  assertEquals(s.states, [
    { metric: "ev.charging.state", state: "stopped" },
    { metric: "ev.drive.shift_state", state: "park" },
  ]);
  assertEquals(value(s, "ev.charging.plugged_in"), 1);
  assertEquals(value(s, "ev.charging.port_open"), 1);
  assertEquals(value(s, "ev.locked"), 0);
  assertEquals(value(s, "ev.climate.on"), 1);
  assertEquals(value(s, "ev.battery.module.temperature", { bound: "max" }), 18);
  assertEquals(value(s, "ev.location.latitude"), -30.222626);
  assertEquals(s.info, {
    name: "Test",
    model: "model3",
    trim: "74d",
    software_version: "2023.44.30.8",
  });
  // a well-formed body produces no parse error
  assertEquals([...ctx.readings.counters.values()].length, 0);
});

Deno.test("charging current: a fast charger is DC, another charge AC, unplugged none", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  const typeOf = (charge: Record<string, unknown>) =>
    mapVehicleData(vehicle, { ...body, charge_state: { ...body.charge_state, ...charge } }, setup())
      .states.find((x) => x.metric === "ev.charging.type")?.state;
  assertEquals(
    typeOf({ charging_state: "Charging", fast_charger_present: true, charger_phases: null }),
    "dc",
  );
  assertEquals(typeOf({ charging_state: "Charging", fast_charger_present: false }), "ac");
  assertEquals(typeOf({ charging_state: "Disconnected" }), "none");
  assertEquals(typeOf({ charging_state: "Complete", fast_charger_present: false }), undefined);
});

Deno.test("hours and mph conversions", () => {
  const ctx = setup();
  const s = mapVehicleData(vehicle, {
    state: "online",
    vin: "X",
    charge_state: { time_to_full_charge: 1.5, timestamp: 1_705_707_500_000 },
    drive_state: { speed: 60, shift_state: "D", power: 20, timestamp: 1_705_707_502_000 },
  }, ctx);
  assertEquals(value(s, "ev.charging.time_to_full"), 5400);
  assertAlmostEquals(value(s, "ev.drive.speed")!, 26.8224, 1e-9);
  assertEquals(s.states.find((x) => x.metric === "ev.drive.shift_state")?.state, "drive");
  assertEquals(s.sampledAt, 1_705_707_502);
});

Deno.test("location is dropped unless enabled", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  const s = mapVehicleData(vehicle, body, setup(false));
  assertEquals(value(s, "ev.location.latitude"), undefined);
  assertEquals(value(s, "ev.location.heading"), undefined);
});

Deno.test("a wrong-typed field drops only its metric and is counted by name; an absent one is not counted", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  body.charge_state.battery_level = "seventy";
  body.vehicle_state.odometer = { miles: 1 };
  delete body.charge_state.charger_power;
  const ctx = setup();
  const s = mapVehicleData(vehicle, body, ctx);
  assertEquals(value(s, "ev.battery.level"), undefined);
  assertEquals(value(s, "ev.odometer"), undefined);
  assertEquals(value(s, "ev.charging.power"), undefined);
  assertEquals(value(s, "ev.battery.usable_level"), 0.77);
  const count = (field: string) =>
    ctx.readings.counterValue("ev.parse.errors", { provider: "tesla", field });
  assertEquals(count("charge_state.battery_level"), 1);
  assertEquals(count("vehicle_state.odometer"), 1);
  assertEquals(count("charge_state.charger_power"), 0, "absent is no error");
  assert(ctx.lines.some((l) => l.includes("field=charge_state.battery_level")));
  assert(!ctx.lines.some((l) => l.includes("seventy")), "values are never logged");
});

Deno.test("a missing section is no error: its metrics are absent, the rest exported", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  delete body.charge_state;
  const ctx = setup();
  const s = mapVehicleData(vehicle, body, ctx);
  assertEquals(value(s, "ev.battery.level"), undefined);
  assert(value(s, "ev.odometer")! > 0);
  assertEquals(ctx.readings.counters.size, 0);
});

Deno.test("error answers map to vendor-neutral kinds", async () => {
  const res = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    text: typeof body === "string" ? body : JSON.stringify(body),
    headers: new Headers(headers),
    url: new URL("http://x/"),
  });
  assertEquals(classify(res(408, await load("error.408.json")), "e", 0).kind, "asleep");
  assertEquals(
    classify(res(401, await load("error.401-token-expired.json")), "e", 0).kind,
    "unauthorized",
  );
  assertEquals(classify(res(401, { error: "login_required" }), "e", 0).kind, "sign_in_needed");
  const limit = classify(res(403, await load("error.403-exceeded-limit.json")), "e", 0);
  assertEquals([limit.kind, limit.retryAfterS], ["quota", 900]);
  const rl = classify(res(429, "", { "retry-after": "42" }), "e", 0);
  assertEquals([rl.kind, rl.retryAfterS], ["rate_limited", 42]);
  assertEquals(classify(res(429, ""), "e", 0).retryAfterS, 300);
  assertEquals(classify(res(502, "<html>Bad gateway</html>"), "e", 0).kind, "server");
});

Deno.test("provider over HTTP: products, summary, vehicle_data with endpoints", async () => {
  const data = await load("vehicle_data.fleet.json");
  const products = await load("products.json");
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    seen.push(`${url.pathname}?${url.searchParams}`);
    assertEquals(req.headers.get("authorization"), "Bearer tok-123456");
    if (url.pathname === "/api/1/products") return Response.json(products);
    if (url.pathname.endsWith("/vehicle_data")) return Response.json(data);
    if (url.pathname === "/api/1/vehicles/1234") {
      return Response.json({ response: { state: "online" } });
    }
    return new Response("<html>nope</html>", {
      status: 200,
      headers: { "content-type": "text/html" },
    });
  });
  try {
    const readings = new Readings();
    const clock = new VirtualClock(0, 0);
    const provider = createTeslaProvider({
      http: new Http({ provider: "tesla", readings }).withAuth({
        token: () => Promise.resolve("tok-123456"),
      }),
      readings,
      clock,
      log: createLogger({ write: () => {} }),
      baseUrl: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
      location: false,
    });
    const vehicles = await provider.listVehicles();
    assertEquals(vehicles.length, 1, "energy sites are skipped");
    assertEquals(vehicles[0].id, "1234");
    assertEquals((await provider.checkState(vehicles[0])).state, "online");
    const snap = await provider.fetch(vehicles[0]);
    assertEquals(value(snap!, "ev.battery.level"), 0.77);
    assert(seen.some((s) => s.includes("endpoints=charge_state%3Bclimate_state")));
    assert(!seen.some((s) => s.includes("location_data")), "no location_data unless enabled");
    assertEquals(
      readings.counterValue("ev.api.requests", {
        provider: "tesla",
        endpoint: "/api/1/vehicles/{id}/vehicle_data",
        status: "200",
      }),
      1,
    );
    const err = await assertRejects(() => provider.checkState({ ...vehicles[0], id: "html" }));
    assert(err instanceof VendorError && err.kind === "malformed");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a section timestamp in the future or in seconds is refused and counted; the others give the time", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  body.vehicle_state.timestamp = Date.UTC(2099, 0, 1);
  body.climate_state.timestamp = 1_705_707_520; // seconds where milliseconds belong: 1970
  const ctx = setup();
  const s = mapVehicleData(vehicle, body, ctx);
  assertEquals(
    s.sampledAt,
    Math.max(body.charge_state.timestamp, body.drive_state.timestamp) / 1000,
  );
  assertEquals(s.readAt, READ_AT);
  const count = (field: string) =>
    ctx.readings.counterValue("ev.parse.errors", { provider: "tesla", field });
  assertEquals([count("vehicle_state.timestamp"), count("climate_state.timestamp")], [1, 1]);
  assertEquals(value(s, "ev.locked"), 0, "the section's values are still used");
});

/** Sparse bodies, written by hand from the documented field names: each field absent is fine. */
const T = 1_705_707_520_649;
const SPARSE: Record<string, Record<string, unknown>> = {
  // Older firmware: no usable level, no limit bounds, no sentry or window fields, no
  // climate_state and no vehicle_config in the answer.
  "older firmware": {
    id: 1,
    vin: "X",
    state: "online",
    charge_state: {
      battery_level: 64,
      battery_range: 180.5,
      charging_state: "Disconnected",
      charge_limit_soc: 90,
      timestamp: T,
    },
    drive_state: { shift_state: null, speed: null, timestamp: T },
    vehicle_state: {
      odometer: 12_345.6,
      locked: true,
      df: 0,
      pf: 0,
      dr: 0,
      pr: 0,
      ft: 0,
      rt: 0,
      car_version: "2019.40.2.1 abc",
      timestamp: T,
    },
  },
  // Cached data: a few values per section, timestamps, nothing else.
  "cached data": {
    vin: "X",
    state: "online",
    charge_state: { battery_level: 64, charging_state: "Stopped", timestamp: T },
    vehicle_state: { odometer: 12_345.6, timestamp: T },
  },
  // Location requested, but the car sent no GPS fields (no fix yet).
  "location without GPS": {
    vin: "X",
    state: "online",
    drive_state: { shift_state: "P", speed: 0, power: 0, timestamp: T },
    charge_state: {
      battery_level: 64,
      charge_limit_soc: 80,
      charge_limit_soc_max: 100,
      timestamp: T,
    },
  },
};

for (const [name, body] of Object.entries(SPARSE)) {
  Deno.test(`sparse body (${name}): absent fields are no parse error; present ones are used`, () => {
    const ctx = setup(true);
    const s = mapVehicleData(vehicle, body, ctx);
    const errors = [...ctx.readings.counters.values()].filter((c) => c.metric === "ev.parse.errors")
      .map((c) => c.labels.field);
    assertEquals(errors, []);
    assertEquals(value(s, "ev.battery.level"), 0.64);
    assertEquals(s.sampledAt, T / 1000);
  });
}

Deno.test("sparse body: a present field that fails validation is still counted", () => {
  const ctx = setup();
  const body = structuredClone(SPARSE["cached data"]);
  (body.charge_state as Record<string, unknown>).charge_limit_soc_min = "fifty";
  mapVehicleData(vehicle, body, ctx);
  const errors = [...ctx.readings.counters.values()].filter((c) => c.metric === "ev.parse.errors")
    .map((c) => c.labels.field);
  assertEquals(errors, ["charge_state.charge_limit_soc_min"]);
});

Deno.test("tpms_pressure 0.0 is no reading (cached or asleep), not a flat tyre", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  body.vehicle_state.tpms_pressure_fl = 0.0;
  body.vehicle_state.tpms_pressure_rr = 0;
  const ctx = setup();
  const s = mapVehicleData(vehicle, body, ctx);
  assertEquals(value(s, "ev.tire.pressure", { wheel: "front_left" }), undefined);
  assertEquals(value(s, "ev.tire.pressure", { wheel: "rear_right" }), undefined);
  assertAlmostEquals(value(s, "ev.tire.pressure", { wheel: "front_right" })!, 280_000, 1e-6);
  assertEquals(ctx.readings.counters.size, 0, "nothing counted as an error");
});

Deno.test("right-hand drive: driver and passenger doors and windows map to their physical side", async () => {
  const body = (await load("vehicle_data.fleet.json")).response;
  Object.assign(body.vehicle_state, { df: 1, pf: 0, dr: 0, pr: 1, fd_window: 1, rp_window: 1 });
  const side = (s: Snapshot) =>
    Object.fromEntries(
      s.samples.filter((x) => x.metric === "ev.door.open" || x.metric === "ev.window.open")
        .map((x) => [`${x.metric.split(".")[1]} ${Object.values(x.labels!)[0]}`, x.value]),
    );
  body.vehicle_config.rhd = true; // the driver sits on the right
  assertEquals(side(mapVehicleData(vehicle, body, setup())), {
    "door front_right": 1,
    "door front_left": 0,
    "door rear_right": 0,
    "door rear_left": 1,
    "window front_right": 1,
    "window front_left": 0,
    "window rear_right": 0,
    "window rear_left": 1,
  });
  body.vehicle_config.rhd = false;
  assertEquals(side(mapVehicleData(vehicle, body, setup())), {
    "door front_left": 1,
    "door front_right": 0,
    "door rear_left": 0,
    "door rear_right": 1,
    "window front_left": 1,
    "window front_right": 0,
    "window rear_left": 0,
    "window rear_right": 1,
  });
});
