/** The Tesla provider under the scheduler, against the simulated Tesla: limits and tokens. */
import { assert, assertEquals } from "../../core/testing.ts";
import { VirtualClock } from "../../core/clock.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { type Plan, runScheduler } from "../../core/scheduler.ts";
import { FakeTesla } from "./sim/fake_api.ts";
import { createTeslaProvider } from "./provider.ts";
import { DAY_START } from "./sim/scenario.ts";

async function drive(options: { dailyLimit?: number; accessLifetimeS?: number }, polls: number) {
  // 07:50: the morning drive, when the scheduler reads every 30 s.
  const clock = new VirtualClock((DAY_START + 7 * 3600 + 50 * 60) * 1000, 0);
  const fake = new FakeTesla({ clock, ...options }, false);
  const readings = new Readings();
  const token = fake.auth.mint().access_token;
  const provider = createTeslaProvider({
    http: new Http({ provider: "tesla", readings, fetch: fake.fetch, now: () => clock.now() })
      .withAuth({ token: () => Promise.resolve(token) }),
    readings,
    clock,
    log: createLogger({ write: () => {} }),
    baseUrl: fake.url,
    location: false,
  });
  const [vehicle] = await provider.listVehicles();
  const plans: { t: number; plan: Plan }[] = [];
  const controller = new AbortController();
  await runScheduler({
    targets: [{ provider, vehicle }],
    readings,
    clock,
    log: createLogger({ write: () => {} }),
    signal: controller.signal,
    random: () => 0.5,
    onPoll: (_t, _o, plan) => {
      plans.push({ t: clock.now() / 1000 - DAY_START, plan });
      if (plans.length >= polls) controller.abort();
    },
  });
  return { plans, fake, readings };
}

Deno.test("a 429 from the daily limit: the scheduler waits for Retry-After, past 00:00 UTC", async () => {
  const { plans, fake } = await drive({ dailyLimit: 10 }, 12);
  const limited = plans.findIndex((p) => p.plan.pollState === "rate_limited");
  assert(limited > 0, "rate limited at some point");
  const at = plans[limited].t;
  // Retry-After says "until 00:00 UTC"; the scheduler adds up to 10 % (5 % at random 0.5).
  assertEquals(plans[limited].plan.inS, (86400 - at) * 1.05, "Retry-After: seconds to midnight");
  assertEquals(plans[limited + 1].t, at + (86400 - at) * 1.05, "the next call after midnight");
  assertEquals(fake.answers.get("GET /api/1/vehicles/{id}/vehicle_data 429"), 1);
});

Deno.test("an access token that expires mid-drive: backoff, never a crash", async () => {
  const { plans, readings } = await drive({ accessLifetimeS: 120 }, 8);
  const failing = plans.filter((p) => p.plan.pollState === "backing_off");
  assert(failing.length >= 2, "401s back off");
  assertEquals(failing.map((p) => p.plan.inS).slice(0, 2), [30, 60]);
  assertEquals(
    readings.counterValue("ev.api.requests", {
      provider: "tesla",
      endpoint: "/api/1/vehicles/{id}/vehicle_data",
      status: "401",
    }),
    failing.length,
  );
});
