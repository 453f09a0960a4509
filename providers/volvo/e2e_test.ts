/**
 * End to end: the fake server (replay/fake_server.ts) serves each Volvo cassette, the provider
 * polls it through core/http.ts, the readings store merges, /metrics shows the result.
 */
import { assert, assertAlmostEquals, assertEquals } from "../../core/testing.ts";
import { VirtualClock } from "../../core/clock.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { Snapshot } from "../../core/snapshot.ts";
import { PrometheusExport } from "../../export/prometheus.ts";
import { promtool } from "../../export/test_helpers.ts";
import { type Cassette, loadCassette } from "../../replay/cassette.ts";
import { startFakeServer } from "../../replay/fake_server.ts";
import { volvoPlugin } from "./mod.ts";
import { volvoSim } from "./sim/mod.ts";
import "./mod.ts";

const fixture = (scenario: string) =>
  loadCassette(new URL(`../../fixtures/volvo/${scenario}/cassette.json`, import.meta.url).pathname);

async function replay(
  cassette: Cassette,
  run: (t: {
    poll: (endpoints?: string[]) => Promise<Snapshot>;
    clock: VirtualClock;
    readings: Readings;
  }) => Promise<void>,
  location = false,
) {
  const clock = new VirtualClock((cassette.startedAt + cassette.sampleAt) * 1000, 0);
  const fake = startFakeServer({ cassette, clock });
  const readings = new Readings();
  try {
    const provider = volvoPlugin.create({
      http: new Http({ provider: "volvo", readings, now: () => clock.now() }).withAuth({
        token: () => Promise.resolve("replay-access-token"),
      }),
      readings,
      clock,
      log: createLogger({ write: () => {} }),
      baseUrl: fake.url,
      location,
      account: { provider: "volvo", name: "replay", vehicles: [], ...volvoSim.replayAccount },
    });
    const [vehicle, ...others] = await provider.listVehicles();
    assertEquals(others.length, 0);
    const poll = async (endpoints?: string[]) =>
      readings.record((await provider.fetch(vehicle, endpoints ? { endpoints } : undefined))!);
    await run({ poll, clock, readings });
    assertEquals(fake.unmatched, [], "zero unmatched requests");
  } finally {
    await fake.shutdown();
  }
}

const value = (s: Snapshot, metric: string, labels: Record<string, string> = {}) =>
  s.samples.find((x) =>
    x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)
  )?.value;
const state = (s: Snapshot, metric: string, labels: Record<string, string> = {}) =>
  s.states.find((x) =>
    x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)
  )?.state;

Deno.test("XC40 BEV at its sample moment: charging, mi converted, /metrics", async () => {
  const cassette = await fixture("xc40-bev-day");
  await replay(cassette, async ({ poll, readings }) => {
    const s = await poll();
    assertEquals(s.state, "online");
    assertEquals(state(s, "ev.charging.state"), "charging");
    assertEquals(state(s, "ev.charging.plug_state"), "connected");
    assertEquals(value(s, "ev.charging.plugged_in"), 1);
    assertEquals(value(s, "ev.battery.level"), 0.56);
    assertAlmostEquals(value(s, "ev.battery.range", { estimate: "estimated" })!, 132 * 1609.344);
    assertEquals(value(s, "ev.battery.range", { estimate: "trip_computer" }), 210_000);
    assertEquals(value(s, "ev.battery.capacity"), 78 * 3.6e6);
    assertEquals(value(s, "ev.charging.power"), 10_800);
    assertEquals(value(s, "ev.locked"), 1);
    assertEquals(value(s, "ev.odometer"), 18_491_000);
    assertEquals(state(s, "ev.light.warning", { light: "registration_plate" }), "failure");
    assertEquals(value(s, "ev.location.latitude"), undefined, "location is off");
    assertEquals(s.sampledAt, cassette.startedAt + cassette.sampleAt);
    const text = await new PrometheusExport(readings).exposition();
    const vin = s.vehicle.vin;
    for (
      const line of [
        `ev_battery_level_ratio{provider="volvo",vin="${vin}"} 0.56`,
        `ev_charging_state{provider="volvo",vin="${vin}",state="charging"} 1`,
        `ev_light_warning{provider="volvo",vin="${vin}",light="registration_plate",state="failure"} 1`,
        `ev_tire_pressure_state{provider="volvo",vin="${vin}",wheel="front_left",state="ok"} 1`,
        `ev_vehicle_state{provider="volvo",vin="${vin}",state="online"} 1`,
        `ev_service_time_remaining_seconds{provider="volvo",vin="${vin}"} 28927206`,
      ]
    ) assert(text.includes(line), line);
    assert(/ev_vehicle_info\{[^}]*model="XC40",[^}]*fuel_type="electric"/.test(text));
    assert(!/ev_fuel_amount_l\{/.test(text), "a BEV has no fuel");
  });
});

