import { assertEquals } from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { Cassette } from "./cassette.ts";
import { startFakeServer, UNMATCHED_STATUS } from "./fake_server.ts";

const cassette = Cassette.parse({
  version: 1,
  vendor: "test",
  scenario: "unit",
  tool: "test",
  startedAt: 1000,
  duration: 600,
  exchanges: [
    {
      at: 0,
      request: { method: "GET", path: "/state" },
      response: { status: 200, json: { s: "asleep" } },
    },
    {
      at: 300,
      request: { method: "GET", path: "/state" },
      response: { status: 200, json: { s: "online" } },
    },
    {
      at: 0,
      request: { method: "POST", path: "/token", body: { grant_type: "refresh_token" } },
      response: { status: 200, json: { ok: 1 } },
    },
    {
      at: 0,
      request: { method: "GET", path: "/q", query: { a: "1" } },
      response: { status: 200, text: "<html>", headers: { "content-type": "text/html" } },
    },
  ],
});

Deno.test("fake server: timeline, matchers, loud unmatched", async () => {
  const clock = new VirtualClock(1000_000, 0);
  const fake = startFakeServer({ cassette, clock });
  try {
    const get = async (path: string, init?: RequestInit) => {
      const r = await fetch(`${fake.url}${path}`, init);
      return { status: r.status, text: await r.text() };
    };
    assertEquals((await get("/state")).text, '{"s":"asleep"}');
    clock.advance(299_000);
    assertEquals((await get("/state")).text, '{"s":"asleep"}');
    clock.advance(1_000);
    assertEquals((await get("/state")).text, '{"s":"online"}', "newest exchange at or before now");
    const form = { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token" }) };
    assertEquals((await get("/token", form)).status, 200);
    const wrong = { method: "POST", body: new URLSearchParams({ grant_type: "password" }) };
    assertEquals((await get("/token", wrong)).status, UNMATCHED_STATUS);
    assertEquals((await get("/q?a=1&b=2")).text, "<html>", "unlisted query params are ignored");
    assertEquals((await get("/q?a=2")).status, UNMATCHED_STATUS);
    assertEquals((await get("/nowhere")).status, UNMATCHED_STATUS);
    assertEquals(fake.unmatched, ["POST /token", "GET /q", "GET /nowhere"]);
  } finally {
    await fake.shutdown();
  }
});
