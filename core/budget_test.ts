/** The budget's arithmetic and the usage meter it reads. */
import { assert, assertEquals } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { Readings } from "./readings.ts";
import { Budget, MAX_ACTIVE_STRETCH, MAX_IDLE_STRETCH, stretchFactor } from "./budget.ts";
import { type PriceList, UsageMeter } from "./usage.ts";

const pricing: PriceList = {
  usd: { data: 0.002, wakes: 0.02 },
  defaultCategory: "data",
  billed: (status) => status < 500,
};
const base = { secondsLeft: 86400, vehicles: 1, idleFloor: 1 / 300 / MAX_IDLE_STRETCH };
/** A poll of one request every `s` seconds. */
const every = (s: number) => 1 / s;

Deno.test("stretchFactor: ample budget changes nothing; spent stops everything", () => {
  assertEquals(stretchFactor({ ...base, remaining: 5000, tier: "idle", rate: every(300) }), 1);
  assertEquals(stretchFactor({ ...base, remaining: 5000, tier: "active", rate: every(30) }), 1);
  assertEquals(stretchFactor({ ...base, remaining: 0, tier: "active", rate: every(30) }), Infinity);
});

Deno.test("stretchFactor: as it tightens, idle slows first and most", () => {
  for (const remaining of [400, 250, 150, 80, 30]) {
    const idle = stretchFactor({ ...base, remaining, tier: "idle", rate: every(300) });
    const active = stretchFactor({ ...base, remaining, tier: "active", rate: every(30) });
    assert(idle >= active || idle === MAX_IDLE_STRETCH, `${remaining}: ${idle} vs ${active}`);
    assert(idle <= MAX_IDLE_STRETCH && active <= MAX_ACTIVE_STRETCH);
  }
  assertEquals(stretchFactor({ ...base, remaining: 250, tier: "active", rate: every(30) }), 1);
  const idle = stretchFactor({ ...base, remaining: 250, tier: "idle", rate: every(300) });
  assertEquals(idle, 288 / (250 * 0.7));
  // Two vehicles share it.
  assert(
    stretchFactor({ ...base, vehicles: 2, remaining: 250, tier: "idle", rate: every(300) }) > idle,
  );
});

Deno.test("usage meter: bills below 500 by category, in USD, and starts over at 00:00 UTC", () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 23, 59), 0);
  const readings = new Readings();
  const meter = new UsageMeter({ provider: "tesla", account: "home", pricing, clock, readings });
  meter.record("data", 200);
  meter.record(undefined, 408);
  meter.record("wakes", 200);
  meter.record("data", 503);
  assertEquals(meter.today().requests, 3);
  assertEquals(meter.today().byCategory, { data: 2, wakes: 1 });
  assertEquals(Math.round(meter.today().usd * 1000), 24);
  assertEquals(meter.secondsToReset(), 60);
  const labels = { provider: "tesla", account: "home", category: "data" };
  assertEquals(readings.counterValue("ev.api.billable_requests", labels), 2);
  assertEquals(readings.counterValue("ev.api.cost.usd", { ...labels, category: "wakes" }), 0.02);
  clock.advance(60_000);
  assertEquals(meter.today(), { requests: 0, usd: 0, byCategory: {} });
  assertEquals(readings.counterValue("ev.api.billable_requests", labels), 2, "counters keep going");
});

Deno.test("budget: requests/day and dollars/month, minus the margin; the lower one rules", () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const meter = new UsageMeter({ provider: "tesla", account: "a", pricing, clock });
  assertEquals(new Budget({}, meter).limited, false);
  assertEquals(
    new Budget({}, meter).stretch("idle", { rate: every(300), idleFloor: every(3600) }),
    1,
  );
  const byRequests = new Budget({ requests_per_day: 500 }, meter);
  assertEquals(byRequests.remaining(), 450);
  const byMoney = new Budget({ usd_per_month: 15, safety_margin: 0.2 }, meter);
  assertEquals(byMoney.remaining(), 200, "$0.40/day at $0.002");
  meter.record("wakes", 200);
  assertEquals(byMoney.remaining(), 190, "a wake costs ten data requests");
  assertEquals(byRequests.remaining(), 449);
  const both = new Budget({ requests_per_day: 100, usd_per_month: 15, safety_margin: 0 }, meter);
  assertEquals(both.remaining(), 99);
});

