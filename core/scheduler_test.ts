/** The scheduler's decisions, exact on explicit times and on the virtual clock. */
import { assert, assertEquals } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { Readings } from "./readings.ts";
import type { Sample, Snapshot, StateSample, VehicleRef, VehicleState } from "./snapshot.ts";
import { type Activity, activityOf } from "./activity.ts";
import { DEFAULT_SCHEDULER } from "./scheduler_config.ts";
import { dueEndpoints, type Plan, runScheduler, VehiclePlanner } from "./scheduler.ts";
import { Budget } from "./budget.ts";
import { UsageMeter } from "./usage.ts";
import type { Provider } from "./source.ts";

const parked: Activity = { driving: false, charging: false, blockers: [] };
const driving: Activity = { ...parked, driving: true };
const brief = (p: Plan) => [p.action, p.inS, p.pollState];

Deno.test("asleep: state checks only, every asleep_s", () => {
  const p = new VehiclePlanner();
  assertEquals(brief(p.first()), ["check", 0, "polling"]);
  assertEquals(brief(p.afterCheck("asleep", 0)), ["check", 300, "sleeping"]);
  assertEquals(brief(p.afterCheck("offline", 300)), ["check", 300, "sleeping"]);
});

Deno.test("a fake-online blip is waited out without a full read", () => {
  const p = new VehiclePlanner();
  p.afterCheck("asleep", 0);
  assertEquals(brief(p.afterCheck("online", 300)), ["check", 240, "suspended"]);
  assertEquals(brief(p.afterCheck("asleep", 540)), ["check", 300, "sleeping"]);
});

Deno.test("a car still online after confirm_online_s is read at once", () => {
  const p = new VehiclePlanner();
  p.afterCheck("asleep", 0);
  p.afterCheck("online", 300);
  assertEquals(brief(p.afterCheck("online", 400)), ["check", 140, "suspended"]);
  assertEquals(brief(p.afterCheck("online", 540)), ["fetch", 0, "polling"]);
  const next = p.afterFetch(driving, 540);
  assertEquals([...brief(next), next.tier], ["fetch", 30, "polling", "active"]);
});

Deno.test("at start an online car is read right away", () => {
  const p = new VehiclePlanner();
  assertEquals(brief(p.afterCheck("online", 0)), ["fetch", 0, "polling"]);
});

Deno.test("resumed from a saved view: a car known asleep that shows online is a blip, not unknown", () => {
  const before = new VehiclePlanner();
  before.afterCheck("asleep", 1000);
  const saved = before.view();
  assertEquals(saved, {
    mode: "asleep",
    asleepSince: 1000,
    onlineSince: undefined,
    busyAt: undefined,
    suspendUntil: undefined,
  });
  const p = new VehiclePlanner();
  assert(p.resume(JSON.parse(JSON.stringify(saved))), "the view survives JSON");
  assertEquals(p.mode, "asleep");
  // A fresh planner would read at once (the test above); a resumed one waits out the blip.
  assertEquals(brief(p.afterCheck("online", 5000)), ["check", 240, "suspended"]);
  assertEquals(p.mode, "waking");
});

Deno.test("resumed: the last activity still counts for the idle time before a sleep attempt", () => {
  const config = { ...DEFAULT_SCHEDULER, idle_before_suspend_s: 600 };
  const before = new VehiclePlanner(config);
  before.afterFetch(driving, 2000);
  const p = new VehiclePlanner(config);
  p.resume(before.view());
  assertEquals(p.view().busyAt, 2000);
  // Parked a minute after the drive: read again within the idle time, as without a restart…
  assertEquals(brief(p.afterFetch(parked, 2060)), ["fetch", 30, "polling"]);
  assertEquals(brief(before.afterFetch(parked, 2060)), ["fetch", 30, "polling"]);
  // …and left alone once the idle time is over.
  assertEquals(brief(p.afterFetch(parked, 2600)), ["check", 180, "suspended"]);
  assert(!new VehiclePlanner().resume({ mode: "bogus" }), "an unknown mode starts afresh");
});

