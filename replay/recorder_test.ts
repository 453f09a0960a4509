/**
 * Records a scripted vendor (a loopback server full of planted secrets and personal data)
 * through the real Http seam, then checks the written file, the guard and replay.
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { Http, type HttpRequest } from "../core/http.ts";
import { Cassette, type CassetteExchange, loadCassette } from "./cassette.ts";
import { startFakeServer } from "./fake_server.ts";
import { LeakError } from "./guard.ts";
import { DEMO_ORIGIN } from "./redact.ts";
import { Recorder } from "./recorder.ts";
import { isValidVin, VIN_SHAPED } from "./vin.ts";

const b64url = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "");

/** Every value that must not survive, by name (names only appear in failure messages). */
const SECRET = {
  accessJwt: `${b64url({ alg: "RS256", typ: "JWT" })}.${
    b64url({ sub: "0f1e2d3c-uuid", email: "jane.doe+car@mailbox.org", exp: 1767225539 })
  }.c2lnbmF0dXJlLXNlY3JldA`,
  refresh: 'EU_rt/+="quoted"\\back~0123456789abcdef',
  idToken: "idtok_ABCDEF0123456789",
  access2: "at2-opaque-0123456789abcdef",
  refresh2: "rt2-opaque-fedcba9876543210",
  code: "NA_c0de/+=0123456789abcdef",
  codeVerifier: "verifier-0123456789-abcdefghijklmnop",
  clientSecret: "cl1ent$ecret+/=xyz-42",
  apiKey: "vccapikey0123456789abcdef",
  cookie: "sessioncookie-0123456789",
  setCookie: "respcookie-ABCDEF-987654",
  nested: "nested-SECRET-token-42xyz",
  query: "query-access-token-5555555",
  html: "html-refresh-token-7777777",
  vehicleTokens: "vehicle-stream-token-1111",
};
const CLIENT_ID = "my-client-id-777";
const BASIC = btoa(`${CLIENT_ID}:${SECRET.clientSecret}`);
const VIN_TESLA = "5YJ3E1EA2KF317000";
const VIN_VOLVO = "YV1XZK9V4P2000123";
const PERSONAL = {
  vinTesla: VIN_TESLA,
  vinVolvo: VIN_VOLVO,
  bigId: "12345678901234567",
  vehicleId: "1234567890",
  userId: "7654321",
  email: "jane.doe+car@mailbox.org",
  otherEmail: "john@family.example",
  displayName: "Jane's Red Rocket",
  vehicleName: "Rocket Jane",
  a2dp: "Jane's Pixel 8",
  phone: "+46 70 123 45 67",
  destination: "12 Home Street, Gothenburg",
  clientId: CLIENT_ID,
};
const HOME = { latitude: 57.72537482589284, longitude: 11.849843629550225 };
const AWAY = { latitude: 57.73012345678901, longitude: 11.861234567890123 };

