import { assert, assertAlmostEquals, assertEquals } from "../../core/testing.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { Snapshot, VehicleRef } from "../../core/snapshot.ts";
import { SECONDS_PER_MONTH } from "../../core/units.ts";
import type { EndpointName } from "./api.ts";
import { mapBodies, newFacts, type VehicleFacts } from "./map.ts";

const dir = new URL("./testdata/", import.meta.url);
const load = (name: string) => JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
/** The body without its `data` envelope, as the API layer hands it to the mapping. */
const data = (name: string) => load(name).data;
const vehicle: VehicleRef = {
  provider: "volvo",
  id: "YV1ABCDEFG1234567",
  vin: "YV1ABCDEFG1234567",
};

/** When the tests' bodies are read: after every timestamp in them. */
const READ_AT = Date.parse("2026-01-01T00:00:00Z") / 1000;

function map(bodies: Partial<Record<EndpointName, unknown>>, facts?: VehicleFacts) {
  const readings = new Readings();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const snapshot = mapBodies(vehicle, bodies, {
    report: { provider: "volvo", readings, log },
    facts,
    now: READ_AT,
  });
  const parseErrors = [...readings.counters.values()]
    .filter((c) => c.metric === "ev.parse.errors")
    .map((c) => c.labels.field);
  const valueErrors = Object.fromEntries(
    [...readings.counters.values()]
      .filter((c) => c.metric === "ev.vendor.value_errors")
      .map((c) => [c.labels.field, c.labels.code]),
  );
  return { s: snapshot, readings, lines, parseErrors, valueErrors };
}

const value = (s: Snapshot, metric: string, labels: Record<string, string> = {}) => {
  const found = s.samples.filter((x) =>
    x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)
  );
  assert(found.length <= 1, `${metric}: ${found.length} samples match`);
  return found[0]?.value;
};
const state = (s: Snapshot, metric: string, labels: Record<string, string> = {}) =>
  s.states.find((x) =>
    x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels?.[k] === v)
  )?.state;

Deno.test("energy v2 while AC charging: percent → ratio, mi → m, minutes → s, watts", () => {
  const { s, parseErrors, valueErrors } = map({ "energy-state": load("energy.state.json") });
  assertEquals(value(s, "ev.battery.level"), 0.53);
  assertAlmostEquals(value(s, "ev.battery.range", { estimate: "estimated" })!, 150 * 1609.344);
  assertEquals(value(s, "ev.charging.time_to_full"), 1440 * 60);
  assertEquals(value(s, "ev.charging.limit"), 0.9);
  assertEquals(value(s, "ev.charging.requested_current", { bound: "request" }), 32);
  assertEquals(value(s, "ev.charging.power"), 1386);
  assertEquals(value(s, "ev.charging.plugged_in"), 1);
  assertEquals(state(s, "ev.charging.state"), "charging");
  assertEquals(state(s, "ev.charging.plug_state"), "connected");
  assertEquals(state(s, "ev.charging.supply_state"), "providing_power");
  assertEquals(state(s, "ev.charging.type"), "ac");
  // The newest updatedAt (the current limit dates from 2024).
  assertEquals(s.sampledAt, Date.parse("2025-07-02T08:51:23Z") / 1000);
  assertEquals(s.partial, { sources: ["energy-state"] });
  assert(s.samples.every((x) => x.source === "energy-state"));
  assertEquals([parseErrors, valueErrors], [[], {}]);
});

Deno.test("energy v2 ERROR entries drop their metric and count their code", () => {
  const phev = map({ "energy-state": load("energy.state.xc90-phev.json") });
  assertEquals(phev.valueErrors, {
    "energy.chargingCurrentLimit": "NOT_SUPPORTED",
    "energy.targetBatteryChargeLevel": "ERROR_READING_PROPERTY",
    "energy.chargingPower": "NOT_SUPPORTED",
  });
  assertEquals(value(phev.s, "ev.charging.power"), undefined);
  assertEquals(value(phev.s, "ev.charging.limit"), undefined);
  assertEquals(value(phev.s, "ev.charging.requested_current"), undefined);
  assertEquals(phev.parseErrors, [], "a vendor ERROR is not a parse error");
  // 87.3 % (a float) and 26 "miles"
  assertAlmostEquals(value(phev.s, "ev.battery.level")!, 0.873);
  assertAlmostEquals(value(phev.s, "ev.battery.range")!, 26 * 1609.344);
  assertEquals(state(phev.s, "ev.charging.state"), "disconnected", "IDLE and unplugged");
  assertEquals(value(phev.s, "ev.charging.plugged_in"), 0);

  const ex30 = map({ "energy-state": load("energy.state.ex30-idle.json") });
  assertEquals(ex30.valueErrors, { "energy.chargingPower": "PROPERTY_NOT_FOUND" });
  assertEquals(value(ex30.s, "ev.battery.range"), 90_000, "km");
  assertEquals(value(ex30.s, "ev.charging.power"), undefined, "never 0 for an ERROR");
  assertEquals(state(ex30.s, "ev.charging.supply_state"), "no_power");

  const classic = map({ "energy-state": load("energy.state.xc60-phev-classic.json") });
  assertEquals(Object.keys(classic.valueErrors).length, 7);
  assertEquals(value(classic.s, "ev.battery.level"), undefined);
  assertEquals(value(classic.s, "ev.charging.limit"), 0.8);
  assertEquals(state(classic.s, "ev.charging.state"), "disconnected");
  assertEquals(state(classic.s, "ev.charging.type"), undefined);
});