Deno.test("charging: faster at higher power, clamped, and just before the estimated end", () => {
  const charging = (kw?: number, ttf?: number): Activity => ({
    ...parked,
    charging: true,
    chargerPowerW: kw === undefined ? undefined : kw * 1000,
    timeToFullS: ttf,
  });
  const inS = (a: Activity) => new VehiclePlanner().afterFetch(a, 0).inS;
  assertEquals(inS(charging(11)), 327);
  assertEquals(inS(charging(50)), 72);
  assertEquals(inS(charging(250)), 30, "clamped to charging_min_s");
  assertEquals(inS(charging(1.4)), 600, "clamped to charging_max_s");
  assertEquals(inS(charging(undefined)), 30, "Starting: no power yet");
  assertEquals(inS(charging(11, 100)), 70, "the last read lands 30 s before the car's estimate");
  assertEquals(inS(charging(11, 3600)), 327);
  // Within the last minute (or at 0, Tesla's 0.01 h resolution) the car is left to sleep:
  // a read after the end would restart its sleep timer.
  for (const ttf of [60, 36, 0]) {
    const last = new VehiclePlanner().afterFetch(charging(11, ttf), 0);
    assertEquals([last.action, last.pollState], ["check", "suspended"], `ttf ${ttf}`);
  }
  const asked = (a: Activity) =>
    new VehiclePlanner({ ...DEFAULT_SCHEDULER, read_charge_complete: true }).afterFetch(a, 0).inS;
  assertEquals(asked(charging(11, 100)), 110, "read_charge_complete: 10 s after the estimate");
  assertEquals(asked(charging(11, 36)), 46);
});

Deno.test("a budget's stretch: never past a charge's end, driving_max_s, no reads as the driver leaves", () => {
  const planner = new VehiclePlanner();
  const charge = planner.afterFetch({
    ...parked,
    charging: true,
    chargerPowerW: 11000,
    timeToFullS: 1000,
  }, 0);
  assertEquals([charge.inS, charge.notAfterS, charge.horizonS], [327, 970, 1000]);
  const drive = planner.afterFetch({ ...parked, driving: true }, 0);
  assertEquals([drive.inS, drive.notAfterS], [30, 60]);
  // Parked with the driver still in: followed without a budget's say, let go under one.
  const present = { ...parked, blockers: ["user_present"] };
  assertEquals(planner.afterFetch(present, 30).action, "fetch");
  planner.afterFetch({ ...parked, driving: true }, 60);
  planner.idleStretch = 3;
  const left = planner.afterFetch(present, 90);
  assertEquals([left.action, left.pollState], ["check", "suspended"]);
});

Deno.test("parked: blockers keep it read; without them the sleep attempt starts", () => {
  const p = new VehiclePlanner();
  p.afterCheck("online", 0);
  p.afterFetch(driving, 0);
  const present = p.afterFetch({ ...parked, blockers: ["user_present"] }, 30);
  assertEquals(brief(present), ["fetch", 30, "polling"]);
  assertEquals(present.reason, "user_present");
  assertEquals(brief(p.afterFetch(parked, 60)), ["check", 180, "suspended"]);
  // While suspended, online state checks do not lead to a full read…
  assertEquals(brief(p.afterCheck("online", 240)), ["check", 180, "suspended"]);
  assertEquals(brief(p.afterCheck("online", 1200)), ["check", 120, "suspended"]);
  // …until the window (21 min from 60 s) is over.
  assertEquals(brief(p.afterCheck("online", 1320)), ["fetch", 0, "polling"]);
  // If it falls asleep first, that is the end of it.
  const q = new VehiclePlanner();
  q.afterCheck("online", 0);
  q.afterFetch(parked, 0);
  assertEquals(brief(q.afterCheck("asleep", 900)), ["check", 300, "sleeping"]);
});

Deno.test("idle_before_suspend_s: reads go on until the car has been idle that long", () => {
  const p = new VehiclePlanner({ ...DEFAULT_SCHEDULER, idle_before_suspend_s: 100 });
  p.afterCheck("online", 0);
  p.afterFetch(driving, 0);
  assertEquals(brief(p.afterFetch(parked, 30)), ["fetch", 30, "polling"]);
  assertEquals(brief(p.afterFetch(parked, 90)), ["fetch", 10, "polling"]);
  assertEquals(brief(p.afterFetch(parked, 100)), ["check", 180, "suspended"]);
});

