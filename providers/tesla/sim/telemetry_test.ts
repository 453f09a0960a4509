/** The fleet-telemetry emulator publishes what the real server would, quirk by quirk. */
import { assert, assertEquals } from "../../../core/testing.ts";
import { teslaDay } from "./scenario.ts";
import { BACKLOG_LIMIT, goJson, goTime, TelemetryEmulator } from "./telemetry.ts";

const day = teslaDay();
const at = (h: number, m: number) => h * 3600 + m * 60;
const field = (topic: string) => topic.split("/").pop()!;

Deno.test("emulator encoding: Go's encoding/json — sorted keys, <>& escaped, float32 short, e-07", () => {
  assertEquals(
    goJson({ b: 1, a: "x<y>&z", C: true }),
    '{"C":true,"a":"x\\u003cy\\u003e\\u0026z","b":1}',
  );
  assertEquals(goJson(20.027), "20.027");
  assertEquals(goJson(0.1 + 0.2), "0.3", "float32 prints the shortest float32");
  assertEquals(goJson(0.1 + 0.2, true), "0.30000000000000004");
  assertEquals(goJson(1e-7, true), "1e-07");
  assertEquals(goJson(null), "null");
  assertEquals(goTime(day.startedAt + 0.9), "2026-03-10T00:00:00Z");
});

Deno.test("emulator: silent while asleep; CONNECTED, every field, then only changes at their interval", () => {
  const e = new TelemetryEmulator({ scenario: day });
  assertEquals(e.range(0, at(2, 10)).length, 0, "asleep overnight: nothing");
  const wake = e.step(at(2, 10));
  assertEquals(field(wake[0].topic), "connectivity");
  assert(wake[0].payload.includes('"Status":"CONNECTED"'));
  assertEquals(wake.length - 1, Object.keys(e.fields).length, "every field on connect");
  e.range(at(2, 10) + 1, at(7, 40));
  const drive = e.range(at(7, 40), at(7, 50));
  const gears = drive.filter((m) => field(m.topic) === "Gear");
  assertEquals(gears.length, 0, "Gear does not change while driving: not resent");
  const speeds = drive.filter((m) => field(m.topic) === "VehicleSpeed").map((m) => m.t);
  for (let i = 1; i < speeds.length; i++) assert(speeds[i] - speeds[i - 1] >= 2, "interval 2 s");
  const locations = drive.filter((m) => field(m.topic) === "Location");
  assert(locations.length <= 60 && locations.length >= 30, `${locations.length} locations`);
  assert(locations[0].payload.startsWith('{"latitude":'), locations[0].payload);
  const sleep = e.range(at(8, 24), at(8, 26));
  assert(sleep.some((m) => m.payload.includes('"Status":"DISCONNECTED"')), "DISCONNECTED on sleep");
  assertEquals(e.range(at(8, 26), at(8, 40)).length, 0);
});

Deno.test("emulator outage: the car keeps up to 5,000 messages and delivers them first on reconnect", () => {
  const e = new TelemetryEmulator({
    scenario: day,
    outages: [{ from: at(7, 36), to: at(8, 5) }],
    fields: { VehicleSpeed: { interval_seconds: 1 }, Gear: { interval_seconds: 1 } },
  });
  e.range(at(7, 30), at(7, 36));
  const during = e.range(at(7, 36), at(8, 5));
  assertEquals(during.map((m) => m.payload.includes("DISCONNECTED")), [true]);
  const back = e.step(at(8, 5));
  assert(back[0].payload.includes('"Status":"CONNECTED"'));
  const backlog = back.filter((m) => m.backlog);
  assert(backlog.length > 0 && backlog.length <= BACKLOG_LIMIT, `${backlog.length}`);
  assertEquals(back.indexOf(backlog[0]), 1, "the backlog comes right after CONNECTED");
  assert(backlog.every((m) => m.t === at(8, 5)), "delivered at the reconnect");
});
