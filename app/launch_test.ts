/**
 * Permissions that follow the config: `deno task poll` pushes OTLP to a host that only its
 * config names (127.0.0.2, a loopback address no static list names) and reads a config and a
 * state_dir outside the checkout; what each command is allowed is exactly what its config
 * needs; signals reach the command and its exit code comes back.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../core/testing.ts";
import { realClock } from "../core/clock.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { freeLoopbackPort, projectRoot, taskCommand, waitFor } from "../scripts/testing_task.ts";
import { denoFlags, parsePermissions, stageOf } from "./launch.ts";
import { permissionsFor } from "./permissions.ts";

/** An OTLP/HTTP receiver on 127.0.0.2 that counts what it is sent. */
function receiver() {
  const seen: { path: string; db: string | null; bytes: number }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.2", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    seen.push({
      path: new URL(req.url).pathname,
      db: req.headers.get("x-greptime-db-name"),
      bytes: body.length,
    });
    return new Response(null, { status: 200 });
  });
  return { url: `http://127.0.0.2:${server.addr.port}`, seen, server };
}

Deno.test("deno task poll: OTLP to a host only the config names, config and state outside the checkout", async () => {
  const fake = new FakeTesla({ clock: realClock });
  const otlp = receiver();
  const dir = await Deno.makeTempDir({ prefix: "ev-launch-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `state_dir: ${dir}/state\ngreptimedb: {url: "${otlp.url}", database: garage}\n` +
        `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n`,
    );
    const port = freeLoopbackPort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskCommand("poll"),
        "--config",
        `${dir}/config.yaml`,
        "--listen",
        `127.0.0.1:${port}`,
      ],
      cwd: projectRoot,
      env: {
        NO_COLOR: "1",
        EV_TESLA_ACCESS_TOKEN: fake.auth.mint().access_token,
        OTEL_METRIC_EXPORT_INTERVAL: "300",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    const pushed = await waitFor(
      "an OTLP push to 127.0.0.2",
      () => Promise.resolve(otlp.seen.find((r) => r.path.startsWith("/v1/otlp/") && r.bytes > 0)),
    ).catch(() => undefined);
    try {
      child.kill("SIGTERM"); // to the launcher, which passes it on
    } catch {
      // Exited already: its output says why.
    }
    const out = await output;
    const stderr = new TextDecoder().decode(out.stderr);
    assert(pushed, `nothing reached the OTLP receiver on 127.0.0.2:\n${stderr}`);
    assertEquals(pushed.path, "/v1/otlp/v1/metrics");
    assertEquals(pushed.db, "garage");
    // The sessions table is created over GreptimeDB's SQL API on the same host, at start.
    assert(otlp.seen.some((r) => r.path === "/v1/sql"), "the sessions sender reached /v1/sql");
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(stderr, "stopped", "poll flushed and stopped cleanly");
    assert(!/Requires (net|read) access/.test(stderr), stderr);
  } finally {
    await otlp.server.shutdown();
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll: Ctrl-C (SIGINT to the process group) stops it once, cleanly", async () => {
  const fake = new FakeTesla({ clock: realClock });
  const dir = await Deno.makeTempDir({ prefix: "ev-launch-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n`,
    );
    const port = freeLoopbackPort();
    // setsid: a process group of its own, as a terminal gives a foreground command.
    const child = new Deno.Command("setsid", {
      args: [
        Deno.execPath(),
        ...await taskCommand("poll"),
        "--config",
        `${dir}/config.yaml`,
        "--listen",
        `127.0.0.1:${port}`,
      ],
      cwd: projectRoot,
      env: { NO_COLOR: "1", EV_TESLA_ACCESS_TOKEN: fake.auth.mint().access_token },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    await waitFor(
      "/metrics",
      async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).ok || undefined,
    );
    // Both the launcher and poll receive it; poll must not take the second as "force quit".
    Deno.kill(-child.pid, "SIGINT");
    const out = await output;
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(stderr.match(/shutting down/g)?.length, 1, stderr);
    assertStringIncludes(stderr, "msg=stopped");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll: a config mistake keeps its exit code and message, no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-launch-" });
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, "log_level: loud\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...await taskCommand("poll"), "--config", `${dir}/config.yaml`],
      cwd: projectRoot,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, stderr);
    assertStringIncludes(stderr, "log_level");
    assert(!stderr.includes("    at "), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const CONFIG = `
listen: 0.0.0.0:9464
state_dir: /var/lib/ev-observer
location: true
web_config: /etc/ev-observer/web.yml
greptimedb: {url: "http://192.168.1.50:4000"}
weather: {source: open-meteo}
accounts:
  - provider: tesla
    name: home
  - provider: tesla
    name: work
    api: fleet
    region: eu
    client_id: app
    redirect_uri: http://localhost:8123/callback
  - provider: volvo
    name: xc40
    client_id: app
    client_secret: s
    redirect_uri: http://127.0.0.1:8765/callback
`;

/** permissionsFor with the config above (or `text`) written to a temp file. */
async function planned(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  text = CONFIG,
) {
  const dir = await Deno.makeTempDir({ prefix: "ev-plan-" });
  try {
    const path = `${dir}/config.yaml`;
    await Deno.writeTextFile(path, text);
    const p = await permissionsFor(command, [...args, "--config", path], env);
    const mine = (xs: readonly string[]) => xs.map((x) => x === path ? "CONFIG" : x).sort();
    return { ...p, read: mine(p.read) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TESLA_OWNER = ["auth.tesla.cn:443", "auth.tesla.com:443", "owner-api.teslamotors.com:443"];
const TESLA_FLEET = [
  "fleet-api.prd.cn.vn.cloud.tesla.cn:443",
  "fleet-api.prd.eu.vn.cloud.tesla.com:443",
  "fleet-api.prd.na.vn.cloud.tesla.com:443",
  "fleet-auth.prd.vn.cloud.tesla.com:443",
];
const VOLVO = ["api.volvocars.com:443", "volvoid.eu.volvocars.com:443"];

Deno.test("permissions: poll may reach exactly its listen address, OTLP, weather and vendor hosts", async () => {
  const p = await planned("poll", []);
  assertEquals(
    p.net,
    [
      "0.0.0.0:9464",
      "192.168.1.50:4000",
      "api.open-meteo.com:443",
      ...VOLVO.slice(0, 1),
      ...TESLA_OWNER.slice(0, 2),
      ...TESLA_FLEET,
      "owner-api.teslamotors.com:443",
      ...VOLVO.slice(1),
    ].sort(),
  );
  assertEquals(
    p.read,
    ["/etc/ev-observer", "/etc/ev-observer/web.yml", "/var/lib/ev-observer", "CONFIG"].sort(),
  );
  assertEquals(p.write, ["/var/lib/ev-observer"]);
  assertEquals(p.run, []);
  // The standard OpenTelemetry variables move the push, and the permission with it.
  const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://otlp.example.net/v1/metrics" };
  const moved = await planned("poll", ["--listen", "127.0.0.1:9000"], env);
  assert(moved.net.includes("otlp.example.net:443"));
  assert(moved.net.includes("127.0.0.1:9000") && !moved.net.includes("0.0.0.0:9464"));
  // Finished sessions still go to GreptimeDB's SQL API; without sessions GreptimeDB is not
  // reached when OTLP goes elsewhere, nor with OTLP off.
  assert(moved.net.includes("192.168.1.50:4000"), moved.net.join(" "));
  const off = `${CONFIG}sessions: {enabled: false}\n`;
  const noSessions = await planned("poll", [], env, off);
  assert(!noSessions.net.includes("192.168.1.50:4000"), noSessions.net.join(" "));
  const noOtlp = await planned("poll", [], { OTEL_SDK_DISABLED: "true" });
  assert(noOtlp.net.includes("192.168.1.50:4000"), noOtlp.net.join(" "));
  const neither = await planned("poll", [], { OTEL_SDK_DISABLED: "true" }, off);
  assert(!neither.net.includes("192.168.1.50:4000"), neither.net.join(" "));
});

Deno.test("permissions: sessions reads the config and the database only, never the token store", async () => {
  const p = await planned("sessions", ["--csv", "--car", "123456"]);
  assertEquals(p.net, []);
  assertEquals(p.read, ["/var/lib/ev-observer/sessions.db", "CONFIG"]);
  assertEquals(p.write, ["/var/lib/ev-observer/sessions.db"]);
  assertEquals(p.run, []);
  const other = await planned("sessions", ["--db", "/backup/sessions.db"]);
  assertEquals(other.read, ["/backup/sessions.db", "CONFIG"]);
  assertEquals(other.write, ["/backup/sessions.db"]);
});

Deno.test("permissions: record, auth and replay get what their command needs, nothing of the others", async () => {
  const record = await planned("record", ["volvo", "--scenario", "commute"]);
  assertEquals(record.net, VOLVO);
  assertEquals(record.write, ["/var/lib/ev-observer", "fixtures/volvo/commute"]);

  const auth = await planned("auth", ["tesla", "--import-teslapy", "cache.json"]);
  assertEquals(
    auth.net,
    [...TESLA_OWNER, ...TESLA_FLEET, "127.0.0.1", "[::1]", "localhost"].sort(),
  );
  assertEquals(auth.read, ["/var/lib/ev-observer", "CONFIG", "cache.json"].sort());
  assertEquals(auth.write, ["/var/lib/ev-observer"]);
  assertEquals(auth.run, ["open", "xdg-open"]);

  const replay = await planned("replay", ["--fixtures", "mine.json"]);
  assertEquals(replay.net, ["0.0.0.0:9464", "127.0.0.1", "192.168.1.50:4000"]);
  assert(!replay.read.includes("/var/lib/ev-observer"), "replay never reads the token store");
  assertEquals(replay.write, []);

  const binary = await planned("binary", []);
  for (const host of [...TESLA_FLEET, ...VOLVO, "192.168.1.50:4000"]) {
    assert(binary.net.includes(host), host);
  }
  assertEquals(binary.write, ["/var/lib/ev-observer"]);
  assertEquals((await permissionsFor("catalog", [], {})).net, []);
});

Deno.test("launch: flags from a plan; names Deno's lists cannot hold are refused; stages", () => {
  const plan = parsePermissions(
    JSON.stringify({ net: ["a:1", "b"], read: [], write: ["s"], env: true, sys: [], run: [] }),
  );
  assertEquals(denoFlags(plan), ["--allow-net=a:1,b", "--allow-write=s", "--allow-env"]);
  assertStringIncludes(assertThrows(() => denoFlags({ ...plan, read: ["a,b"] })).message, "comma");
  assertStringIncludes(assertThrows(() => parsePermissions('{"net": "all"}')).message, "net");
  assertEquals(stageOf(["--stage=work", "--as=deno task", "poll", "-h"]), {
    stage: "work",
    invokedAs: "deno task",
    args: ["poll", "-h"],
  });
  assertEquals(stageOf(["poll", "--stage=work"]).stage, undefined, "only leading");
});

Deno.test("permissions: a streaming Tesla account may reach its broker and read its CA file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-plan-" });
  try {
    const path = `${dir}/config.yaml`;
    await Deno.writeTextFile(
      path,
      "accounts:\n  - provider: tesla\n    name: home\n    telemetry:\n" +
        "      broker_url: mqtts://mqtt.home.example\n      topic_base: telemetry\n" +
        "      ca_file: /etc/ev-observer/mqtt-ca.pem\n",
    );
    const p = await permissionsFor("poll", ["--config", path], {});
    assert(p.net.includes("mqtt.home.example:8883"), p.net.join(" "));
    assert(p.read.includes("/etc/ev-observer/mqtt-ca.pem"), p.read.join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
