/** Fleet Telemetry topics and payloads → snapshot values in base units. */
import { sampleValue, stateValue, type VehicleRef } from "../../core/snapshot.ts";
import { assert, assertAlmostEquals, assertEquals } from "../../core/testing.ts";
import {
  decodeConnectivity,
  decodeField,
  type FieldValue,
  parseTopic,
  streamSnapshot,
} from "./stream_map.ts";

const VIN = "5YJ3E1EA9PF000001";
const CAR: VehicleRef = { provider: "tesla", id: VIN, vin: VIN };

function snapshot(payloads: Record<string, string>, location = true) {
  const fields = new Map<string, FieldValue>();
  for (const [field, payload] of Object.entries(payloads)) {
    const d = decodeField(field, payload);
    assert(d.ok === true, `${field}: ${JSON.stringify(d)}`);
    fields.set(field, d.value);
  }
  return streamSnapshot(CAR, fields, { location, sampledAt: 1_773_130_000 });
}

Deno.test("stream topics: vehicle data, connectivity, alerts and errors under a multi-level base", () => {
  const base = "home/telemetry";
  assertEquals(parseTopic(`${base}/${VIN}/v/Soc`, base), { kind: "data", vin: VIN, field: "Soc" });
  assertEquals(parseTopic(`${base}/${VIN}/connectivity`, base), { kind: "connectivity", vin: VIN });
  assertEquals(parseTopic(`${base}/${VIN}/alerts/Foo/current`, base), {
    kind: "alert",
    vin: VIN,
    name: "Foo",
    current: true,
  });
  assertEquals(parseTopic(`${base}/${VIN}/errors/cloud`, base), {
    kind: "error",
    vin: VIN,
    name: "cloud",
  });
  for (const bad of [`other/${VIN}/v/Soc`, `${base}/${VIN}/v`, `${base}/${VIN}/v/Soc/x`, base]) {
    assertEquals(parseTopic(bad, base), undefined, bad);
  }
});

Deno.test("stream values in base units: miles, mph, bar, hours, kWh, kW, percent", () => {
  const s = snapshot({
    Soc: "79.5",
    BatteryLevel: "80",
    RatedRange: "277.3",
    EstBatteryRange: "257.9",
    Odometer: "15234.5",
    VehicleSpeed: "65",
    TpmsPressureFl: "2.9",
    TimeToFullCharge: "1.5",
    EnergyRemaining: "62.4",
    DCChargingEnergyIn: "31.2",
    ACChargingPower: "11",
    ChargeLimitSoc: "80",
    InsideTemp: "21.5",
    Location: '{"latitude":52.1,"longitude":3.9}',
    GpsHeading: "314",
  });
  const v = (m: string) => sampleValue(s, m)!;
  assertAlmostEquals(v("ev.battery.usable_level"), 0.795, 1e-9);
  assertAlmostEquals(v("ev.battery.level"), 0.8, 1e-9);
  assertAlmostEquals(v("ev.odometer"), 15234.5 * 1609.344, 1e-6);
  assertAlmostEquals(v("ev.drive.speed"), 65 * 1609.344 / 3600, 1e-9);
  assertAlmostEquals(v("ev.tire.pressure"), 290_000, 1e-6);
  assertAlmostEquals(v("ev.charging.time_to_full"), 5400, 1e-9);
  assertAlmostEquals(v("ev.battery.energy_remaining"), 62.4 * 3.6e6, 1e-3);
  assertAlmostEquals(v("ev.charging.energy_added"), 31.2 * 3.6e6, 1e-3);
  assertEquals(v("ev.charging.power"), 11_000);
  assertAlmostEquals(v("ev.charging.limit"), 0.8, 1e-9);
  assertEquals(v("ev.climate.inside.temperature"), 21.5);
  assertEquals(v("ev.location.latitude"), 52.1);
  assertEquals(v("ev.location.heading"), 314);
  const rated = s.samples.find((x) =>
    x.metric === "ev.battery.range" && x.labels?.estimate === "rated"
  );
  assertAlmostEquals(rated!.value, 277.3 * 1609.344, 1e-6);
  assertEquals(s.state, "online");
  assertEquals(s.sampledAt, 1_773_130_000);
  // Without `location: true` no position leaves the stream.
  const hidden = snapshot(
    { Location: '{"latitude":52.1,"longitude":3.9}', GpsHeading: "1" },
    false,
  );
  assertEquals(hidden.samples.length, 0);
});

