/**
 * A live BMW account on the simulated BMW and the virtual clock: a day of polling with the
 * stream down stays inside 50 REST calls (hourly token refreshes spend none of them), the
 * values match the simulator's, and BMW's CU-429 pauses the account until 00:00 UTC without
 * ever being taken for a sign-in problem.
 */
import { assert, assertAlmostEquals, assertEquals } from "../../core/testing.ts";
import { Budget } from "../../core/budget.ts";
import { defaultBudgetOf } from "../../core/plugin.ts";
import { VirtualClock } from "../../core/clock.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { runScheduler } from "../../core/scheduler.ts";
import { sampleValue } from "../../core/snapshot.ts";
import { UsageMeter } from "../../core/usage.ts";
import { bmwTokenStore } from "./identity.ts";
import { KEYS } from "./map.ts";
import { bmwPlugin } from "./mod.ts";
import { FakeBmw, SIM_CLIENT_ID } from "./sim/fake_bmw.ts";
import { I4_VIN, i4Day, stateAt } from "./sim/scenario.ts";

const DAY = Date.UTC(2026, 5, 10);

async function runDay(fromMs: number, untilMs: number, perDay?: number) {
  const clock = new VirtualClock(fromMs, 0);
  const fake = new FakeBmw({ now: () => clock.now(), ...(perDay ? { perDay } : {}) });
  const dir = await Deno.makeTempDir({ prefix: "bmw-day-" });
  const log = createLogger({ write: () => {} });
  const readings = new Readings();
  try {
    // A sign-in as `deno task auth bmw` leaves it.
    await bmwTokenStore(dir, "home", log).save(fake.signIn());
    const http = new Http({ provider: "bmw", readings, now: () => clock.now() });
    const meter = new UsageMeter({
      provider: "bmw",
      account: "home",
      pricing: bmwPlugin.pricing!,
      clock,
      readings,
    });
    http.observe(meter.observe);
    const budget = new Budget(
      defaultBudgetOf(bmwPlugin, { provider: "bmw", name: "home", vehicles: [] })!,
      meter,
    );
    const account = {
      provider: "bmw",
      name: "home",
      vehicles: [],
      client_id: SIM_CLIENT_ID,
      auth_host: fake.url,
      api_base_url: fake.url,
      stream: false,
    };
    const session = await bmwPlugin.openAccount!({
      account,
      label: "config.yaml accounts[0]",
      stateDir: dir,
      env: {},
      http,
      readings,
      clock,
      log,
      location: true,
    });
    const [vehicle] = await session.provider.listVehicles();
    budget.register([vehicle.vin]);
    const controller = new AbortController();
    await runScheduler({
      targets: [{ provider: session.provider, vehicle, budget, account: "home" }],
      readings,
      clock,
      log,
      config: bmwPlugin.scheduler,
      signal: controller.signal,
      random: () => 0.5,
      narrate: false,
      onPoll: () => {
        if (clock.now() >= untilMs) controller.abort();
      },
    });
    return { fake, session, readings, vehicle, clock };
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a BMW day with the stream down: at most 50 REST calls, none for the hourly token refreshes, values as the car sent them", async () => {
  const { fake, session, readings, vehicle, clock } = await runDay(DAY, DAY + 86_400_000 - 1);
  assert(fake.calls.total <= 50, `${fake.calls.total} API calls`);
  console.log(
    `BMW day, stream down: ${fake.calls.total} API calls, ${fake.auth.counts.refreshes} refreshes`,
  );
  assertEquals(fake.calls.quotaRefused, 0);
  assert(fake.calls.total >= 30, `${fake.calls.total} calls: the budget is used, not hoarded`);
  assertEquals(fake.calls.byEndpoint["/customers/containers"], 2, "listed once, created once");
  assert(fake.auth.counts.refreshes >= 10, `${fake.auth.counts.refreshes} refreshes`);
  assertEquals(session.tokenStatus().state, "ok");
  // The last read shows the car as the simulator had it then (base units).
  const stored = readings.vehicles.get(`bmw/${vehicle.vin}`)!.snapshot!;
  const truth = stateAt(i4Day(DAY), stored.sampledAt * 1000);
  assertAlmostEquals(
    sampleValue(stored, "ev.battery.level")!,
    Number(truth.get(KEYS.soc)!.value) / 100,
    1e-9,
  );
  assertEquals(sampleValue(stored, "ev.odometer"), Number(truth.get(KEYS.odometer)!.value) * 1000);
  assert(clock.now() >= DAY + 86_400_000 - 1);
  assertEquals(vehicle.vin, I4_VIN);
});

Deno.test("CU-429 (a 403): the account pauses until 00:00 UTC, keeps its sign-in, and reads again after", async () => {
  // Five calls a day on the server, while the budget believes in 45.
  const from = DAY + 20 * 3600_000;
  const midnight = DAY + 86_400_000;
  const { fake, session } = await runDay(from, midnight + 3600_000, 5);
  const refused = fake.answers.filter((a) => a.status === 403);
  assertEquals(refused.length, 1, "one refusal");
  const quiet = fake.answers.filter((a) => a.at > refused[0].at && a.at < midnight);
  assertEquals(quiet, [], "no call between the refusal and 00:00 UTC");
  assert(fake.answers.some((a) => a.at >= midnight && a.status === 200), "reads again after");
  assertEquals(session.tokenStatus().state, "ok", "a quota answer is no sign-in problem");
});
