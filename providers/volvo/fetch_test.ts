/**
 * The provider's request planning and error handling, against the real fake server (replay/)
 * serving small hand-made cassettes of the reference payloads.
 */
import { assert, assertEquals, assertRejects } from "../../core/testing.ts";
import { VirtualClock } from "../../core/clock.ts";
import { ConfigError } from "../../core/config.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { Snapshot } from "../../core/snapshot.ts";
import { Cassette, type CassetteExchange } from "../../replay/cassette.ts";
import { startFakeServer } from "../../replay/fake_server.ts";
import { type EndpointName, ENDPOINTS, VolvoError } from "./api.ts";
import { createVolvoProvider } from "./provider.ts";

const VIN = "YV1ABCDEFG1234567";
const dir = new URL("./testdata/", import.meta.url);
const load = (name: string) => JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
const path = (name: EndpointName) => ENDPOINTS[name].template.replace("{vin}", VIN);

const ex = (at: number, p: string, status: number, json: unknown): CassetteExchange => ({
  at,
  request: { method: "GET", path: p, query: {} },
  response: { status, headers: {}, json },
});

/** Every endpoint of an XC40 BEV from the reference payloads. */
function bev(): CassetteExchange[] {
  const cv = (name: EndpointName, file: string) => ex(0, path(name), 200, load(file));
  return [
    ex(0, "/connected-vehicle/v2/vehicles", 200, { data: [{ vin: VIN }, { vin: "OTHERVIN" }] }),
    cv("details", "connected-vehicle.vehicle.xc40-bev.json"),
    cv("doors", "connected-vehicle.doors.json"),
    cv("windows", "connected-vehicle.windows.json"),
    cv("engine-status", "connected-vehicle.engine-status.json"),
    cv("command-accessibility", "connected-vehicle.command-accessibility.json"),
    cv("odometer", "connected-vehicle.odometer.json"),
    cv("fuel", "connected-vehicle.fuel.json"),
    cv("statistics", "connected-vehicle.statistics.ex30-bev.json"),
    cv("tyres", "connected-vehicle.tyres.json"),
    cv("warnings", "connected-vehicle.warnings.json"),
    cv("diagnostics", "connected-vehicle.diagnostics.json"),
    cv("engine", "connected-vehicle.engine.json"),
    cv("brakes", "connected-vehicle.brakes.json"),
    cv("energy-state", "energy.state.json"),
    cv("energy-capabilities", "energy.capabilities.ex30.json"),
    cv("location", "location.json"),
  ];
}

async function withProvider(
  exchanges: CassetteExchange[],
  run: (t: {
    provider: ReturnType<typeof createVolvoProvider>;
    readings: Readings;
    served: Map<string, number>;
    headers: Headers[];
    logs: string[];
    clock: VirtualClock;
  }) => Promise<void>,
  opts: { location?: boolean; vehicles?: string[] } = {},
) {
  const cassette = Cassette.parse({
    version: 1,
    vendor: "volvo",
    scenario: "test",
    tool: "test",
    startedAt: 0,
    duration: 3600,
    exchanges,
  });
  const clock = new VirtualClock(0, 0);
  const headers: Headers[] = [];
  const fake = startFakeServer({
    cassette,
    clock,
    hook: {
      transformJson(request, _exchange, json) {
        headers.push(request.headers);
        return json;
      },
    },
  });
  const readings = new Readings();
  const logs: string[] = [];
  try {
    const provider = createVolvoProvider({
      http: new Http({ provider: "volvo", readings, now: () => clock.now() }).withAuth({
        token: () => Promise.resolve("test-access-token"),
      }),
      readings,
      clock,
      log: createLogger({ level: "debug", write: (l) => logs.push(l) }),
      baseUrl: fake.url,
      location: opts.location ?? false,
      account: {
        provider: "volvo",
        name: "test",
        vehicles: opts.vehicles ?? [],
        vcc_api_key: "test-vcc-key-0123456789",
      },
    });
    await run({ provider, readings, served: fake.served, headers, logs, clock });
    assertEquals(fake.unmatched, [], "every request had an answer");
  } finally {
    await fake.shutdown();
  }
}

