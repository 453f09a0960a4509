import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertNotEquals,
} from "../core/testing.ts";
import { maskSecrets } from "../core/log.ts";
import { DEMO_ORIGIN, parseJsonExact, Redactor } from "./redact.ts";
import { isValidVin, isVinShaped, vinCheckDigit } from "./vin.ts";

const VIN_A = "5YJ3E1EA2KF317000";
const VIN_B = "YV1XZK9V4P2000123";

Deno.test("vin: check digit per ISO 3779 / 49 CFR 565", () => {
  assertEquals(vinCheckDigit("1M8GDM9AXKP042788"), "X");
  assertEquals(vinCheckDigit("11111111111111111"), "1");
  assert(isValidVin("1M8GDM9AXKP042788"));
  assert(!isValidVin("1M8GDM9A1KP042788"), "wrong check digit");
  assert(isValidVin(VIN_A) && isValidVin(VIN_B), "test VINs are valid");
  assert(isVinShaped(VIN_A));
  assert(!isVinShaped("12345678901234567"), "all digits is an id, not a VIN");
  assert(!isVinShaped("5YJ3E1EA7KF31700O"), "O is not a VIN character");
});

Deno.test("redact: fake VINs are valid, keep make/model/year, and are stable", () => {
  const r = new Redactor();
  const a = r.vin(VIN_A);
  const b = r.vin(VIN_B);
  for (const [real, fake] of [[VIN_A, a], [VIN_B, b]]) {
    assert(isValidVin(fake), `${fake} has a valid check digit`);
    assertEquals(fake.slice(0, 8), real.slice(0, 8), "WMI and descriptor kept");
    assertEquals(fake.slice(9, 11), real.slice(9, 11), "model year and plant kept");
    assertNotEquals(fake.slice(11), real.slice(11), "serial replaced");
  }
  assertNotEquals(a, b);
  const sameModel = r.vin(VIN_A.slice(0, 11) + "317001");
  assertEquals(sameModel.slice(0, 8) + sameModel.slice(9, 11), a.slice(0, 8) + a.slice(9, 11));
  assertNotEquals(sameModel, a, "two cars of one model get two fakes");
  assertEquals(r.vin(VIN_A), a, "same real VIN, same fake");
  assertEquals(
    r.text(`car ${VIN_A} and ${VIN_B.toLowerCase()}`),
    `car ${a} and ${b.toLowerCase()}`,
  );
  assertEquals(r.json({ vin: "5YJSA11111111111" }), { vin: r.vin("5YJSA11111111111") });
  assert(isValidVin(r.vin("5YJSA11111111111")), "a malformed vendor VIN still gets a valid fake");
});

Deno.test("redact: a VIN seed makes fakes stable across cassettes", () => {
  const one = new Redactor({ vinSeed: "s3cret" }).vin(VIN_A);
  const two = new Redactor({ vinSeed: "s3cret" });
  two.vin(VIN_B); // order of first sight does not matter with a seed
  assertEquals(two.vin(VIN_A), one);
  assertNotEquals(new Redactor({ vinSeed: "other" }).vin(VIN_A), one);
  assert(isValidVin(one));
});

Deno.test("redact: ids agree across number, string, path and beyond 2^53", () => {
  const r = new Redactor();
  const parsed = parseJsonExact(
    '{"response":{"id":12345678901234567,"id_s":"12345678901234567","user_id":7654321,' +
      '"vehicle_id":1234567890,"energy_site_id":123456,"operationId":"3f1c2a5e-9b7d"}}',
  );
  assert(parsed.ok);
  const out = r.json(parsed.value) as { response: Record<string, unknown> };
  const { id, id_s, user_id, vehicle_id } = out.response;
  assertEquals(typeof id, "number");
  assertEquals(String(id), id_s, "id and id_s get one placeholder");
  assertNotEquals(user_id, id);
  assertEquals(typeof vehicle_id, "number");
  assertMatch(String(out.response.operationId), /^id-\d+$/);
  assertEquals(
    r.path("/api/1/vehicles/12345678901234567/vehicle_data", "/api/1/vehicles/{id}/vehicle_data"),
    `/api/1/vehicles/${id_s}/vehicle_data`,
  );
  assertEquals(
    r.path(`/connected-vehicle/v2/vehicles/${VIN_B}/doors`, "/x"),
    `/connected-vehicle/v2/vehicles/${r.vin(VIN_B)}/doors`,
    "VIN-shaped segments are replaced even when the template does not fit",
  );
  assertEquals(r.text("tag 1234567890 here"), `tag ${vehicle_id} here`, "learned ids in text");
  assertEquals(r.json({ odometer: 1234567890 }), { odometer: vehicle_id }, "and as numbers");
});

