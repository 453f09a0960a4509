/**
 * Replay of a streamed day: the BMW i4 cassette's messages go through a real Mosquitto that
 * the replay session starts, into the real BMW stream consumer, and out of both exports with
 * every value the simulator's car had; and a missing Mosquitto is an error naming the fix.
 */
import root from "otlp-decoder/build/src/generated/root.js";
import { metric, prometheusName } from "../core/catalog.ts";
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { type Snapshot, vehicleKey } from "../core/snapshot.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../core/testing.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { KEYS } from "../providers/bmw/map.ts";
import { I4_DAY_START } from "../providers/bmw/sim/cassette.ts";
import { type Entry, I4_VIN, i4Day, stateAt } from "../providers/bmw/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { BrokerMissingError } from "../replay/mosquitto.ts";
import { startReplay } from "./replay_session.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;
const Request = (root as Obj).opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

const fixture = (path: string) =>
  new URL(`../fixtures/${path}/cassette.json`, import.meta.url).pathname;

/** One expected series: catalog metric, extra labels, value. */
type Expected = [string, Record<string, string>, number];

/**
 * What the car had at this moment, in base units, written out from the scenario's raw values
 * (not through the BMW mapping under test).
 */
function truth(state: Map<string, Entry>): Expected[] {
  const n = (key: string) => state.has(key) ? Number(state.get(key)!.value) : undefined;
  const w = (key: string) => state.get(key)?.value;
  const out: Expected[] = [];
  const add = (name: string, value: number | undefined, labels: Record<string, string> = {}) => {
    if (value !== undefined) out.push([name, labels, value]);
  };
  add("ev.battery.level", n(KEYS.soc)! / 100);
  add("ev.charging.limit", n(KEYS.socTarget)! / 100);
  add("ev.battery.range", n(KEYS.range)! * 1000, { estimate: "estimated" });
  add("ev.odometer", n(KEYS.odometer)! * 1000);
  add("ev.battery.capacity", n(KEYS.capacity)! * 3_600_000);
  add("ev.charging.power", n(KEYS.chargingPower));
  add("ev.charging.voltage", n(KEYS.acVoltage));
  add("ev.charging.current", n(KEYS.acAmpere));
  const minutes = n(KEYS.timeRemaining);
  add("ev.charging.time_to_full", minutes === undefined ? undefined : minutes * 60);
  add("ev.charging.phases", w(KEYS.phases) === "3-PHASES" ? 3 : undefined);
  add("ev.charging.plugged_in", w(KEYS.plug) === "CONNECTED" ? 1 : 0);
  add("ev.engine.running", w(KEYS.moving) === "true" ? 1 : 0);
  add("ev.locked", w(KEYS.lock) === "SECURED" ? 1 : 0);
  add("ev.door.open", w(KEYS.doorFrontLeft) === "OPEN" ? 1 : 0, { door: "front_left" });
  for (
    const [key, wheel] of [
      [KEYS.tireFrontLeft, "front_left"],
      [KEYS.tireFrontRight, "front_right"],
      [KEYS.tireRearLeft, "rear_left"],
      [KEYS.tireRearRight, "rear_right"],
    ] as const
  ) add("ev.tire.pressure", n(key)! * 1000, { wheel });
  add("ev.location.latitude", n(KEYS.latitude));
  add("ev.location.longitude", n(KEYS.longitude));
  return out;
}

/** The charging state the car was in (the state set's one series at 1). */
function chargingState(state: Map<string, Entry>): string {
  if (state.get(KEYS.plug)?.value === "DISCONNECTED") return "disconnected";
  return {
    NOCHARGING: "stopped",
    INITIALIZATION: "starting",
    CHARGINGACTIVE: "charging",
    CHARGINGENDED: "complete",
  }[String(state.get(KEYS.chargingStatus)?.value)]!;
}

const sameLabels = (have: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have?.[k] === v);

function stored(snapshot: Snapshot, [name, labels]: Expected): number | undefined {
  return snapshot.samples.find((s) => s.metric === name && sameLabels(s.labels, labels))?.value;
}

/** The value of one series in a Prometheus exposition. */
function exposed(text: string, [name, labels]: Expected): number | undefined {
  const family = prometheusName(metric(name));
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== family) continue;
    const have = Object.fromEntries(
      [...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (have.vin === I4_VIN && sameLabels(have, labels)) return Number(m[3]);
  }
  return undefined;
}

