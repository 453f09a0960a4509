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
  const seen: [string, number][] = [];
  readings.onObservation((_name, labels, value) => seen.push([labels.status, value]));
  const http = new Http({
    provider: "weather",
    readings,
    fetch: () => Promise.reject(new TypeError("connection refused")),
  });
  const err = await assertRejects(() =>
    http.send({ method: "GET", url: "http://x.invalid/v1/forecast", endpoint: "/v1/forecast" })
  );
  assert(err instanceof HttpError && err.kind === "network");
  assertEquals(seen.map(([s]) => s), ["network_error"]);
  assertEquals(
    readings.counterValue("ev.api.requests", {
      provider: "weather",
      endpoint: "/v1/forecast",
      status: "network_error",
    }),
    1,
  );
});
