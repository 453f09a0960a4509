/**
 * `deno task record` end to end: a child process with the task's own permissions polls the
 * simulated Tesla with a planted token, writes a redacted cassette, and the cassette replays.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { isValidVin } from "../replay/vin.ts";
import { parseDuration } from "./record.ts";
import { projectRoot, taskArgs, taskCommand } from "./testing_task.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("record: durations", () => {
  assertEquals(parseDuration("90s"), 90);
  assertEquals(parseDuration("1h30m"), 5400);
  assertEquals(parseDuration("120"), 120);
});

Deno.test("deno task record: a redacted cassette that replays, with no planted secret in it", async () => {
  const day = teslaDay();
  // The simulated car is charging: online, so full reads happen at once.
  const clock = new VirtualClock((day.startedAt + 20 * 3600) * 1000, 1);
  const fake = new FakeTesla({ clock });
  const dir = await Deno.makeTempDir({ prefix: "ev-record-" });
  try {
    const token = fake.auth.mint().access_token;
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskCommand("record"),
        "tesla",
        "--scenario",
        "evening",
        "--cycles",
        "1",
        "--duration",
        "60s",
      ],
      cwd: dir,
      env: { NO_COLOR: "1", EV_TESLA_ACCESS_TOKEN: token, EV_LOG_LEVEL: "debug" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = decode(out.stdout);
    const stderr = decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(stdout, "fixtures/tesla/evening/cassette.json");
    const path = `${dir}/fixtures/tesla/evening/cassette.json`;
    const text = await Deno.readTextFile(path);
    const cassette = await loadCassette(path);
    assert(cassette.exchanges.some((e) => e.request.path.endsWith("/vehicle_data")), "full reads");
    for (const secret of [token, encodeURIComponent(token), day.vin, day.idS]) {
      assert(!text.includes(secret), "a planted secret or identity survived in the cassette");
      const at = (stderr + stdout).indexOf(secret);
      assert(
        at < 0,
        `…or in the output: ${
          (stderr + stdout).slice(at - 30, at + 400).replaceAll(secret, "<S>")
        }`,
      );
    }
    const vins = [...text.matchAll(/"vin":\s*"([A-Z0-9]{17})"/g)].map((m) => m[1]);
    assert(vins.length > 0 && vins.every(isValidVin), "fake VINs with valid check digits");
    assertEquals(new Set(vins).size, 1, "one stable placeholder for the one car");

    // The replay task may read the project only: play a copy from test-output/.
    await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
    const copy = `test-output/recorded-${crypto.randomUUID()}.json`;
    await Deno.copyFile(path, `${projectRoot}${copy}`);
    const replay = await new Deno.Command(Deno.execPath(), {
      args: [...await taskArgs("replay"), "--once", "--print", "--fixtures", copy],
      cwd: projectRoot,
      env: { EV_LOG_LEVEL: "warn" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(`${projectRoot}${copy}`);
    assertEquals(replay.code, 0, decode(replay.stderr));
    assertStringIncludes(decode(replay.stdout), 'ev_charging_state{provider="tesla"');
    assertStringIncludes(decode(replay.stdout), "ev_battery_level_ratio{");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task record: a stop signalled twice (process group + forwarder) still saves the capture", async () => {
  const day = teslaDay();
  const clock = new VirtualClock((day.startedAt + 20 * 3600) * 1000, 1);
  const fake = new FakeTesla({ clock });
  const dir = await Deno.makeTempDir({ prefix: "ev-record-stop-" });
  try {
    const token = fake.auth.mint().access_token;
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskCommand("record"),
        "tesla",
        "--scenario",
        "stopped",
        "--duration",
        "10m",
      ],
      cwd: dir,
      env: { NO_COLOR: "1", EV_TESLA_ACCESS_TOKEN: token },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    // Wait for a full read, then stop it the way `timeout` or systemd does through deno task:
    // the signal arrives twice within milliseconds.
    for (let i = 0; i < 200 && fake.served.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGTERM");
    child.kill("SIGTERM");
    const out = await output;
    const stderr = decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const cassette = await loadCassette(`${dir}/fixtures/tesla/stopped/cassette.json`);
    assert(cassette.exchanges.some((e) => e.request.path.endsWith("/vehicle_data")), stderr);
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
