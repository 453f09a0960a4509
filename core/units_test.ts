import { assertAlmostEquals, assertEquals } from "./testing.ts";
import {
  distanceToMeters,
  durationToSeconds,
  SECONDS_PER_MONTH,
  speedToMetersPerSecond,
} from "./units.ts";

Deno.test("durations by vendor unit spelling; a month is the mean Gregorian month", () => {
  assertEquals(durationToSeconds(90, "minutes"), 5400);
  assertEquals(durationToSeconds(2, "h"), 7200);
  assertEquals(durationToSeconds(3, "days"), 259_200);
  assertEquals(durationToSeconds(12, "months"), 365.2425 * 86_400);
  assertEquals(SECONDS_PER_MONTH, 2_629_746);
  assertEquals(durationToSeconds(1, "fortnights"), undefined);
});

Deno.test("speeds and distances by vendor unit spelling", () => {
  assertAlmostEquals(speedToMetersPerSecond(36, "km/h")!, 10);
  assertAlmostEquals(speedToMetersPerSecond(36, "kilometers_per_hour")!, 10);
  assertAlmostEquals(speedToMetersPerSecond(60, "mph")!, 26.8224);
  assertEquals(speedToMetersPerSecond(1, "knots"), undefined);
  assertEquals(distanceToMeters(2, "mi"), distanceToMeters(2, "miles"));
  assertEquals(distanceToMeters(2, "km"), 2000);
});
