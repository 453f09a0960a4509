/**
 * The compose profile `streaming` checked as far as it can be without the images: the
 * Mosquitto config run by the real Mosquitto (its paths and ports moved to a temporary folder),
 * with the users and rights it promises; fleet-telemetry's config.json against the keys the
 * server reads and the broker, users and mounts it names; the proxy reachable from loopback
 * only.
 */
import mqtt from "mqtt";
import { parse as parseYaml } from "yaml";
import { assert, assertEquals } from "../core/testing.ts";
import { makeCertificates, MOSQUITTO } from "../replay/mosquitto.ts";
import { freeLoopbackPort } from "../scripts/testing_task.ts";

const root = new URL("../", import.meta.url).pathname;
const dir = `${root}deploy/streaming`;

interface Service {
  image?: string;
  profiles?: string[];
  command?: string[];
  volumes?: string[];
  ports?: string[];
}

async function compose(): Promise<Record<string, Service>> {
  const yaml = parseYaml(await Deno.readTextFile(`${root}compose.yaml`)) as {
    services: Record<string, Service>;
  };
  return yaml.services;
}

/** Where a compose service sees a repository path (its bind mount), or undefined. */
function mountOf(service: Service, repoPath: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [source, target] = v.split(":");
    if (source === `./${repoPath}`) return target;
  }
  return undefined;
}

