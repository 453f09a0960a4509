/**
 * Secrets end to end, for each vendor: `deno task auth <vendor>` (client secret, PKCE,
 * loopback callback) and then `deno task poll`, both as child processes with their tasks'
 * permissions and EV_LOG_LEVEL=debug, against the simulated vendor (Tesla's Fleet API, or
 * Volvo ID and the Connected Vehicle and Energy APIs with a planted API key), which meanwhile
 * answers a 401 in the middle of the session (a refresh follows), a storm of 500s and a 429.
 * Every secret the test planted or saw on the wire (access, refresh and id tokens, the
 * authorization code, the PKCE verifier, the client secret, the VIN, the e-mail, the exact home
 * coordinates) is searched for in all the output, raw and base64- and URL-encoded: none may
 * appear. The e-mail goes in as
 * `--login-hint`, which puts it in the printed sign-in address by design; it may appear there
 * only. Also: token files 0600 in a 0700 folder, and no location on /metrics by default.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { realClock, VirtualClock } from "../core/clock.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { FakeVolvo } from "../providers/volvo/sim/fake_api.ts";
import { AUTHORIZE_PATH, TOKEN_PATH } from "../providers/volvo/sim/fake_auth.ts";
import { followAuthorize } from "../replay/fake_oauth.ts";
import { fleetId, fleetVin, renamed } from "../providers/tesla/sim/fake_fleet.ts";
import { DAY_START } from "../providers/tesla/sim/scenario.ts";
import { FaultPlan, faults, withFaults } from "../replay/faults.ts";
import { freeLoopbackPort, taskCommand, waitFor } from "./testing_task.ts";

const CLIENT_ID = "security-test-app";
const CLIENT_SECRET = "cs-planted-Zq8vK2mX7wLp4N";
const EMAIL = "planted.driver@example.org";
const VIN = fleetVin(424242);
const ID = fleetId(424242);
/** Where the car is parked and driven from: exact, and nowhere near the demo's places. */
const HOME = { latitude: 47.376887, longitude: 8.541694 };

/** A task run in `cwd`, with everything it prints collected. */
async function start(task: string, cwd: string, args: string[], env = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await taskCommand(task), ...args],
    cwd,
    env: { NO_COLOR: "1", EV_LOG_LEVEL: "debug", EV_TESLA_ACCESS_TOKEN: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { stdout: "", stderr: "" };
  const pump = async (s: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) out[key] += chunk;
  };
  const done = Promise.all([pump(child.stdout, "stdout"), pump(child.stderr, "stderr")]);
  return {
    out,
    child,
    async finish() {
      const status = await child.status;
      await done;
      return status;
    },
  };
}

/** Every form a secret may leak in. */
function encodings(secret: string): string[] {
  const b64 = btoa(secret);
  const b64url = b64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return [...new Set([secret, encodeURIComponent(secret), b64.replace(/=+$/, ""), b64url])];
}

/** The simulated Tesla on loopback, renamed, with a home, faults, and its secrets noted. */
function simulatedTesla(callback: string, plan: FaultPlan) {
  const clock = new VirtualClock((DAY_START + 7 * 3600 + 40 * 60) * 1000, 1); // driving
  const fake = new FakeTesla({
    clock,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [callback] }],
  }, false);
  const seen = new Set<string>();
  const note = (v: string | null | undefined) => v && seen.add(v);
  const inner = renamed((req) => fake.handle(req), VIN, ID);
  let base = "";
  const handler = withFaults(plan, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/oauth2/v3/token") {
      const text = await req.text(); // read, then passed on (clone() would touch req.signal)
      const form = new URLSearchParams(text);
      for (const key of ["code", "code_verifier", "client_secret", "refresh_token"]) {
        note(form.get(key));
      }
      req = new Request(req.url, { method: req.method, headers: req.headers, body: text });
    }
    const res = await inner(req);
    const location = res.headers.get("location");
    if (location) note(new URL(location).searchParams.get("code"));
    if (!(res.headers.get("content-type") ?? "").includes("json")) return res;
    // The fake does not know the address it is served on.
    const body = JSON.parse((await res.text()).replaceAll("http://fake-tesla.invalid", base));
    if (url.pathname === "/oauth2/v3/token" && body.access_token) {
      // A real id token carries the e-mail: plant it there.
      const claims = btoa(JSON.stringify({ email: EMAIL, sub: "planted-user" }));
      body.id_token = `eyJhbGciOiJSUzI1NiJ9.${claims.replace(/=+$/, "")}.c2lnbmF0dXJl`;
      for (const key of ["access_token", "refresh_token", "id_token"]) note(body[key]);
    }
    const ds = body.response?.drive_state;
    if (ds) {
      // Sent whether or not location_data was asked for (older firmware did).
      Object.assign(ds, HOME, { native_latitude: HOME.latitude, native_longitude: HOME.longitude });
    }
    return Response.json(body, { status: res.status, headers: res.headers });
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  base = `http://127.0.0.1:${server.addr.port}`;
  return { fake, url: base, seen, close: () => server.shutdown() };
}

