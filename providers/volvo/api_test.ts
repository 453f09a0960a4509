import { assert, assertEquals, assertStringIncludes } from "../../core/testing.ts";
import type { HttpResponse } from "../../core/http.ts";
import { apiName, classify } from "./api.ts";

const dir = new URL("./testdata/", import.meta.url);
const text = (name: string) => Deno.readTextFileSync(new URL(name, dir));

const res = (
  status: number,
  body: string,
  headers: Record<string, string> = {},
  path = "/connected-vehicle/v2/vehicles/V/doors",
): HttpResponse => ({
  status,
  text: body,
  headers: new Headers(headers),
  url: new URL(`http://fake${path}`),
});
const ENDPOINT = "/connected-vehicle/v2/vehicles/{vin}/doors";
const NOW = Date.parse("2026-03-10T12:00:00Z");

Deno.test("quota 403: kind quota, retry after the HH:MM:SS countdown, never auth", () => {
  const err = classify(res(403, text("error.403-quota.json")), ENDPOINT, NOW);
  assertEquals([err.kind, err.reason, err.retryAfterS, err.status], ["quota", "quota", 2800, 403]);
  assertStringIncludes(err.message, "00:46:40");
  const long = classify(
    res(
      403,
      '{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 23:59:59"}',
    ),
    ENDPOINT,
    NOW,
  );
  assertEquals(long.retryAfterS, 86_399, "no trailing dot is fine too");
});

Deno.test("429: rate_limited honouring Retry-After (seconds or a date), else one minute", () => {
  const plain = classify(res(429, "Too Many Requests"), ENDPOINT, NOW);
  assertEquals([plain.kind, plain.retryAfterS], ["rate_limited", 60]);
  assertEquals(classify(res(429, "", { "retry-after": "17" }), ENDPOINT, NOW).retryAfterS, 17);
  const date = new Date(NOW + 30_000).toUTCString();
  assertEquals(classify(res(429, "", { "retry-after": date }), ENDPOINT, NOW).retryAfterS, 30);
});

Deno.test("401: an invalid or unpublished API key is told apart from an expired token", () => {
  const key = classify(res(401, text("error.401-invalid-api-key.json")), ENDPOINT, NOW);
  assertEquals([key.kind, key.reason], ["client", "api_key"]);
  assertStringIncludes(key.message, "API key");
  assertStringIncludes(key.message, "not published");
  assert(key.retryAfterS! >= 3600, "a bad key does not heal in seconds");
  const token = classify(res(401, text("error.401-unauthorized.json")), ENDPOINT, NOW);
  assertEquals([token.kind, token.reason], ["unauthorized", "token"]);
});

Deno.test("404: outside the allowed markets vs a resource this car does not have", () => {
  const market = classify(res(404, text("error.404-market.json")), ENDPOINT, NOW);
  assertEquals([market.kind, market.reason], ["client", "market"]);
  assertStringIncludes(market.message, "allowed markets");
  const unsupported = classify(
    res(404, text("error.404-energy-v1-unsupported.json")),
    "/energy/v2/vehicles/{vin}/state",
    NOW,
  );
  assertEquals([unsupported.kind, unsupported.reason], ["client", "unsupported"]);
});

Deno.test("410 / 'Version 1 is removed': a client error naming the API, long backoff", () => {
  const body = text("error.gone-connected-vehicle-v1.json");
  const path = "/connected-vehicle/v1/vehicles/V/doors";
  for (const status of [410, 400]) {
    const err = classify(res(status, body, {}, path), ENDPOINT, NOW);
    assertEquals([err.kind, err.reason], ["client", "gone"]);
    assertStringIncludes(err.message, "Connected Vehicle API v1");
    assert(err.retryAfterS! >= 86_400, "not a crash loop");
  }
  assertEquals(apiName("/energy/v1/vehicles/V/recharge-status"), "Energy API v1");
  assertEquals(apiName("/extended-vehicle/v1/vehicles"), "Extended Vehicle API v1");
});

Deno.test("other answers: 403 scope, 5xx with Retry-After, Energy v2 and Location envelopes", () => {
  const scope = classify(res(403, '{"error":{"message":"Forbidden"}}'), ENDPOINT, NOW);
  assertEquals([scope.kind, scope.reason], ["client", "forbidden"]);
  const server = classify(res(503, "<html>busy</html>", { "retry-after": "5" }), ENDPOINT, NOW);
  assertEquals([server.kind, server.retryAfterS], ["server", 5]);
  const energy = classify(res(422, text("error.energy-v2.json")), ENDPOINT, NOW);
  assertEquals(energy.kind, "client");
  assertStringIncludes(energy.message, "ERROR_CODE");
  assertEquals(classify(res(400, text("error.location-v1.json")), ENDPOINT, NOW).kind, "client");
});