/** mosquitto.conf as lines of `key value`, with the listener each line belongs to. */
function mosquittoLines(text: string) {
  let listener: string | undefined;
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map(
    (l) => {
      const [key, ...rest] = l.split(/\s+/);
      if (key === "listener") listener = rest[0];
      return { key, value: rest.join(" "), listener };
    },
  );
}

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  assert(out.success, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("streaming Mosquitto config: the real broker runs it; passwords, ACL and TLS as promised", async () => {
  const services = await compose();
  const mosquitto = services.mosquitto;
  const configDir = mountOf(mosquitto, "deploy/streaming/mosquitto")!;
  const certsDir = mountOf(mosquitto, "deploy/streaming/certs")!;
  assertEquals(configDir, "/mosquitto/config");
  const tmp = await Deno.makeTempDir({ prefix: "ev-streaming-" });
  const ca = await makeCertificates(tmp);
  await Deno.copyFile(`${tmp}/server.pem`, `${tmp}/mqtt-cert.pem`);
  await Deno.copyFile(`${tmp}/server.key`, `${tmp}/mqtt-key.pem`);
  const plain = freeLoopbackPort();
  const tls = freeLoopbackPort();
  const text = (await Deno.readTextFile(`${dir}/mosquitto/mosquitto.conf`))
    .replaceAll(configDir, tmp).replaceAll(certsDir, tmp).replaceAll("/mosquitto/data", tmp)
    .replace(/^listener 1883$/m, `listener ${plain} 127.0.0.1`)
    .replace(/^listener 8883$/m, `listener ${tls} 127.0.0.1`);
  await Deno.writeTextFile(
    `${tmp}/mosquitto.conf`,
    text + (Deno.uid() === 0 ? "user root\n" : ""),
  );
  await Deno.copyFile(`${dir}/mosquitto/acl`, `${tmp}/acl`);
  // As the README has the owner make it.
  await run("mosquitto_passwd", ["-b", "-c", `${tmp}/passwd`, "fleet-telemetry", "ft-secret"]);
  await run("mosquitto_passwd", ["-b", `${tmp}/passwd`, "ev-observer", "ev-secret"]);
  const broker = new Deno.Command(MOSQUITTO, {
    args: ["-c", `${tmp}/mosquitto.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const connect = async (url: string, options: mqtt.IClientOptions) => {
    for (let i = 0;; i++) {
      try {
        return await mqtt.connectAsync(url, {
          reconnectPeriod: 0,
          connectTimeout: 2000,
          ...options,
        });
      } catch (err) {
        const refused = /Not authorized|Bad User Name or Password/i.test(String(err));
        if (refused || i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100)); // the broker is still starting
      }
    }
  };
  const clients: mqtt.MqttClient[] = [];
  try {
    const server = await connect(`mqtt://127.0.0.1:${plain}`, {
      username: "fleet-telemetry",
      password: "ft-secret",
      protocolVersion: 4,
    });
    clients.push(server);
    const reader = await connect(`mqtts://localhost:${tls}`, {
      username: "ev-observer",
      password: "ev-secret",
      ca,
      protocolVersion: 5,
    });
    clients.push(reader);
    const got: string[] = [];
    reader.on("message", (topic, payload) => got.push(`${topic} ${payload}`));
    await reader.subscribeAsync("telemetry/#", { qos: 1 });
    await server.publishAsync("telemetry/VIN/v/Soc", "75.5", { qos: 1 });
    // ev-observer may read only: Mosquitto refuses what it publishes.
    const denied = await reader.publishAsync("telemetry/VIN/v/Soc", "1", { qos: 1 }).then(
      () => "",
      (e) => String(e),
    );
    assert(denied.includes("Not authorized"), `ev-observer's publish refused: ${denied}`);
    await server.publishAsync("elsewhere/x", "1", { qos: 1 });
    const deadline = Date.now() + 3000;
    while (!got.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(got, ["telemetry/VIN/v/Soc 75.5"]);

    for (
      const options of [{}, { username: "ev-observer", password: "wrong" }] as mqtt.IClientOptions[]
    ) {
      let refused = false;
      await connect(`mqtt://127.0.0.1:${plain}`, options).then(
        (c) => clients.push(c),
        () => refused = true,
      );
      assert(refused, `refused: ${JSON.stringify(options)}`);
    }
  } finally {
    for (const c of clients) await c.endAsync(true);
    broker.kill();
    await broker.status;
    await broker.stderr.cancel();
    await Deno.remove(tmp, { recursive: true });
  }
});

/** The keys fleet-telemetry's config reads (its config.Config and mqtt.Config). */
const SERVER_KEYS = [
  "host",
  "port",
  "status_port",
  "tls",
  "use_default_eng_ca",
  "rate_limit",
  "reliable_ack",
  "reliable_ack_sources",
  "reliable_ack_workers",
  "namespace",
  "monitoring",
  "log_level",
  "json_log_enable",
  "records",
  "transmit_decoded_records",
  "mqtt",
];
const MQTT_KEYS = [
  "broker",
  "client_id",
  "username",
  "password",
  "topic_base",
  "qos",
  "retained",
  "connect_timeout_ms",
  "publish_timeout_ms",
  "disconnect_timeout_ms",
  "connect_retry_interval_ms",
  "keep_alive_seconds",
];

Deno.test("fleet-telemetry config.json: keys the server reads; MQTT to the profile's Mosquitto; mounted certificates", async () => {
  const services = await compose();
  const config = JSON.parse(await Deno.readTextFile(`${dir}/fleet-telemetry/config.json`));
  for (const key of Object.keys(config)) assert(SERVER_KEYS.includes(key), `unknown key ${key}`);
  for (const key of Object.keys(config.mqtt)) assert(MQTT_KEYS.includes(key), `mqtt.${key}`);
  assertEquals(Object.keys(config.tls).sort(), ["server_cert", "server_key"]);
  // Every record type the consumer reads goes to MQTT (an unlisted type is not produced).
  for (const record of ["V", "alerts", "errors", "connectivity"]) {
    assertEquals(config.records[record], ["mqtt"], record);
  }
  // The broker: the profile's Mosquitto, on its plain listener inside the network.
  const [host, port] = config.mqtt.broker.split(":");
  assertEquals(services[host]?.profiles, ["streaming"]);
  const conf = mosquittoLines(await Deno.readTextFile(`${dir}/mosquitto/mosquitto.conf`));
  const listeners = conf.filter((l) => l.key === "listener").map((l) => l.value);
  assert(listeners.includes(port), `Mosquitto listens on ${port}`);
  assert(
    !conf.some((l) => l.listener === port && l.key === "certfile"),
    "that listener is plain (Paho checks TLS against the system's roots only)",
  );
  assert(!/[#+]/.test(config.mqtt.topic_base), "no wildcard in topic_base");
  assertEquals(config.mqtt.retained, false, "a retained value would hide its age");
  // That user may write under topic_base.
  const acl = await Deno.readTextFile(`${dir}/mosquitto/acl`);
  const section = acl.split(/\n(?=user )/).find((s) =>
    s.startsWith(`user ${config.mqtt.username}\n`)
  );
  assert(section?.includes(`topic write ${config.mqtt.topic_base}/#`), "ACL lets it publish");
  // Certificates from the mounted folder, the port the compose service publishes.
  const ft = services["fleet-telemetry"];
  const certs = mountOf(ft, "deploy/streaming/certs")!;
  assert(config.tls.server_cert.startsWith(certs + "/") && config.tls.server_key.startsWith(certs));
  assert(ft.ports?.some((p) => p.endsWith(`:${config.port}`)), "the server's port is published");
  assert(
    ft.command?.includes("-config=" + mountOf(ft, "deploy/streaming/fleet-telemetry/config.json")),
  );
});

Deno.test("vehicle-command proxy: loopback only, its key and certificates from the mounted folder", async () => {
  const proxy = (await compose())["vehicle-command"];
  assert(proxy.ports?.every((p) => p.startsWith("127.0.0.1:")), "never published beyond loopback");
  const mount = mountOf(proxy, "deploy/streaming/certs")!;
  const files = (proxy.command ?? []).filter((a) => a.startsWith("/"));
  assertEquals(files.length, 3);
  assert(files.every((f) => f.startsWith(mount + "/")), files.join(" "));
  const ignore = await Deno.readTextFile(`${dir}/certs/.gitignore`);
  assert(ignore.split("\n").includes("*"), "keys in deploy/streaming/certs are never committed");
});