Deno.test("stream values in either encoding: typed, numbers as strings, enums without prefix", () => {
  const typed = snapshot({
    Gear: '"ShiftStateD"',
    DetailedChargeState: '"DetailedChargeStateCharging"',
    SentryMode: '"SentryModeStateArmed"',
    CarType: '"CarTypeModel3"',
    Soc: "75.5",
    Locked: "true",
  });
  const old = snapshot({
    Gear: '"D"',
    DetailedChargeState: '"Charging"',
    SentryMode: '"Armed"',
    CarType: '"Model3"',
    Soc: '"75.5"',
    Locked: '"true"',
  });
  for (const s of [typed, old]) {
    assertEquals(stateValue(s, "ev.drive.shift_state"), "drive");
    assertEquals(stateValue(s, "ev.charging.state"), "charging");
    assertEquals(sampleValue(s, "ev.charging.plugged_in"), 1);
    assertEquals(sampleValue(s, "ev.sentry_mode"), 1);
    assertEquals(sampleValue(s, "ev.battery.usable_level"), 0.755);
    assertEquals(sampleValue(s, "ev.locked"), 1);
    assertEquals(s.info.model, "model3");
  }
  // Scientific notation as the server rewrites it ("%.5f") and as JSON numbers.
  assertEquals(decodeField("VehicleSpeed", '"0.00100"'), { ok: true, value: 0.001 });
  assertEquals(decodeField("VehicleSpeed", "1e-3"), { ok: true, value: 0.001 });
});

Deno.test("stream null means invalid: the series goes absent, it is not a zero", () => {
  const s = snapshot({ TimeToFullCharge: "null", Gear: "null", Soc: "50" });
  assertEquals(sampleValue(s, "ev.charging.time_to_full"), undefined);
  assertEquals(stateValue(s, "ev.drive.shift_state"), undefined);
  assertEquals(sampleValue(s, "ev.battery.usable_level"), 0.5);
});

Deno.test("stream objects: doors, trunks, TPMS warnings, the untyped location string", () => {
  const s = snapshot({
    DoorState:
      '{"DriverFront":false,"DriverRear":false,"PassengerFront":true,"PassengerRear":false,"TrunkFront":false,"TrunkRear":true}',
    TpmsSoftWarnings: '{"front_left":true}',
    TpmsHardWarnings: "{}",
    Location: '"(37.412374 N, 122.145867 W)"',
  });
  const series = (metric: string, key: string, value: string) =>
    s.samples.find((x) => x.metric === metric && x.labels?.[key] === value)?.value;
  assertEquals(series("ev.door.open", "door", "front_right"), 1);
  assertEquals(series("ev.door.open", "door", "front_left"), 0);
  assertEquals(series("ev.trunk.open", "trunk", "rear"), 1);
  const warn = (wheel: string, severity: string) =>
    s.samples.find((x) =>
      x.metric === "ev.tire.warning" && x.labels?.wheel === wheel && x.labels?.severity === severity
    )?.value;
  assertEquals(warn("front_left", "soft"), 1);
  assertEquals(warn("rear_right", "soft"), 0);
  assertEquals(warn("front_left", "hard"), 0);
  assertEquals(sampleValue(s, "ev.location.latitude"), 37.412374);
  assertEquals(sampleValue(s, "ev.location.longitude"), -122.145867);
});

Deno.test("stream payloads that do not fit are refused with the reason; unmapped fields ignored", () => {
  assertEquals(decodeField("Soc", "{"), { ok: false, problem: "not JSON" });
  assertEquals(decodeField("Soc", '"abc"'), { ok: false, problem: "unexpected value type" });
  assertEquals(decodeField("Soc", "[1]"), { ok: false, problem: "unexpected value type" });
  assertEquals(decodeField("Locked", "1"), { ok: false, problem: "unexpected value type" });
  assertEquals(decodeField("DoorState", '{"DriverFront":1}'), {
    ok: false,
    problem: "unexpected value type",
  });
  assertEquals(decodeField("CruiseSetSpeed", "42"), { ok: "ignored" });
  assertEquals(decodeField("constructor", "42"), { ok: "ignored" });
});

Deno.test("stream connectivity: status, connection id and server time", () => {
  assertEquals(
    decodeConnectivity(
      '{"ConnectionId":"7d0f5c1e-9c1a-4a55-8f57-2b7e0c6a1d42","CreatedAt":"2026-01-10T12:00:00Z","Status":"CONNECTED"}',
    ),
    {
      connectionId: "7d0f5c1e-9c1a-4a55-8f57-2b7e0c6a1d42",
      connected: true,
      createdAt: Date.parse("2026-01-10T12:00:00Z") / 1000,
    },
  );
  assertEquals(decodeConnectivity('{"ConnectionId":"x","Status":"ASLEEP"}'), undefined);
  assertEquals(decodeConnectivity("nope"), undefined);
});
