/**
 * The simulated Volvo: Volvo ID (PKCE, client auth, rotation, expiry), the API key, the
 * per-minute and per-day limits with Volvo's bodies, scopes, shut-down versions, per-key
 * counting, and data that follows the scripted day. Every refusal is also run through the
 * provider's classify() so the fake and the error mapping cannot drift apart.
 */
import { calculatePKCECodeChallenge, generateRandomCodeVerifier } from "oauth4webapi";
import { assert, assertEquals, assertMatch } from "../../../core/testing.ts";
import { VirtualClock } from "../../../core/clock.ts";
import { Http, type HttpResponse } from "../../../core/http.ts";
import { createLogger } from "../../../core/log.ts";
import { Readings } from "../../../core/readings.ts";
import { classify, defaultScopes, type EndpointName, ENDPOINTS } from "../api.ts";
import { AUTHORIZE_PATH, FAKE_CLIENT, TOKEN_PATH } from "./fake_auth.ts";
import { carFleet, FAKE_API_KEY, FakeVolvo } from "./fake_api.ts";
import { createVolvoProvider } from "../provider.ts";
import { CARS, DAY_START } from "./scenario.ts";

const testdata = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../testdata/${name}`, import.meta.url)));
const hm = (h: number, m: number) => h * 3600 + m * 60;
const [BEV, PHEV, ICE] = CARS;
const BASE = "http://fake-volvo.invalid";
const REDIRECT = FAKE_CLIENT.redirectUris[0];

function setup(options: Partial<ConstructorParameters<typeof FakeVolvo>[0]> = {}, at = hm(12, 0)) {
  const clock = new VirtualClock((DAY_START + at) * 1000, 0);
  const fake = new FakeVolvo({ clock, ...options }, false);
  return { clock, fake };
}

const basic = (id = FAKE_CLIENT.clientId, secret = FAKE_CLIENT.clientSecret) =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

async function token(fake: FakeVolvo, form: Record<string, string>, auth = basic()) {
  const res = await fake.fetch(`${BASE}${TOKEN_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json() };
}

