/** The HTTP seam's self-metrics: every outcome counted and timed by endpoint template. */
import { assert, assertEquals, assertRejects } from "./testing.ts";
import { Http, HttpError } from "./http.ts";
import { Readings } from "./readings.ts";

const ENDPOINT = "/connected-vehicle/v2/vehicles/{vin}/doors";
const URL_WITH_VIN = "http://vendor.invalid/connected-vehicle/v2/vehicles/YV1XZEFV1R2000001/doors";

Deno.test("Http.send counts and times each answer under its template and status", async () => {
  const readings = new Readings();
  const http = new Http({
    provider: "volvo",
    readings,
    fetch: () => Promise.resolve(new Response("{}", { status: 429 })),
  });
  await http.send({ method: "GET", url: URL_WITH_VIN, endpoint: `${ENDPOINT}?fields=all` });
  await http.send({ method: "GET", url: URL_WITH_VIN, endpoint: ENDPOINT });
  const labels = { provider: "volvo", endpoint: ENDPOINT, status: "429" };
  assertEquals(readings.counterValue("ev.api.requests", labels), 2, "query dropped");
  const [h, ...others] = [...readings.histograms.values()];
  assertEquals(others, []);
  assertEquals([h.metric, h.labels, h.count], ["ev.api.request.duration", labels, 2]);
  assert(h.sum >= 0 && h.sum < 5, `${h.sum} s`);
  assertEquals(h.counts.reduce((a, b) => a + b), 2);
  assert(!JSON.stringify([...readings.counters.values()]).includes("YV1"), "no VIN in labels");
});

Deno.test("Http.send observes failures too: network errors under their own status", async () => {
  const readings = new Readings();
  const http = new Http({
    provider: "weather",
    readings,
    fetch: () => Promise.reject(new TypeError("connection refused")),
  });
  const err = await assertRejects(() =>
    http.send({ method: "GET", url: "http://x.invalid/v1/forecast", endpoint: "/v1/forecast" })
  );
  assert(err instanceof HttpError && err.kind === "network");
  const observed = [...readings.histograms.values()];
  assertEquals(observed.map((h) => [h.labels.status, h.count]), [["network_error", 1]]);
  assertEquals(
    readings.counterValue("ev.api.requests", {
      provider: "weather",
      endpoint: "/v1/forecast",
      status: "network_error",
    }),
    1,
  );
});

Deno.test("bearer: the account's token is attached, a dead one refreshed once and retried", async () => {
  const seen: string[] = [];
  let valid = "old-token";
  const http = new Http({
    provider: "tesla",
    fetch: (_url, init) => {
      const auth = new Headers(init?.headers).get("authorization") ?? "none";
      seen.push(auth);
      const body = JSON.stringify({ error: auth === "Bearer bad-key" ? "login_required" : "x" });
      return Promise.resolve(
        new Response(body, { status: auth === `Bearer ${valid}` ? 200 : 401 }),
      );
    },
  });
  const request = {
    method: "GET",
    url: "http://x.invalid/a",
    endpoint: "/a",
    bearer: true,
  } as const;
  // No auth on the seam: refused before anything is sent.
  await assertRejects(() => http.send(request));
  assertEquals(seen, []);

  let refreshes = 0;
  const authed = http.withAuth({
    token: () => Promise.resolve("old-token"),
    refresh: (rejected) => {
      refreshes++;
      assertEquals(rejected, "old-token");
      if (refreshes === 1) valid = "new-token";
      return Promise.resolve("new-token");
    },
  });
  assertEquals((await authed.send(request)).status, 200);
  assertEquals(seen, ["Bearer old-token"], "a good token: one request");
  valid = "expired";
  assertEquals((await authed.send(request)).status, 200);
  assertEquals(seen.slice(1), ["Bearer old-token", "Bearer new-token"], "401: refresh, retry");
  assertEquals(refreshes, 1);

  // Still 401 after the refresh: no second refresh, the answer goes to the vendor code.
  valid = "never";
  seen.length = 0;
  assertEquals((await authed.send(request)).status, 401);
  assertEquals(seen.length, 2);
  assertEquals(refreshes, 2);

  // A 401 the vendor says no new token fixes (a dead sign-in, a bad API key): no refresh.
  seen.length = 0;
  const res = await authed.send({ ...request, tokenRejected: () => false });
  assertEquals([res.status, seen.length, refreshes], [401, 1, 2]);
  // A plain request carries no token at all.
  seen.length = 0;
  await authed.send({ method: "GET", url: "http://x.invalid/a", endpoint: "/a" });
  assertEquals(seen, ["none"]);
});

Deno.test("withAuth keeps the seam's observers: the recorder sees the account's requests", async () => {
  const http = new Http({
    provider: "volvo",
    fetch: () => Promise.resolve(new Response("{}")),
  });
  const endpoints: string[] = [];
  http.observe((exchange) => {
    endpoints.push(exchange.request.endpoint);
  });
  const authed = http.withAuth({ token: () => Promise.resolve("t") });
  await authed.send({ method: "GET", url: "http://x.invalid/b", endpoint: "/b", bearer: true });
  assertEquals(endpoints, ["/b"]);
});