Deno.test("auth + poll + faults at debug level: no token, code, verifier, secret, VIN, e-mail or home in any output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-security-" });
  const callback = `http://127.0.0.1:${freeLoopbackPort()}/callback`;
  const DATA = "/api/1/vehicles/*/vehicle_data";
  const plan = new FaultPlan([
    {
      name: "401",
      path: DATA,
      nth: [3],
      fault: faults.status(401, { error: "token expired (401)" }),
    },
    { name: "500 storm", path: DATA, nth: [5, 6, 7, 8], fault: faults.status(500) },
    { name: "429", path: DATA, nth: [10], fault: faults.rateLimited(1) },
  ]);
  const tesla = simulatedTesla(callback, plan);
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:
  - provider: tesla
    name: home
    api: fleet
    client_id: ${CLIENT_ID}
    client_secret_env: TEST_TESLA_CLIENT_SECRET
    redirect_uri: ${callback}
    auth_host: ${tesla.url}
    fleet_auth_host: ${tesla.url}
    api_base_url: ${tesla.url}
    budget: { requests_per_day: 1000000 } # a Fleet account's default ($10) would slow this run
polling: { driving_s: 0.25, online_s: 0.25, charging_min_s: 0.25, backoff_s: 0.2, max_backoff_s: 0.5 }
`,
    );
    await Deno.chmod(`${dir}/config.yaml`, 0o600);

    // Sign in: the browser follows the printed address to the loopback callback.
    const auth = await start("auth", dir, [
      "tesla",
      "--config",
      "config.yaml",
      "--no-browser",
      "--login-hint",
      EMAIL,
    ], { TEST_TESLA_CLIENT_SECRET: CLIENT_SECRET });
    const authorize = await waitFor("the sign-in address", () => {
      const m = auth.out.stdout.match(/(http:\/\/127\.0\.0\.1:\d+\/oauth2\/v3\/authorize\?\S+)/);
      return Promise.resolve(m?.[1]);
    });
    const redirect = await fetch(authorize, { redirect: "manual" });
    await redirect.body?.cancel();
    const landed = await fetch(redirect.headers.get("location")!);
    await landed.body?.cancel();
    assertEquals((await auth.finish()).code, 0, auth.out.stderr);
    const tokenFile = `${dir}/state/tokens/tesla-home.json`;
    assertEquals((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/state/tokens`)).mode! & 0o777, 0o700);

    // Poll through the faults until every one was met and the car is read again.
    const port = freeLoopbackPort();
    const poll = await start("poll", dir, [
      "--config",
      "config.yaml",
      "--listen",
      `127.0.0.1:${port}`,
    ], { TEST_TESLA_CLIENT_SECRET: CLIENT_SECRET });
    let exited = false;
    poll.child.status.then(() => (exited = true));
    let metrics = "";
    try {
      for (let i = 0; plan.injected.length < 6 || tesla.fake.served.length < 6; i++) {
        if (exited || i > 300) throw new Error(`poll stopped or stalled:\n${poll.out.stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      if (!exited) poll.child.kill("SIGTERM");
    }
    assertEquals((await poll.finish()).code, 0, poll.out.stderr);
    assertEquals(tesla.fake.auth.counts.refreshes, 1, "the 401 was answered by one refresh");
    assertEquals((await Deno.stat(tokenFile)).mode! & 0o777, 0o600, "still 0600 after refresh");
    assertEquals(tesla.fake.unexpected, []);

    // The run did what it should, at debug level.
    const logs = poll.out.stderr;
    assertStringIncludes(logs, "level=debug");
    assertStringIncludes(logs, 'msg="poll failed"');
    assertStringIncludes(logs, "kind=server");
    assertStringIncludes(logs, "kind=rate_limited");
    assertStringIncludes(metrics, 'ev_api_requests_total{provider="tesla",endpoint=');
    assertStringIncludes(metrics, 'status="500"} 4');
    // Location is off by default: the coordinates the car sent go nowhere.
    assert(!metrics.includes("ev_location_"), "no location series");

    const secrets = new Map<string, string>([
      ["client secret", CLIENT_SECRET],
      ["client credentials", `${CLIENT_ID}:${CLIENT_SECRET}`],
      ["VIN", VIN],
      ["e-mail", EMAIL],
      ["home latitude", String(HOME.latitude)],
      ["home longitude", String(HOME.longitude)],
    ]);
    for (const s of tesla.seen) secrets.set(`a token or code (${s.slice(0, 8)}…)`, s);
    // The code, the verifier, and access, refresh and id tokens of the sign-in and the refresh.
    assert(tesla.seen.size >= 8, `saw ${tesla.seen.size} wire secrets`);
    // The sign-in address carries the e-mail by design (--login-hint): only there.
    const authOut = (auth.out.stdout + auth.out.stderr).replaceAll(authorize, "<sign-in address>");
    const outputs: [string, string][] = [
      ["auth", authOut],
      ["poll", poll.out.stdout + poll.out.stderr],
      ["/metrics", metrics.replaceAll(`vin="${VIN}"`, 'vin="<the VIN label>"')],
    ];
    const leaks: string[] = [];
    for (const [what, secret] of secrets) {
      for (const form of encodings(secret)) {
        for (const [where, text] of outputs) {
          if (text.includes(form)) {
            leaks.push(`${what} in ${where} output (as "${form.slice(0, 8)}…")`);
          }
        }
      }
    }
    assertEquals(leaks, []);
  } finally {
    await tesla.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every encoded form of every secret found in any of `outputs`, named. */
function leaks(secrets: Map<string, string>, outputs: [string, string][]): string[] {
  const found: string[] = [];
  for (const [what, secret] of secrets) {
    for (const form of encodings(secret)) {
      for (const [where, text] of outputs) {
        if (text.includes(form)) {
          found.push(`${what} in ${where} output (as "${form.slice(0, 8)}…")`);
        }
      }
    }
  }
  return found;
}

const VOLVO_CLIENT_ID = "security-test-volvo-app";
const VOLVO_CLIENT_SECRET = "vcs-planted-Hq3nR8tLw5Xe2";
const VOLVO_API_KEY = "vak-planted-6cJ9pQ2mZt4K";
const VOLVO_401 = await Deno.readTextFile(
  new URL("../providers/volvo/testdata/error.401-unauthorized.json", import.meta.url),
);

/** The simulated Volvo on loopback with a planted client secret and API key, faults, noted secrets. */
function simulatedVolvo(callback: string, plan: FaultPlan) {
  const fake = new FakeVolvo({
    clock: realClock,
    client: {
      clientId: VOLVO_CLIENT_ID,
      clientSecret: VOLVO_CLIENT_SECRET,
      redirectUris: [callback],
    },
    apiKeys: [VOLVO_API_KEY],
  }, false);
  const seen = new Set<string>();
  const note = (v: string | null | undefined) => v && seen.add(v);
  const handler = withFaults(plan, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === TOKEN_PATH) {
      const text = await req.text(); // read, then passed on
      const form = new URLSearchParams(text);
      for (const key of ["code", "code_verifier", "client_secret", "refresh_token"]) {
        note(form.get(key));
      }
      note(req.headers.get("authorization")?.replace(/^Basic /, "")); // client_secret_basic
      req = new Request(req.url, { method: req.method, headers: req.headers, body: text });
    }
    const res = await fake.handle(req);
    const location = res.headers.get("location");
    if (location) note(new URL(location).searchParams.get("code"));
    if (url.pathname !== TOKEN_PATH || !res.ok) return res;
    const body = await res.json();
    // A real id token carries the e-mail: plant it there.
    const claims = btoa(JSON.stringify({ email: EMAIL, sub: "planted-volvo-user" }));
    body.id_token = `eyJhbGciOiJSUzI1NiJ9.${claims.replace(/=+$/, "")}.c2lnbmF0dXJl`;
    for (const key of ["access_token", "refresh_token", "id_token"]) note(body[key]);
    return Response.json(body, { status: res.status, headers: res.headers });
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    fake,
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

Deno.test("Volvo: auth + poll + faults at debug level: no client secret, API key, token, code, verifier, VIN or e-mail in any output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-security-volvo-" });
  const callback = `http://127.0.0.1:${freeLoopbackPort()}/callback`;
  const CAR = /^\/(connected-vehicle\/v2\/vehicles\/[^/]+\/.+|energy\/v2\/vehicles\/.+)$/;
  const plan = new FaultPlan([
    { name: "401", path: CAR, nth: [3], fault: faults.status(401, VOLVO_401) },
    { name: "500 storm", path: CAR, nth: [5, 6, 7, 8], fault: faults.status(500) },
    {
      name: "429",
      path: CAR,
      nth: [10],
      fault: faults.status(429, "Too Many Requests", { "retry-after": "1" }),
    },
  ]);
  const volvo = simulatedVolvo(callback, plan);
  const VIN = volvo.fake.cars[0].vin;
  try {
    const fast = "{ driving_s: 0.25, online_s: 0.25, charging_min_s: 0.25, " +
      "charging_max_s: 0.25, suspend_s: 0.25, suspended_s: 0.25, use_while_charging_s: 0.25, " +
      "backoff_s: 0.2, max_backoff_s: 0.5 }";
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:
  - provider: volvo
    name: family
    client_id: ${VOLVO_CLIENT_ID}
    client_secret_env: TEST_VOLVO_CLIENT_SECRET
    redirect_uri: ${callback}
    vcc_api_key: ${VOLVO_API_KEY}
    auth_host: ${volvo.url}
    api_base_url: ${volvo.url}
    polling: ${fast}
`,
    );
    await Deno.chmod(`${dir}/config.yaml`, 0o600);
    const env = { TEST_VOLVO_CLIENT_SECRET: VOLVO_CLIENT_SECRET };

    // Sign in: the browser follows the printed address to the loopback callback.
    const auth = await start("auth", dir, [
      "volvo",
      "--config",
      "config.yaml",
      "--no-browser",
    ], env);
    const authorize = await waitFor("the sign-in address", () => {
      const m = auth.out.stdout.match(
        new RegExp(`(http://127\\.0\\.0\\.1:\\d+${AUTHORIZE_PATH.replaceAll(".", "\\.")}\\?\\S+)`),
      );
      return Promise.resolve(m?.[1]);
    });
    await waitFor(
      "the callback server",
      () => Promise.resolve(/Waiting up to/.test(auth.out.stdout + auth.out.stderr) || undefined),
    );
    const landed = await fetch(await followAuthorize(authorize));
    await landed.body?.cancel();
    assertEquals((await auth.finish()).code, 0, auth.out.stderr);
    const tokenFile = `${dir}/state/tokens/volvo-family.json`;
    assertEquals((await Deno.stat(tokenFile)).mode! & 0o777, 0o600);

    // Poll through the faults until every one was met and the car is read again.
    const port = freeLoopbackPort();
    const poll = await start("poll", dir, [
      "--config",
      "config.yaml",
      "--listen",
      `127.0.0.1:${port}`,
    ], env);
    let exited = false;
    poll.child.status.then(() => (exited = true));
    let metrics = "";
    const served = () => volvo.fake.answers.filter((a) => a.status === 200 && a.vin).length;
    try {
      for (let i = 0; plan.injected.length < 6 || served() < 20; i++) {
        if (exited || i > 300) throw new Error(`poll stopped or stalled:\n${poll.out.stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      if (!exited) poll.child.kill("SIGTERM");
    }
    assertEquals((await poll.finish()).code, 0, poll.out.stderr);
    assertEquals(
      volvo.fake.auth.tokenRequests.map((r) => r.grantType),
      ["authorization_code", "refresh_token"],
      "the 401 was answered by one refresh",
    );
    assertEquals(volvo.fake.unexpected, []);

    const logs = poll.out.stderr;
    assertStringIncludes(logs, "level=debug");
    assertStringIncludes(logs, "Volvo answered 500");
    assertStringIncludes(logs, "kind=rate_limited");
    assertStringIncludes(metrics, 'ev_api_requests_total{provider="volvo",endpoint=');
    assertStringIncludes(metrics, 'status="401"} 1');

    const secrets = new Map<string, string>([
      ["client secret", VOLVO_CLIENT_SECRET],
      ["client credentials", `${VOLVO_CLIENT_ID}:${VOLVO_CLIENT_SECRET}`],
      ["API key", VOLVO_API_KEY],
      ["VIN", VIN],
      ["e-mail", EMAIL],
    ]);
    for (const s of volvo.seen) secrets.set(`a token or code (${s.slice(0, 8)}…)`, s);
    // Code, verifier, Basic credentials, and the tokens of the sign-in and the refresh.
    assert(volvo.seen.size >= 8, `saw ${volvo.seen.size} wire secrets`);
    const authOut = (auth.out.stdout + auth.out.stderr).replaceAll(authorize, "<sign-in address>");
    assertEquals(
      leaks(secrets, [
        ["auth", authOut],
        ["poll", poll.out.stdout + poll.out.stderr],
        ["/metrics", metrics.replaceAll(`vin="${VIN}"`, 'vin="<the VIN label>"')],
      ]),
      [],
    );
  } finally {
    await volvo.close();
    await Deno.remove(dir, { recursive: true });
  }
});
