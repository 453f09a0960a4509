/**
 * `deno task auth tesla --telemetry` as the owner runs it: the task's command line in a child
 * process with the permissions computed for its config and flags (the proxy's host and the
 * certificates join only with --telemetry), against the simulated Fleet API behind a stand-in
 * vehicle-command proxy.
 */
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { recordFromGrant } from "../core/tokens.ts";
import { permissionsFor, urlHost } from "../app/permissions.ts";
import { teslaTokenStore } from "../providers/tesla/identity.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { FakeProxy } from "../providers/tesla/sim/fake_proxy.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { taskCommand } from "./testing_task.ts";

const day = teslaDay();

async function setup() {
  const clock = new VirtualClock((day.startedAt + 7 * 3600 + 45 * 60) * 1000, 0);
  const fake = new FakeTesla({ clock, clients: [{ clientId: "ev-observer-test" }] });
  const proxy = await FakeProxy.start({ upstream: fake.url });
  const dir = await Deno.makeTempDir({ prefix: "auth-telemetry-" });
  await Deno.mkdir(`${dir}/certs`);
  await Deno.writeTextFile(`${dir}/certs/proxy.pem`, proxy.caPem);
  await Deno.writeTextFile(`${dir}/certs/chain.pem`, proxy.caPem);
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `state_dir: state
accounts:
  - provider: tesla
    name: home
    api: fleet
    client_id: ev-observer-test
    redirect_uri: http://localhost:8123/callback
    api_base_url: ${fake.url}
    fleet_auth_host: ${fake.url}
    vehicles: [${day.vin}]
    telemetry:
      broker_url: mqtt://127.0.0.1:1883
      server: { hostname: telemetry.example.net, port: 4443, ca_file: certs/chain.pem }
      proxy: { url: ${proxy.url}, ca_file: certs/proxy.pem }
`,
  );
  // A stored sign-in: valid by the fake's clock, and not due for a refresh by the real one.
  const minted = fake.auth.mint();
  const nowS = Math.floor(Date.now() / 1000);
  await teslaTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} })).save(
    recordFromGrant({ ...minted, obtained_at: nowS, expires_at: nowS + 28_800 }, {
      api: "fleet",
      region: "eu",
      fleet_api_base_url: fake.url,
    }),
  );
  return {
    fake,
    proxy,
    dir,
    async close() {
      await proxy.close();
      await fake.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("auth tesla --telemetry --yes: runs with the proxy and certificates allowed, reports synced", async () => {
  const s = await setup();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskCommand("auth"),
        "tesla",
        "--telemetry",
        "--yes",
        "--config",
        "config.yaml",
      ],
      cwd: s.dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `${stdout}\n${stderr}`);
    assertStringIncludes(stdout, "Estimate: ≈");
    assertStringIncludes(stdout, "synced: the car uses this configuration");
    assert(!(stdout + stderr).includes(day.vin), "no full VIN printed");
    assertEquals(s.proxy.requests, ["POST /api/1/vehicles/fleet_telemetry_config"]);
    assert(s.fake.telemetryConfig(), "the car took the config");
  } finally {
    await s.close();
  }
});

Deno.test("auth permissions: the proxy host and the certificates only with --telemetry", async () => {
  const s = await setup();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(s.dir);
    const plain = await permissionsFor("auth", ["tesla", "--config", "config.yaml"], {});
    const setupRun = await permissionsFor(
      "auth",
      ["tesla", "--telemetry", "--config", "config.yaml"],
      {},
    );
    const proxyHost = urlHost(s.proxy.url);
    assert(!plain.net.includes(proxyHost), "sign-in alone does not reach the proxy");
    assert(!plain.read.includes("certs/proxy.pem"));
    assert(setupRun.net.includes(proxyHost), `${setupRun.net}`);
    assert(setupRun.read.includes("certs/proxy.pem") && setupRun.read.includes("certs/chain.pem"));
    const flagged = await permissionsFor("auth", [
      "tesla",
      "--telemetry",
      "--proxy",
      "https://proxy.example.net:4443",
      "--proxy-ca",
      "other.pem",
      "--config",
      "config.yaml",
    ], {});
    assert(flagged.net.includes("proxy.example.net:4443") && !flagged.net.includes(proxyHost));
    assert(flagged.read.includes("other.pem") && !flagged.read.includes("certs/proxy.pem"));
    // The compiled binary carries its config's permissions for every command, --telemetry too.
    const binary = await permissionsFor("binary", ["--config", "config.yaml"], {});
    assert(binary.net.includes(proxyHost) && binary.read.includes("certs/proxy.pem"));
  } finally {
    Deno.chdir(cwd);
    await s.close();
  }
});
