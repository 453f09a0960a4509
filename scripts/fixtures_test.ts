/**
 * Every simulator's cassettes on disk are exactly what scripts/fixtures.ts writes now, and the
 * streamed ones hold what replay needs: messages in time order within the day, REST within
 * the vendor's limits.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { Cassette, loadCassette } from "../replay/cassette.ts";
import { SIMS } from "../providers/sims.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

Deno.test("fixtures: every simulator's cassettes on disk match the generator", async () => {
  const all = SIMS.flatMap((sim) => Object.entries(sim.cassettes?.() ?? {}));
  assert(all.some(([rel]) => rel === "bmw/i4-day/cassette.json"), "the BMW day is generated");
  assert(all.some(([rel]) => rel === "tesla/stream-day/cassette.json"), "the streamed day too");
  for (const [rel, generated] of all) {
    const disk = await loadCassette(new URL(rel, FIXTURES).pathname);
    assertEquals(
      disk,
      Cassette.parse(generated),
      `fixtures/${rel} is stale: run deno task fixtures`,
    );
  }
});

Deno.test("fixtures: the streamed days carry their messages in order, REST within limits", async () => {
  const bmw = await loadCassette(new URL("bmw/i4-day/cassette.json", FIXTURES).pathname);
  const tesla = await loadCassette(new URL("tesla/stream-day/cassette.json", FIXTURES).pathname);
  for (const c of [bmw, tesla]) {
    const at = (c.messages ?? []).map((m) => m.at);
    assert(at.length > 100, `${c.scenario}: ${at.length} messages`);
    assertEquals(at, [...at].sort((a, b) => a - b), `${c.scenario}: in time order`);
    assert(at.every((t) => t >= 0 && t < c.duration), `${c.scenario}: within the day`);
  }
  assert(bmw.exchanges.length <= 50, `BMW: ${bmw.exchanges.length} REST calls, 50 a day`);
  assert(bmw.messages!.every((m) => m.topic.split("/").length === 2), "BMW: <GCID>/<VIN>");
  assert(
    tesla.messages!.some((m) => m.topic.endsWith("/connectivity")),
    "Tesla: connectivity",
  );
});
