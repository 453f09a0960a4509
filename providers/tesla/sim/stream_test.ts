/**
 * The Fleet Telemetry stream end to end: the emulator publishes the reference day through a
 * real Mosquitto (started here on a free loopback port), the consumer records it, /metrics
 * shows it; the poller leaves streamed cars alone and takes over when the broker dies.
 */
import { VirtualClock } from "../../../core/clock.ts";
import { metric, prometheusName } from "../../../core/catalog.ts";
import { createLogger } from "../../../core/log.ts";
import { pollAccounts } from "../../../core/poller.ts";
import { Readings } from "../../../core/readings.ts";
import { sampleValue, type Snapshot, stateValue, vehicleKey } from "../../../core/snapshot.ts";
import { assert, assertAlmostEquals, assertEquals } from "../../../core/testing.ts";
import { PrometheusExport } from "../../../export/prometheus.ts";
import { dayHttp } from "../../../bench/common.ts";
import { teslaPricing } from "../pricing.ts";
import { createTeslaProvider } from "../provider.ts";
import { TeslaStream } from "../stream.ts";
import type { TelemetrySettings } from "../stream_config.ts";
import { FakeTesla } from "./fake_api.ts";
import { Mosquitto } from "../../../replay/mosquitto.ts";
import { TelemetryPublisher } from "./publisher.ts";
import { teslaDay } from "./scenario.ts";
import { type Message, TelemetryEmulator } from "./telemetry.ts";

const day = teslaDay();
const VIN = day.vin;
const at = (h: number, m: number) => h * 3600 + m * 60;
const GROUP_MS = 30;

function settings(broker: Mosquitto, extra: Partial<TelemetrySettings> = {}): TelemetrySettings {
  return {
    brokerUrl: broker.url,
    topicBase: "telemetry",
    silenceS: 1800,
    recheckS: 14400,
    ...extra,
  };
}