Deno.test("errors: backoff doubles to the cap, jitter comes from the injected source", () => {
  const p = new VehiclePlanner(DEFAULT_SCHEDULER, () => 0.5);
  p.afterCheck("online", 0);
  p.afterFetch(driving, 0);
  const err = new VendorError("server", "Tesla answered 503");
  const waits = [1, 2, 3, 4, 5, 6, 7, 8].map(() => p.afterError(err, "fetch", 0).inS);
  assertEquals(waits, [30, 60, 120, 240, 480, 960, 1800, 1800]);
  const retry = p.afterError(err, "fetch", 0);
  assertEquals([retry.action, retry.pollState, retry.tier], ["fetch", "backing_off", "active"]);
  const low = new VehiclePlanner(DEFAULT_SCHEDULER, () => 0).afterError(err, "check", 0);
  const high = new VehiclePlanner(DEFAULT_SCHEDULER, () => 0.999999).afterError(err, "check", 0);
  assertEquals([low.inS, Math.round(high.inS)], [24, 36]);
  // A success resets the streak.
  p.afterFetch(driving, 10);
  assertEquals(p.afterError(err, "fetch", 20).inS, 30);
});

Deno.test("Retry-After and rate limits are honoured (capped, jittered); a dead sign-in retried slowly", () => {
  const p = new VehiclePlanner(DEFAULT_SCHEDULER, () => 0.5);
  const limited = p.afterError(
    new VendorError("rate_limited", "429", { status: 429, retryAfterS: 37829 }),
    "fetch",
    0,
  );
  // Retry-After plus up to 10 % jitter (5 % at the injected 0.5), so cars spread out.
  assertEquals(brief(limited), ["check", 37829 * 1.05, "rate_limited"]);
  const busy = p.afterError(new VendorError("server", "503", { retryAfterS: 120 }), "check", 0);
  assertEquals(busy.inS, 126, "Retry-After beats a shorter backoff");
  const bogus = p.afterError(
    new VendorError("rate_limited", "429", { retryAfterS: 1e9 }),
    "check",
    0,
  );
  assertEquals(bogus.inS, 86400 * 1.05, "a bogus Retry-After is capped at a day");
  const signIn = p.afterError(new VendorError("sign_in_needed", "login_required"), "check", 0);
  assertEquals(brief(signIn), ["check", 1800, "sign_in_needed"]);
  assertEquals(brief(p.afterError(new VendorError("asleep", "408"), "fetch", 0)), [
    "check",
    300,
    "sleeping",
  ]);
});

Deno.test("wake_up only when configured: after wake_after_s asleep, then read without the blip wait", () => {
  const off = new VehiclePlanner();
  off.afterCheck("asleep", 0);
  assertEquals(off.afterCheck("asleep", 86400).action, "check", "never wakes by default");

  const p = new VehiclePlanner({ ...DEFAULT_SCHEDULER, wake_up: true, wake_after_s: 3600 });
  p.afterCheck("asleep", 0);
  assertEquals(p.afterCheck("asleep", 3000).action, "check");
  assertEquals(p.afterCheck("asleep", 3600).action, "wake");
  assertEquals(brief(p.afterWake(3600)), ["check", 10, "polling"]);
  assertEquals(brief(p.afterCheck("asleep", 3610)), ["check", 10, "polling"]);
  assertEquals(brief(p.afterCheck("online", 3620)), ["fetch", 0, "polling"]);
  p.afterFetch(parked, 3620);
  assertEquals(p.afterCheck("asleep", 4600).action, "check", "asleep again: the clock restarts");
});

function snapshot(vehicle: VehicleRef, at: number, activity: Partial<Activity>): Snapshot {
  const samples: Sample[] = [{ metric: "ev.battery.level", value: 0.5 }];
  const states: StateSample[] = [
    { metric: "ev.drive.shift_state", state: activity.driving ? "drive" : "park" },
    { metric: "ev.charging.state", state: activity.charging ? "charging" : "disconnected" },
  ];
  if (activity.chargerPowerW) {
    samples.push({ metric: "ev.charging.power", value: activity.chargerPowerW });
  }
  for (const b of activity.blockers ?? []) {
    const metric = { user_present: "ev.user_present", climate_on: "ev.climate.on" }[b];
    if (metric) samples.push({ metric, value: 1 });
  }
  return { vehicle, sampledAt: at, state: "online", samples, states, info: {} };
}

Deno.test("activityOf reads the catalog metrics", () => {
  const v = { provider: "x", id: "1", vin: "V" };
  const a = activityOf(snapshot(v, 0, {
    charging: true,
    chargerPowerW: 7000,
    blockers: ["climate_on"],
  }));
  assertEquals(a, {
    driving: false,
    charging: true,
    chargerPowerW: 7000,
    timeToFullS: undefined,
    blockers: ["climate_on"],
  });
});