Deno.test("state of charge is a ratio; the battery capacity is a separate gauge in J", () => {
  const { s } = map({
    "details": data("connected-vehicle.vehicle.xc40-bev.json"),
    "energy-state": load("energy.state.json"),
  });
  // The original exporter put batteryCapacityKWH (81.608) into its battery level gauge.
  assertEquals(value(s, "ev.battery.level"), 0.53);
  assertAlmostEquals(value(s, "ev.battery.capacity")!, 81.608 * 3.6e6, 1e-3);
  assertEquals(s.info, {
    model: "XC40",
    model_year: "2024",
    fuel_type: "electric",
    gearbox: "automatic",
    exterior_color: "Silver Dawn",
    // upholstery is the literal "null": left out
  });
});

Deno.test("a plug-in hybrid's known pack: the usable capacity beside the gross one Volvo states", () => {
  const details = (fuelType: string, batteryCapacityKWH: number) => ({
    ...data("connected-vehicle.vehicle.xc40-bev.json"),
    fuelType,
    batteryCapacityKWH,
  });
  const phev = map({ "details": details("PETROL/ELECTRIC", 18.8) }).s;
  assertAlmostEquals(value(phev, "ev.battery.capacity")!, 18.8 * 3.6e6, 1e-3);
  assertAlmostEquals(value(phev, "ev.battery.usable_capacity")!, 14.9 * 3.6e6, 1e-3);
  // A pack the table does not know, and a battery-electric car: the stated figure alone.
  assertEquals(
    value(map({ "details": details("PETROL/ELECTRIC", 11.6) }).s, "ev.battery.usable_capacity"),
    undefined,
  );
  assertEquals(
    value(map({ "details": details("ELECTRIC", 18.8) }).s, "ev.battery.usable_capacity"),
    undefined,
  );
});

Deno.test("/fuel: numeric strings are numbers; its SoC only counts without Energy v2", () => {
  const body = data("connected-vehicle.fuel.json");
  const alone = map({ fuel: body });
  assertEquals(value(alone.s, "ev.fuel.amount"), 47.3);
  assertAlmostEquals(value(alone.s, "ev.battery.level")!, 0.873);
  assertEquals(alone.parseErrors, []);
  const facts: VehicleFacts = {
    ...newFacts(),
    capabilities: load("energy.capabilities.ex30.json"),
  };
  const withEnergy = map({ fuel: body }, facts);
  assertEquals(value(withEnergy.s, "ev.battery.level"), undefined);
  assertEquals(value(withEnergy.s, "ev.fuel.amount"), 47.3);
});

Deno.test("statistics: kWh/100km → Wh/km, l/100km, km/h → m/s, km → m, trip kinds", () => {
  const bev = map({ statistics: data("connected-vehicle.statistics.ex30-bev.json") }).s;
  assertAlmostEquals(value(bev, "ev.trip.average_energy_consumption", { trip: "manual" })!, 226);
  assertAlmostEquals(value(bev, "ev.trip.average_speed", { trip: "manual" })!, 53 / 3.6);
  assertAlmostEquals(value(bev, "ev.trip.average_speed", { trip: "automatic" })!, 26 / 3.6);
  assertAlmostEquals(value(bev, "ev.trip.distance", { trip: "manual" })!, 3_822_900, 1e-6);
  assertAlmostEquals(value(bev, "ev.trip.distance", { trip: "automatic" })!, 18_200, 1e-6);
  assertEquals(value(bev, "ev.battery.range", { estimate: "trip_computer" }), 250_000);
  assertEquals(value(bev, "ev.fuel.range"), undefined);

  const phev = map({ statistics: data("connected-vehicle.statistics.xc90-phev.json") }).s;
  assertEquals(value(phev, "ev.trip.average_fuel_consumption", { trip: "manual" }), 2);
  assertEquals(value(phev, "ev.trip.average_fuel_consumption", { trip: "automatic" }), 0);
  assertAlmostEquals(value(phev, "ev.trip.average_energy_consumption", { trip: "manual" })!, 199);
  assertEquals(value(phev, "ev.fuel.range"), 804_000);
  assertEquals(value(phev, "ev.battery.range", { estimate: "trip_computer" }), 43_000);
});