function stream(
  broker: Mosquitto,
  readings: Readings,
  clock = new VirtualClock(day.startedAt * 1000, 0),
  extra: Partial<TelemetrySettings> = {},
  lines: string[] = [],
) {
  return new TeslaStream({
    settings: settings(broker, extra),
    account: "home",
    vins: [VIN],
    readings,
    clock,
    log: createLogger({ write: (l) => lines.push(l) }),
    location: true,
    groupMs: GROUP_MS,
    reconnectMs: 100,
  });
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Publishes one second of the emulator, then lets the consumer close the group. */
async function publishSecond(
  p: TelemetryPublisher,
  messages: readonly Pick<Message, "topic" | "payload">[],
) {
  await p.publish(messages);
  await new Promise((r) => setTimeout(r, GROUP_MS * 3));
}

Deno.test("stream → /metrics: a streamed moment of the morning drive, in base units", async () => {
  const broker = await Mosquitto.start();
  const readings = new Readings();
  const s = stream(broker, readings);
  const stop = new AbortController();
  const running = s.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  try {
    await until("the subscription", () => s.connected);
    const emulator = new TelemetryEmulator({ scenario: day });
    const t = at(7, 50);
    await publishSecond(publisher, emulator.step(t));
    const key = vehicleKey({ provider: "tesla", vin: VIN });
    await until("a snapshot", () => readings.vehicles.get(key)?.snapshot !== undefined);
    const body = day.vehicleDataAt(t);
    const cs = body.charge_state as Record<string, number>;
    const ds = body.drive_state as Record<string, number>;
    const vs = body.vehicle_state as Record<string, number>;

    const text = await new PrometheusExport(readings, { location: true }).exposition();
    const value = (name: string, labels = "") => {
      const prom = prometheusName(metric(name));
      const line = text.split("\n").find((l) =>
        l.startsWith(prom + "{") && l.includes(`vin="${VIN}"`) && l.includes(labels)
      );
      assert(line, `${prom}${labels} missing from /metrics`);
      return Number(line.split(" ").pop());
    };
    assertAlmostEquals(value("ev.drive.speed"), ds.speed * 1609.344 / 3600, 1e-3);
    assertAlmostEquals(value("ev.odometer"), vs.odometer * 1609.344, 1);
    assertAlmostEquals(
      value("ev.tire.pressure", 'wheel="front_left"'),
      vs.tpms_pressure_fl * 1e5,
      1,
    );
    assertAlmostEquals(
      value("ev.battery.range", 'estimate="rated"'),
      cs.battery_range * 1609.344,
      1,
    );
    assertAlmostEquals(value("ev.battery.energy_remaining"), cs.energy_remaining * 3.6e6, 100);
    assertAlmostEquals(value("ev.battery.level"), cs.battery_level / 100, 1e-6);
    assertAlmostEquals(value("ev.location.latitude"), ds.latitude, 1e-6);
    assertEquals(value("ev.drive.shift_state", 'state="drive"'), 1);
    assertEquals(value("ev.vehicle.state", 'state="online"'), 1);
    assertEquals(
      readings.gaugeValue("ev.stream.connected", { provider: "tesla", account: "home" }),
      1,
    );
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await broker.close();
  }
});

Deno.test("stream first: a streamed car costs no data request; a dead broker brings polling back, its return stops it", async () => {
  const broker = await Mosquitto.start();
  // Virtual time runs 60 times faster than wall time: a minute is a second.
  const t0 = at(7, 40);
  const clock = new VirtualClock((day.startedAt + t0) * 1000, 60);
  const fake = new FakeTesla({ clock, scenario: day, accessLifetimeS: 86400 });
  const readings = new Readings();
  const { http } = dayHttp({
    provider: "tesla",
    pricing: teslaPricing,
    clock,
    endMs: (day.startedAt + day.duration) * 1000,
    fetch,
    readings,
  });
  const token = fake.auth.mint().access_token;
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const provider = createTeslaProvider({
    http: http.withAuth({ token: () => Promise.resolve(token) }),
    readings,
    clock,
    log,
    baseUrl: fake.url,
    location: false,
  });
  const s = stream(broker, readings, clock, {}, lines);
  const stop = new AbortController();
  const emulator = new TelemetryEmulator({ scenario: day });
  let publisher: TelemetryPublisher | undefined = await TelemetryPublisher.connect(broker.url);
  let next = t0;
  // The car's server: publishes each virtual second; drops what it cannot publish.
  const car = (async () => {
    while (!stop.signal.aborted) {
      const now = Math.floor(clock.now() / 1000 - day.startedAt);
      const messages: Message[] = [];
      while (next <= now) messages.push(...emulator.step(next++));
      try {
        if (publisher) await publisher.publish(messages);
      } catch {
        publisher = undefined;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const vehicleCalls = () =>
    [...fake.answers].filter(([k]) => k.includes("/api/1/vehicles/{id}")).reduce(
      (n, [, v]) => n + v,
      0,
    );
  const polling = pollAccounts({
    accounts: [{ name: "home", provider, vins: [VIN], stream: s }],
    readings,
    clock,
    log,
    config: { asleep_s: 60 },
    signal: stop.signal,
  });
  const key = vehicleKey({ provider: "tesla", vin: VIN });
  const pollState = () => readings.vehicles.get(key)?.pollState;
  try {
    // Until the stream vouches for the car the poller may look once; then nothing.
    await until("streaming", () => pollState() === "streaming", 10_000);
    const before = vehicleCalls();
    await new Promise((r) => setTimeout(r, 5000)); // five virtual minutes of driving
    assertEquals(vehicleCalls(), before, "no vehicle request while the stream is live");
    assertEquals(
      stateValue(readings.vehicles.get(key)!.snapshot!, "ev.drive.shift_state"),
      "drive",
    );

    await broker.stop();
    await publisher?.close().catch(() => {});
    publisher = undefined;
    await until("polling again", () => fake.served.length > 0 && pollState() === "polling", 10_000);
    assert(lines.some((l) => l.includes("not streaming: polling")), "the switch is logged");
    assertEquals(
      readings.gaugeValue("ev.stream.connected", { provider: "tesla", account: "home" }),
      0,
    );

    await broker.start();
    publisher = await TelemetryPublisher.connect(broker.url);
    await until("streaming again", () => pollState() === "streaming", 10_000);
    const served = fake.served.length;
    await new Promise((r) => setTimeout(r, 3000));
    assertEquals(fake.served.length, served, "no vehicle_data once the stream is back");
    assertEquals(lines.filter((l) => l.includes("streaming: not polled")).length, 2);
  } finally {
    stop.abort();
    await Promise.all([polling, car]);
    await publisher?.close().catch(() => {});
    await fake.shutdown();
    await broker.close();
  }
});

Deno.test("stream backlog: a burst of buffered records never moves a value back nor replays a drive", async () => {
  const broker = await Mosquitto.start();
  const clock = new VirtualClock(day.startedAt * 1000, 0);
  const fake = new FakeTesla({ clock, scenario: day, accessLifetimeS: 86400 });
  const readings = new Readings();
  const lines: string[] = [];
  const s = stream(broker, readings, clock, {}, lines);
  const stop = new AbortController();
  const running = s.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  const recorded: Snapshot[] = [];
  readings.onSnapshot((snap) => recorded.push(snap));
  // The server is unreachable from 07:55 to 08:20: the drive ends (08:10) inside the outage.
  const emulator = new TelemetryEmulator({
    scenario: day,
    outages: [{ from: at(7, 55), to: at(8, 20) }],
  });
  const go = async (t: number) => {
    clock.advance((day.startedAt + t) * 1000 - clock.now());
    await publishSecond(publisher, emulator.step(t));
  };
  try {
    await until("the subscription", () => s.connected);
    for (let t = at(7, 54); t < at(7, 55); t += 1) await go(t);
    for (let t = at(7, 55); t < at(8, 20); t++) {
      clock.advance((day.startedAt + t) * 1000 - clock.now());
      // Only the DISCONNECTED: the car keeps the rest.
      await publisher.publish(emulator.step(t));
    }
    // Meanwhile the poller read the parked car (08:15): newer than most of the backlog.
    clock.advance((day.startedAt + at(8, 15)) * 1000 - clock.now());
    const http = dayHttp({
      provider: "tesla",
      pricing: teslaPricing,
      clock,
      endMs: Infinity,
      fetch,
      readings,
    }).http;
    const token = fake.auth.mint().access_token;
    const provider = createTeslaProvider({
      http: http.withAuth({ token: () => Promise.resolve(token) }),
      readings,
      clock,
      log: createLogger({ write: () => {} }),
      baseUrl: fake.url,
      location: false,
    });
    const [vehicle] = await provider.listVehicles();
    const polled = readings.record((await provider.fetch(vehicle))!);
    assertEquals(stateValue(polled, "ev.drive.shift_state"), "park");
    const polledOdometer = sampleValue(polled, "ev.odometer")!;
    const before = recorded.length;

    // 08:20: the car reaches the server again; its buffer comes first, in one burst.
    clock.advance((day.startedAt + at(8, 20)) * 1000 - clock.now());
    const burst = emulator.step(at(8, 20));
    const backlog = burst.filter((m) => m.backlog).length;
    assert(backlog >= 150, `a real backlog (${backlog} messages)`);
    await publisher.publish(burst);
    await until("the burst recorded", () => recorded.length > before, 5000);
    await new Promise((r) => setTimeout(r, GROUP_MS * 4));

    const after = recorded.slice(before);
    assertEquals(after.length, 1, "the whole burst is one snapshot");
    for (const snap of after) {
      assert(sampleValue(snap, "ev.odometer")! >= polledOdometer, "odometer never goes back");
      assert(stateValue(snap, "ev.drive.shift_state") !== "drive", "no replayed drive");
    }
    const times = recorded.map((r) => r.sampledAt);
    assertEquals(times, [...times].sort((a, b) => a - b), "sample times never go back");
    assert(lines.some((l) => l.includes("backlog replayed")), "the backlog is logged");
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await fake.shutdown();
    await broker.close();
  }
});

Deno.test("stream odometer: an out-of-order burst and a poll stored meanwhile never lower it", async () => {
  const broker = await Mosquitto.start();
  const readings = new Readings();
  const s = stream(broker, readings);
  const stop = new AbortController();
  const running = s.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  const topic = `telemetry/${VIN}/v/Odometer`;
  const key = vehicleKey({ provider: "tesla", vin: VIN });
  const odometer = () => sampleValue(readings.vehicles.get(key)!.snapshot!, "ev.odometer")!;
  try {
    await until("the subscription", () => s.connected);
    await publishSecond(publisher, [100.5, 100.9, 100.7].map((v) => ({ topic, payload: `${v}` })));
    assertAlmostEquals(odometer(), 100.9 * 1609.344, 1e-6);
    // A poll saw 101.2 mi; the stream's next (older) value is 101.0.
    readings.record({
      vehicle: { provider: "tesla", id: "1", vin: VIN },
      sampledAt: day.startedAt,
      state: "online",
      samples: [{ metric: "ev.odometer", value: 101.2 * 1609.344 }],
      states: [],
      info: {},
    });
    await publishSecond(publisher, [{ topic, payload: '"101.0"' }]);
    assertAlmostEquals(odometer(), 101.2 * 1609.344, 1e-6);
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await broker.close();
  }
});

Deno.test("stream faults: malformed payloads are counted by field, the stream stays up and keeps the rest", async () => {
  const broker = await Mosquitto.start();
  const readings = new Readings();
  const s = stream(broker, readings);
  const stop = new AbortController();
  const running = s.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  const v = (field: string, payload: string) => ({ topic: `telemetry/${VIN}/v/${field}`, payload });
  try {
    await until("the subscription", () => s.connected);
    await publishSecond(publisher, [
      v("Soc", "{"),
      v("Soc", '"abc"'),
      v("Locked", "[]"),
      v("DoorState", '{"DriverFront":"open"}'),
      { topic: `telemetry/${VIN}/connectivity`, payload: '{"Status":"SOMETIMES"}' },
      { topic: `telemetry/${VIN}/alerts/X/current`, payload: "<html>" },
      { topic: `telemetry/${VIN}/v/Soc/extra`, payload: "1" },
      v("BatteryLevel", "1e999"),
      v("Soc", "150"),
      v("InsideTemp", "19.5"),
    ]);
    const errors = (field: string) =>
      readings.counterValue("ev.parse.errors", { provider: "tesla", field });
    assertEquals(errors("telemetry.Soc"), 2);
    assertEquals(errors("telemetry.Locked"), 1);
    assertEquals(errors("telemetry.DoorState"), 1);
    assertEquals(errors("telemetry.connectivity"), 1);
    assertEquals(errors("telemetry.alerts"), 1);
    assertEquals(errors("telemetry.BatteryLevel"), 1, "1e999 is not a finite number");
    // 150 % passes the decoder but not the catalog's range: dropped and counted there.
    assertEquals(errors("ev.battery.usable_level"), 1);
    const snap = readings.vehicles.get(vehicleKey({ provider: "tesla", vin: VIN }))!.snapshot!;
    assertEquals(sampleValue(snap, "ev.climate.inside.temperature"), 19.5);
    assertEquals(sampleValue(snap, "ev.battery.usable_level"), undefined);
    assert(s.connected, "still connected");
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await broker.close();
  }
});

Deno.test("stream over TLS with a password: right credentials stream, wrong ones and an unknown CA are counted and named", async () => {
  const user = { name: "ev-observer", password: "broker-password-1" };
  const broker = await Mosquitto.start({ tls: true, user });
  const publisher = await TelemetryPublisher.connect(broker.url, {
    username: user.name,
    password: user.password,
    ca: broker.caPem,
  });
  const cases = [
    { name: "right", extra: { username: user.name, password: user.password, ca: broker.caPem } },
    { name: "auth", extra: { username: user.name, password: "wrong-password", ca: broker.caPem } },
    { name: "tls", extra: { username: user.name, password: user.password } },
  ];
  try {
    for (const c of cases) {
      const readings = new Readings();
      const lines: string[] = [];
      const s = stream(broker, readings, undefined, c.extra, lines);
      const stop = new AbortController();
      const running = s.run(stop.signal);
      const errors = () =>
        readings.counterValue("ev.stream.errors", {
          provider: "tesla",
          account: "home",
          kind: c.name,
        });
      try {
        if (c.name === "right") {
          await until("the subscription", () => s.connected);
          await publishSecond(publisher, [{ topic: `telemetry/${VIN}/v/Soc`, payload: "61" }]);
          const key = vehicleKey({ provider: "tesla", vin: VIN });
          await until("a value", () => readings.vehicles.get(key)?.snapshot !== undefined);
        } else {
          await until(`a ${c.name} fault`, () => errors() > 0);
          assert(!s.connected);
          const said = lines.join("");
          assert(
            said.includes(c.name === "auth" ? "telemetry.password_env" : "telemetry.ca_file"),
            said,
          );
          assert(!said.includes("wrong-password"), "the password is not logged");
          // One line per fault, however often it retries.
          await new Promise((r) => setTimeout(r, 400));
          assertEquals(lines.filter((l) => l.includes("stream:")).length, 1);
        }
      } finally {
        stop.abort();
        await running;
      }
    }
  } finally {
    await publisher.close();
    await broker.close();
  }
});

Deno.test("stream shards: a shard records only its own cars of the topic base", async () => {
  const broker = await Mosquitto.start();
  const readings = new Readings();
  const clock = new VirtualClock(day.startedAt * 1000, 0);
  // Another made-up car on the same broker, which this process's shard does not own.
  const OTHER = "5YJ3E7EB000000999";
  const s = new TeslaStream({
    settings: settings(broker),
    account: "home",
    vins: [],
    owns: (vin) => vin !== OTHER,
    readings,
    clock,
    log: createLogger({ write: () => {} }),
    location: false,
    groupMs: GROUP_MS,
  });
  const stop = new AbortController();
  const running = s.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  try {
    await until("the subscription", () => s.connected);
    const messages = new TelemetryEmulator({ scenario: day }).step(at(7, 50));
    const others = messages.map((m) => ({ ...m, topic: m.topic.replace(VIN, OTHER) }));
    assert(others.some((m) => m.topic.includes(OTHER)), "the topics name the VIN");
    await publishSecond(publisher, [...others, ...messages]);
    const own = vehicleKey({ provider: "tesla", vin: VIN });
    await until("the own car's snapshot", () => readings.vehicles.get(own)?.snapshot !== undefined);
    await new Promise((r) => setTimeout(r, GROUP_MS * 3));
    assertEquals(readings.vehicles.has(vehicleKey({ provider: "tesla", vin: OTHER })), false);
  } finally {
    stop.abort();
    await running;
    await publisher.close();
    await broker.close();
  }
});
