/**
 * Quota-aware polling on the virtual clock: vehicles sharing one key's budget stay inside its
 * per-minute window, a "quota used up" or "too many requests" answer pauses the whole key
 * (and is no sign-in problem), and trip values are read right after a drive ends.
 */
import { assert, assertEquals } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { Readings } from "./readings.ts";
import type { Snapshot, VehicleRef } from "./snapshot.ts";
import { runScheduler } from "./scheduler.ts";
import { Budget, type BudgetConfig } from "./budget.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "./usage.ts";
import type { EndpointSpec, Provider } from "./source.ts";

const START = Date.UTC(2026, 2, 10, 12);

const ENDPOINTS: EndpointSpec[] = [
  { name: "doors", pace: "use" },
  { name: "engine", pace: "use" },
  { name: "energy", pace: "charging" },
  { name: "odometer", pace: "trip" },
  { name: "location", pace: "trip" },
  { name: "tyres", pace: "slow" },
  { name: "details", pace: "static" },
];

interface Script {
  driving?: (vin: string, t: number) => boolean;
  charging?: (vin: string, t: number) => boolean;
  /** An error to throw instead of answering (once per returned error object). */
  fail?: (vin: string, t: number) => VendorError | undefined;
}

/**
 * A vendor that reads endpoint by endpoint, one request each, and needs no state-check call
 * (as Volvo). Every request it "sends" is logged with its time, per vehicle.
 */
function keyedVendor(clock: VirtualClock, vins: string[], script: Script, meter: UsageMeter) {
  const t = () => (clock.now() - START) / 1000;
  const requests: { t: number; vin: string; endpoint: string }[] = [];
  const reads: { t: number; vin: string; endpoints: string }[] = [];
  const vehicles: VehicleRef[] = vins.map((vin) => ({ provider: "keyed", id: vin, vin }));
  const provider: Provider = {
    id: "keyed",
    endpoints: ENDPOINTS,
    requestsPerCheck: 0,
    listVehicles: () => Promise.resolve(vehicles),
    checkState: () => Promise.resolve({ state: "online" }),
    fetch(v, options) {
      const names = options?.endpoints ?? ENDPOINTS.map((e) => e.name);
      const error = script.fail?.(v.vin, t());
      const sent = error ? names.slice(0, 1) : names; // a refusal stops the read at once
      for (const endpoint of sent) {
        requests.push({ t: t(), vin: v.vin, endpoint });
        meter.record(undefined, error?.status ?? 200);
      }
      if (error) return Promise.reject(error);
      reads.push({ t: t(), vin: v.vin, endpoints: names.join("+") });
      const driving = script.driving?.(v.vin, t()) ?? false;
      const charging = script.charging?.(v.vin, t()) ?? false;
      const snapshot: Snapshot = {
        vehicle: v,
        sampledAt: clock.now() / 1000,
        state: "online",
        samples: [{ metric: "ev.engine.running", value: driving ? 1 : 0, source: "engine" }],
        states: [{
          metric: "ev.charging.state",
          state: charging ? "charging" : "disconnected",
          source: "energy",
        }],
        info: {},
        partial: { sources: names },
      };
      return Promise.resolve(snapshot);
    },
  };
  return { provider, vehicles, requests, reads };
}

async function runKey(
  vins: string[],
  script: Script,
  untilS: number,
  budgetConfig: BudgetConfig,
  /** Sees every poll-state change, with its time. */
  onPollState?: (vin: string, state: string, t: number) => void,
) {
  const clock = new VirtualClock(START, 0);
  const readings = new Readings();
  const setPollState = readings.setPollState.bind(readings);
  readings.setPollState = (vehicle, state) => {
    onPollState?.(vehicle.vin, state, (clock.now() - START) / 1000);
    setPollState(vehicle, state);
  };
  const meter = new UsageMeter({
    provider: "keyed",
    account: "a",
    pricing: COUNT_EVERY_REQUEST,
    clock,
    readings,
  });
  const budget = new Budget(budgetConfig, meter);
  const vendor = keyedVendor(clock, vins, script, meter);
  budget.register(vendor.vehicles.map((v) => v.vin));
  const controller = new AbortController();
  await runScheduler({
    targets: vendor.vehicles.map((vehicle) => ({
      provider: vendor.provider,
      vehicle,
      budget,
      account: "a",
    })),
    readings,
    clock,
    log: createLogger({ write: () => {} }),
    config: { driving_s: 30, charging_min_s: 60, charging_max_s: 60, suspend_s: 900 },
    signal: controller.signal,
    random: () => 0.5,
    onPoll: () => {
      if ((clock.now() - START) / 1000 >= untilS) controller.abort();
    },
  });
  return { ...vendor, readings, budget };
}

/** The most requests in any 60 s. */
function busiestMinute(times: number[]): number {
  let most = 0;
  for (const t of times) most = Math.max(most, times.filter((x) => x >= t && x < t + 60).length);
  return most;
}

