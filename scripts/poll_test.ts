/**
 * `deno task poll` end to end, in a child process with the task's own permissions, in a temp
 * directory that plays the project directory: the simulated Tesla on loopback, the token
 * store `deno task auth` leaves behind, /metrics, and a clean stop on SIGTERM.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { realClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { teslaTokenStore } from "../providers/tesla/identity.ts";
import { defaultScopes } from "../providers/volvo/api.ts";
import { FAKE_API_KEY, FakeVolvo } from "../providers/volvo/sim/fake_api.ts";
import { FAKE_CLIENT } from "../providers/volvo/sim/fake_auth.ts";
import { volvoTokenStore } from "../providers/volvo/identity.ts";
import { FakeWeather } from "../enrich/testdata/fake_weather.ts";
import { freeLoopbackPort, taskCommand } from "./testing_task.ts";

/** `deno task poll` from `cwd`: the launcher, and poll with the permissions of its config. */
function spawn(cwd: string, args: string[], env: Record<string, string>) {
  return taskCommand("poll").then((task) =>
    new Deno.Command(Deno.execPath(), {
      args: [...task, ...args],
      cwd,
      env: { NO_COLOR: "1", EV_TESLA_ACCESS_TOKEN: "", ...env },
      stdout: "piped",
      stderr: "piped",
    }).spawn()
  );
}

/** Polls /metrics until `want` shows up (or a few seconds pass) and returns the last text. */
async function scrape(port: number, want: string): Promise<string> {
  let text = "";
  for (let i = 0; i < 100 && !text.includes(want); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
  }
  return text;
}

const SLEEPING = 'ev_poll_state{provider="tesla",vin="5YJ3E1EA9PF000001",state="sleeping"} 1';

Deno.test("deno task poll: signed in by the token store, polls, exports, stops on SIGTERM", async () => {
  const fake = new FakeTesla({ clock: realClock });
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    // What `deno task auth tesla` leaves behind.
    const signedIn = fake.signIn();
    await teslaTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} })).save(signedIn);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n` +
        `    auth_host: ${fake.url}\n    budget: { requests_per_day: 500 }\n`,
    );
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    let stderr = "";
    try {
      const text = await scrape(port, SLEEPING);
      assertStringIncludes(text, SLEEPING);
      assertStringIncludes(
        text,
        'ev_api_billable_requests_total{provider="tesla",account="home",category="data"} 2',
      );
      assertStringIncludes(text, 'ev_api_budget_remaining{provider="tesla",account="home"} 448');
      assertStringIncludes(
        text,
        `ev_token_expiry_timestamp_seconds{provider="tesla",account="home"} ${signedIn.expires_at}`,
      );
      assertEquals(fake.billing.data, 2, "products, then one summary: asleep, no vehicle_data");
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
    }
    assertStringIncludes(stderr, "stopped");
    assert(!stderr.includes(signedIn.access_token), "the token never reaches a log line");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll: a static token from the environment, for proxies and tests", async () => {
  const fake = new FakeTesla({ clock: realClock });
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n`,
    );
    const token = fake.auth.mint().access_token;
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {
      EV_TESLA_ACCESS_TOKEN: token,
    });
    try {
      assertStringIncludes(await scrape(port, SLEEPING), SLEEPING);
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    }
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll with no sign-in names the command to run, and keeps serving", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, "accounts:\n  - provider: tesla\n");
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    const text = await scrape(port, "ev_vehicle_info");
    child.kill("SIGTERM");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(text, "# TYPE ev_poll_state gauge", "/metrics answers meanwhile");
    assertStringIncludes(stderr, "sign-in needed");
    assertStringIncludes(stderr, "auth tesla");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** What `deno task auth volvo` leaves behind, and the account's config entry. */
async function volvoSignedIn(fake: FakeVolvo, dir: string, account: string, location: boolean) {
  const scopes = defaultScopes(location);
  const minted = fake.auth.mint(scopes);
  const now = Math.floor(Date.now() / 1000);
  await volvoTokenStore(`${dir}/state`, account, createLogger({ write: () => {} })).save({
    access_token: minted.access_token as string,
    refresh_token: minted.refresh_token as string,
    expires_at: now + (minted.expires_in as number),
    obtained_at: now,
    token_type: "Bearer",
    extra: { scopes },
  });
  return `  - provider: volvo\n    name: ${account}\n    vcc_api_key: ${FAKE_API_KEY}\n` +
    `    client_id: ${FAKE_CLIENT.clientId}\n    client_secret: ${FAKE_CLIENT.clientSecret}\n` +
    `    redirect_uri: ${FAKE_CLIENT.redirectUris[0]}\n` +
    `    auth_host: ${fake.url}\n    api_base_url: ${fake.url}\n`;
}

