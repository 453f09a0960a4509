/** The benchmark's done-when, on the simulated Tesla: all three strategies, one run. */
import { assert, assertEquals } from "../core/testing.ts";
import { assertReadmeTable } from "./test_helpers.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";
import { runEvObserver } from "./ev_observer.ts";
import { streamingTable } from "./tesla_stream.ts";
import { startHarness } from "./harness.ts";
import { chargingInterval } from "./teslamate.ts";
import {
  runBench,
  STRATEGIES,
  type StrategyResult,
  table,
  TRADEOFF,
  TRADEOFF_ROWS,
} from "./tesla_day.ts";

Deno.test("tesla-day: ev-observer never wakes the car, sees everything, and is billed least", async () => {
  const unbudgeted = TRADEOFF.find((s) => s.name === "ev_observer_driving_30s")!;
  const r = await runBench([...STRATEGIES, unbudgeted]);
  const ev = r.ev_observer;
  const demo = r.original_demo;
  const tm = r.teslamate;
  // The default (a Fleet account with no budget of its own) stays inside Tesla's $10 credit.
  assert(ev.usd_per_month <= 10, `$${ev.usd_per_month}/month by default`);
  assertEquals(ev.usd_per_month_after_credit, 0);
  assertEquals(ev.wake_calls, 0);
  // Within the budget the car still sleeps exactly when it would unpolled: no read lands after
  // the driver left or the charge ended.
  assertEquals(ev.awake_seconds_caused, 0, "the budget never keeps the car up");
  assertEquals([ev.drives_detected, ev.charges_detected], [2, 1]);
  assert(ev.billable_requests < demo.billable_requests, "fewer than the demo");
  assert(ev.billable_requests < tm.billable_requests, "fewer than TeslaMate");
  assert(ev.billable_requests_without_summary < demo.billable_requests_without_summary);
  assert(ev.usd_per_month < demo.usd_per_month && ev.usd_per_month < tm.usd_per_month);
  assert(ev.drive_start_detection_s !== null);

  // Without a budget the scheduler keeps its own pace.
  const free = r.ev_observer_driving_30s;
  assertEquals(free.wake_calls, 0);
  // Seeing that the charge is complete takes one read after it ended, and the car's
  // 15-min timer restarts with it: those seconds are all it keeps the car up all day.
  assertEquals(free.awake_seconds_caused, 0, "the car sleeps exactly when it would unpolled");
  assertEquals([free.drives_detected, free.charges_detected], [2, 1]);
  assert(free.drive_start_detection_s !== null && free.drive_start_detection_s <= 300);
  assert(free.data_age_driving_p95_s !== null && free.data_age_driving_p95_s <= 30);

  // The others, as the reference describes them: the demo keeps the car up from the first
  // "fake online" blip on; TeslaMate polls every blip and idle period awake for 15 min more.
  assert(demo.awake_minutes_caused > 15 * 60, `demo ${demo.awake_minutes_caused} min`);
  assert(tm.awake_minutes_caused > 60, `TeslaMate ${tm.awake_minutes_caused} min`);
  assert(tm.data_age_driving_p95_s! <= 3, "TeslaMate reads every 2.5 s while driving");
  for (const s of Object.values(r) as StrategyResult[]) {
    assertEquals(s.wake_calls, 0);
    assertEquals(s.billable_requests, s.billable_requests_without_summary + s.summary_requests);
    assertEquals(s.usd_per_month_after_credit, Math.max(0, round2(s.usd_per_month - 10)));
  }
  await assertReadmeTable("bench", table(r, STRATEGIES));
});

Deno.test("tesla-day: ev-observer's own billing metrics agree with the fake's ground truth", async () => {
  const h = startHarness({ inProcess: true });
  try {
    await runEvObserver(h);
    const billed = (category: string) =>
      h.readings.counterValue("ev.api.billable_requests", {
        provider: "tesla",
        account: "bench",
        category,
      });
    assertEquals(billed("data"), h.fake.billing.data);
    assertEquals(billed("wakes"), 0);
    const usd = h.readings.counterValue("ev.api.cost.usd", {
      provider: "tesla",
      account: "bench",
      category: "data",
    });
    assertEquals(round2(usd), round2(h.fake.billing.data * 0.002));
    assertEquals(h.fake.unexpected, []);
    const vehicle = [...h.readings.vehicles.values()][0];
    assertEquals(vehicle.pollState, "sleeping", "asleep at the end of the day");
  } finally {
    await h.shutdown();
  }
});

Deno.test("TeslaMate's charging interval: round(250 / kW) within [5, 20]", () => {
  assertEquals([11, 50, 150, 0, null].map(chargingInterval), [20, 5, 5, 5, 5]);
  assertEquals(chargingInterval(16), 16);
});

Deno.test("`deno task bench tesla-day --json` prints results keyed by strategy", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("bench"), "tesla-day", "--json", "--in-process"],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  for (const name of ["original_demo", "teslamate", "ev_observer", "ev_observer_driving_15s"]) {
    for (
      const key of [
        "billable_requests",
        "billable_requests_without_summary",
        "wake_calls",
        "awake_minutes_caused",
        "usd_per_month",
        "data_age_driving_p95_s",
        "data_age_charging_p95_s",
        "drives_detected",
        "charges_detected",
        "drive_start_detection_s",
      ]
    ) assert(key in json[name], `${name}.${key}`);
  }
  assert(json.ev_observer.usd_per_month <= 10, "the default stays inside the credit");
  const fast = json.ev_observer_driving_15s;
  const slow = json.ev_observer_driving_60s;
  assert(fast.billable_requests > slow.billable_requests, "fresher costs more requests");
  assert(fast.data_age_driving_p95_s < slow.data_age_driving_p95_s);
  await assertReadmeTable("tradeoff", table(json, TRADEOFF, TRADEOFF_ROWS));

  // The streamed day through a real Mosquitto, polling only as the fallback: the targets.
  const st = json.ev_observer_streaming;
  assert(/^mosquitto version \d+\.\d+/.test(st.broker), st.broker);
  assert(st.billable_requests <= 10, `${st.billable_requests} billable requests`);
  assert(st.usd_per_month <= 1, `$${st.usd_per_month}/month`);
  assert(st.signals_per_day > 0);
  assert(st.drive_start_detection_s !== null && st.drive_start_detection_s <= 5);
  assert(st.data_age_driving_p95_s !== null && st.data_age_driving_p95_s <= 5);
  assertEquals([st.drives_detected, st.charges_detected, st.wake_calls], [2, 1, 0]);
  await assertReadmeTable("streaming", streamingTable(st, json.ev_observer));
});

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