/** The value of one series in a decoded OTLP request. */
function pushed(request: Obj, [name, labels]: Expected): number | undefined {
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (m.name !== name) continue;
        for (const p of (m.gauge ?? m.sum).dataPoints ?? []) {
          const have = Object.fromEntries(
            (p.attributes ?? []).map((a: Obj) => [a.key, String(Object.values(a.value)[0])]),
          );
          if (have.vin === I4_VIN && sameLabels(have, labels)) return p.asDouble ?? p.asInt;
        }
      }
    }
  }
  return undefined;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("replay: the BMW day streams through a real Mosquitto into both exports, every mapped value as the simulator's car had it", async () => {
  const cassette = await loadCassette(fixture("bmw/i4-day"));
  const startMs = I4_DAY_START * 1000;
  const events = i4Day(startMs);
  const clock = new VirtualClock(startMs, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const requests: Obj[] = [];
  const collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (r) => {
      const body = r.headers.get("content-encoding") === "gzip"
        ? r.body!.pipeThrough(new DecompressionStream("gzip"))
        : r.body!;
      const bytes = new Uint8Array(await new Response(body).arrayBuffer());
      requests.push(Request.toObject(Request.decode(bytes), { longs: Number, defaults: false }));
      return new Response(new Uint8Array(0), {
        headers: { "content-type": "application/x-protobuf" },
      });
    },
  );
  const settings = otlpSettings({}, { url: `http://127.0.0.1:${collector.addr.port}` })!;
  const otlp = new OtlpExport(readings, settings, { location: true, log });
  const prometheus = new PrometheusExport(readings, { location: true });
  const session = await startReplay({
    cassettes: [cassette],
    clock,
    readings,
    log,
    location: true,
  });
  let snapshots = 0;
  readings.onSnapshot(() => snapshots++);
  try {
    assertEquals(session.players.length, 1);
    assertEquals(session.targets[0].stream, session.streams[0], "the scheduler sees the stream");
    await session.connectStreams();
    const key = vehicleKey({ provider: "bmw", vin: I4_VIN });
    // Exports checked on the commute, the DC charge, the AC charge and at the day's end.
    const exportAt = new Set(
      ["07:50", "13:45", "19:30", "23:59"].map((hm) => {
        const [h, m] = hm.split(":").map(Number);
        const t = startMs + (h * 60 + m) * 60_000;
        return events.filter((e) => e.at <= t).at(-1)!.at;
      }),
    );
    let checked = 0;
    for (const at of [...new Set(events.map((e) => e.at))]) {
      clock.advance(at - clock.now());
      const sent = session.players[0].published;
      await session.publishUntil(at / 1000);
      const expected = session.players[0].published;
      assert(expected > sent, "each moment of the day has its message");
      await until(`the snapshots of ${new Date(at).toISOString()}`, () => snapshots >= expected);
      const state = stateAt(events, at);
      const want = truth(state);
      const snapshot = readings.vehicles.get(key)!.snapshot!;
      for (const e of want) {
        const have = stored(snapshot, e);
        assert(have !== undefined, `${e[0]} ${JSON.stringify(e[1])} missing at ${at}`);
        assertAlmostEquals(have, e[2], 1e-9, `${e[0]} ${JSON.stringify(e[1])} at ${at}`);
      }
      assertEquals(
        snapshot.states.find((s) => s.metric === "ev.charging.state")?.state,
        chargingState(state),
      );
      checked += want.length;
      if (!exportAt.has(at)) continue;
      const text = await prometheus.exposition();
      requests.length = 0;
      await otlp.forceFlush();
      assertEquals(otlp.failures, 0, otlp.lastError);
      for (const e of want) {
        assertAlmostEquals(exposed(text, e) ?? NaN, e[2], 1e-6, `/metrics ${e[0]} at ${at}`);
        assertAlmostEquals(pushed(requests[0], e) ?? NaN, e[2], 1e-6, `OTLP ${e[0]} at ${at}`);
      }
    }
    assertEquals(session.players[0].published, cassette.messages!.length, "every message");
    assert(checked > 1500, `${checked} values checked`);
    assertEquals(session.unmatched(), []);

    // replay --loop: the day again, through a fresh consumer (the first one keeps the newest
    // values it saw and would drop the new pass's older ones).
    const first = session.streams[0];
    await session.rewind();
    assert(session.streams[0] !== first && session.targets[0].stream === session.streams[0]);
    clock.advance(startMs - clock.now());
    await session.connectStreams();
    const before = snapshots;
    await session.publishUntil(startMs / 1000);
    await until("the new pass's first message", () => snapshots > before);
    const again = readings.vehicles.get(key)!.snapshot!;
    for (const e of truth(stateAt(events, startMs))) {
      assertAlmostEquals(stored(again, e)!, e[2], 1e-9, `pass 2: ${e[0]} at 00:00`);
    }
  } finally {
    await session.shutdown();
    await otlp.shutdown();
    await collector.shutdown();
  }
});

Deno.test("replay: without Mosquitto a streamed cassette is refused, naming the cassette and the package", async () => {
  const cassette = await loadCassette(fixture("bmw/i4-day"));
  const err = await assertRejects(
    () =>
      startReplay({
        cassettes: [cassette],
        clock: new VirtualClock(cassette.startedAt * 1000, 0),
        readings: new Readings(),
        log: createLogger({ write: () => {} }),
        location: false,
        brokerBinary: "/nonexistent/mosquitto",
      }),
  );
  assert(err instanceof BrokerMissingError, err.message);
  assert(err.message.includes("bmw/i4-day"), err.message);
  assert(err.message.includes("apt-get install mosquitto"), err.message);
  assert(!err.message.includes("    at "), "no stack trace in the message");
});