Deno.test("redact: secrets in every encoding, nested JSON, headers and free text", () => {
  const r = new Redactor();
  const token = 'tok/en+with="quotes"\\and~0123456789';
  r.learnHeaders({ authorization: `Bearer ${token}`, "vcc-api-key": "vcc0123456789abcdef" });
  const deep = JSON.stringify({
    inner: JSON.stringify({ access_token: "deep-token-0123456789", user_id: 4242424242 }),
  });
  const out = r.json({
    raw: `token ${token}`,
    url: `https://x.example/cb?t=${encodeURIComponent(token)}&ok=1`,
    form: new URLSearchParams({ t: token }).toString(),
    escaped: JSON.stringify(token),
    b64: btoa(token),
    key: "vcc0123456789abcdef",
    nested: deep,
  });
  const text = JSON.stringify(out);
  for (const s of [token, "vcc0123456789abcdef", "deep-token-0123456789"]) {
    assert(!text.includes(s), "raw secret gone");
    assert(!text.includes(encodeURIComponent(s)), "URL-encoded secret gone");
    assert(!text.includes(JSON.stringify(s).slice(1, -1)), "JSON-escaped secret gone");
  }
  assert(!text.includes(btoa(token)), "base64 secret gone");
  const inner = JSON.parse(JSON.parse((out as { nested: string }).nested).inner);
  assertMatch(inner.access_token, /^redacted-access_token-\d+$/, "token in JSON in JSON");
  assertEquals(inner.user_id, r.id(4242424242), "key rules apply inside nested JSON");
  assertMatch(String((out as { url: string }).url), /^https:\/\/x\.example\/cb\?t=redacted-/);
  assertEquals(maskSecrets(`x ${token} y`), "x [redacted] y", "logs mask learned secrets too");
});

Deno.test("redact: OAuth form fields, Basic auth, JWTs and error codes", () => {
  const r = new Redactor();
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code: "NA_abc0123456789",
    code_verifier: "verifier0123456789verifier",
    client_id: "my-client-app",
    client_secret: "client-secret-0123",
  });
  const fields = Object.fromEntries([...form].map(([k, v]) => [k, r.param(k, v)]));
  assertEquals(fields.grant_type, "authorization_code", "grant_type is kept for matching");
  for (const k of ["code", "code_verifier", "client_secret"]) assertMatch(fields[k], /^redacted-/);
  assertMatch(fields.client_id, /^id-\d+$/);
  r.learnHeaders({ Authorization: `Basic ${btoa("other-client:basic-secret-987")}` });
  assert(!r.text("leaked basic-secret-987 here").includes("basic-secret-987"));
  assertEquals(r.json({ code: "NOT_SUPPORTED" }), { code: "NOT_SUPPORTED" }, "Volvo error code");
  assertMatch(String((r.json({ code: "NA_abc0123456789" }) as { code: string }).code), /redacted/);

  const b64url = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  const jwt = `${b64url({ alg: "RS256" })}.${
    b64url({
      sub: "user-uuid",
      email: "jane@mailbox.org",
      exp: 1767225539,
      aud: ["https://fleet-api.prd.eu.vn.cloud.tesla.com", "https://auth.tesla.com/c/abc/u"],
    })
  }.signature`;
  const fake = String((r.json({ access_token: jwt }) as { access_token: string }).access_token);
  const payload = JSON.parse(atob(fake.split(".")[1]));
  assertEquals(payload.exp, 1767225539, "expiry kept for token-expiry replays");
  assertEquals(payload.aud, [
    "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "https://auth.tesla.com",
  ]);
  assertEquals(payload.sub, undefined);
  assert(!fake.includes("signature") && !JSON.stringify(payload).includes("jane"));
});

