/**
 * The Volvo benchmark's done-when on the simulated Volvo, and ev-observer's quota care there:
 * fewer requests than the original exporter at a fresher charging state, a key that carries
 * the computed fleet, a quota used up elsewhere that pauses the key until it refills, and an
 * invalid API key that is retried hourly, never taken for a sign-in problem.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { assertReadmeTable } from "./test_helpers.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";
import { DAY_LENGTH } from "../providers/volvo/sim/scenario.ts";
import {
  curveTable,
  FLEET_ROWS,
  LABELS,
  runBench,
  runCurve,
  runEvObserver,
  runFleet,
  startVolvoHarness,
  table,
} from "./volvo_day.ts";

Deno.test("volvo-day: ev-observer needs fewer requests than the original at a fresher charge", async () => {
  const r = await runBench(undefined, { inProcess: true });
  const ev = r.ev_observer;
  const original = r.original_exporter;
  assertEquals(original.requests, 9 * (DAY_LENGTH / 300), "9 calls every 300 s");
  assert(ev.requests < original.requests, `${ev.requests} < ${original.requests}`);
  assert(ev.requests * 2 < original.requests, "less than half");
  assert(
    ev.data_age_charging_p95_s! <= original.data_age_charging_p95_s!,
    `charging data age ${ev.data_age_charging_p95_s} s ≤ ${original.data_age_charging_p95_s} s`,
  );
  assert(ev.vehicles_per_key > original.vehicles_per_key);
  assertEquals(ev.refused, 0);
  assert(ev.busiest_minute <= 90, `${ev.busiest_minute} in a minute: inside 100 minus the margin`);
  await assertReadmeTable("volvo-bench", table(r, LABELS));
});

Deno.test("volvo-day: one key carries the computed fleet all day, no refusal, still fresher", async () => {
  const single = (await runBench(undefined, { inProcess: true })).ev_observer;
  const n = single.vehicles_per_key;
  const fleet = await runFleet(n, { inProcess: true });
  assertEquals(fleet.refused, 0);
  assert(fleet.requests <= 10_000, `${fleet.requests} requests for ${n} cars`);
  assert(fleet.busiest_minute <= 90, `${fleet.busiest_minute} in the busiest minute`);
  assert(fleet.data_age_charging_p95_s! < 285, `worst car ${fleet.data_age_charging_p95_s} s`);
  await assertReadmeTable(
    "volvo-fleet",
    table({ fleet }, { fleet: `ev-observer × ${n}` }, FLEET_ROWS),
  );
});

Deno.test("volvo-day: 25 cars on one key run the whole day, no refusal, charge seen ≤ 300 s", async () => {
  const points = await runCurve({ inProcess: true });
  const at = (n: number) => points.find((p) => p.vehicles === n)!;
  const key = at(25);
  assertEquals(key.refused, 0);
  assert(key.requests <= 10_000, `${key.requests} requests for 25 cars`);
  assert(key.busiest_minute <= 90, `${key.busiest_minute} in the busiest minute`);
  assert(key.data_age_charging_p95_s! <= 300, `charging age p95 ${key.data_age_charging_p95_s} s`);
  for (const p of points) assertEquals(p.refused, 0, `${p.vehicles} cars: refused`);
  await assertReadmeTable("volvo-curve", curveTable(points));
});

Deno.test("on the simulated Volvo: a quota used up elsewhere pauses the key until 00:00 UTC", async () => {
  // Another application spent the key: only 300 requests are left today.
  const h = startVolvoHarness({ inProcess: true, fake: { perDay: 300 } });
  try {
    await runEvObserver(h);
    const answers = h.fake.answers;
    const first = answers.findIndex((a) => a.status === 403);
    assert(first > 0, "the quota ran out");
    assertEquals(answers.length, first + 1, "not one request after the quota answer");
    const vehicle = [...h.readings.vehicles.values()][0];
    assertEquals(vehicle.pollState, "rate_limited");
    const errors = (kind: string) =>
      h.readings.counterValue("ev.poll.errors", { provider: "volvo", kind });
    assertEquals([errors("quota"), errors("sign_in_needed"), errors("unauthorized")], [1, 0, 0]);
  } finally {
    await h.shutdown();
  }
});

Deno.test("on the simulated Volvo: an API key that stops working is retried hourly, no sign-in", async () => {
  const h = startVolvoHarness({ inProcess: true });
  let revokedAt: number | undefined;
  h.readings.onSnapshot(() => {
    if (revokedAt === undefined && h.fake.t() >= 6 * 3600) {
      revokedAt = h.fake.t();
      h.fake.revokeApiKey(); // the application was unpublished
    }
  });
  try {
    await runEvObserver(h);
    const after = h.fake.answers.filter((a) => a.t > revokedAt!);
    assert(after.every((a) => a.status === 401), "every later answer: 401 invalid VCC-API-KEY");
    const hours = (DAY_LENGTH - revokedAt!) / 3600;
    assert(after.length >= hours - 2 && after.length <= hours + 1, `${after.length} in ${hours} h`);
    const vehicle = [...h.readings.vehicles.values()][0];
    assertEquals(vehicle.pollState, "backing_off");
    const errors = (kind: string) =>
      h.readings.counterValue("ev.poll.errors", { provider: "volvo", kind });
    assertEquals(errors("client"), after.length);
    assertEquals([errors("sign_in_needed"), errors("unauthorized")], [0, 0]);
  } finally {
    await h.shutdown();
  }
});

Deno.test("`deno task bench volvo-day --json` prints results keyed by strategy", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("bench"), "volvo-day", "--json", "--in-process"],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(json.ev_observer_curve.map((p: { vehicles: number }) => p.vehicles), [
    1,
    5,
    10,
    15,
    20,
    25,
    30,
  ]);
  for (const name of ["original_exporter", "ev_observer", "ev_observer_fleet"]) {
    for (
      const key of [
        "requests",
        "requests_per_vehicle",
        "refused",
        "busiest_minute",
        "data_age_charging_p95_s",
        "vehicles_per_key",
      ]
    ) assert(key in json[name], `${name}.${key}`);
  }
});