Deno.test("statistics in the 2023 format: strings, spelled-out units, old keys", () => {
  const { s, parseErrors } = map({
    statistics: data("connected-vehicle.statistics.legacy-2023.json"),
  });
  assertEquals(parseErrors, []);
  assertEquals(value(s, "ev.trip.distance", { trip: "manual" }), 0);
  assertEquals(value(s, "ev.trip.distance", { trip: "automatic" }), 0);
  assertEquals(value(s, "ev.trip.average_fuel_consumption", { trip: "manual" }), 0);
  assertEquals(value(s, "ev.fuel.range"), 390_000);
  assertAlmostEquals(value(s, "ev.trip.average_speed", { trip: "manual" })!, 1 / 3.6);
});

Deno.test("diagnostics: months and days to seconds, hours, km, service state set", () => {
  const body = data("connected-vehicle.diagnostics.json");
  const { s } = map({ diagnostics: body });
  assertEquals(value(s, "ev.service.time_remaining"), 23 * SECONDS_PER_MONTH);
  assertEquals(SECONDS_PER_MONTH, 2_629_746, "30.436875 days");
  assertEquals(value(s, "ev.service.engine_time_remaining"), 1266 * 3600);
  assertEquals(value(s, "ev.service.distance_remaining"), 29_000_000);
  assertEquals(state(s, "ev.service.warning"), "ok");
  assertEquals(state(s, "ev.fluid.warning", { fluid: "washer" }), "ok");

  body.timeToService = { value: "45", unit: "days", timestamp: "2024-12-30T14:18:56.849Z" };
  body.serviceWarning.value = "REGULAR_MAINTENANCE_OVERDUE_FOR_SERVICE";
  body.washerFluidLevelWarning.value = "TOO_LOW";
  const days = map({ diagnostics: body }).s;
  assertEquals(value(days, "ev.service.time_remaining"), 45 * 86_400);
  assertEquals(state(days, "ev.service.warning"), "maintenance_overdue");
  assertEquals(state(days, "ev.fluid.warning", { fluid: "washer" }), "too_low");
});

Deno.test("doors and windows: open/ajar 1, closed 0, unspecified absent; lock; lids", () => {
  const doors = data("connected-vehicle.doors.json");
  const closed = map({ doors, windows: data("connected-vehicle.windows.json") }).s;
  assertEquals(value(closed, "ev.locked"), 1);
  for (const door of ["front_left", "front_right", "rear_left", "rear_right", "tank_lid"]) {
    assertEquals(value(closed, "ev.door.open", { door }), 0, door);
  }
  assertEquals(value(closed, "ev.trunk.open", { trunk: "front" }), 0);
  assertEquals(value(closed, "ev.trunk.open", { trunk: "rear" }), 0);
  assertEquals(value(closed, "ev.window.open", { window: "front_left" }), 0);
  assertEquals(value(closed, "ev.window.open", { window: "sunroof" }), undefined);

  doors.centralLock.value = "UNLOCKED";
  doors.tailgate.value = "OPEN";
  doors.rearLeftDoor.value = "AJAR";
  doors.hood.value = "UNSPECIFIED";
  const open = map({ doors }).s;
  assertEquals(value(open, "ev.locked"), 0);
  assertEquals(value(open, "ev.trunk.open", { trunk: "rear" }), 1);
  assertEquals(value(open, "ev.door.open", { door: "rear_left" }), 1);
  assertEquals(value(open, "ev.trunk.open", { trunk: "front" }), undefined);
});

