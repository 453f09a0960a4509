/** The simulated Tesla's behaviour, pinned on the virtual clock: it is the benchmark's truth. */
import { assert, assertEquals, assertStringIncludes } from "../../../core/testing.ts";
import { VirtualClock } from "../../../core/clock.ts";
import { FakeTesla, type FakeTeslaOptions } from "./fake_api.ts";
import { s256 } from "../../../replay/fake_oauth.ts";
import { DAY_START, DEMO_ID_S, DEMO_VIN } from "./scenario.ts";

const hm = (h: number, m: number, s = 0) => h * 3600 + m * 60 + s;
const SUMMARY = `/api/1/vehicles/${DEMO_ID_S}`;
const DATA = `${SUMMARY}/vehicle_data`;

/** A fake on a virtual clock at `at` (seconds into the day), with a signed-in client. */
function setup(at: number, options: Partial<FakeTeslaOptions> = {}) {
  const clock = new VirtualClock((DAY_START + at) * 1000, 0);
  const fake = new FakeTesla({ clock, ...options }, false);
  let token = fake.auth.mint().access_token;
  const call = async (path: string, method = "GET") => {
    const res = await fake.fetch(new URL(path, fake.url), {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const state = async () => (await call(SUMMARY)).body.response.state as string;
  const goTo = (t: number) => clock.advance((DAY_START + t) * 1000 - clock.now());
  return { clock, fake, call, state, goTo, setToken: (t: string) => (token = t) };
}

Deno.test("after the morning drive the car sleeps 15 min after the driver left, if nobody calls", async () => {
  const { call, state, goTo, fake } = setup(hm(8, 12));
  assertEquals(await state(), "online");
  goTo(hm(8, 25, 59));
  assertEquals(await state(), "online", "the driver left at 08:11: the timer runs to 08:26");
  goTo(hm(8, 26));
  assertEquals(await state(), "asleep");
  const res = await call(DATA);
  assertEquals(res.status, 408);
  assertEquals(res.body.error, "vehicle unavailable: vehicle is offline or asleep");
  assertEquals(fake.car.account().causedS, 0, "summary calls keep nothing awake");
});

Deno.test("summary calls never keep the car awake; a vehicle_data call restarts its timer", async () => {
  const { state, goTo, fake } = setup(hm(8, 12));
  for (let t = hm(8, 12); t < hm(8, 26); t += 60) {
    goTo(t);
    assertEquals(await state(), "online");
  }
  goTo(hm(8, 26));
  assertEquals(await state(), "asleep");

  const other = setup(hm(8, 20));
  assertEquals((await other.call(DATA)).status, 200);
  other.goTo(hm(8, 34, 59));
  assertEquals(await other.state(), "online", "15 min after the 08:20 call");
  other.goTo(hm(8, 35));
  assertEquals(await other.state(), "asleep");
  assertEquals(other.fake.car.account().causedS, 9 * 60, "08:26 → 08:35 only because of the call");
  assertEquals(fake.car.account().causedS, 0);
});

Deno.test("a fake-online blip: asleep after 3 min, unless vehicle_data keeps it up 15 min", async () => {
  const quiet = setup(hm(2, 11));
  assertEquals(await quiet.state(), "online");
  quiet.goTo(hm(2, 13));
  assertEquals(await quiet.state(), "asleep");
  assertEquals(quiet.fake.car.account().causedS, 0);

  const polled = setup(hm(2, 11));
  const res = await polled.call(DATA);
  assertEquals(res.status, 200);
  assertEquals(res.body.response.state, "online");
  polled.goTo(hm(2, 25, 59));
  assertEquals(await polled.state(), "online");
  polled.goTo(hm(2, 26));
  assertEquals(await polled.state(), "asleep");
  assertEquals(polled.fake.car.account().causedS, 13 * 60);
});

Deno.test("the 12:00–13:00 gap reads offline, and 408 while asleep or offline", async () => {
  const { call, state, goTo } = setup(hm(11, 0));
  assertEquals(await state(), "asleep");
  assertEquals((await call(DATA)).status, 408);
  goTo(hm(12, 30));
  assertEquals(await state(), "offline");
  assertEquals((await call(DATA)).status, 408);
});

Deno.test("wake_up is counted and billed as a wake; the car is online after the delay", async () => {
  const { call, state, goTo, fake, clock } = setup(hm(3, 0));
  const wake = await call(`${SUMMARY}/wake_up`, "POST");
  assertEquals(wake.status, 200);
  assertEquals(wake.body.response.state, "asleep", "the reply comes before the car is up");
  clock.advance(19_000);
  assertEquals(await state(), "asleep");
  clock.advance(1_000);
  assertEquals(await state(), "online");
  goTo(hm(3, 15, 20));
  assertEquals(await state(), "asleep");
  assertEquals(fake.car.wakeCalls, 1);
  assertEquals(fake.billing.wakes, 1);
  assertEquals(fake.billing.data, 3, "the three summaries");
  assertEquals(fake.car.account().causedS, 15 * 60);
});

Deno.test("daily limit: 429 with Retry-After until 00:00 UTC, billed; a new day starts afresh", async () => {
  const { call, goTo, fake } = setup(hm(23, 0), { dailyLimit: 2 });
  assertEquals((await call(SUMMARY)).status, 200);
  assertEquals((await call(DATA)).status, 408);
  const limited = await call(SUMMARY);
  assertEquals(limited.status, 429);
  assertEquals(limited.headers.get("retry-after"), "3600");
  assertEquals(limited.headers.get("ratelimit-remaining"), "0");
  assertEquals(fake.billing.data, 3, "a 429 is below 500: billed");
  goTo(hm(24, 0, 1));
  assertEquals((await call(SUMMARY)).status, 200);
});

Deno.test("billing: every answer below 500 counts; summary calls are counted apart", async () => {
  const { call, fake, setToken } = setup(hm(7, 50));
  await call("/api/1/products");
  await call("/api/1/vehicles");
  await call(SUMMARY);
  await call(DATA);
  await call(`/api/1/vehicles/${DEMO_VIN}`);
  await call("/api/1/vehicles/42");
  await call("/api/1/users/region");
  setToken("not-a-token");
  assertEquals((await call(SUMMARY)).status, 401);
  assertEquals(fake.billing, { data: 8, wakes: 0, commands: 0, summary: 4 });
  assertEquals(fake.answers.get("GET /api/1/vehicles/{id} 404"), 1);
  assertEquals(fake.answers.get("GET /api/1/vehicles/{id} 401"), 1);
  const nope = await fake.fetch(new URL("/api/2/whatever", fake.url));
  assertEquals(nope.status, 404);
  await nope.body?.cancel();
  assertEquals(fake.unexpected, ["GET /api/2/whatever"]);
  assertEquals(fake.billing.data, 8, "an unknown path is not a Tesla answer");
});

Deno.test("vehicle_data honours endpoints= and leaves GPS out without location_data", async () => {
  const { call } = setup(hm(7, 50));
  const some = (await call(`${DATA}?endpoints=charge_state%3Bdrive_state`)).body.response;
  assert("charge_state" in some && "drive_state" in some);
  assert(!("climate_state" in some) && !("vehicle_state" in some));
  assert(!("latitude" in some.drive_state), "no GPS without location_data");
  assertEquals(some.drive_state.shift_state, "D");
  const all = (await call(`${DATA}?endpoints=drive_state%3Blocation_data`)).body.response;
  assertEquals(typeof all.drive_state.latitude, "number");
});

Deno.test("access tokens expire; refresh tokens rotate and are single use", async () => {
  const { call, clock, fake, setToken } = setup(hm(3, 0), { accessLifetimeS: 60 });
  const first = fake.auth.mint();
  setToken(first.access_token);
  assertEquals((await call(SUMMARY)).status, 200);
  clock.advance(60_000);
  const expired = await call(SUMMARY);
  assertEquals(expired.status, 401);
  assertEquals(expired.body.error, "token expired (401)");

  const refresh = (refreshToken: string) =>
    fake.fetch(new URL("/oauth2/v3/token", fake.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: "ownerapi",
        refresh_token: refreshToken,
        scope: "openid email offline_access",
      }),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const rotated = await refresh(first.refresh_token);
  assertEquals(rotated.status, 200);
  assertEquals(rotated.body.expires_in, 60);
  assert(rotated.body.refresh_token !== first.refresh_token, "a new refresh token");
  setToken(rotated.body.access_token);
  assertEquals((await call(SUMMARY)).status, 200);

  const reused = await refresh(first.refresh_token);
  assertEquals(reused.status, 401);
  assertEquals(reused.body.error, "login_required");
  assertEquals((await refresh(rotated.body.refresh_token)).status, 200);
  assertEquals((await refresh("never-issued")).body.error, "invalid_grant");
});

Deno.test("authorize checks its query; the code exchange checks PKCE S256 and single use", async () => {
  const { fake } = setup(hm(3, 0));
  const verifier = "a".repeat(20) + "B".repeat(23);
  const challenge = await s256(verifier);
  const query = {
    client_id: "ownerapi",
    redirect_uri: "tesla://auth/callback",
    response_type: "code",
    scope: "openid email offline_access",
    state: "st4te",
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  const authorize = async (q: Record<string, string>) => {
    const res = await fake.fetch(
      new URL(`/oauth2/v3/authorize?${new URLSearchParams(q)}`, fake.url),
      { redirect: "manual" },
    );
    const body = res.status === 302 ? undefined : await res.json();
    return { status: res.status, location: res.headers.get("location"), body };
  };
  const bad = await authorize({ ...query, redirect_uri: "https://auth.tesla.com/void/callback" });
  assertEquals(bad.status, 400);
  assertStringIncludes(bad.body.error_description, "not registered for this 'client_id'");
  assertEquals((await authorize({ ...query, state: "" })).status, 400);
  assertEquals((await authorize({ ...query, code_challenge_method: "plain" })).status, 400);
  assertEquals((await authorize({ ...query, client_id: "someone" })).status, 400);

  const ok = await authorize(query);
  assertEquals(ok.status, 302);
  const redirect = new URL(ok.location!);
  assertEquals(redirect.protocol, "tesla:");
  assertEquals(redirect.searchParams.get("state"), "st4te");
  const code = redirect.searchParams.get("code")!;

  const exchange = (c: string, v: string) =>
    fake.fetch(new URL("/oauth2/v3/token", fake.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "authorization_code",
        client_id: "ownerapi",
        code: c,
        code_verifier: v,
        redirect_uri: "tesla://auth/callback",
      }),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const wrong = await exchange(code, "b".repeat(43));
  assertEquals(wrong.status, 400);
  assertEquals(wrong.body.error, "invalid_grant");
  assertEquals((await exchange(code, verifier)).body.error, "invalid_auth_code", "single use");

  const again = new URL((await authorize(query)).location!).searchParams.get("code")!;
  const tokens = await exchange(again, verifier);
  assertEquals(tokens.status, 200);
  assertEquals(tokens.body.token_type, "Bearer");
  assertEquals(tokens.body.expires_in, 28800);
  assertEquals(tokens.body.state, "st4te");
  assertEquals(fake.auth.checkAccess(tokens.body.access_token).state, "ok");
});

Deno.test("the loopback server answers like the in-process fetch", async () => {
  const clock = new VirtualClock((DAY_START + hm(7, 50)) * 1000, 0);
  const fake = new FakeTesla({ clock });
  try {
    const token = fake.auth.mint().access_token;
    const res = await fetch(`${fake.url}${SUMMARY}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(res.status, 200);
    assertEquals((await res.json()).response.vin, DEMO_VIN);
    const region = await fetch(`${fake.url}/api/1/users/region`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals((await region.json()).response.fleet_api_base_url, fake.url);
  } finally {
    await fake.shutdown();
  }
});

Deno.test("awake accounting: a silent client causes nothing; polling every 5 min keeps it up", async () => {
  const silent = setup(0);
  const { neededS, causedS } = silent.fake.car.account();
  assertEquals(causedS, 0);
  // Online segments (5 h 48 min) plus the minute the car's own timer adds after the morning
  // drive (the driver left at 08:11, the scenario has it asleep from 08:25).
  assertEquals(neededS, (5 * 60 + 49) * 60);

  const busy = setup(0, { accessLifetimeS: 2 * 86400 });
  for (let t = 0; t < 86400; t += 300) {
    busy.goTo(t);
    await busy.call(DATA);
  }
  const polled = busy.fake.car.account();
  // The 02:10 blip catches it; from then on every call restarts the 15-min timer.
  assertEquals(polled.awakeS, 86400 - hm(2, 10));
  assertEquals(polled.causedS, polled.awakeS - neededS);
  assertEquals(polled.neededS, neededS);
});
