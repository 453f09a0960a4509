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
const base = { secondsLeft: 86400, vehicles: 1, idleBaselineS: 300 };

Deno.test("stretchFactor: ample budget changes nothing; spent stops everything", () => {
  assertEquals(stretchFactor({ ...base, remaining: 5000, tier: "idle", intervalS: 300 }), 1);
  assertEquals(stretchFactor({ ...base, remaining: 5000, tier: "active", intervalS: 30 }), 1);
  assertEquals(stretchFactor({ ...base, remaining: 0, tier: "active", intervalS: 30 }), Infinity);
});

Deno.test("stretchFactor: as it tightens, idle slows first and most", () => {
  for (const remaining of [400, 250, 150, 80, 30]) {
    const idle = stretchFactor({ ...base, remaining, tier: "idle", intervalS: 300 });
    const active = stretchFactor({ ...base, remaining, tier: "active", intervalS: 30 });
    assert(idle >= active || idle === MAX_IDLE_STRETCH, `${remaining}: ${idle} vs ${active}`);
    assert(idle <= MAX_IDLE_STRETCH && active <= MAX_ACTIVE_STRETCH);
  }
  assertEquals(stretchFactor({ ...base, remaining: 250, tier: "active", intervalS: 30 }), 1);
  const idle = stretchFactor({ ...base, remaining: 250, tier: "idle", intervalS: 300 });
  assertEquals(idle, 288 / (250 * 0.7));
  // Two vehicles share it.
  assert(
    stretchFactor({ ...base, vehicles: 2, remaining: 250, tier: "idle", intervalS: 300 }) > idle,
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
  assertEquals(new Budget({}, meter).stretch("idle", 300, 300), 1);
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
