import { assertEquals } from "./testing.ts";
import { Readings } from "./readings.ts";
import { mergeSnapshot, type Snapshot, vinTails } from "./snapshot.ts";

const vehicle = { provider: "volvo", id: "V", vin: "V" };
const base: Snapshot = {
  vehicle,
  sampledAt: 100,
  state: "online",
  samples: [
    { metric: "ev.battery.level", value: 0.5, source: "energy-state" },
    { metric: "ev.charging.power", value: 7000, source: "energy-state" },
    { metric: "ev.odometer", value: 1000, source: "odometer" },
  ],
  states: [
    { metric: "ev.charging.state", state: "charging", source: "energy-state" },
    {
      metric: "ev.tire.pressure_state",
      state: "ok",
      labels: { wheel: "front_left" },
      source: "tyres",
    },
  ],
  info: { model: "XC40" },
  partial: { sources: ["energy-state", "odometer", "tyres"] },
};

Deno.test("a partial snapshot replaces only the values of the sources it read", () => {
  const next: Snapshot = {
    vehicle,
    sampledAt: 90, // an older vendor time must not move the sample time back
    state: "unknown",
    samples: [{ metric: "ev.battery.level", value: 0.6, source: "energy-state" }],
    states: [{ metric: "ev.charging.state", state: "complete", source: "energy-state" }],
    info: { model_year: "2024" },
    partial: { sources: ["energy-state"] },
  };
  const merged = mergeSnapshot(base, next);
  assertEquals(merged.samples, [
    { metric: "ev.odometer", value: 1000, source: "odometer" },
    { metric: "ev.battery.level", value: 0.6, source: "energy-state" },
  ], "charging power no longer sent by energy-state: dropped, not kept stale");
  assertEquals(merged.states.map((s) => s.state), ["ok", "complete"]);
  assertEquals(merged.sampledAt, 100);
  assertEquals(merged.state, "online", "unknown in a partial snapshot keeps the state");
  assertEquals(merged.info, { model: "XC40", model_year: "2024" });
  assertEquals(merged.partial, { sources: ["energy-state", "odometer", "tyres"] });
});

Deno.test("a full snapshot (no partial) replaces everything, as for Tesla", () => {
  const full: Snapshot = { ...base, partial: undefined, samples: [], states: [], sampledAt: 200 };
  assertEquals(mergeSnapshot(base, full), full);
  assertEquals(mergeSnapshot(undefined, base), base);
});

Deno.test("readings merge partial snapshots and report what they store", () => {
  const readings = new Readings();
  readings.record(base);
  const stored = readings.record({
    vehicle,
    sampledAt: 150,
    state: "asleep",
    samples: [{ metric: "ev.odometer", value: 1200, source: "odometer" }],
    states: [],
    info: {},
    partial: { sources: ["odometer"] },
  });
  const entry = readings.vehicles.get("volvo/V")!;
  assertEquals(entry.snapshot, stored);
  assertEquals(entry.state, "asleep");
  assertEquals(entry.lastSampleAt, 150);
  assertEquals(stored.samples.find((s) => s.metric === "ev.odometer")?.value, 1200);
  assertEquals(stored.samples.find((s) => s.metric === "ev.battery.level")?.value, 0.5);
});

Deno.test("vinTails: every VIN in a vendor's text shortened to its tail, nothing else touched", () => {
  assertEquals(
    vinTails('car 5YJ3E1EA7KF000316 refused; "WBY31AW0000000999" too'),
    'car …000316 refused; "…000999" too',
  );
  assertEquals(vinTails("field VehicleSpeed: no value"), "field VehicleSpeed: no value");
});