/** The vendor: answers by path, echoing nothing from the request. */
function vendorHandler(req: Request): Response {
  const url = new URL(req.url);
  const json = (body: string, init: ResponseInit = {}) =>
    new Response(body, {
      ...init,
      headers: { "content-type": "application/json", ...(init.headers ?? {}) },
    });
  const at = url.searchParams.get("at") === "away" ? AWAY : HOME;
  switch (url.pathname) {
    case "/oauth2/v3/token":
      return req.headers.get("authorization")?.startsWith("Basic")
        ? Response.json({
          access_token: SECRET.access2,
          refresh_token: SECRET.refresh2,
          expires_in: 299,
          token_type: "Bearer",
        })
        : Response.json({
          access_token: SECRET.accessJwt,
          refresh_token: SECRET.refresh,
          id_token: SECRET.idToken,
          expires_in: 28800,
          token_type: "Bearer",
          state: "of the union",
        }, { headers: { "set-cookie": `sid=${SECRET.setCookie}; HttpOnly` } });
    case "/api/1/products":
      // Raw text: an id beyond 2^53 must be read exactly to agree with id_s.
      return json(`{"response":[{"id":${PERSONAL.bigId},"id_s":"${PERSONAL.bigId}",
        "vehicle_id":${PERSONAL.vehicleId},"user_id":${PERSONAL.userId},"vin":"${VIN_TESLA}",
        "display_name":${JSON.stringify(PERSONAL.displayName)},"state":"online",
        "tokens":["${SECRET.vehicleTokens}","short"]}],"count":1}`);
    case `/api/1/vehicles/${PERSONAL.bigId}/vehicle_data`:
      return Response.json({
        response: {
          id: Number(PERSONAL.vehicleId),
          vin: VIN_TESLA,
          drive_state: {
            latitude: at.latitude,
            longitude: at.longitude,
            native_latitude: at.latitude,
            native_longitude: at.longitude,
            active_route_latitude: AWAY.latitude,
            active_route_longitude: AWAY.longitude,
            active_route_destination: PERSONAL.destination,
            heading: 185,
          },
          vehicle_state: {
            vehicle_name: PERSONAL.vehicleName,
            media_info: { a2dp_source_name: PERSONAL.a2dp },
          },
          charge_state: { battery_level: 77, charging_state: "Stopped" },
          owner: { email: PERSONAL.email, phone: PERSONAL.phone },
          debug: `Authorization: Bearer ${SECRET.accessJwt}`,
          echo: `refresh was ${SECRET.refresh}`,
          callback: `https://app.example/cb?code=${encodeURIComponent(SECRET.code)}&state=x`,
          link: `https://x.example/r?t=${encodeURIComponent(SECRET.refresh)}`,
          payload: JSON.stringify({
            inner: JSON.stringify({ access_token: SECRET.nested }),
          }),
          summary: `car ${VIN_TESLA} (${PERSONAL.displayName}) is parked`,
          by_vin: { [VIN_TESLA]: { seen: true } },
        },
      });
    case `/connected-vehicle/v2/vehicles/${VIN_VOLVO}/doors`:
      return Response.json({
        data: {
          vin: VIN_VOLVO,
          centralLock: { value: "LOCKED", timestamp: "2024-12-30T14:18:56Z" },
        },
        operationId: "3f1c2a5e-9b7d-4c1e-8f2a-0d6b5e4c3a21",
      }, { headers: { "ratelimit-remaining": "99", "x-internal-secret": SECRET.apiKey } });
    case `/location/v1/vehicles/${VIN_VOLVO}/location`:
      return Response.json({
        status: 200,
        data: {
          type: "Feature",
          properties: { timestamp: "2024-12-30T15:00:00.000Z", heading: "90" },
          geometry: { type: "Point", coordinates: [at.longitude, at.latitude, 0.0] },
        },
      });
    case "/page":
      return new Response(
        `<html><script>var s = "{\\"refresh_token\\":\\"${SECRET.html}\\"}";</script>` +
          `<p>mail ${PERSONAL.email} or ${PERSONAL.otherEmail}, call ${PERSONAL.phone}</p></html>`,
        { headers: { "content-type": "text/html" } },
      );
    case "/limited":
      return Response.json({ error: "rate limited" }, {
        status: 429,
        headers: { "retry-after": "30", "ratelimit-reset": "45" },
      });
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

interface Recorded {
  readonly recorder: Recorder;
  readonly clock: VirtualClock;
  readonly path: string;
  readonly dir: string;
}

/** Runs the scripted session through a real Http against the loopback vendor. */
async function recordSession(options: { keepLocation?: boolean } = {}): Promise<Recorded> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, vendorHandler);
  const base = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  const clock = new VirtualClock(1_735_570_800_000, 0);
  const http = new Http({ provider: "test", now: () => clock.now() });
  const recorder = new Recorder({ clock, vendor: "test", scenario: "planted", ...options });
  recorder.attach(http);
  const bearer = (token: string) => ({
    authorization: `Bearer ${token}`,
    cookie: `sid=${SECRET.cookie}; theme=dark`,
    "vcc-api-key": SECRET.apiKey,
  });
  const send = async (req: Omit<HttpRequest, "url"> & { url: string }, advance = 10) => {
    const res = await http.send({ ...req, url: base + req.url });
    clock.advance(advance * 1000);
    return res;
  };
  const form = { "content-type": "application/x-www-form-urlencoded" };
  try {
    await send({
      method: "POST",
      url: "/oauth2/v3/token",
      endpoint: "/oauth2/v3/token",
      headers: form,
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: CLIENT_ID,
        client_secret: SECRET.clientSecret,
        code: SECRET.code,
        code_verifier: SECRET.codeVerifier,
        redirect_uri: "https://auth.tesla.com/void/callback",
      }).toString(),
    });
    await send({
      method: "GET",
      url: "/api/1/products",
      endpoint: "/api/1/products",
      headers: bearer(SECRET.accessJwt),
    });
    const data = (query: string) => ({
      method: "GET" as const,
      url: `/api/1/vehicles/${PERSONAL.bigId}/vehicle_data?${query}`,
      endpoint: "/api/1/vehicles/{id}/vehicle_data",
      headers: bearer(SECRET.accessJwt),
    });
    await send(
      data(
        `endpoints=${encodeURIComponent("drive_state;location_data")}&access_token=${SECRET.query}`,
      ),
    );
    recorder.markSample();
    await send({
      method: "POST",
      url: "/oauth2/v3/token",
      endpoint: "/oauth2/v3/token",
      headers: { ...form, authorization: `Basic ${BASIC}` },
      body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(SECRET.refresh)}`,
    });
    await send(data("endpoints=drive_state&at=away"), 60);
    const volvo = { "vcc-api-key": SECRET.apiKey, authorization: `Bearer ${SECRET.access2}` };
    await send({
      method: "GET",
      url: `/connected-vehicle/v2/vehicles/${VIN_VOLVO}/doors`,
      endpoint: "/connected-vehicle/v2/vehicles/{vin}/doors",
      headers: volvo,
    });
    await send({
      method: "GET",
      url: `/location/v1/vehicles/${VIN_VOLVO}/location`,
      endpoint: "/location/v1/vehicles/{vin}/location",
      headers: volvo,
    });
    await send({
      method: "GET",
      url: `/location/v1/vehicles/${VIN_VOLVO}/location?at=away`,
      endpoint: "/location/v1/vehicles/{vin}/location",
      headers: volvo,
    });
    await send({ method: "GET", url: "/page", endpoint: "/page" });
    await send({ method: "GET", url: "/limited", endpoint: "/limited" }, 0);
  } finally {
    await server.shutdown();
  }
  const dir = await Deno.makeTempDir({ prefix: "recorder_test_" });
  return { recorder, clock, dir, path: `${dir}/fixtures/test/planted/cassette.json` };
}

/** Records a session, runs `fn` on it, and removes its files. */
async function withSession(
  fn: (session: Recorded) => Promise<void>,
  options: { keepLocation?: boolean } = {},
): Promise<void> {
  const session = await recordSession(options);
  try {
    await fn(session);
  } finally {
    await Deno.remove(session.dir, { recursive: true });
  }
}

/** Encodings a leaked value could hide in, spelled out independently of redact.ts. */
function encodings(value: string): string[] {
  return [
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
    JSON.stringify(JSON.stringify(value)).slice(3, -3),
    btoa(value),
  ];
}

function assertAbsent(text: string, named: Record<string, string>) {
  for (const [name, value] of Object.entries(named)) {
    for (const form of encodings(value)) {
      assert(!text.includes(form), `${name} survived in the file (as ${JSON.stringify(form)})`);
    }
  }
}

const exchangeAt = (c: Cassette, path: RegExp, n = 0): CassetteExchange =>
  c.exchanges.filter((e) => path.test(e.request.path))[n];

Deno.test("recorder: nothing planted survives in the written file", () =>
  withSession(async ({ recorder, path }) => {
    assertEquals(recorder.stats().exchanges, 10);
    await recorder.save(path);
    const text = await Deno.readTextFile(path);
    assertAbsent(text, { ...SECRET, basic: BASIC, ...PERSONAL });
    for (const c of [HOME.latitude, HOME.longitude, AWAY.latitude, AWAY.longitude]) {
      assert(!text.includes(String(c)), "a real coordinate survived");
    }
    const stats = recorder.stats();
    assert(stats.redacted.secret >= 12 && stats.redacted.vin === 2, JSON.stringify(stats));
  }));

Deno.test("recorder: the file is a valid cassette with stable placeholders", () =>
  withSession(async ({ recorder, path }) => {
    await recorder.save(path);
    const cassette = await loadCassette(path);
    assert(Cassette.safeParse(JSON.parse(await Deno.readTextFile(path))).success);
    assertEquals(cassette.exchanges.map((e) => e.at), [0, 10, 20, 30, 40, 100, 110, 120, 130, 140]);
    assertEquals(cassette.sampleAt, 30, "markSample after the first full read");
    assertEquals(cassette.duration, 140);

    // Ids: path placeholder = products id_s = Number(id), and ids beyond 2^53 read exactly.
    const products = exchangeAt(cassette, /products/).response.json as {
      response: Record<string, unknown>[];
    };
    const vehicle = products.response[0];
    assertEquals(String(vehicle.id), vehicle.id_s);
    const dataPaths = cassette.exchanges.filter((e) => e.request.path.endsWith("/vehicle_data"))
      .map((e) => e.request.path);
    assertEquals(dataPaths, [1, 2].map(() => `/api/1/vehicles/${vehicle.id_s}/vehicle_data`));

    // VINs: valid, two distinct, and the same fake in paths, bodies, text and keys.
    const vins = new Set(JSON.stringify(cassette).match(VIN_SHAPED));
    assertEquals(vins.size, 2);
    for (const v of vins) assert(isValidVin(v), `${v} is a valid VIN`);
    const fakeTesla = vehicle.vin as string;
    assert(vins.has(fakeTesla));
    const data = exchangeAt(cassette, /vehicle_data/).response.json as {
      response: Record<string, unknown>;
    };
    assertEquals(data.response.vin, fakeTesla);
    assertEquals(Object.keys(data.response.by_vin as object), [fakeTesla]);
    assertStringIncludes(String(data.response.summary), fakeTesla);
    assertStringIncludes(String(data.response.summary), String(vehicle.display_name));
    const doors = exchangeAt(cassette, /doors$/);
    const fakeVolvo = (doors.response.json as { data: { vin: string } }).data.vin;
    assertEquals(doors.request.path, `/connected-vehicle/v2/vehicles/${fakeVolvo}/doors`);
    assertEquals(
      exchangeAt(cassette, /location$/).request.path,
      `/location/v1/vehicles/${fakeVolvo}/location`,
    );

    // Matchers: grant_type only; no query matchers; headers that matter only.
    const tokens = cassette.exchanges.filter((e) => e.request.path === "/oauth2/v3/token");
    assertEquals(tokens.map((e) => e.request.body), [
      { grant_type: "authorization_code" },
      { grant_type: "refresh_token" },
    ]);
    assert(cassette.exchanges.every((e) => Object.keys(e.request.query).length === 0));
    assertEquals(doors.response.headers, {
      "content-type": "application/json",
      "ratelimit-remaining": "99",
    });
    const limited = exchangeAt(cassette, /limited/).response;
    assertEquals(limited.status, 429);
    assertEquals(limited.headers["retry-after"], "30");
    assertEquals(limited.headers["ratelimit-reset"], "45");
    const page = exchangeAt(cassette, /page/).response;
    assertEquals(page.json, undefined);
    assertStringIncludes(String(page.text), "user1@example.com");

    // The access token is a JWT that still says when it expires, and nothing about whom.
    const issued = tokens[0].response.json as { access_token: string; state: string };
    const claims = JSON.parse(atob(issued.access_token.split(".")[1]));
    assertEquals(claims.exp, 1767225539);
    assertEquals(claims.sub, undefined);
    assertEquals(issued.state, "of the union");
  }));

Deno.test("recorder: coordinates move with relative offsets kept, unless keepLocation", () =>
  withSession((moved) =>
    withSession(async (kept) => {
      const drive = (c: Cassette, n: number) =>
        (exchangeAt(c, /vehicle_data/, n).response.json as {
          response: { drive_state: Record<string, number> };
        }).response.drive_state;
      const geo = (c: Cassette, n: number) =>
        (exchangeAt(c, /location$/, n).response.json as {
          data: { geometry: { coordinates: number[] } };
        }).data.geometry.coordinates;
      const c = moved.recorder.cassette();
      const [home, away] = [drive(c, 0), drive(c, 1)];
      assertEquals(home.latitude, DEMO_ORIGIN.latitude);
      assertEquals(home.longitude, DEMO_ORIGIN.longitude);
      assertAlmostEquals(away.latitude - home.latitude, AWAY.latitude - HOME.latitude, 1e-9);
      assertAlmostEquals(away.longitude - home.longitude, AWAY.longitude - HOME.longitude, 1e-9);
      assertEquals(home.active_route_latitude, away.latitude, "one shift for every key");
      assertEquals(home.native_longitude, home.longitude);
      assertEquals(geo(c, 0).slice(0, 2), [home.longitude, home.latitude], "GeoJSON too");
      assertAlmostEquals(geo(c, 1)[1] - geo(c, 0)[1], AWAY.latitude - HOME.latitude, 1e-9);

      const k = kept.recorder.cassette();
      assertEquals(drive(k, 0).latitude, HOME.latitude);
      assertEquals(drive(k, 1).longitude, AWAY.longitude);
      assertEquals(geo(k, 0), [HOME.longitude, HOME.latitude, 0]);
      await kept.recorder.save(kept.path); // kept coordinates are the user's choice, not a leak
    }, { keepLocation: true })
  ));

Deno.test("recorder: the guard refuses a leftover and names the field, not the value", () =>
  withSession(async ({ recorder, path }) => {
    const leftovers: [string, (c: Cassette) => void, RegExp][] = [
      ["URL-encoded refresh token", (c) => {
        (exchangeAt(c, /vehicle_data/).response.json as { response: Record<string, unknown> })
          .response.note = `see ${encodeURIComponent(SECRET.refresh)}`;
      }, /exchange 2, response\.json\.response\.note: a secret seen in this session/],
      ["JSON-escaped token in a JSON string", (c) => {
        c.exchanges[8].response.text = JSON.stringify({ t: JSON.stringify(SECRET.refresh) });
      }, /exchange 8, response\.text: a secret/],
      ["base64 basic credentials", (c) => {
        c.exchanges[0].response.headers["x-echo"] = BASIC;
      }, /exchange 0, response\.headers\.x-echo: a secret/],
      ["a VIN not from the mapping", (c) => {
        c.exchanges[1].note = "real car 1M8GDM9AXKP042788";
      }, /exchange 1, note: a VIN-shaped value the redactor did not make/],
      ["a real id as a key", (c) => {
        (c.exchanges[1].response.json as Record<string, unknown>)[PERSONAL.bigId] = 1;
      }, /exchange 1, response\.json\.\(key #2\): a real id/],
      ["an e-mail", (c) => {
        c.description = "recorded by someone@mailbox.org";
      }, /cassette, description: an e-mail address the redactor did not make/],
      ["a real coordinate", (c) => {
        (exchangeAt(c, /vehicle_data/).response.json as {
          response: { drive_state: Record<string, number> };
        }).response.drive_state.latitude = HOME.latitude;
      }, /exchange 2, response\.json\.response\.drive_state\.latitude: a real coordinate/],
    ];
    for (const [name, inject, expected] of leftovers) {
      const cassette = structuredClone(recorder.cassette());
      inject(cassette);
      const err = await assertRejects(() => recorder.save(path, cassette), name);
      assert(err instanceof LeakError, `${name}: ${err.message}`);
      assertMatch(err.message, expected, name);
      assertAbsent(err.message, { ...SECRET, basic: BASIC, ...PERSONAL });
      assert(!err.message.includes("1M8GDM9AXKP042788") && !err.message.includes("someone@"));
      assert(!(await exists(path)), `${name}: nothing written`);
    }
    await recorder.save(path);
    assert(await exists(path), "the clean cassette is written");
  }));

Deno.test("recorder: the recorded cassette replays the redacted bodies", () =>
  withSession(async ({ recorder, path }) => {
    await recorder.save(path);
    const cassette = await loadCassette(path);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const fake = startFakeServer({ cassette, clock });
    try {
      const get = async (p: string, init?: RequestInit) => {
        const r = await fetch(fake.url + p, init);
        return { status: r.status, headers: r.headers, body: await r.text() };
      };
      const products = exchangeAt(cassette, /products/);
      clock.advance(products.at * 1000);
      assertEquals(JSON.parse((await get(products.request.path)).body), products.response.json);
      const [first, second] = [0, 1].map((n) => exchangeAt(cassette, /vehicle_data/, n));
      assertEquals(
        JSON.parse((await get(`${first.request.path}?endpoints=charge_state`)).body),
        first.response.json,
        "endpoints is not a matcher",
      );
      clock.advance((second.at - products.at) * 1000);
      assertEquals(JSON.parse((await get(second.request.path)).body), second.response.json);
      const refresh = await get("/oauth2/v3/token", {
        method: "POST",
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "any" }),
      });
      assertEquals(
        JSON.parse(refresh.body),
        cassette.exchanges.filter((e) => e.request.path === "/oauth2/v3/token")[1].response.json,
      );
      const limited = await get("/limited");
      assertEquals([limited.status, limited.headers.get("retry-after")], [429, "30"]);
      assertEquals(fake.unmatched, []);
    } finally {
      await fake.shutdown();
    }
  }));

Deno.test("recorder: refuses an Http seam on another clock", async () => {
  const clock = new VirtualClock(1_000_000, 0);
  const recorder = new Recorder({ clock, vendor: "test", scenario: "clock" });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("ok"),
  );
  const http = new Http({ provider: "test" }); // wall clock, not the recorder's
  recorder.attach(http);
  try {
    const err = await assertRejects(() =>
      http.send({
        method: "GET",
        url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/x`,
        endpoint: "/x",
      })
    );
    assertStringIncludes(err.message, "now: () => clock.now()");
    assertEquals(recorder.stats().exchanges, 0);
  } finally {
    await server.shutdown();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("recorder: streamed MQTT messages kept with arrival times, VIN in topics and position redacted", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 7, 35), 0);
  const recorder = new Recorder({ clock, vendor: "tesla", scenario: "stream" });
  const vin = "5YJ3E1EA7PF123456";
  recorder.captureMessage(`telemetry/${vin}/v/Gear`, '"ShiftStateD"');
  clock.advance(1500);
  recorder.captureMessage(
    `telemetry/${vin}/v/Location`,
    '{"latitude":48.137154,"longitude":11.576124}',
  );
  recorder.captureMessage(`telemetry/${vin}/v/VehicleSpeed`, "31.5");
  const cassette = Cassette.parse(recorder.cassette());
  const messages = cassette.messages!;
  assertEquals(messages.map((m) => m.at), [0, 1.5, 1.5]);
  const fake = messages[0].topic.split("/")[1];
  assert(fake !== vin && isValidVin(fake), fake);
  assertEquals(messages.map((m) => m.topic.split("/")[1]), [fake, fake, fake], "one VIN, one fake");
  assertEquals(messages[0].payload, '"ShiftStateD"', "unchanged payloads kept byte for byte");
  assertEquals(messages[2].payload, "31.5");
  const position = JSON.parse(messages[1].payload);
  assert(Math.abs(position.latitude - DEMO_ORIGIN.latitude) < 1, messages[1].payload);
  const text = JSON.stringify(cassette);
  assert(!text.includes(vin) && !text.includes("48.137"), "nothing real written");
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await recorder.save(path);
  assertEquals((await loadCassette(path)).messages, messages);
  await Deno.remove(path);
});