const value = (s: Snapshot, metric: string) => s.samples.find((x) => x.metric === metric)?.value;
const count = (served: Map<string, number>, name: EndpointName) =>
  served.get(`GET ${path(name)}`) ?? 0;

Deno.test("full read: headers, facts once, no /fuel on a BEV, no location unless enabled", async () => {
  await withProvider(bev(), async ({ provider, readings, served, headers, logs }) => {
    const [v] = await provider.listVehicles();
    assertEquals(v, { provider: "volvo", id: VIN, vin: VIN });
    const first = readings.record((await provider.fetch(v))!);
    assertEquals(value(first, "ev.battery.level"), 0.53);
    assertEquals(first.state, "online");
    assertEquals(first.info.model, "XC40");
    for (const h of headers) {
      assertEquals(h.get("vcc-api-key"), "test-vcc-key-0123456789");
      assertEquals(h.get("authorization"), "Bearer test-access-token");
    }
    assertEquals(count(served, "fuel"), 0, "Energy v2 gives a BEV's state of charge");
    assertEquals(count(served, "location"), 0, "location is off");
    await provider.fetch(v);
    assertEquals(count(served, "details"), 1, "facts are read once");
    assertEquals(count(served, "energy-capabilities"), 1);
    assertEquals(count(served, "doors"), 2);
    assertEquals(
      readings.counterValue("ev.api.requests", {
        provider: "volvo",
        endpoint: "/connected-vehicle/v2/vehicles/{vin}/doors",
        status: "200",
      }),
      2,
    );
    assert(!logs.some((l) => l.includes("test-vcc-key-0123456789")), "the key is a secret");
  });
});

Deno.test("the account's vehicles list limits what is polled", async () => {
  await withProvider(bev(), async ({ provider }) => {
    assertEquals((await provider.listVehicles()).map((v) => v.vin), [VIN]);
  }, { vehicles: [VIN] });
  await withProvider(bev(), async ({ provider }) => {
    assertEquals((await provider.listVehicles()).length, 2);
  });
});

Deno.test("location is read only when enabled", async () => {
  await withProvider(bev(), async ({ provider, served }) => {
    const [v] = await provider.listVehicles();
    const s = (await provider.fetch(v))!;
    assertEquals(count(served, "location"), 1);
    assertEquals(value(s, "ev.location.latitude"), 57.72537482589284);
  }, { location: true });
});

Deno.test("a chosen subset of endpoints gives a partial snapshot the store merges", async () => {
  const exchanges = [
    ...bev(),
    ex(600, path("energy-state"), 200, load("energy.state.ex30-idle.json")),
  ];
  await withProvider(exchanges, async ({ provider, readings, served, clock }) => {
    const [v] = await provider.listVehicles();
    readings.record((await provider.fetch(v))!);
    clock.advance(600_000);
    const partial = (await provider.fetch(v, { endpoints: ["energy-state"] }))!;
    assertEquals(partial.partial, { sources: ["energy-state"] });
    assertEquals(count(served, "doors"), 1, "only the named endpoint was asked");
    const stored = readings.record(partial);
    assertEquals(value(stored, "ev.battery.level"), 0.38, "new energy values");
    assertEquals(value(stored, "ev.odometer"), 30_000_000, "odometer kept from the full read");
    assertEquals(value(stored, "ev.charging.power"), undefined, "an ERROR entry now: dropped");
    assertEquals(stored.state, "online", "state kept: command accessibility not read");
    await assertRejects(() => provider.fetch(v, { endpoints: ["recharge-status"] }));
  });
});