Deno.test("deno task poll: two Volvo accounts on one API key share its budget", async () => {
  const fake = new FakeVolvo({ clock: realClock });
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    const family = await volvoSignedIn(fake, dir, "family", false);
    const work = await volvoSignedIn(fake, dir, "work", false);
    await Deno.writeTextFile(`${dir}/config.yaml`, `accounts:\n${family}${work}`);
    await Deno.chmod(`${dir}/config.yaml`, 0o600);
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    try {
      const remaining = (text: string, account: string) =>
        Number(
          new RegExp(`ev_api_budget_remaining\\{provider="volvo",account="${account}"\\} (\\d+)`)
            .exec(text)?.[1],
        );
      // One key: 10,000 a day minus the 10 % margin, minus every request of both accounts.
      // Each account's gauge is set after its own polls: the later one has seen all 30
      // requests, the earlier one already some of the other account's.
      let text = "";
      const gauges = () => [remaining(text, "family"), remaining(text, "work")];
      for (let i = 0; i < 100; i++) {
        text = await scrape(port, "ev_api_budget_remaining");
        if (fake.usage().total >= 30 && Math.min(...gauges()) === 9000 - 30) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(fake.usage().total, 30, "both first reads: the list and 14 endpoints each");
      assertEquals(Math.min(...gauges()), 9000 - 30);
      assert(Math.max(...gauges()) < 9000 - 15, `${gauges()}: not one budget per account`);
      assertStringIncludes(text, 'ev_poll_state{provider="volvo"');
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    }
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll: weather at a Volvo's position, from the configured source", async () => {
  const fake = new FakeVolvo({ clock: realClock });
  const sky = new FakeWeather();
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    const family = await volvoSignedIn(fake, dir, "family", true);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `location: true\nweather:\n  source: open-meteo\n  url: ${sky.url}\naccounts:\n${family}`,
    );
    await Deno.chmod(`${dir}/config.yaml`, 0o600);
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    try {
      const text = await scrape(port, "ev_weather_temperature_celsius{");
      assertStringIncludes(
        text,
        `ev_weather_temperature_celsius{provider="volvo",vin="${fake.cars[0].vin}"} 4.6`,
      );
      assertStringIncludes(
        text,
        'ev_api_requests_total{provider="weather",endpoint="/v1/forecast"',
      );
      assertEquals(sky.requests.length, 1);
      // The Kattegat demo place, rounded to 0.01° before it left the machine.
      assertEquals(sky.requests[0].searchParams.get("latitude"), "57.30");
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    }
  } finally {
    await Promise.all([fake.shutdown(), sky.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task poll: an account with no vehicle keeps the exporter serving and names the account", async () => {
  const fake = new FakeVolvo({ clock: realClock, cars: [] });
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  try {
    const empty = await volvoSignedIn(fake, dir, "empty", false);
    await Deno.writeTextFile(`${dir}/config.yaml`, `accounts:\n${empty}`);
    await Deno.chmod(`${dir}/config.yaml`, 0o600);
    const port = freeLoopbackPort();
    const child = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    let exited = false;
    const status = child.status.then((s) => (exited = true, s));
    try {
      const listed = 'endpoint="/connected-vehicle/v2/vehicles",status="200"';
      assertStringIncludes(await scrape(port, listed), listed);
      await new Promise((r) => setTimeout(r, 1000));
      assert(!exited, "the exporter is still running after listing no vehicle");
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assertEquals([health.status, await health.text()], [200, "ok\n"]);
    } finally {
      if (!exited) child.kill("SIGTERM");
    }
    const out = await child.output();
    assertEquals((await status).code, 0);
    const stderr = new TextDecoder().decode(out.stderr);
    assert(
      stderr.split("\n").some((l) =>
        l.includes("level=warn") && l.includes("no vehicle") && l.includes("account=empty")
      ),
      stderr,
    );
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A clock whose time the test moves: the simulated car's day, the poller's wall time apart. */
function movableClock(at: number) {
  let offset = at * 1000 - Date.now();
  return {
    clock: { now: () => Date.now() + offset, sleep: realClock.sleep },
    moveTo: (t: number) => (offset = t * 1000 - Date.now()),
  };
}

const SOC = /^ev_battery_level_ratio\{provider="tesla",[^}]*\} ([\d.]+)$/m;
const SAMPLE_AT = /^ev_last_sample_timestamp_seconds\{provider="tesla",[^}]*\} ([\d.]+)$/m;

Deno.test("deno task poll: killed while charging, restarted while the car sleeps, serves the last charge at once", async () => {
  const { clock, moveTo } = movableClock(0);
  const fake = new FakeTesla({ clock });
  const day = fake.scenario;
  moveTo(day.startedAt + day.charges[0].start + 1800); // half an hour into the evening charge
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-" });
  const file = `${dir}/state/last_known.json`;
  const port = freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  try {
    const minted = fake.auth.mint();
    const now = Math.floor(Date.now() / 1000);
    await teslaTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} })).save({
      access_token: minted.access_token,
      refresh_token: minted.refresh_token,
      expires_at: now + 10 * 86400,
      obtained_at: now,
      token_type: "Bearer",
      extra: { api: "owner" },
    });
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n` +
        `    auth_host: ${fake.url}\n`,
    );

    // First run: the car is read while charging, and the reading reaches the disk.
    const first = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    let soc = NaN;
    let sampledAt = NaN;
    try {
      const text = await scrape(port, 'state="charging"} 1');
      assertStringIncludes(
        text,
        'ev_charging_state{provider="tesla",vin="5YJ3E1EA9PF000001",state="charging"} 1',
      );
      soc = Number(SOC.exec(text)?.[1]);
      sampledAt = Number(SAMPLE_AT.exec(text)?.[1]);
      assert(soc > 0.4 && soc < 0.8, `charging from 40 % to 80 %: ${soc}`);
      for (let i = 0; i < 100; i++) {
        const saved = await Deno.readTextFile(file).then(JSON.parse).catch(() => undefined);
        if (saved?.vehicles?.[0]?.lastSampleAt === sampledAt) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assertEquals(JSON.parse(await Deno.readTextFile(file)).vehicles[0].lastSampleAt, sampledAt);
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    } finally {
      first.kill("SIGKILL");
      await first.output();
    }

    // Hours later the car sleeps; the exporter starts again.
    moveTo(day.startedAt + 23.5 * 3600);
    const reads = () => fake.answers.get("GET /api/1/vehicles/{id}/vehicle_data 200") ?? 0;
    const readsBefore = reads();
    const started = performance.now();
    const second = await spawn(dir, ["--listen", `127.0.0.1:${port}`], {});
    let stderr = "";
    try {
      // The very first answer of /metrics and of the status page already carry the values.
      let text = "";
      while (!text && performance.now() - started < 20_000) {
        text = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => "");
        if (!text) await new Promise((r) => setTimeout(r, 20));
      }
      const served = performance.now();
      const status = await (await fetch(`${url}/status.json`)).json();
      const seen = performance.now();
      assertEquals(Number(SOC.exec(text)?.[1]), soc, "the last charge, on the first scrape");
      assertEquals(Number(SAMPLE_AT.exec(text)?.[1]), sampledAt, "with its old sample time");
      assertEquals(status.vehicles[0].soc, soc, "and on the status page");
      assertEquals(status.vehicles[0].lastSampleAt, sampledAt);
      assert(seen - served < 1000, `status page ${Math.round(seen - served)} ms after /metrics`);
      console.log(`restart: first /metrics answer ${Math.round(served - started)} ms after spawn`);
      // The first check finds it asleep: state asleep, values kept, no read that would wake it.
      const asleep = await scrape(
        port,
        'ev_vehicle_state{provider="tesla",vin="5YJ3E1EA9PF000001",state="asleep"} 1',
      );
      assertStringIncludes(asleep, 'state="asleep"} 1');
      assertEquals(Number(SOC.exec(asleep)?.[1]), soc);
      assertEquals(Number(SAMPLE_AT.exec(asleep)?.[1]), sampledAt);
      assertEquals(reads(), readsBefore, "no vehicle_data for a sleeping car");
    } finally {
      second.kill("SIGTERM");
      const out = await second.output();
      stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
    }
    assertStringIncludes(stderr, "restored last known values");
    assertStringIncludes(stderr, "vehicles=1");
    assertStringIncludes(stderr, 'mode=charging why="resumed from the saved state"');
    assert(!stderr.includes("5YJ3E1EA9PF000001"), "no VIN in the log");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
