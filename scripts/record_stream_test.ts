/**
 * `deno task record` of an account that streams: the child, with the task's own permissions,
 * polls the simulated vendor's REST API and receives its stream from a real Mosquitto (BMW's
 * over TLS, a Tesla `telemetry:` broker in the clear); the cassette holds the messages beside
 * the exchanges, with no VIN, GCID or token left, and replays (its messages through the broker
 * replay starts).
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { createLogger } from "../core/log.ts";
import { realClock, VirtualClock } from "../core/clock.ts";
import { bmwTokenStore } from "../providers/bmw/identity.ts";
import { teslaTokenStore } from "../providers/tesla/identity.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { TelemetryEmulator } from "../providers/tesla/sim/telemetry.ts";
import { streamPayload } from "../providers/bmw/sim/cassette.ts";
import { FakeBmw, SIM_CLIENT_ID } from "../providers/bmw/sim/fake_bmw.ts";
import { I4_VIN, i4Day, SIM_GCID } from "../providers/bmw/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { Mosquitto } from "../replay/mosquitto.ts";
import { isValidVin } from "../replay/vin.ts";
import { projectRoot, taskArgs, taskCommand } from "./testing_task.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("deno task record bmw: the stream's messages recorded beside the exchanges, redacted, and replayed", async () => {
  const fake = new FakeBmw({ now: () => Date.now() });
  const broker = await Mosquitto.start({ tls: true });
  const dir = await Deno.makeTempDir({ prefix: "ev-record-stream-" });
  const { default: mqtt } = await import("mqtt");
  const publisher = await mqtt.connectAsync(broker.url, {
    ca: broker.caPem,
    clientId: "sim-bmw-stream",
    reconnectPeriod: 0,
  });
  try {
    const signedIn = fake.signIn();
    await bmwTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} })).save(signedIn);
    await Deno.writeTextFile(`${dir}/ca.pem`, broker.caPem!);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: bmw\n    name: home\n    client_id: ${SIM_CLIENT_ID}\n` +
        `    auth_host: ${fake.url}\n    api_base_url: ${fake.url}\n` +
        `    stream_url: ${broker.url}\n    ca_file: ${dir}/ca.pem\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [...await taskCommand("record"), "bmw", "--scenario", "streamed", "--duration", "8s"],
      cwd: dir,
      env: { NO_COLOR: "1", EV_LOG_LEVEL: "debug" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The car sends its day's changes while the recording runs (the first ones before the
    // consumer subscribed are lost, as they would be live).
    const events = i4Day(Date.UTC(2026, 2, 10));
    let sending = true;
    const car = (async () => {
      for (let i = 0; sending; i = (i + 1) % events.length) {
        await publisher.publishAsync(`${SIM_GCID}/${I4_VIN}`, streamPayload(events[i]), {
          qos: 1,
        });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const out = await child.output();
    sending = false;
    await car;
    const stdout = decode(out.stdout);
    const stderr = decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(stdout, "stream messages");
    const path = `${dir}/fixtures/bmw/streamed/cassette.json`;
    const text = await Deno.readTextFile(path);
    const cassette = await loadCassette(path);
    const messages = cassette.messages ?? [];
    assert(messages.length >= 10, `${messages.length} messages recorded`);
    assert(cassette.exchanges.some((e) => e.request.path.endsWith("/telematicData")), "REST too");
    const [gcid, vin] = messages[0].topic.split("/");
    assert(isValidVin(vin) && vin !== I4_VIN, messages[0].topic);
    assert(gcid !== SIM_GCID, "the GCID is replaced");
    assertEquals(new Set(messages.map((m) => m.topic)).size, 1, "one stable topic");
    for (const m of messages) {
      assertEquals(JSON.parse(m.payload).vin, vin, "payload and topic agree");
    }
    const at = messages.map((m) => m.at);
    assertEquals(at, [...at].sort((a, b) => a - b), "arrival times in order");
    for (
      const [name, secret] of Object.entries({
        vin: I4_VIN,
        gcid: SIM_GCID,
        access: signedIn.access_token,
        id: signedIn.id_token!,
        refresh: signedIn.refresh_token,
      })
    ) {
      assert(!text.includes(secret), `the ${name} survived in the cassette`);
      assert(!(stdout + stderr).includes(secret), `the ${name} is in the output`);
    }

    // The replay task may read the project only: play a copy from test-output/.
    await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
    const copy = `test-output/recorded-stream-${crypto.randomUUID()}.json`;
    await Deno.copyFile(path, `${projectRoot}${copy}`);
    try {
      const replay = await new Deno.Command(Deno.execPath(), {
        args: [...await taskArgs("replay"), "--once", "--print", "--fixtures", copy],
        cwd: projectRoot,
        env: { EV_LOG_LEVEL: "info", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = decode(replay.stderr);
      assertEquals(replay.code, 0, err);
      assertStringIncludes(err, "stream connected");
      assertStringIncludes(decode(replay.stdout), `ev_stream_connected{provider="bmw"`);
      assertStringIncludes(
        decode(replay.stdout),
        `ev_battery_level_ratio{provider="bmw",vin="${vin}"}`,
      );
    } finally {
      await Deno.remove(`${projectRoot}${copy}`);
    }
  } finally {
    await publisher.endAsync(true);
    await broker.close();
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task record tesla with a telemetry block: Fleet Telemetry messages recorded, VIN replaced in topics", async () => {
  const day = teslaDay();
  const from = 7 * 3600 + 40 * 60; // the morning drive: the stream changes every second
  const fake = new FakeTesla({
    clock: new VirtualClock((day.startedAt + from) * 1000, 1),
    accessLifetimeS: 3600,
  });
  const broker = await Mosquitto.start();
  const dir = await Deno.makeTempDir({ prefix: "ev-record-telemetry-" });
  const { default: mqtt } = await import("mqtt");
  const publisher = await mqtt.connectAsync(broker.url, {
    clientId: "fleet-telemetry",
    reconnectPeriod: 0,
  });
  try {
    // The token on the real clock: the recording process reads it so; the fake runs on its own.
    const minted = fake.signIn(realClock);
    await teslaTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} })).save(minted);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n` +
        `    auth_host: ${fake.url}\n    telemetry:\n      broker_url: ${broker.url}\n` +
        `      topic_base: telemetry\n`,
    );
    const emulator = new TelemetryEmulator({ scenario: day });
    emulator.range(0, from);
    const drive = emulator.range(from, from + 120);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskCommand("record"),
        "tesla",
        "--scenario",
        "telemetry",
        "--duration",
        "8s",
      ],
      cwd: dir,
      env: { NO_COLOR: "1", EV_LOG_LEVEL: "debug" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let sending = true;
    const car = (async () => {
      for (let i = 0; sending; i = (i + 1) % drive.length) {
        await publisher.publishAsync(drive[i].topic, drive[i].payload, { qos: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const out = await child.output();
    sending = false;
    await car;
    const stdout = decode(out.stdout);
    const stderr = decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const path = `${dir}/fixtures/tesla/telemetry/cassette.json`;
    const text = await Deno.readTextFile(path);
    const messages = (await loadCassette(path)).messages ?? [];
    assert(messages.length >= 20, `${messages.length} messages recorded`);
    const vins = new Set(messages.map((m) => m.topic.split("/")[1]));
    assertEquals(vins.size, 1, "one car, one placeholder");
    const [vin] = vins;
    assert(isValidVin(vin) && vin !== day.vin, vin);
    assert(messages.some((m) => m.topic.endsWith("/v/VehicleSpeed")), "vehicle data");
    for (const secret of [day.vin, minted.access_token, minted.refresh_token]) {
      assert(!text.includes(secret), "a planted secret or identity survived in the cassette");
      assert(!(stdout + stderr).includes(secret), "…or in the output");
    }
  } finally {
    await publisher.endAsync(true);
    await broker.close();
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