/** A car on a script: (t in s from the start) → state and activity. Logs every call. */
function scriptedCar(
  clock: VirtualClock,
  script: (t: number) => { state: VehicleState; activity?: Partial<Activity> },
  meter?: UsageMeter,
) {
  const start = clock.now() / 1000;
  const calls: string[] = [];
  const vehicle: VehicleRef = { provider: "scripted", id: "1", vin: "VIN1" };
  const t = () => clock.now() / 1000 - start;
  const provider: Provider = {
    id: "scripted",
    listVehicles: () => Promise.resolve([vehicle]),
    checkState() {
      calls.push(`${t()} check`);
      meter?.record(undefined, 200);
      return Promise.resolve({ state: script(t()).state });
    },
    fetch(v) {
      calls.push(`${t()} fetch`);
      meter?.record(undefined, 200);
      const now = script(t());
      return Promise.resolve(
        now.state === "online" ? snapshot(v, t(), now.activity ?? {}) : undefined,
      );
    },
  };
  return { calls, provider, vehicle };
}

async function run(
  clock: VirtualClock,
  target: Parameters<typeof runScheduler>[0]["targets"][number],
  untilS: number,
  readings = new Readings(),
  lines: string[] = [],
) {
  const controller = new AbortController();
  const start = clock.now();
  const states: string[] = [];
  await runScheduler({
    targets: [target],
    readings,
    clock,
    log: createLogger({ write: (line) => lines.push(line) }),
    signal: controller.signal,
    random: () => 0.5,
    onPoll: () => {
      states.push([...readings.vehicles.values()][0]?.pollState ?? "");
      if (clock.now() - start >= untilS * 1000) controller.abort();
    },
  });
  return states;
}

Deno.test("on the virtual clock: a blip is ignored, a wake is read, the drive is followed", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const car = scriptedCar(clock, (t) => {
    if (t >= 1000 && t < 1180) return { state: "online" }; // blip
    if (t >= 5000 && t < 5400) return { state: "online", activity: { blockers: ["climate_on"] } };
    if (t >= 5400 && t < 5700) return { state: "online", activity: { driving: true } };
    if (t >= 5700 && t < 6600) return { state: "online" };
    return { state: "asleep" };
  });
  const readings = new Readings();
  await run(clock, car, 7000, readings);
  assertEquals(car.calls.slice(0, 6), [
    "0 check",
    "300 check",
    "600 check",
    "900 check",
    "1200 check", // the blip (1000–1180) was never seen online: no read
    "1500 check",
  ]);
  const from = car.calls.indexOf("5100 check");
  assertEquals(car.calls.slice(from, from + 6), [
    "5100 check", // online: wait out a possible blip
    "5340 check",
    "5340 fetch", // climate on: keep reading
    "5370 fetch",
    "5400 fetch", // driving
    "5430 fetch",
  ]);
  const parkedAt = car.calls.indexOf("5700 fetch");
  assertEquals(car.calls.slice(parkedAt, parkedAt + 5), [
    "5700 fetch", // parked, nothing keeps it awake: the sleep attempt
    "5880 check",
    "6060 check",
    "6240 check",
    "6420 check",
  ]);
  assert(!car.calls.some((c) => c.endsWith("fetch") && Number(c.split(" ")[0]) > 5700));
  assertEquals([...readings.vehicles.values()][0].pollState, "sleeping");
});

Deno.test("on the virtual clock: a spent budget stops all calls until 00:00 UTC", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10, 20), 0);
  const pricing = { usd: { data: 0.002 }, defaultCategory: "data", billed: (s: number) => s < 500 };
  const readings = new Readings();
  const meter = new UsageMeter({ provider: "scripted", account: "a", pricing, clock, readings });
  const budget = new Budget({ requests_per_day: 20, safety_margin: 0.1 }, meter);
  const car = scriptedCar(clock, () => ({ state: "online", activity: { driving: true } }), meter);
  // Until ten minutes into the next day: fewer calls than a day's budget by then.
  const states = await run(clock, { ...car, budget, account: "a" }, 4 * 3600 + 600, readings);
  const today = car.calls.filter((c) => Number(c.split(" ")[0]) < 4 * 3600);
  assertEquals(today.length, 18, "20 a day minus the 10 % margin");
  assert(states.includes("rate_limited"));
  assertEquals(car.calls[18].split(" ")[0], String(4 * 3600), "the next call at 00:00 UTC");
  assertEquals(
    readings.gaugeValue("ev.api.budget.remaining", { provider: "scripted", account: "a" }),
    18 - (car.calls.length - 18),
  );
  assertEquals(
    readings.counterValue("ev.api.billable_requests", {
      provider: "scripted",
      account: "a",
      category: "data",
    }),
    car.calls.length,
  );
});

