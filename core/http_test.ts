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

Deno.test("at most 16 requests in flight to one host; the rest wait their turn, in order, untimed", async () => {
  let inFlight = 0;
  let most = 0;
  const order: string[] = [];
  const release: (() => void)[] = [];
  const readings = new Readings();
  const http = new Http({
    provider: "tesla",
    readings,
    fetch: async (url) => {
      inFlight++;
      most = Math.max(most, inFlight);
      order.push(new URL(String(url)).searchParams.get("n")!);
      // Vendor A answers only when let go; vendor B at once.
      if (new URL(String(url)).host === "a.invalid") {
        await new Promise<void>((r) => release.push(r));
      }
      inFlight--;
      return new Response("{}");
    },
  });
  const get = (host: string, n: number) =>
    http.send({ method: "GET", url: `http://${host}/x?n=${n}`, endpoint: "/x" });
  const a = Array.from({ length: 40 }, (_, n) => get("a.invalid", n));
  // Another host is not held up by the first one's queue.
  await get("b.invalid", 99);
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(release.length, 16, "16 sent, 24 waiting");
  // One answer per step: a request sent at step k is answered at step k + 16 (or at step k
  // for the first 16), so the 40 durations add up to about 504 steps; timed from the queue
  // instead, request k would last k + 1 steps, 820 in all.
  const started = performance.now();
  while (release.length) {
    release.shift()!();
    await new Promise((r) => setTimeout(r, 5));
  }
  const step = (performance.now() - started) / 1000 / 40;
  await Promise.all(a);
  assertEquals(most, 16 + 1);
  const sentToA = order.filter((n) => n !== "99").map(Number);
  assertEquals(sentToA, Array.from({ length: 40 }, (_, n) => n), "first come, first sent");
  // Waiting for a turn is not counted as the vendor's time.
  const h = [...readings.histograms.values()].find((h) => h.labels.provider === "tesla")!;
  assertEquals(h.count, 41);
  assert(h.sum < 600 * step, `${(h.sum / step).toFixed(0)} steps in all`);
});
