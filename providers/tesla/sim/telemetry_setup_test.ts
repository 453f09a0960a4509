/**
 * `auth tesla --telemetry` against the simulated Fleet API behind a stand-in vehicle-command
 * proxy (HTTPS, its own CA): each state Tesla reports and each failure, in the words the owner
 * reads; then the config the car took drives the emulator, through a real Mosquitto, into the
 * consumer.
 */
import { VirtualClock } from "../../../core/clock.ts";
import { Http } from "../../../core/http.ts";
import { createLogger } from "../../../core/log.ts";
import { Readings } from "../../../core/readings.ts";
import type { SignInIO, SignInRequest } from "../../../core/sign_in.ts";
import { vehicleKey } from "../../../core/snapshot.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../../core/testing.ts";
import { recordFromGrant } from "../../../core/tokens.ts";
import { Mosquitto } from "../../../replay/mosquitto.ts";
import { teslaSignInPlan, teslaTokenStore } from "../identity.ts";
import { TeslaStream } from "../stream.ts";
import { DEFAULT_FIELDS, estimate } from "../telemetry_fields.ts";
import { runTelemetrySetup } from "../telemetry_setup.ts";
import { FakeTesla, type FakeTeslaOptions } from "./fake_api.ts";
import { FakeProxy } from "./fake_proxy.ts";
import { TelemetryPublisher } from "./publisher.ts";
import { teslaDay } from "./scenario.ts";
import { TelemetryEmulator } from "./telemetry.ts";

const day = teslaDay();
const VIN = day.vin;
const at = (h: number, m: number) => h * 3600 + m * 60;
/** 07:45: the morning drive, the car online. */
const DRIVING = at(7, 45);

interface Rig {
  fake: FakeTesla;
  proxy: FakeProxy;
  dir: string;
  lines: string[];
  request: SignInRequest;
  io: SignInIO;
  close(): Promise<void>;
}