Deno.test("on the virtual clock: a tight budget stretches idle polls more than driving", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const pricing = { usd: { data: 0.002 }, defaultCategory: "data", billed: (s: number) => s < 500 };
  const meter = new UsageMeter({ provider: "scripted", account: "a", pricing, clock });
  const budget = new Budget({ usd_per_month: 12, safety_margin: 0 }, meter); // 200 requests/day
  const car = scriptedCar(
    clock,
    (t) => (t >= 3600 && t < 5400 ? { state: "online", activity: { driving: true } } : {
      state: "asleep",
    }),
    meter,
  );
  await run(clock, { ...car, budget }, 86400);
  const times = car.calls.map((c) => Number(c.split(" ")[0]));
  const gaps = (from: number, to: number) =>
    times.slice(1).map((t, i) => [times[i], t - times[i]]).filter(([t]) => t >= from && t < to)
      .map(([, g]) => g);
  const asleepGap = Math.min(...gaps(0, 3000));
  const drivingGap = Math.max(...gaps(4000, 5000));
  assert(asleepGap > 300, `asleep polls stretched (${asleepGap} s)`);
  assertEquals(drivingGap, 30, "driving keeps its pace");
  assert(car.calls.length <= 200, `${car.calls.length} calls within 200 a day`);
  assert(car.calls.length > 100, `${car.calls.length} calls: the budget is used, not hoarded`);
});

Deno.test("dueEndpoints: use and charging always, trip after a drive, slow hourly, static daily", () => {
  const specs = [
    { name: "doors", pace: "use" as const },
    { name: "energy", pace: "charging" as const },
    { name: "odometer", pace: "trip" as const },
    { name: "tyres", pace: "slow" as const },
    { name: "details", pace: "static" as const },
  ];
  const cfg = DEFAULT_SCHEDULER;
  assertEquals(dueEndpoints(undefined, new Map(), 0, "online", cfg), undefined);
  assertEquals(dueEndpoints(specs, new Map(), 0, "start", cfg), undefined, "first read: all");
  const read = new Map(specs.map((s) => [s.name, 0]));
  assertEquals(dueEndpoints(specs, read, 60, "online", cfg), ["doors", "energy"]);
  assertEquals(dueEndpoints(specs, read, 60, "driving", cfg, true), ["doors", "energy"]);
  assertEquals(dueEndpoints(specs, read, 60, "online", cfg, true), ["doors", "energy", "odometer"]);
  assertEquals(dueEndpoints(specs, read, 60, "charging", cfg), ["energy"], "plugged in");
  assertEquals(dueEndpoints(specs, read, 600, "charging", cfg), ["doors", "energy"]);
  assertEquals(dueEndpoints(specs, read, 3600, "online", cfg), [
    "doors",
    "energy",
    "odometer",
    "tyres",
  ]);
  assertEquals(dueEndpoints(specs, read, 86400, "online", cfg), undefined);
});

Deno.test("dueEndpoints under a tight budget: what shows a drive or a charge keeps its pace", () => {
  const specs = [
    { name: "doors", pace: "use" as const },
    { name: "engine", pace: "driving" as const },
    { name: "energy", pace: "charging" as const },
  ];
  const cfg = DEFAULT_SCHEDULER;
  const read = new Map(specs.map((s) => [s.name, 0]));
  const useS = 3600;
  // Parked and driving: doors only every useS, the engine and the energy state on every read.
  assertEquals(dueEndpoints(specs, read, 900, "online", cfg, false, useS), ["engine", "energy"]);
  assertEquals(dueEndpoints(specs, read, 900, "driving", cfg, false, useS), ["engine", "energy"]);
  assertEquals(dueEndpoints(specs, read, 600, "charging", cfg, false, useS), ["engine", "energy"]);
  // A drive ended: are the doors locked?
  assertEquals(dueEndpoints(specs, read, 900, "online", cfg, true, useS), undefined);
  assertEquals(dueEndpoints(specs, read, 3600, "online", cfg, false, useS), undefined);
  // Without a budget's say, the doors come with every parked read.
  assertEquals(dueEndpoints(specs, read, 900, "online", cfg), undefined);
});

