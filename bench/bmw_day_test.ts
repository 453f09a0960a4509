/**
 * `deno task bench bmw-day`: the i4 day through the real BMW account, its stream on a real
 * Mosquitto over TLS. Correctness only (never speed): REST within BMW's 50 calls a day and no
 * CU-429, every message of the car delivered, every mapped value seen, and every value stored
 * equal to the simulator's at that moment.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { runBmwDay } from "./bmw_day.ts";

Deno.test("bench bmw-day: at most 50 REST calls, every mapped value seen and right, a stream connection per ID token", async () => {
  const { result, check } = await runBmwDay({ speed: 2400 });
  console.log(JSON.stringify(result));
  assert(result.rest_calls_per_day <= 50, `${result.rest_calls_per_day} REST calls`);
  assert(result.rest_calls_per_day > 0);
  assertEquals(result.quota_refused, 0);
  assert(result.stream_messages_per_day > 100, `${result.stream_messages_per_day} messages`);
  assert(check.expected.length >= 22, check.expected.join(", "));
  assertEquals(check.seen, check.expected, "every mapped value seen");
  assertEquals(check.mismatches, [], "every stored value as the car sent it");
  // The ID token lives an hour: the stream reconnects with a fresh one through the day.
  assert(result.stream_connects >= 20, `${result.stream_connects} connections`);
  assert(result.token_refreshes >= 20, `${result.token_refreshes} refreshes`);
  assert(result.data_age_driving_p95_s !== null && result.data_age_charging_p95_s !== null);
});