async function rig(
  opts: {
    t?: number;
    telemetry?: FakeTeslaOptions["telemetry"];
    refuse?: { status: number; body: unknown };
    options?: SignInRequest["options"];
    answers?: string[];
    budget?: number;
    proxyUrl?: string;
    trustProxy?: boolean;
    /** The app's client is registered at the fake SSO (default true): refreshes work. */
    knownClient?: boolean;
  } = {},
): Promise<Rig> {
  const clock = new VirtualClock((day.startedAt + (opts.t ?? DRIVING)) * 1000, 0);
  const fake = new FakeTesla({
    clock,
    ...(opts.knownClient === false ? {} : { clients: [{ clientId: "ev-observer-test" }] }),
    ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
  });
  const proxy = await FakeProxy.start({
    upstream: fake.url,
    ...(opts.refuse ? { refuse: opts.refuse } : {}),
  });
  const dir = await Deno.makeTempDir({ prefix: "ev-telsetup-" });
  await Deno.writeTextFile(`${dir}/proxy.pem`, proxy.caPem);
  await Deno.writeTextFile(`${dir}/chain.pem`, proxy.caPem);
  const log = createLogger({ write: () => {} });
  const minted = fake.auth.mint();
  const nowS = clock.now() / 1000;
  const grant = {
    ...minted,
    obtained_at: nowS,
    expires_at: nowS + minted.expires_in,
  };
  await teslaTokenStore(dir, "home", log).save(
    recordFromGrant(grant, { api: "fleet", region: "eu", fleet_api_base_url: fake.url }),
  );
  const lines: string[] = [];
  const answers = [...opts.answers ?? []];
  const request: SignInRequest = {
    account: {
      provider: "tesla",
      name: "home",
      vehicles: [VIN],
      api: "fleet",
      client_id: "ev-observer-test",
      redirect_uri: "http://localhost:8123/callback",
      api_base_url: fake.url,
      fleet_auth_host: fake.url,
      telemetry: {
        broker_url: "mqtt://127.0.0.1:1883",
        server: { hostname: "telemetry.example.net", port: 4443, ca_file: `${dir}/chain.pem` },
        proxy: {
          url: opts.proxyUrl ?? proxy.url,
          ...(opts.trustProxy === false ? {} : { ca_file: `${dir}/proxy.pem` }),
        },
        ...(opts.budget !== undefined ? { budget_usd: opts.budget } : {}),
      },
    },
    label: "config.yaml accounts[0]",
    stateDir: dir,
    configPath: "config.yaml",
    env: {},
    http: new Http({ provider: "tesla" }),
    clock,
    log,
    location: false,
    options: opts.options ?? { yes: true },
  };
  const io: SignInIO = {
    print: (line) => lines.push(line),
    readLine: () => Promise.resolve(answers.shift()),
  };
  return {
    fake,
    proxy,
    dir,
    lines,
    request,
    io,
    async close() {
      await proxy.close();
      await fake.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const output = (r: Rig) => r.lines.join("\n");

function noFullVin(r: Rig) {
  assert(!output(r).includes(VIN), "the full VIN never reaches the output");
  assertStringIncludes(output(r), `…${VIN.slice(-6)}`);
}

Deno.test("telemetry setup: estimate printed, sent through the proxy, the car synced and paired", async () => {
  const r = await rig();
  try {
    const code = await runTelemetrySetup(r.request, r.io);
    assertEquals(code, 0, output(r));
    const text = output(r);
    assertStringIncludes(text, "signals a month");
    assertStringIncludes(text, "150,000 signals per $1");
    assertStringIncludes(text, "synced: the car uses this configuration");
    assertStringIncludes(text, "key_paired: this app's key is on the car");
    assertStringIncludes(text, "Tesla took the configuration for 1 of 1 car");
    // The estimate comes before anything is sent.
    assert(text.indexOf("Estimate:") < text.indexOf("Sent:"));
    assertEquals(r.proxy.requests, ["POST /api/1/vehicles/fleet_telemetry_config"]);
    const held = r.fake.telemetryConfig();
    assert(held, "the car holds the config");
    assertEquals(held.hostname, "telemetry.example.net");
    assertEquals(held.port, 4443);
    assertStringIncludes(held.ca ?? "", "BEGIN CERTIFICATE");
    assertEquals(held.fields, DEFAULT_FIELDS, "the default set fits the default $1");
    noFullVin(r);
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: asks first; anything but yes sends nothing", async () => {
  const r = await rig({ options: {}, answers: ["n"] });
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 1);
    assertStringIncludes(output(r), "Send it through the vehicle-command proxy at");
    assertStringIncludes(output(r), "Nothing was sent.");
    assertEquals(r.proxy.requests, []);
    assertEquals(r.fake.telemetryConfig(), undefined);
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: an asleep car is not synced yet, and is told how to wake it", async () => {
  const r = await rig({ t: at(3, 0) });
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 0, output(r));
    assertStringIncludes(output(r), "not synced yet: the car takes the configuration the next");
    assertEquals(r.fake.telemetryConfig(), undefined, "asleep: not adopted");
    assert(r.fake.telemetryConfig(DRIVING), "adopted once it is online");
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: key not paired → skipped missing_key, the pairing link and the Atom toggle", async () => {
  const r = await rig({ telemetry: { keyPaired: false } });
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 1);
    const text = output(r);
    assertStringIncludes(text, "Tesla took the configuration for 0 of 1 car");
    assertStringIncludes(text, "skipped (missing_key)");
    assertStringIncludes(text, "https://tesla.com/_ak/");
    assertStringIncludes(text, "Allow Third-Party App Data Streaming");
    assertStringIncludes(text, "Not done yet");
    noFullVin(r);
  } finally {
    await r.close();
  }
});