Deno.test("tyres, lamp warnings and fluids are state sets, never strings turned into 0", () => {
  const tyres = data("connected-vehicle.tyres.json");
  const warnings = data("connected-vehicle.warnings.json");
  tyres.rearRight.value = "VERY_LOW_PRESSURE";
  warnings.lowBeamLeftWarning.value = "FAILURE";
  const { s } = map({
    tyres,
    warnings,
    engine: data("connected-vehicle.engine.json"),
    brakes: data("connected-vehicle.brakes.json"),
  });
  assertEquals(state(s, "ev.tire.pressure_state", { wheel: "front_left" }), "unknown");
  assertEquals(state(s, "ev.tire.pressure_state", { wheel: "rear_right" }), "very_low");
  const lamps = s.states.filter((x) => x.metric === "ev.light.warning");
  assertEquals(lamps.length, 23);
  assertEquals(state(s, "ev.light.warning", { light: "low_beam_left" }), "failure");
  assertEquals(state(s, "ev.light.warning", { light: "hazard" }), "unknown");
  assertEquals(lamps.filter((x) => x.state === "ok").length, 20);
  assertEquals(state(s, "ev.fluid.warning", { fluid: "oil" }), "ok");
  assertEquals(state(s, "ev.fluid.warning", { fluid: "coolant" }), "ok");
  assertEquals(state(s, "ev.fluid.warning", { fluid: "brake" }), "ok");
  assertEquals(s.samples.length, 0, "no numeric sample from enum strings");
});

Deno.test("odometer, engine status, location (heading is a string)", () => {
  const { s } = map({
    "odometer": data("connected-vehicle.odometer.json"),
    "engine-status": data("connected-vehicle.engine-status.json"),
    "location": data("location.json"),
  });
  assertEquals(value(s, "ev.odometer"), 30_000_000);
  assertEquals(value(s, "ev.engine.running"), 0);
  assertEquals(value(s, "ev.location.latitude"), 57.72537482589284);
  assertEquals(value(s, "ev.location.longitude"), 11.849843629550225);
  assertEquals(value(s, "ev.location.altitude"), 0);
  assertEquals(value(s, "ev.location.heading"), 90);
  assertEquals(s.sampledAt, Date.parse("2024-12-30T15:00:00.000Z") / 1000);
});

Deno.test("command accessibility gives the connectivity state", () => {
  const available = map({
    "command-accessibility": data("connected-vehicle.command-accessibility.json"),
  });
  assertEquals(available.s.state, "online");
  const inUse = map({
    "command-accessibility": data("connected-vehicle.command-accessibility.unavailable.json"),
  });
  assertEquals(inUse.s.state, "online", "CAR_IN_USE: the car is connected");
  // The spec's form: the reason as a sibling value object.
  const offline = map({
    "command-accessibility": {
      availabilityStatus: { value: "UNAVAILABLE", timestamp: "2024-12-30T14:32:26.169Z" },
      unavailableReason: { value: "NO_INTERNET", timestamp: "2024-12-30T14:32:26.169Z" },
    },
  });
  assertEquals(offline.s.state, "offline");
  assertEquals(map({ odometer: data("connected-vehicle.odometer.json") }).s.state, "unknown");
});

Deno.test("an unknown unit or enum value is counted by field and dropped or unknown", () => {
  const body = load("energy.state.json");
  body.electricRange.unit = "furlongs";
  body.chargingStatus.value = "WARP_CHARGING";
  body.batteryChargeLevel.value = "fifty";
  const { s, parseErrors, lines } = map({ "energy-state": body });
  assertEquals(value(s, "ev.battery.range"), undefined);
  assertEquals(value(s, "ev.battery.level"), undefined);
  assertEquals(state(s, "ev.charging.state"), "unknown");
  assertEquals(parseErrors.sort(), [
    "energy.batteryChargeLevel",
    "energy.chargingStatus",
    "energy.electricRange",
  ]);
  assert(lines.some((l) => l.includes("furlongs")), "the unit is named in the log");
  assert(!lines.some((l) => l.includes("fifty")), "values are never logged");
  assertEquals(value(s, "ev.charging.power"), 1386, "the rest is used");
});

Deno.test("enum values named like Object's members are unknown and counted, never functions", () => {
  const doors = data("connected-vehicle.doors.json");
  const tyres = data("connected-vehicle.tyres.json");
  doors.centralLock.value = "constructor";
  doors.tailgate.value = "toString";
  tyres.frontLeft.value = "valueOf";
  tyres.rearRight.value = "__proto__";
  const energy = load("energy.state.json");
  energy.chargingStatus.value = "hasOwnProperty";
  const { s, parseErrors } = map({ doors, tyres, "energy-state": energy });
  // A lock or lid flag cannot be "unknown": no sample, but counted.
  assertEquals(value(s, "ev.locked"), undefined);
  assertEquals(value(s, "ev.trunk.open", { trunk: "rear" }), undefined);
  assertEquals(state(s, "ev.tire.pressure_state", { wheel: "front_left" }), "unknown");
  assertEquals(state(s, "ev.tire.pressure_state", { wheel: "rear_right" }), "unknown");
  assertEquals(state(s, "ev.charging.state"), "unknown");
  assert(s.states.every((x) => typeof x.state === "string"), "every state is a string");
  assert(s.samples.every((x) => typeof x.value === "number"), "every sample is a number");
  assertEquals(parseErrors.sort(), [
    "doors.centralLock",
    "doors.tailgate",
    "energy.chargingStatus",
    "tyres.frontLeft",
    "tyres.rearRight",
  ]);
});