Deno.test("per-minute window: reservations queue up past the limit, minus the margin", () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const meter = new UsageMeter({ provider: "volvo", account: "a", pricing, clock });
  const none = new Budget({ requests_per_day: 10_000 }, meter);
  assertEquals(none.reserve(500), 0, "no per-minute limit, no wait");
  const b = new Budget({ requests_per_minute: 100, safety_margin: 0.1 }, meter);
  assertEquals(b.requestsPerMinute, 90);
  assertEquals(b.limited, false, "a per-minute limit alone does not stretch intervals");
  assertEquals(b.reserve(16), 0);
  clock.advance(10_000);
  assertEquals(b.reserve(70), 0, "86 in the window");
  assertEquals(b.reserve(16), 50, "the first 16 must be a minute old: at 60 s");
  assertEquals(b.reserve(4), 50, "4 more fit at 60 s as well");
  assertEquals(b.reserve(1), 60, "then the next at 70 s, when the 70 of 10 s are old");
  assertEquals(b.reserve(200), 120, "more than a window: capped at 90, once the window is empty");
});

Deno.test("pause: a refused key waits for everyone; meters of accounts on one key add up", () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 23), 0);
  const a = new UsageMeter({ provider: "volvo", account: "a", pricing, clock });
  const b = new UsageMeter({ provider: "volvo", account: "b", pricing, clock });
  const budget = new Budget({ requests_per_day: 100, safety_margin: 0 }, a);
  budget.addMeter(b);
  a.record(undefined, 200);
  b.record(undefined, 200);
  b.record(undefined, 403);
  assertEquals(budget.remaining(), 97);
  assertEquals(budget.pausedFor(), 0);
  budget.pause(2800);
  budget.pause(60);
  assertEquals(budget.pausedFor(), 2800, "a shorter pause never cuts a longer one");
  clock.advance(2_000_000);
  assertEquals(budget.pausedFor(), 800);
  budget.register(["volvo/V1", "volvo/V2"]);
  budget.register(["volvo/V2", "volvo/V3"]);
  assertEquals(budget.vehicles, 3);
});

Deno.test("pause: a vendor's pause is held a day at most (a bogus Retry-After or countdown)", () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 12), 0);
  const meter = new UsageMeter({ provider: "volvo", account: "a", pricing, clock });
  const budget = new Budget({ requests_per_minute: 100 }, meter);
  budget.pause(3_000_000);
  assertEquals(budget.pausedFor(), 86_400, "35 days asked, a day held");
  budget.pause(Infinity);
  assertEquals(budget.pausedFor(), 86_400);
  clock.advance(86_400_000);
  assertEquals(budget.pausedFor(), 0, "sends again after the day");
  budget.pause(-5);
  assertEquals(budget.pausedFor(), 0);
});

Deno.test("stretchFactor: planned in requests; the part no stretch reduces is set aside first", () => {
  const one = stretchFactor({ ...base, remaining: 400, tier: "idle", rate: every(900) });
  const five = stretchFactor({ ...base, remaining: 400, tier: "idle", rate: 5 * every(900) });
  assertEquals(one, 1, "96 reads of one request fit");
  assert(five > 1, "96 reads of five requests do not");
  // Two of the five requests keep their pace: the other three stretch more.
  const fixed = stretchFactor({
    ...base,
    remaining: 400,
    tier: "idle",
    rate: 5 * every(900),
    fixedRate: 2 * every(900),
  });
  assertEquals(fixed, (3 * 96) / (400 * 0.7 - 2 * 96));
  assert(fixed > five);
  // A drive plans on what is left after the rest of the day at the idle floor.
  const drive = { ...base, remaining: 100, tier: "active" as const, rate: 5 * every(120) };
  assertEquals(stretchFactor(drive), 150 / (100 - 82800 / 300 / 12));
  assert(stretchFactor({ ...drive, idleFloor: 2 * every(900) }) > stretchFactor(drive));
});