for (
  const [skip, words] of [
    ["unsupported_firmware", "2024.26 or newer"],
    ["unsupported_hardware", "cannot stream"],
    ["max_configs", "five apps already stream"],
  ] as const
) {
  Deno.test(`telemetry setup: skipped ${skip} is explained with its fix`, async () => {
    const r = await rig({ telemetry: { skip } });
    try {
      assertEquals(await runTelemetrySetup(r.request, r.io), 1);
      assertStringIncludes(output(r), `skipped (${skip})`);
      assertStringIncludes(output(r), words);
    } finally {
      await r.close();
    }
  });
}

Deno.test("telemetry setup: limit_reached and no config on the car", async () => {
  const r = await rig({ telemetry: { limitReached: true } });
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 1);
    assertStringIncludes(output(r), "limit_reached: this car holds as many streaming");
    assertStringIncludes(output(r), "holds no configuration of this app");
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: fleet_telemetry_errors in plain words, VINs shortened", async () => {
  const r = await rig({
    telemetry: {
      errors: [
        {
          name: "ev-observer-test",
          error_name: "cloud_manager_error",
          error: `webconnection error: dial tcp 203.0.113.7:4443: connect: network is ` +
            `unreachable vin=${VIN} cm_type=stream`,
          vin: VIN,
          created_at: "2026-03-10T07:44:00.123456789Z",
        },
        { name: "ev-observer-test", error: "x509: certificate signed by unknown authority" },
      ],
    },
  });
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 1);
    const text = output(r);
    assertStringIncludes(text, "could not reach telemetry.example.net:4443");
    assertStringIncludes(text, "port forwarding");
    assertStringIncludes(text, "could not verify telemetry.example.net:4443");
    assertStringIncludes(text, "telemetry.server.ca_file must be the full chain");
    noFullVin(r);
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: proxy down → says so and how to start it", async () => {
  const r = await rig({ proxyUrl: "https://127.0.0.1:1" });
  try {
    const err = await assertRejects(() => runTelemetrySetup(r.request, r.io));
    assertStringIncludes(err.message, "cannot reach the vehicle-command proxy at");
    assertStringIncludes(err.message, "docker compose --profile streaming up -d vehicle-command");
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: a proxy with an untrusted certificate → set proxy.ca_file", async () => {
  const r = await rig({ trustProxy: false });
  try {
    const err = await assertRejects(() => runTelemetrySetup(r.request, r.io));
    assertStringIncludes(err.message, "certificate this machine does not trust");
    assertStringIncludes(err.message, "telemetry.proxy.ca_file");
    assertEquals(r.fake.telemetryConfig(), undefined);
  } finally {
    await r.close();
  }
});

for (
  const [status, body, fix] of [
    [401, { response: null, error: "invalid bearer token", error_description: "" }, "run `"],
    [
      403,
      { response: null, error: "Account EXCEEDED_LIMIT", error_description: "" },
      "billing limit is reached",
    ],
    [403, { response: null, error: "unauthorized_client", error_description: "" }, "registered"],
    [
      400,
      { response: null, error: `invalid config for ${VIN}: hostname`, error_description: "" },
      "check telemetry.server",
    ],
  ] as const
) {
  Deno.test(`telemetry setup: the proxy answers ${status} (${body.error}) → the fix`, async () => {
    const r = await rig({ refuse: { status, body } });
    try {
      const err = await assertRejects(() => runTelemetrySetup(r.request, r.io));
      assertStringIncludes(err.message, `refused the configuration: HTTP ${status}`);
      assertStringIncludes(err.message, fix);
      assert(!err.message.includes(VIN), "no full VIN in the error");
    } finally {
      await r.close();
    }
  });
}

Deno.test("telemetry setup: the proxy refuses the token and the refresh fails → sign in again", async () => {
  const r = await rig({
    knownClient: false,
    refuse: { status: 401, body: { response: null, error: "invalid bearer token" } },
  });
  try {
    const err = await assertRejects(() => runTelemetrySetup(r.request, r.io));
    assertStringIncludes(err.message, "refused the token, and refreshing it failed");
    assertStringIncludes(
      err.message,
      "run `deno task auth tesla --account home --config config.yaml`",
    );
  } finally {
    await r.close();
  }
});

