/**
 * The scripted Volvo days: identity, shapes faithful to the reference payloads, the timeline,
 * and that fixtures/volvo/ holds exactly what the generator makes (UPDATE_GOLDEN=1 rewrites).
 */
import { assert, assertEquals } from "../../../core/testing.ts";
import { isValidVin } from "../../../replay/vin.ts";
import { Cassette, loadCassette } from "../../../replay/cassette.ts";
import { type EndpointName, ENDPOINTS } from "../api.ts";
import { carModel, CARS, DAY_START, volvoCassettes } from "./scenario.ts";

const FIXTURES = new URL("../../../fixtures/", import.meta.url);
const testdata = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../testdata/${name}`, import.meta.url)));
const cassettes = volvoCassettes();
const byScenario = (s: string) => cassettes[`volvo/${s}/cassette.json`];
const hm = (h: number, m: number) => h * 3600 + m * 60;

/** The body of `name` the fake server gives at t (newest exchange at or before t). */
function bodyAt(c: Cassette, name: EndpointName, t: number): Record<string, unknown> {
  const vin = (c.exchanges[1].response.json as { data: { vin: string }[] }).data[0].vin;
  const path = ENDPOINTS[name].template.replace("{vin}", vin);
  const list = c.exchanges.filter((e) => e.request.path === path && e.at <= t);
  assert(list.length > 0, `${c.scenario}: no ${name} at ${t}`);
  return list.at(-1)!.response.json as Record<string, unknown>;
}

Deno.test("fake VINs: well-formed, valid check digit, not the reference placeholder", () => {
  const vins = CARS.map((c) => c.vin);
  assertEquals(new Set(vins).size, 3);
  for (const vin of vins) {
    assert(vin.startsWith("YV1") && isValidVin(vin), vin);
  }
});

Deno.test("fixtures/volvo/ matches the generator (`deno task fixtures` rewrites it)", async () => {
  for (const [rel, cassette] of Object.entries(cassettes)) {
    const onDisk = await loadCassette(new URL(rel, FIXTURES).pathname);
    assertEquals(onDisk, Cassette.parse(cassette), `${rel} differs: run deno task fixtures`);
  }
});

Deno.test("bodies have the reference payloads' shape, field for field", () => {
  const keys = (x: unknown) => Object.keys(x as object).sort();
  const ref: [EndpointName, string][] = [
    ["doors", "connected-vehicle.doors.json"],
    ["windows", "connected-vehicle.windows.json"],
    ["tyres", "connected-vehicle.tyres.json"],
    ["warnings", "connected-vehicle.warnings.json"],
    ["diagnostics", "connected-vehicle.diagnostics.json"],
    ["engine", "connected-vehicle.engine.json"],
    ["brakes", "connected-vehicle.brakes.json"],
    ["engine-status", "connected-vehicle.engine-status.json"],
    ["odometer", "connected-vehicle.odometer.json"],
    ["command-accessibility", "connected-vehicle.command-accessibility.json"],
  ];
  for (const c of Object.values(cassettes)) {
    for (const [name, file] of ref) {
      const mine = bodyAt(c, name, c.sampleAt) as { data: Record<string, unknown> };
      const theirs = testdata(file).data;
      assertEquals(keys(mine.data), keys(theirs), `${c.scenario} ${name}`);
      for (const [k, v] of Object.entries(mine.data)) {
        assertEquals(keys(v), keys(theirs[k]), `${c.scenario} ${name}.${k}`);
      }
    }
    const details = bodyAt(c, "details", 0) as { data: Record<string, unknown> };
    const refDetails = testdata("connected-vehicle.vehicle.xc40-bev.json").data;
    for (const k of keys(details.data)) assert(k in refDetails, `details.${k}`);
    const location = bodyAt(c, "location", c.sampleAt);
    assertEquals(keys(location), keys(testdata("location.json")));
    assertEquals(keys(bodyAt(c, "energy-capabilities", 0).getEnergyState), [
      ...keys(testdata("energy.capabilities.ex30.json").getEnergyState),
    ]);
  }
  for (const s of ["xc40-bev-day", "xc90-phev-day"]) {
    const energy = bodyAt(byScenario(s), "energy-state", byScenario(s).sampleAt);
    assertEquals(keys(energy), keys(testdata("energy.state.json")), s);
  }
});

Deno.test("units: mi on the BEV, miles on the PHEV, numeric strings on /fuel, days", () => {
  const bev = byScenario("xc40-bev-day");
  const phev = byScenario("xc90-phev-day");
  const range = (c: Cassette) =>
    (bodyAt(c, "energy-state", c.sampleAt).electricRange as { unit: string }).unit;
  assertEquals(range(bev), "mi");
  assertEquals(range(phev), "miles");
  const fuel = bodyAt(phev, "fuel", phev.sampleAt).data as Record<string, { value: unknown }>;
  assertEquals(typeof fuel.fuelAmount.value, "string");
  const diag = bodyAt(phev, "diagnostics", 0).data as Record<string, { unit?: string }>;
  assertEquals(diag.timeToService.unit, "days");
  assertEquals(
    (bodyAt(bev, "statistics", bev.sampleAt).data as Record<string, { unit: string }>)
      .distanceToEmptyBattery.unit,
    "km",
    "always km, even on a mile account",
  );
});

Deno.test("Energy v2 ERROR entries: BEV unplugged, PHEV all day; none on the petrol car", () => {
  const errors = (c: Cassette, t: number) =>
    Object.entries(bodyAt(c, "energy-state", t))
      .filter(([, v]) => (v as { status: string }).status === "ERROR")
      .map(([k, v]) => `${k}:${(v as { code: string }).code}`);
  const bev = byScenario("xc40-bev-day");
  assertEquals(errors(bev, hm(12, 0)), ["chargingPower:PROPERTY_NOT_FOUND"]);
  assertEquals(errors(bev, hm(19, 0)), []);
  assertEquals(errors(byScenario("xc90-phev-day"), hm(19, 0)), [
    "chargingCurrentLimit:NOT_SUPPORTED",
    "targetBatteryChargeLevel:ERROR_READING_PROPERTY",
    "chargingPower:NOT_SUPPORTED",
  ]);
  const petrol = byScenario("xc60-petrol-day");
  assert(!petrol.exchanges.some((e) => e.request.path.endsWith("/state")));
  assertEquals(
    (bodyAt(petrol, "energy-capabilities", 0).getEnergyState as { isSupported: boolean })
      .isSupported,
    false,
  );
});

Deno.test("BEV day: SoC falls while driving and rises while charging; updatedAt follows", () => {
  const bev = byScenario("xc40-bev-day");
  const soc = (t: number) =>
    (bodyAt(bev, "energy-state", t).batteryChargeLevel as { value: number }).value;
  assert(soc(hm(7, 30)) > soc(hm(8, 30)), "the morning drive uses charge");
  let prev = soc(hm(18, 20));
  for (let t = hm(18, 30); t <= hm(22, 0); t += 900) {
    assert(soc(t) > prev, `charging at ${t / 3600} h`);
    prev = soc(t);
  }
  assertEquals(soc(hm(23, 0)), 90);
  const status = (t: number) =>
    (bodyAt(bev, "energy-state", t).chargingStatus as { value: string }).value;
  assertEquals([status(hm(12, 0)), status(hm(19, 0)), status(hm(23, 0))], [
    "IDLE",
    "CHARGING",
    "DONE",
  ]);
  const at19 = bodyAt(bev, "energy-state", hm(19, 0));
  assertEquals(
    (at19.batteryChargeLevel as { updatedAt: string }).updatedAt,
    "2026-03-10T19:00:00Z",
  );
  const limit = (at19.targetBatteryChargeLevel as { updatedAt: string }).updatedAt;
  assert(Date.parse(limit) < DAY_START * 1000, "charge settings carry an old updatedAt");
  const odometer = (t: number) =>
    (bodyAt(bev, "odometer", t).data as Record<string, { value: number }>).odometer.value;
  // 18 412.6 km + 38.4 + 40.1 km, in whole km as Volvo sends it: 18 413 → 18 491.
  assertEquals([odometer(hm(0, 0)), odometer(hm(23, 0))], [18_413, 18_491]);
  const m = carModel(CARS[0]);
  assert(m.chargeDone[0] > hm(21, 0) && m.chargeDone[0] < hm(23, 0));
});

Deno.test("each cassette's sampleAt shows the car doing something", () => {
  const at = (c: Cassette, name: EndpointName, key: string) =>
    ((bodyAt(c, name, c.sampleAt).data ?? bodyAt(c, name, c.sampleAt)) as Record<
      string,
      { value: string }
    >)[key].value;
  assertEquals(at(byScenario("xc40-bev-day"), "energy-state", "chargingStatus"), "CHARGING");
  assertEquals(at(byScenario("xc90-phev-day"), "energy-state", "chargingStatus"), "CHARGING");
  assertEquals(at(byScenario("xc60-petrol-day"), "engine-status", "engineStatus"), "RUNNING");
});

Deno.test("fixtures/volvo/ carries no VIN but the three fake ones, no reference id", async () => {
  const vins = new Set(CARS.map((c) => c.vin));
  for (const rel of Object.keys(cassettes)) {
    const text = await Deno.readTextFile(new URL(rel, FIXTURES));
    assert(!text.includes("YV1ABCDEFG1234567"), `${rel}: the reference payloads' VIN`);
    for (const m of text.match(/\b[A-HJ-NPR-Z0-9]{17}\b/g) ?? []) {
      if (!/^\d+$/.test(m)) assert(vins.has(m), `${rel}: unknown VIN ${m}`);
    }
  }
});

Deno.test("no secrets or personal data: placeholder tokens, no e-mail, places at sea", () => {
  for (const c of Object.values(cassettes)) {
    const text = JSON.stringify(c);
    assert(!/[\w.+-]+@[\w-]+\.[\w.]+/.test(text), "an e-mail address");
    assert(!/eyJ[\w-]{10,}/.test(text), "a JWT");
    const token = c.exchanges.find((e) => e.request.method === "POST")!.response.json;
    assertEquals((token as { access_token: string }).access_token, "fake-volvo-access-token");
    const coords = (bodyAt(c, "location", c.sampleAt).data as {
      geometry: { coordinates: number[] };
    }).geometry.coordinates;
    // The Kattegat between 57.2 and 57.5 N, west of 11.7 E: open sea.
    assert(coords[1] > 57.2 && coords[1] < 57.5 && coords[0] > 11.3 && coords[0] < 11.7);
  }
});