Deno.test("redact: e-mails, phones, names and places; ordinary values untouched", () => {
  const r = new Redactor();
  const out = r.json({
    display_name: "Jane's Red Rocket",
    vehicle_state: { vehicle_name: "Rocket", media_info: { a2dp_source_name: "Jane's Pixel" } },
    owner: { email: "jane.doe+car@mailbox.org", phone: "+46 70 123 45 67" },
    note: "call (555) 123-4567 or mail jane.doe+car@mailbox.org about Jane's Red Rocket",
    cc: "Cc: Other Person <other.person@firma.se>",
    active_route_destination: "12 Home Street",
    ordinary: {
      date: "2024-12-30T15:00:00.000Z",
      version: "2023.44.30.8 06f534d46010",
      ts: "1705707520649",
      fuel: "47.5",
      state: "online",
      token_type: "Bearer",
      url: "https://cas.volvocars.com/image/MY24_0000/123/x.png?market=se&angle=1",
    },
  }) as Record<string, unknown>;
  assertEquals(out.display_name, "Demo name 1");
  assertEquals(out.vehicle_state, {
    vehicle_name: "Demo name 2",
    media_info: { a2dp_source_name: "Demo name 3" },
  });
  assertEquals(out.owner, { email: "user1@example.com", phone: "+1 555 0101" });
  assertEquals(out.note, "call +1 555 0102 or mail user1@example.com about Demo name 1");
  assertEquals(out.cc, "Cc: Other Person <user2@example.com>", "e-mails found in free text");
  assertEquals(out.active_route_destination, "Demo place 1");
  assertEquals(out.ordinary, {
    date: "2024-12-30T15:00:00.000Z",
    version: "2023.44.30.8 06f534d46010",
    ts: "1705707520649",
    fuel: "47.5",
    state: "online",
    token_type: "Bearer",
    url: "https://cas.volvocars.com/image/MY24_0000/123/x.png?market=se&angle=1",
  });
});

Deno.test("redact: coordinates move to the demo place and keep relative offsets", () => {
  const r = new Redactor();
  const track = [
    [57.72537482589284, 11.849843629550225],
    [57.73012345678901, 11.861234567890123],
    [57.69876543210987, 11.812345678901234],
  ];
  const moved = track.map(([latitude, longitude]) =>
    r.json({ drive_state: { latitude, longitude, native_latitude: latitude } }) as {
      drive_state: { latitude: number; longitude: number; native_latitude: number };
    }
  ).map((x) => x.drive_state);
  assertEquals(moved[0].latitude, DEMO_ORIGIN.latitude, "first position is the demo origin");
  assertEquals(moved[0].longitude, DEMO_ORIGIN.longitude);
  for (let i = 1; i < track.length; i++) {
    assertAlmostEquals(moved[i].latitude - moved[0].latitude, track[i][0] - track[0][0], 1e-9);
    assertAlmostEquals(moved[i].longitude - moved[0].longitude, track[i][1] - track[0][1], 1e-9);
    assertEquals(moved[i].native_latitude, moved[i].latitude);
  }
  const geo = r.json({
    data: { geometry: { type: "Point", coordinates: [track[1][1], track[1][0], 0] } },
  }) as { data: { geometry: { coordinates: number[] } } };
  assertEquals(geo.data.geometry.coordinates, [moved[1].longitude, moved[1].latitude, 0]);
  assertEquals(
    r.json({ lat: String(track[2][0]), longitude: 0 }),
    { lat: String(moved[2].latitude), longitude: 0 },
    "numeric strings move, 0 (no fix) stays",
  );
  assert(r.isRealCoordinate(String(track[0][0])));

  const keep = new Redactor({ keepLocation: true });
  const kept = { latitude: track[0][0], geometry: { type: "Point", coordinates: [1.5, 2.5] } };
  assertEquals(keep.json(kept), kept);
});