Deno.test("telemetry setup: a budget below the slowest set is refused naming budget_usd", async () => {
  const r = await rig({ budget: 0.001 });
  try {
    const err = await assertRejects(() => runTelemetrySetup(r.request, r.io));
    assertStringIncludes(err.message, "telemetry.budget_usd: $0.00 a month is too little");
    assertEquals(r.proxy.requests, []);
  } finally {
    await r.close();
  }
});

Deno.test("estimate: at or above what the emulator streams on the reference day, within 2×", () => {
  const e = new TelemetryEmulator({ scenario: day });
  e.range(0, day.duration);
  const perDay = estimate(DEFAULT_FIELDS, 1).perCar / 30.4;
  assert(perDay >= e.signals, `estimate ${perDay} under the emulator's ${e.signals}`);
  assert(perDay <= 2 * e.signals, `estimate ${perDay} over twice the emulator's ${e.signals}`);
});

Deno.test("auth --telemetry → the car takes the config → the emulator streams at its intervals → the consumer sees values", async () => {
  // A $0.30 budget stretches the default intervals.
  const r = await rig({ budget: 0.3 });
  const broker = await Mosquitto.start();
  const readings = new Readings();
  const stop = new AbortController();
  const stream = new TeslaStream({
    settings: { brokerUrl: broker.url, topicBase: "telemetry", silenceS: 1800, recheckS: 14400 },
    account: "home",
    vins: [VIN],
    readings,
    clock: new VirtualClock((day.startedAt + DRIVING) * 1000, 0),
    log: createLogger({ write: () => {} }),
    location: false,
    groupMs: 30,
  });
  const running = stream.run(stop.signal);
  const publisher = await TelemetryPublisher.connect(broker.url);
  try {
    assertEquals(await runTelemetrySetup(r.request, r.io), 0, output(r));
    assertStringIncludes(output(r), "× its intervals");
    const held = r.fake.telemetryConfig()!;
    const speedEvery = held.fields.VehicleSpeed.interval_seconds;
    assert(speedEvery > DEFAULT_FIELDS.VehicleSpeed.interval_seconds, `${speedEvery}`);

    const emulator = new TelemetryEmulator({
      scenario: day,
      config: (t) => r.fake.telemetryConfig(t),
    });
    const before = emulator.range(at(7, 0), DRIVING); // asleep until 7:xx, or no config yet
    assertEquals(before.filter((m) => m.topic.includes("/v/")).length, 0, "nothing before");
    const messages = emulator.range(DRIVING, DRIVING + 120);
    const speeds = messages.filter((m) => m.topic.endsWith("/v/VehicleSpeed")).map((m) => m.t);
    assert(speeds.length >= 2, `${speeds.length} speeds`);
    for (let i = 1; i < speeds.length; i++) {
      assert(speeds[i] - speeds[i - 1] >= speedEvery, "the config's interval is honoured");
    }
    const until = async (ok: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error("timed out");
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    await until(() => stream.connected);
    await publisher.publish(messages);
    const key = vehicleKey({ provider: "tesla", vin: VIN });
    await until(() =>
      readings.vehicles.get(key)?.snapshot?.samples.some((s) => s.metric === "ev.drive.speed") ??
        false
    );
  } finally {
    stop.abort();
    await running.catch(() => {});
    await publisher.close();
    await broker.stop();
    await r.close();
  }
});

Deno.test("--yes, --proxy and --proxy-ca without --telemetry are refused, not ignored", async () => {
  const r = await rig();
  try {
    for (const options of [{ yes: true }, { proxy: "https://localhost:1" }, { "proxy-ca": "x" }]) {
      let message = "";
      try {
        teslaSignInPlan({ ...r.request, options });
      } catch (e) {
        message = (e as Error).message;
      }
      assertStringIncludes(message, "goes with --telemetry");
    }
  } finally {
    await r.close();
  }
});