Deno.test("a finite vendor number that overflows to Infinity in base units is counted", () => {
  const odometer = data("connected-vehicle.odometer.json");
  odometer.odometer.value = 1e306; // km → m: 1e309 = Infinity
  const energy = load("energy.state.json");
  energy.chargingPower = {
    status: "OK",
    value: 1e306,
    unit: "kW",
    updatedAt: "2025-07-02T08:51:23Z",
  };
  const { s, parseErrors } = map({ odometer, "energy-state": energy });
  assertEquals(value(s, "ev.odometer"), undefined);
  assertEquals(value(s, "ev.charging.power"), undefined);
  assertEquals(parseErrors.sort(), ["ev.charging.power", "ev.odometer"]);
});

Deno.test("one updatedAt in 2099 is refused and counted; the read's time comes from the others", () => {
  const readAt = Date.parse("2025-07-02T09:00:00Z") / 1000;
  const readings = new Readings();
  const report = { provider: "volvo", readings, log: createLogger({ write: () => {} }) };
  const energy = load("energy.state.json");
  energy.batteryChargeLevel.updatedAt = "2099-01-01T00:00:00Z";
  const odometer = data("connected-vehicle.odometer.json");
  odometer.odometer.timestamp = "1970-01-21T06:00:00Z"; // seconds read as milliseconds
  const s = mapBodies(vehicle, { "energy-state": energy, odometer }, { report, now: readAt });
  assertEquals(s.sampledAt, Date.parse("2025-07-02T08:51:23Z") / 1000);
  assertEquals(s.readAt, readAt);
  const refused = (field: string) =>
    readings.counterValue("ev.parse.errors", { provider: "volvo", field });
  assertEquals([refused("energy.batteryChargeLevel"), refused("odometer.odometer")], [1, 1]);
  assertEquals(value(s, "ev.battery.level"), 0.53, "the value itself is still used");
  // Polled again and again: freshness follows the good reads, never the 2099.
  for (let i = 1; i <= 7; i++) {
    const body = load("energy.state.json");
    const at = new Date((readAt + 120 * i) * 1000).toISOString();
    for (const entry of Object.values(body) as { updatedAt?: string }[]) entry.updatedAt = at;
    readings.record(
      mapBodies(vehicle, { "energy-state": body }, { report, now: readAt + 120 * i }),
    );
  }
  const stored = [...readings.vehicles.values()][0];
  assertEquals(stored.lastSampleAt, readAt + 840);
});

Deno.test("tyres before November 2023: <wheel>TyrePressure keys with a name and NORMAL are mapped", () => {
  // Written by hand from the field names of that era.
  const at = "2023-06-12T07:14:03.000Z";
  const legacy = Object.fromEntries(
    ["frontLeft", "frontRight", "rearLeft", "rearRight"].map((side) => [
      `${side}TyrePressure`,
      { name: `${side}TyrePressure`, value: "NORMAL", timestamp: at },
    ]),
  );
  const { s, parseErrors } = map({ tyres: legacy });
  for (const wheel of ["front_left", "front_right", "rear_left", "rear_right"]) {
    assertEquals(state(s, "ev.tire.pressure_state", { wheel }), "ok", wheel);
  }
  assertEquals(parseErrors, []);
  assertEquals(s.sampledAt, Date.parse(at) / 1000);
});

Deno.test("tyres: an unknown value or a key that maps to no wheel is counted, never dropped silently", () => {
  const at = "2023-06-12T07:14:03.000Z";
  const { s, parseErrors } = map({
    tyres: {
      frontLeftTyrePressure: { name: "frontLeftTyrePressure", value: "SOFT", timestamp: at },
      spareTyrePressure: { name: "spareTyrePressure", value: "NORMAL", timestamp: at },
    },
  });
  assertEquals(state(s, "ev.tire.pressure_state", { wheel: "front_left" }), "unknown");
  assertEquals(parseErrors.sort(), ["tyres.frontLeftTyrePressure", "tyres.spareTyrePressure"]);
});