Deno.test("on the virtual clock: a tight budget thins parked reads by endpoint, not the charge", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const asked: [number, string][] = [];
  const vehicle: VehicleRef = { provider: "paced", id: "1", vin: "VIN9" };
  const start = clock.now();
  const pricing = { usd: { data: 0 }, defaultCategory: "data", billed: () => true };
  const meter = new UsageMeter({ provider: "paced", account: "a", pricing, clock });
  // 300 requests a day for a car whose parked read costs 5 (480 a day at its pace).
  const budget = new Budget({ requests_per_day: 300, safety_margin: 0 }, meter);
  const endpoints = ["doors", "windows", "locks", "engine", "energy"] as const;
  const provider: Provider = {
    id: "paced",
    requestsPerCheck: 0,
    endpoints: endpoints.map((name) => ({
      name,
      pace: name === "engine" ? "driving" : name === "energy" ? "charging" : "use",
    })),
    listVehicles: () => Promise.resolve([vehicle]),
    checkState: () => Promise.resolve({ state: "online" }),
    fetch(v, options) {
      const t = (clock.now() - start) / 1000;
      const names = options?.endpoints ?? endpoints;
      for (const name of names) {
        asked.push([t, name]);
        meter.record(undefined, 200);
      }
      const charging = t >= 12 * 3600 && t < 14 * 3600;
      return Promise.resolve(
        snapshot(v, t, charging ? { charging: true, chargerPowerW: 11000 } : {}),
      );
    },
  };
  const config = { suspend_s: 900, charging_min_s: 120, charging_max_s: 120 };
  await run(clock, { provider, vehicle, budget, config }, 86400);
  const energy = asked.filter(([, n]) => n === "energy").map(([t]) => t);
  const doors = asked.filter(([, n]) => n === "doors").map(([t]) => t);
  assert(asked.length <= 300, `${asked.length} requests within 300 a day`);
  // The charge at 12:00 is seen within the parked pace (900 s), and followed at its own.
  const seen = energy.find((t) => t >= 12 * 3600)!;
  assert(seen - 12 * 3600 <= 900, `charge seen after ${seen - 12 * 3600} s`);
  const during = energy.filter((t) => t >= seen && t < 14 * 3600);
  assert(during.length >= 10, `${during.length} reads of the charge`);
  // The doors gave way: fewer than one in three parked reads asked for them.
  assert(doors.length * 3 < energy.length, `${doors.length} door reads, ${energy.length} energy`);
});

Deno.test("on the virtual clock: a provider with endpoints is read by pace", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const asked: string[] = [];
  const vehicle: VehicleRef = { provider: "paced", id: "1", vin: "VIN9" };
  const start = clock.now();
  const provider: Provider = {
    id: "paced",
    endpoints: [
      { name: "engine", pace: "use" },
      { name: "odometer", pace: "trip" },
      { name: "tyres", pace: "slow" },
    ],
    listVehicles: () => Promise.resolve([vehicle]),
    checkState: () => Promise.resolve({ state: "online" }),
    fetch(v, options) {
      const t = (clock.now() - start) / 1000;
      asked.push(`${t} ${options?.endpoints?.join("+") ?? "all"}`);
      return Promise.resolve(snapshot(v, t, { driving: t >= 600 && t < 700 }));
    },
  };
  await run(clock, { provider, vehicle }, 4000);
  assertEquals(asked.slice(0, 2), ["0 all", "1260 engine"]);
  assert(asked.includes("3780 engine+odometer+tyres") || asked.includes("3780 all"), `${asked}`);
});

Deno.test("the log: one line per change of state, in words, and progress while charging", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const car = scriptedCar(clock, (t) => {
    if (t >= 1000 && t < 1600) return { state: "online", activity: { driving: true } };
    if (t >= 1600 && t < 5200) {
      return { state: "online", activity: { charging: true, chargerPowerW: 11_000 } };
    }
    return { state: "asleep" };
  });
  const lines: string[] = [];
  await run(clock, car, 7200, new Readings(), lines);
  const said = lines.map((l) => /msg="?([^"]*?)"? (provider|$)/.exec(l)?.[1] ?? l);
  assert(!lines.some((l) => l.includes("blip")), lines.join("\n"));
  // Changes once each; charging (an hour) also says how it is doing every 15 minutes.
  assertEquals(said.filter((m) => m === "driving").length, 1, said.join(" | "));
  const charging = said.filter((m) => m === "charging at 11 kW").length;
  assert(charging >= 4 && charging <= 5, `charging lines: ${charging}: ${said.join(" | ")}`);
  assertEquals(said[0], "asleep");
  assert(said.includes("woke up"), said.join(" | "));
  assert(lines.some((l) => l.includes("soc=50%")), "progress carries the state of charge");
});
