/** Virtual time: loops joined on an instant clock advance it together, exactly. */
import { assertEquals } from "./testing.ts";
import { participate, realClock, StepClock, VirtualClock } from "./clock.ts";

Deno.test("instant clock: joined loops wake at their own times, not the sum of all waits", async () => {
  const clock = new VirtualClock(0, 0);
  const seen: string[] = [];
  const loop = async (name: string, everyMs: number, times: number, busy = false) => {
    const turn = participate(clock);
    try {
      for (let i = 0; i < times; i++) {
        await turn.sleep(everyMs);
        // A request in flight: time must not move meanwhile.
        if (busy) await new Promise((r) => setTimeout(r, 5));
        seen.push(`${clock.now()} ${name}`);
      }
    } finally {
      turn.leave();
    }
  };
  await Promise.all([loop("a", 300, 3), loop("b", 200, 4, true)]);
  assertEquals(seen, [
    "200 b",
    "300 a",
    "400 b",
    "600 a",
    "600 b",
    "800 b",
    "900 a",
  ]);
  assertEquals(clock.now(), 900);
});

Deno.test("instant clock: an aborted wait rejects and frees the others", async () => {
  const clock = new VirtualClock(0, 0);
  const controller = new AbortController();
  const waiting = participate(clock);
  const other = participate(clock);
  const aborted = waiting.sleep(10_000, controller.signal).then(() => "woke", () => "aborted");
  controller.abort();
  assertEquals(await aborted, "aborted");
  waiting.leave();
  await other.sleep(50);
  assertEquals(clock.now(), 50);
  other.leave();
});

Deno.test("a clock with speed keeps its own sleeps", async () => {
  const clock = new VirtualClock(0, 1000);
  const t0 = clock.now();
  await participate(clock).sleep(100);
  assertEquals(clock.now() - t0 >= 100, true);
});

Deno.test("a wait longer than setTimeout can hold (24.8 days) is capped at a day, never fired at once", async () => {
  // setTimeout turns anything above 2^31−1 ms into 1 ms: a 35-day Retry-After or asleep_s
  // would fire at once, over and over.
  const controller = new AbortController();
  let woke = false;
  const long = realClock.sleep(3_000_000_000, controller.signal).then(
    () => (woke = true),
    () => {},
  );
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(woke, false, "a 35-day wait has not ended after 100 ms");
  controller.abort();
  await long;

  const DAY_MS = 86_400_000; // the README promises vendor pauses "up to a day"
  const instant = new VirtualClock(0, 0);
  await instant.sleep(3_000_000_000);
  assertEquals(instant.now(), DAY_MS, "a virtual wait is capped the same way");
  await instant.sleep(Number.NaN);
  assertEquals(instant.now(), 2 * DAY_MS, "NaN is taken as the longest wait, not none");
  await instant.sleep(-5);
  assertEquals(instant.now(), 2 * DAY_MS);

  const step = new StepClock(0);
  const woken: number[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    for (;;) {
      await step.sleep(Infinity, stop.signal);
      woken.push(step.now());
    }
  })().catch(() => {});
  await step.run(2.5 * DAY_MS, 1);
  stop.abort();
  await loop;
  assertEquals(woken, [DAY_MS, 2 * DAY_MS]);
});