Deno.test("combustion car: no Energy v2 state, /fuel read", async () => {
  const petrol = load("connected-vehicle.vehicle.xc40-bev.json");
  petrol.data.fuelType = "PETROL";
  delete petrol.data.batteryCapacityKWH;
  const ice = {
    getEnergyState: { isSupported: false, batteryChargeLevel: { isSupported: false } },
  };
  const exchanges = bev().filter((e) =>
    e.request.path !== path("details") && e.request.path !== path("energy-capabilities") &&
    e.request.path !== path("energy-state")
  );
  exchanges.push(ex(0, path("details"), 200, petrol), ex(0, path("energy-capabilities"), 200, ice));
  await withProvider(exchanges, async ({ provider, served }) => {
    const [v] = await provider.listVehicles();
    const s = (await provider.fetch(v))!;
    assertEquals(count(served, "energy-state"), 0);
    assertEquals(value(s, "ev.fuel.amount"), 47.3);
    assertEquals(value(s, "ev.battery.capacity"), undefined);
    assertEquals(s.info.fuel_type, "petrol");
  });
});

Deno.test("endpoint errors: 404 is not asked again, a 5xx keeps the last values", async () => {
  const exchanges = [
    ...bev().filter((e) => e.request.path !== path("tyres")),
    ex(0, path("tyres"), 404, load("error.404-energy-v1-unsupported.json")),
    ex(300, path("warnings"), 500, { error: { message: "INTERNAL", description: "boom" } }),
  ];
  await withProvider(exchanges, async ({ provider, readings, served, clock, logs }) => {
    const [v] = await provider.listVehicles();
    readings.record((await provider.fetch(v))!);
    clock.advance(300_000);
    const second = (await provider.fetch(v))!;
    assert(!second.partial!.sources.includes("warnings"));
    const stored = readings.record(second);
    assertEquals(count(served, "tyres"), 1, "unsupported: asked once");
    assertEquals(stored.states.filter((s) => s.metric === "ev.light.warning").length, 23);
    assert(logs.some((l) => l.includes("not asked again")));
    assert(logs.some((l) => l.includes("last values are kept")));
  });
});

Deno.test("quota 403 stops the read at once and spends no more requests", async () => {
  const exchanges = [
    ...bev().filter((e) => e.request.path !== path("doors")),
    ex(0, path("doors"), 403, load("error.403-quota.json")),
  ];
  await withProvider(exchanges, async ({ provider, served }) => {
    const [v] = await provider.listVehicles();
    const err = await assertRejects(() => provider.fetch(v));
    assert(err instanceof VolvoError && err.kind === "quota" && err.retryAfterS === 2800);
    // vehicles, details, capabilities, then doors: nothing after the quota answer.
    assertEquals([...served.values()].reduce((a, b) => a + b, 0), 4);
  });
});

Deno.test("a shut-down API answer is logged once by name and not retried in a loop", async () => {
  const exchanges = [
    ...bev().filter((e) => e.request.path !== path("doors")),
    ex(0, path("doors"), 410, load("error.gone-connected-vehicle-v1.json")),
  ];
  await withProvider(exchanges, async ({ provider, logs }) => {
    const [v] = await provider.listVehicles();
    for (let i = 0; i < 2; i++) {
      const err = await assertRejects(() => provider.fetch(v));
      assert(err instanceof VolvoError && err.reason === "gone" && err.retryAfterS! >= 86_400);
    }
    const lines = logs.filter((l) => l.includes("level=error") && l.includes("shut down"));
    assertEquals(lines.length, 1);
    assert(lines[0].includes("Connected Vehicle API v2"), lines[0]);
  });
});

Deno.test("a missing vcc_api_key fails at start with the key named", () => {
  const readings = new Readings();
  try {
    createVolvoProvider({
      http: new Http({ provider: "volvo", readings }).withAuth({
        token: () => Promise.resolve("t"),
      }),
      readings,
      clock: new VirtualClock(0, 0),
      log: createLogger({ write: () => {} }),
      baseUrl: "http://127.0.0.1:9",
      location: false,
      account: { provider: "volvo", name: "car", vehicles: [] },
    });
    assert(false, "expected a ConfigError");
  } catch (err) {
    assert(err instanceof ConfigError);
    assert(err.message.includes("vcc_api_key") && err.message.includes("accounts[car]"));
  }
});