Deno.test("XC40 BEV over the day: SoC rises while charging, energy polled alone", async () => {
  const cassette = await fixture("xc40-bev-day");
  await replay(cassette, async ({ poll, clock, readings }) => {
    clock.advance(-cassette.sampleAt * 1000); // back to midnight
    const first = await poll();
    assertEquals(first.state, "asleep", "power-saving mode overnight");
    assertEquals(value(first, "ev.charging.power"), undefined, "an ERROR entry while unplugged");
    const socs: number[] = [];
    const states: string[] = [];
    for (let t = 900; t < 86_400; t += 900) {
      clock.advance(900_000);
      // Energy every 15 minutes, everything else hourly: the store merges the two.
      const s = await poll(t % 3600 === 0 ? undefined : ["energy-state"]);
      const hour = t / 3600;
      if (hour > 18.5 && hour < 22) socs.push(value(s, "ev.battery.level")!);
      states.push(state(s, "ev.charging.state")!);
      assert(value(s, "ev.odometer")! > 0, "values of endpoints not read this time are kept");
    }
    for (let i = 1; i < socs.length; i++) assert(socs[i] > socs[i - 1], `${socs}`);
    assert(states.includes("charging") && states.includes("complete"));
    assertEquals(states[0], "disconnected");
    const requests = [...readings.counters.values()]
      .filter((c) => c.metric === "ev.api.requests")
      .reduce((sum, c) => sum + c.value, 0);
    // The vehicle list; a first full read of 14 endpoints (16 less /fuel on a BEV and the
    // location); 23 hourly full reads of 12 (the facts are read once); 72 energy-only reads.
    assertEquals(requests, 1 + 14 + 23 * 12 + 72);
  });
});

Deno.test("XC90 PHEV: miles, numeric strings, ERROR codes counted, fuel and days", async () => {
  const cassette = await fixture("xc90-phev-day");
  await replay(cassette, async ({ poll, readings }) => {
    const s = await poll();
    assertEquals(state(s, "ev.charging.state"), "charging");
    assertEquals(value(s, "ev.charging.power"), undefined);
    assertEquals(value(s, "ev.charging.limit"), undefined);
    assertEquals(value(s, "ev.fuel.amount"), 50.3);
    assertEquals(value(s, "ev.fuel.range"), 671_000);
    const range = value(s, "ev.battery.range", { estimate: "estimated" })!;
    assertEquals(range % 1609.344 < 1e-6 || 1609.344 - (range % 1609.344) < 1e-6, true);
    assertEquals(value(s, "ev.service.time_remaining"), 26 * 86_400);
    assertEquals(state(s, "ev.service.warning"), "maintenance_almost_due");
    assertEquals(state(s, "ev.tire.pressure_state", { wheel: "front_left" }), "low");
    assertEquals(value(s, "ev.trip.average_fuel_consumption", { trip: "manual" }), 2.1);
    assertEquals(s.info.fuel_type, "petrol_electric");
    const code = (field: string) =>
      [...readings.counters.values()].find((c) =>
        c.metric === "ev.vendor.value_errors" && c.labels.field === field
      )?.labels.code;
    assertEquals(code("energy.chargingPower"), "NOT_SUPPORTED");
    assertEquals(code("energy.targetBatteryChargeLevel"), "ERROR_READING_PROPERTY");
    assertEquals(
      [...readings.counters.values()].filter((c) => c.metric === "ev.parse.errors").length,
      0,
      "a faithful fixture parses without errors",
    );
  });
});

Deno.test("XC60 petrol: no Energy v2 state asked, fuel and washer warning", async () => {
  const cassette = await fixture("xc60-petrol-day");
  await replay(cassette, async ({ poll }) => {
    const s = await poll();
    assertEquals(value(s, "ev.engine.running"), 1);
    assertEquals(value(s, "ev.battery.level"), undefined);
    assertEquals(value(s, "ev.fuel.amount"), 46.5);
    assertEquals(value(s, "ev.fuel.range"), 612_000);
    assertEquals(state(s, "ev.fluid.warning", { fluid: "washer" }), "too_low");
    assertEquals(state(s, "ev.charging.state"), undefined);
  });
});

Deno.test("with location enabled the position is read (fictional, at sea)", async () => {
  const cassette = await fixture("xc60-petrol-day");
  await replay(cassette, async ({ poll }) => {
    const s = await poll();
    assertEquals(value(s, "ev.location.latitude"), 57.34);
    assertEquals(value(s, "ev.location.longitude"), 11.55);
    assertEquals(typeof value(s, "ev.location.heading"), "number");
  }, true);
});

Deno.test("the three Volvo days together: an exposition promtool accepts", async () => {
  const readings = new Readings();
  for (const scenario of ["xc40-bev-day", "xc90-phev-day", "xc60-petrol-day"]) {
    await replay(await fixture(scenario), async ({ poll }) => {
      const s = await poll();
      readings.record({ ...s, partial: undefined });
    }, true);
  }
  for (const entry of readings.vehicles.values()) assert(entry.snapshot, entry.vehicle.vin);
  const text = await new PrometheusExport(readings, { location: true }).exposition();
  const { code, output } = await promtool(text);
  assertEquals(output, "", `promtool said:\n${output}`);
  assertEquals(code, 0);
  assertEquals(readings.vehicles.size, 3);
});