Deno.test("one key, six vehicles driving: never more than the per-minute limit (after the margin)", async () => {
  const vins = ["V1", "V2", "V3", "V4", "V5", "V6"];
  const { requests, reads } = await runKey(
    vins,
    { driving: () => true },
    1800,
    { requests_per_minute: 40, safety_margin: 0.1 },
  );
  assertEquals(busiestMinute(requests.map((r) => r.t)), 36);
  // Six cars want 6 × 7 requests at the start, then 6 × 3 every 30 s: the key carries it by
  // queueing, not by dropping anyone.
  for (const vin of vins) {
    const mine = reads.filter((r) => r.vin === vin);
    assert(mine.length >= 40, `${vin}: ${mine.length} reads in 30 min`);
  }
  assert(requests.length > 600, `${requests.length} requests: the window is used`);
});

Deno.test("quota answer: the whole key pauses until it refills; no sign-in problem", async () => {
  const quota = new VendorError("quota", "Out of call volume quota", {
    status: 403,
    retryAfterS: 2800,
  });
  let refused = false;
  const states: { t: number; vin: string; state: string }[] = [];
  const { requests } = await runKey(
    ["V1", "V2"],
    {
      fail: (vin, t) => {
        if (vin !== "V1" || t < 1000 || refused) return undefined;
        refused = true;
        return quota;
      },
    },
    6000,
    { requests_per_day: 10_000 },
    (vin, state, t) => states.push({ t, vin, state }),
  );
  const at = requests.find((r) => r.vin === "V1" && r.t >= 1000)!.t;
  const during = requests.filter((r) => r.t > at && r.t < at + 2800);
  assertEquals(during, [], "nobody on the key sends while it is paused");
  assert(requests.some((r) => r.vin === "V2" && r.t >= at + 2800), "V2 resumes after the refill");
  assert(requests.some((r) => r.vin === "V1" && r.t >= at + 2800), "V1 resumes after the refill");
  // Each car says why it waits: the first poll state set after the refusal is rate_limited.
  for (const vin of ["V1", "V2"]) {
    const first = states.find((s) => s.vin === vin && s.t >= at && s.t < at + 2800);
    assertEquals(first?.state, "rate_limited", vin);
  }
  assert(!states.some((s) => s.state === "sign_in_needed"));
});

Deno.test("429: the key waits out the minute, then goes on", async () => {
  let refused = false;
  const { requests } = await runKey(
    ["V1", "V2"],
    {
      driving: () => true,
      fail: (vin, t) => {
        if (vin !== "V2" || t < 300 || refused) return undefined;
        refused = true;
        return new VendorError("rate_limited", "Too Many Requests", {
          status: 429,
          retryAfterS: 60,
        });
      },
    },
    900,
    { requests_per_minute: 100 },
  );
  const at = requests.find((r) => r.vin === "V2" && r.t >= 300)!.t;
  assertEquals(requests.filter((r) => r.t > at && r.t < at + 60), []);
  const next = requests.find((r) => r.t > at)!.t;
  assert(next >= at + 60 && next < at + 120, `resumed at ${next - at} s`);
});

Deno.test("a vendor pause beyond a day (Retry-After 3,000,000 s, a quota countdown) is held a day at most", async () => {
  for (const kind of ["rate_limited", "quota"] as const) {
    let refused = false;
    const { requests } = await runKey(
      ["V1", "V2"],
      {
        fail: (vin, t) => {
          if (vin !== "V1" || t < 600 || refused) return undefined;
          refused = true;
          return new VendorError(kind, "refused", { status: 429, retryAfterS: 3_000_000 });
        },
      },
      3 * 86_400,
      { requests_per_minute: 100 },
    );
    const at = requests.find((r) => r.vin === "V1" && r.t >= 600)!.t;
    assertEquals(requests.filter((r) => r.t > at && r.t < at + 86_400), [], kind);
    const next = requests.find((r) => r.t > at)?.t;
    assert(next !== undefined, `${kind}: the key sends again within three days`);
    assert(next <= at + 86_400 * 1.1, `${kind}: resumed after ${next - at} s, not 35 days`);
  }
});

Deno.test("after a drive the trip endpoints are read at once; not while it drives", async () => {
  const { reads } = await runKey(
    ["V1"],
    { driving: (_vin, t) => t >= 2000 && t < 2900 },
    4000,
    {},
  );
  const tripReads = reads.filter((r) => r.endpoints.includes("odometer"));
  assert(
    !tripReads.some((r) => r.t > 0 && r.t < 2900),
    reads.map((r) => `${r.t} ${r.endpoints}`).join("\n"),
  );
  const ended = reads.find((r) => r.t >= 2900)!;
  assertEquals(ended.endpoints, "doors+engine+energy", "the read that sees the car stopped");
  const follow = reads[reads.indexOf(ended) + 1];
  assertEquals([follow.t, follow.endpoints], [ended.t, "odometer+location"]);
});

Deno.test("while charging: energy at the charging pace, doors and engine only every 10 min", async () => {
  const { reads } = await runKey(
    ["V1"],
    { charging: (_vin, t) => t < 3600 },
    3000,
    {},
  );
  const charging = reads.filter((r) => r.t > 0 && r.t < 3000);
  assert(charging.length >= 45, `${charging.length} reads`);
  assert(charging.every((r) => r.endpoints.includes("energy")));
  const withDoors = charging.filter((r) => r.endpoints.includes("doors")).map((r) => r.t);
  const gaps = withDoors.slice(1).map((t, i) => t - withDoors[i]);
  assert(gaps.every((g) => g >= 600), `doors every ${gaps.join(",")} s`);
});