Deno.test("recorder: a BMW stream message: GCID in topic and payload an id, VIN replaced, position in {value} entries moved", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 7, 35), 0);
  const recorder = new Recorder({ clock, vendor: "bmw", scenario: "stream" });
  const gcid = "3f2a9c1e-8b7d-4e6f-a5c4-2d1e0f9a8b7c";
  const vin = "WBY71AW0X0FP12345";
  const at = "2026-03-10T07:35:00.000Z";
  recorder.captureMessage(
    `${gcid}/${vin}`,
    JSON.stringify({
      vin,
      entityId: gcid,
      topic: vin,
      timestamp: at,
      data: {
        "vehicle.cabin.infotainment.navigation.currentLocation.latitude": {
          timestamp: at,
          value: "48.13715",
          unit: "degrees",
        },
        "vehicle.cabin.infotainment.navigation.currentLocation.longitude": {
          timestamp: at,
          value: 11.57612,
        },
        "vehicle.drivetrain.batteryManagement.header": { timestamp: at, value: "71.5", unit: "%" },
      },
    }),
  );
  const cassette = Cassette.parse(recorder.cassette());
  const [message] = cassette.messages!;
  const [topicId, fakeVin] = message.topic.split("/");
  assert(isValidVin(fakeVin) && fakeVin !== vin, message.topic);
  const payload = JSON.parse(message.payload);
  assertEquals(payload.entityId, topicId, "the GCID gets one placeholder, in topic and payload");
  assertEquals(payload.vin, fakeVin);
  const data = payload.data;
  assertAlmostEquals(
    Number(data["vehicle.cabin.infotainment.navigation.currentLocation.latitude"].value),
    DEMO_ORIGIN.latitude,
    1e-9,
  );
  assertAlmostEquals(
    data["vehicle.cabin.infotainment.navigation.currentLocation.longitude"].value,
    DEMO_ORIGIN.longitude,
    1e-9,
  );
  assertEquals(data["vehicle.drivetrain.batteryManagement.header"].value, "71.5", "values kept");
  const text = JSON.stringify(cassette);
  for (const real of [gcid, vin, "48.137", "11.576"]) {
    assert(!text.includes(real), `${real} written`);
  }
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await recorder.save(path); // the guard finds nothing left
  await Deno.remove(path);
});
