/**
 * The BMW stream on a real Mosquitto over TLS with a self-signed CA: the GCID as user name and
 * the ID token as password, topic `<GCID>/<VIN>`, values into the store in base units, and a
 * renewal before the ID token expires that closes the old connection before opening the next
 * (one connection per account, never two).
 */
import { assert, assertEquals } from "../../core/testing.ts";
import { realClock } from "../../core/clock.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { sampleValue } from "../../core/snapshot.ts";
import { waitFor } from "../../scripts/testing_task.ts";
// The Mosquitto harness is the Tesla simulator's; it is vendor-neutral test rig.
import { Mosquitto } from "../../replay/mosquitto.ts";
import { KEYS, Telematics } from "./map.ts";
import { I4_VIN, SIM_GCID } from "./sim/scenario.ts";
import { BmwStream } from "./stream.ts";

const ID_TOKEN = "bmw-id-stream-test-token";

async function publish(broker: Mosquitto, data: Record<string, unknown>, vin = I4_VIN) {
  const { default: mqtt } = await import("mqtt");
  const client = await mqtt.connectAsync(broker.url, {
    username: SIM_GCID,
    password: ID_TOKEN,
    ca: broker.caPem,
    clientId: "sim-publisher",
  });
  await client.publishAsync(
    `${SIM_GCID}/${vin}`,
    JSON.stringify({
      vin,
      entityId: SIM_GCID,
      topic: vin,
      timestamp: new Date().toISOString(),
      data,
    }),
    { qos: 1 },
  );
  await client.endAsync();
}

Deno.test("BMW stream: TLS with a self-signed CA, GCID and ID token, values in base units, renewal before expiry with one connection at a time", async () => {
  const broker = await Mosquitto.start({ tls: true, user: { name: SIM_GCID, password: ID_TOKEN } });
  const readings = new Readings();
  const controller = new AbortController();
  const asked: number[] = [];
  const stream = new BmwStream({
    url: broker.url,
    // The token expires 3 s after each ask; renewal comes 2 s before.
    credentials: () => {
      asked.push(Date.now());
      return Promise.resolve({
        gcid: SIM_GCID,
        idToken: ID_TOKEN,
        expiresAt: Date.now() / 1000 + 3.5,
      });
    },
    account: "home",
    vins: [I4_VIN],
    telematics: new Telematics(),
    readings,
    clock: realClock,
    log: createLogger({ write: () => {} }),
    location: false,
    ca: broker.caPem,
    leadS: 2,
    retryMs: 200,
  });
  const running = stream.run(controller.signal);
  try {
    await waitFor("the stream", () => Promise.resolve(stream.connected || undefined), 40);
    const vehicle = { provider: "bmw", id: I4_VIN, vin: I4_VIN };
    assertEquals(stream.live(vehicle), false, "not live until heard from (or polled)");
    const at = new Date().toISOString();
    await publish(broker, {
      [KEYS.soc]: { timestamp: at, value: 71.5, unit: "%" },
      [KEYS.odometer]: { timestamp: at, value: "18300", unit: "km" },
      [KEYS.tireFrontLeft]: { timestamp: at, value: "250", unit: "kPa" },
    });
    const snap = await waitFor(
      "a snapshot",
      () => Promise.resolve(readings.vehicles.get(`bmw/${I4_VIN}`)?.snapshot),
      40,
    );
    assertEquals(sampleValue(snap, "ev.battery.level"), 0.715);
    assertEquals(sampleValue(snap, "ev.odometer"), 18_300_000);
    assertEquals(
      snap.samples.find((s) => s.metric === "ev.tire.pressure")?.value,
      250_000,
    );
    assertEquals(stream.live(vehicle), true);
    // Renewal: a new connection with fresh credentials, before the token expires.
    await waitFor("two renewals", () => Promise.resolve(stream.connects >= 3 || undefined), 40);
    assert(asked.length >= 3);
    assert(asked[1] - asked[0] < 3000, "renewed before the ID token expired");
    assert(!/already connected/.test(broker.log), "never two connections for one GCID");
    assertEquals(stream.live(vehicle), true, "a planned renewal keeps the car live");
  } finally {
    controller.abort();
    await running;
    await broker.close();
  }
});

Deno.test("BMW stream: a persistent session under the GCID, so what the car sends between two connections (the hourly renewal) is delivered on the next", async () => {
  const broker = await Mosquitto.start({ tls: true, user: { name: SIM_GCID, password: ID_TOKEN } });
  const readings = new Readings();
  const telematics = new Telematics();
  const open = () => {
    const controller = new AbortController();
    const stream = new BmwStream({
      url: broker.url,
      credentials: () =>
        Promise.resolve({ gcid: SIM_GCID, idToken: ID_TOKEN, expiresAt: Date.now() / 1000 + 3600 }),
      account: "home",
      vins: [I4_VIN],
      telematics,
      readings,
      clock: realClock,
      log: createLogger({ write: () => {} }),
      location: false,
      ca: broker.caPem,
    });
    return { stream, controller, running: stream.run(controller.signal) };
  };
  let current = open();
  try {
    await waitFor("the stream", () => Promise.resolve(current.stream.connected || undefined), 40);
    current.controller.abort();
    await current.running;
    // Between the two connections: the car plugs in.
    await publish(broker, {
      [KEYS.plug]: { timestamp: new Date().toISOString(), value: "CONNECTED" },
    });
    current = open();
    const snap = await waitFor(
      "the message sent in between",
      () => Promise.resolve(readings.vehicles.get(`bmw/${I4_VIN}`)?.snapshot),
      40,
    );
    assertEquals(sampleValue(snap, "ev.charging.plugged_in"), 1);
  } finally {
    current.controller.abort();
    await current.running;
    await broker.close();
  }
});

Deno.test("BMW stream shards: a shard records only its own cars of the GCID", async () => {
  const broker = await Mosquitto.start({ tls: true, user: { name: SIM_GCID, password: ID_TOKEN } });
  const readings = new Readings();
  const controller = new AbortController();
  // Another made-up car of the same GCID, which this process's shard does not own.
  const OTHER = "WBY31AW0000000999";
  const stream = new BmwStream({
    url: broker.url,
    credentials: () =>
      Promise.resolve({ gcid: SIM_GCID, idToken: ID_TOKEN, expiresAt: Date.now() / 1000 + 600 }),
    account: "home",
    vins: [],
    owns: (vin) => vin !== OTHER,
    telematics: new Telematics(),
    readings,
    clock: realClock,
    log: createLogger({ write: () => {} }),
    location: false,
    ca: broker.caPem,
  });
  const running = stream.run(controller.signal);
  try {
    await waitFor("the stream", () => Promise.resolve(stream.connected || undefined), 40);
    const at = new Date().toISOString();
    // The other car first: once the own car's value is in, the other's was handled too.
    await publish(broker, { [KEYS.soc]: { timestamp: at, value: 40, unit: "%" } }, OTHER);
    await publish(broker, { [KEYS.soc]: { timestamp: at, value: 71.5, unit: "%" } });
    await waitFor(
      "the own car's snapshot",
      () => Promise.resolve(readings.vehicles.get(`bmw/${I4_VIN}`)?.snapshot),
      40,
    );
    assertEquals(readings.vehicles.has(`bmw/${OTHER}`), false);
  } finally {
    controller.abort();
    await running;
    await broker.close();
  }
});