/** The browser leg: authorize with PKCE, return the code from the redirect. */
async function authorize(fake: FakeVolvo, challenge: string, extra: Record<string, string> = {}) {
  const url = new URL(`${BASE}${AUTHORIZE_PATH}`);
  const q = {
    response_type: "code",
    client_id: FAKE_CLIENT.clientId,
    redirect_uri: REDIRECT,
    scope: defaultScopes(true).join(" "),
    state: "st-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  };
  for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
  const res = await fake.fetch(url, { redirect: "manual" });
  return { res, location: res.headers.get("location") };
}

async function signIn(fake: FakeVolvo) {
  const verifier = generateRandomCodeVerifier();
  const { location } = await authorize(fake, await calculatePKCECodeChallenge(verifier));
  const code = new URL(location!).searchParams.get("code")!;
  return await token(fake, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
}

async function get(fake: FakeVolvo, path: string, access: string, key = FAKE_API_KEY) {
  const res = await fake.fetch(`${BASE}${path}`, {
    headers: { authorization: `Bearer ${access}`, "vcc-api-key": key },
  });
  const text = await res.text();
  const response: HttpResponse = {
    status: res.status,
    headers: res.headers,
    text,
    url: res.url ? new URL(res.url) : new URL(`${BASE}${path}`),
  };
  return response;
}

const pathOf = (name: EndpointName, vin = BEV.vin) =>
  ENDPOINTS[name].template.replace("{vin}", vin);
const json = (r: HttpResponse) => JSON.parse(r.text);

Deno.test("Volvo ID: code + PKCE S256 + Basic client auth gives ~5-minute tokens", async () => {
  const { fake } = setup();
  const { status, body } = await signIn(fake);
  assertEquals(status, 200);
  assertEquals(
    Object.keys(body).sort(),
    Object.keys(testdata("oauth.token.json")).filter((k) => k !== "expires_at").sort(),
  );
  assertEquals([body.token_type, body.expires_in], ["Bearer", 299]);
  assertEquals(
    fake.auth.tokenRequests.map(({ grantType, clientAuth }) => ({ grantType, clientAuth })),
    [{ grantType: "authorization_code", clientAuth: "client_secret_basic" }],
  );
  assertEquals((await get(fake, "/connected-vehicle/v2/vehicles", body.access_token)).status, 200);
});

Deno.test("Volvo ID: the verifier must match, S256 only, codes are single use, secret checked", async () => {
  const { fake } = setup();
  const verifier = generateRandomCodeVerifier();
  const challenge = await calculatePKCECodeChallenge(verifier);
  const plain = await authorize(fake, verifier, { code_challenge_method: "plain" });
  assertEquals(plain.res.status, 400, "PKCE plain is refused");
  assertEquals(
    (await authorize(fake, challenge, { redirect_uri: "https://evil.example/cb" })).res.status,
    400,
  );
  assertEquals(
    (await authorize(fake, challenge, { scope: "conve:odometer_status" })).res.status,
    400,
    "openid is required",
  );

  const { location } = await authorize(fake, challenge);
  const callback = new URL(location!);
  assertEquals(callback.searchParams.get("state"), "st-1");
  const code = callback.searchParams.get("code")!;
  const form = { grant_type: "authorization_code", code, redirect_uri: REDIRECT };
  const wrong = await token(fake, { ...form, code_verifier: generateRandomCodeVerifier() });
  assertEquals([wrong.status, wrong.body.error], [400, "invalid_grant"]);
  const again = await token(fake, { ...form, code_verifier: verifier });
  assertEquals(again.status, 400, "a code that was tried once is spent");

  const second = new URL((await authorize(fake, challenge)).location!).searchParams.get("code")!;
  const badSecret = await token(
    fake,
    { ...form, code: second, code_verifier: verifier },
    basic(FAKE_CLIENT.clientId, "nope"),
  );
  assertEquals([badSecret.status, badSecret.body.error], [401, "invalid_client"]);
});

Deno.test("Volvo ID: refresh rotates; the old refresh token and a week-old one get invalid_grant", async () => {
  const { fake, clock } = setup();
  const first = (await signIn(fake)).body;
  clock.advance(300_000);
  assertEquals(
    (await get(fake, pathOf("odometer"), first.access_token)).status,
    401,
    "5 minutes later",
  );
  const next = await token(fake, {
    grant_type: "refresh_token",
    refresh_token: first.refresh_token,
  });
  assertEquals(next.status, 200);
  assert(next.body.refresh_token !== first.refresh_token, "a new refresh token every time");
  assertEquals((await get(fake, pathOf("odometer"), next.body.access_token)).status, 200);

  const reused = await token(fake, {
    grant_type: "refresh_token",
    refresh_token: first.refresh_token,
  });
  assertEquals(reused, { status: 400, body: testdata("oauth.error.invalid-grant.json") });

  clock.advance(7 * 86_400_000);
  const stale = await token(fake, {
    grant_type: "refresh_token",
    refresh_token: next.body.refresh_token,
  });
  assertEquals(stale, { status: 400, body: testdata("oauth.error.invalid-grant.json") });
});

Deno.test("API key: missing or unknown → Volvo's 401 body, told apart from an expired token", async () => {
  const { fake, clock } = setup();
  const access = fake.auth.mint(defaultScopes(false)).access_token as string;
  const bad = await get(fake, pathOf("doors"), access, "not-a-key");
  assertEquals([bad.status, json(bad)], [401, testdata("error.401-invalid-api-key.json")]);
  assertEquals(classify(bad, ENDPOINTS.doors.template, clock.now()).reason, "api_key");
  clock.advance(299_000);
  const expired = await get(fake, pathOf("doors"), access);
  assertEquals(expired.status, 401);
  const body = json(expired);
  assertEquals(body.error, testdata("error.401-unauthorized.json").error);
  assertMatch(body.operationId, /^[0-9a-f-]{36}$/);
  assertEquals(classify(expired, ENDPOINTS.doors.template, clock.now()).reason, "token");
});

Deno.test("per minute: the 101st request in 60 s gets 429, and passes once the first is a minute old", async () => {
  const { fake, clock } = setup();
  const access = fake.auth.mint(defaultScopes(false)).access_token as string;
  for (let i = 0; i < 100; i++) {
    assertEquals((await get(fake, pathOf("odometer"), access)).status, 200, `request ${i + 1}`);
    clock.advance(500);
  }
  const limited = await get(fake, pathOf("odometer"), access);
  assertEquals([limited.status, limited.text], [429, "Too Many Requests"]);
  const err = classify(limited, ENDPOINTS.odometer.template, clock.now());
  assertEquals([err.kind, err.retryAfterS], ["rate_limited", 60]);
  clock.advance(60_000 - 100 * 500); // the first request is now exactly a minute old
  assertEquals((await get(fake, pathOf("odometer"), access)).status, 200);
  assertEquals((await get(fake, pathOf("odometer"), access)).status, 429, "the second is not");
  assertEquals(fake.usage().byStatus, { 200: 101, 429: 2 });
});

Deno.test("per day: 10,000 per key, then Volvo's 403 with the time to 00:00 UTC; the next day it refills", async () => {
  const { fake, clock } = setup({}, hm(6, 0));
  const access = () => fake.auth.mint(defaultScopes(false)).access_token as string;
  let token = access();
  for (let i = 0; i < 10_000; i++) {
    if (i % 400 === 0) token = access(); // tokens live five minutes
    const res = await get(fake, pathOf("odometer"), token);
    assertEquals(res.status, 200, `request ${i + 1}`);
    clock.advance(600); // 100 a minute
  }
  assertEquals(fake.usage().today, 10_000);
  // 06:00 + 10,000 × 0.6 s = 07:40 → 16:20:00 to midnight.
  const quota = await get(fake, pathOf("odometer"), access());
  assertEquals([quota.status, json(quota)], [403, {
    statusCode: 403,
    message: "Out of call volume quota. Quota will be replenished in 16:20:00.",
  }]);
  const err = classify(quota, ENDPOINTS.odometer.template, clock.now());
  assertEquals([err.kind, err.retryAfterS], ["quota", 16 * 3600 + 20 * 60]);
  assertEquals(fake.usage().today, 10_000, "refused requests use no quota");
  clock.advance((16 * 3600 + 20 * 60) * 1000);
  assertEquals((await get(fake, pathOf("odometer"), access())).status, 200);
  assertEquals(fake.usage().today, 1);
});

Deno.test("limits and counts are per API key", async () => {
  const { fake } = setup({ apiKeys: ["key-a", "key-b"], perDay: 3 });
  const access = fake.auth.mint(defaultScopes(false)).access_token as string;
  for (let i = 0; i < 3; i++) {
    assertEquals((await get(fake, pathOf("doors"), access, "key-a")).status, 200);
  }
  assertEquals((await get(fake, pathOf("doors"), access, "key-a")).status, 403);
  assertEquals((await get(fake, pathOf("doors"), access, "key-b")).status, 200);
  assertEquals(fake.usage("key-a"), { total: 4, today: 3, byStatus: { 200: 3, 403: 1 } });
  assertEquals(fake.usage("key-b"), { total: 1, today: 1, byStatus: { 200: 1 } });
});

Deno.test("scopes: a sign-in without location:read gets 403 on Location, not a quota or auth error", async () => {
  const { fake, clock } = setup();
  const access = fake.auth.mint(defaultScopes(false)).access_token as string;
  const res = await get(fake, pathOf("location"), access);
  assertEquals(res.status, 403);
  assertEquals(classify(res, ENDPOINTS.location.template, clock.now()).reason, "forbidden");
  const withLocation = fake.auth.mint(defaultScopes(true)).access_token as string;
  assertEquals((await get(fake, pathOf("location"), withLocation)).status, 200);
});

Deno.test("shut-down v1 APIs answer GONE; unknown paths are recorded as unexpected", async () => {
  const { fake, clock } = setup();
  const access = fake.auth.mint(defaultScopes(false)).access_token as string;
  const gone = await get(fake, `/energy/v1/vehicles/${BEV.vin}/recharge-status`, access);
  assertEquals([gone.status, json(gone)], [410, testdata("error.gone-connected-vehicle-v1.json")]);
  assertEquals(
    classify(gone, "/energy/v1/vehicles/{vin}/recharge-status", clock.now()).reason,
    "gone",
  );
  assertEquals((await get(fake, "/connected-vehicle/v2/nothing", access)).status, 404);
  assertEquals(fake.unexpected, ["GET /connected-vehicle/v2/nothing"]);
});

Deno.test("data follows the scripted day: charging at 20:00, not at 03:00; no Energy v2 on petrol", async () => {
  const { fake, clock } = setup({ cars: [BEV, PHEV, ICE] }, hm(3, 0));
  // A fresh token per call: the day spans more than one five-minute token.
  const access = () => fake.auth.mint(defaultScopes(true)).access_token as string;
  const charging = async () =>
    json(await get(fake, pathOf("energy-state"), access())).chargingStatus.value;
  assertEquals(await charging(), "IDLE");
  clock.advance((hm(20, 0) - hm(3, 0)) * 1000);
  assertEquals(await charging(), "CHARGING");
  const list = json(await get(fake, "/connected-vehicle/v2/vehicles", access()));
  assertEquals(list, { data: [BEV, PHEV, ICE].map((c) => ({ vin: c.vin })) });
  assertEquals((await get(fake, pathOf("energy-state", ICE.vin), access())).status, 404);
  assertEquals(fake.answers.at(-1), {
    t: hm(20, 0),
    key: FAKE_API_KEY,
    endpoint: "energy-state",
    vin: ICE.vin,
    status: 404,
  });
});

Deno.test("the real provider reads a fleet through the fake over loopback, with a minted token", async () => {
  const clock = new VirtualClock((DAY_START + hm(19, 30)) * 1000, 0);
  const fleet = carFleet(BEV, 2);
  const fake = new FakeVolvo({ clock, cars: fleet });
  try {
    const readings = new Readings();
    const access = fake.auth.mint(defaultScopes(true)).access_token as string;
    const provider = createVolvoProvider({
      http: new Http({ provider: "volvo", readings, now: () => clock.now() }).withAuth({
        token: () => Promise.resolve(access),
      }),
      readings,
      clock,
      log: createLogger({ write: () => {} }),
      baseUrl: fake.url,
      location: true,
      account: { provider: "volvo", name: "t", vehicles: [], vcc_api_key: FAKE_API_KEY },
    });
    const vehicles = await provider.listVehicles();
    assertEquals(vehicles.map((v) => v.vin), fleet.map((c) => c.vin));
    for (const v of vehicles) {
      const s = readings.record((await provider.fetch(v))!);
      assertEquals(s.states.find((x) => x.metric === "ev.charging.state")?.state, "charging");
    }
    assertEquals(fake.unexpected, []);
    assert(fake.answers.every((a) => a.status === 200), "every request answered 200");
    assertEquals(fake.usage().total, fake.answers.length);
    // Self-metrics by endpoint template: `{vin}` in place of each VIN, nothing else varies.
    const endpoints = new Set(
      [...readings.counters.values()].filter((c) => c.metric === "ev.api.requests")
        .map((c) => c.labels.endpoint),
    );
    const templates = new Set([
      "/connected-vehicle/v2/vehicles",
      ...Object.values(ENDPOINTS).map((e) => e.template),
    ]);
    assertEquals(endpoints.size, templates.size - 1, "all but /fuel (a BEV with Energy v2)");
    for (const e of endpoints) assert(templates.has(e), e);
    const histogram = [...readings.histograms.values()].map((h) => h.labels.endpoint);
    assertEquals(new Set(histogram), endpoints, "every request timed under the same template");
    for (const car of fleet) assert(![...endpoints].some((e) => e.includes(car.vin)));
  } finally {
    await fake.shutdown();
  }
});
