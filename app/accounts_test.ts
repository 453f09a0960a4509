/** Opening an account: the budget it gets when the config sets none, and a shard's part. */
import { assert, assertEquals } from "../core/testing.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { openAccount, openConfiguredAccounts } from "./accounts.ts";
import { FLEET_PRICES } from "../providers/tesla/pricing.ts";
import { PLUGINS } from "../providers/mod.ts";

const open = (yaml: string) => {
  const config = parseConfig(yaml);
  return openAccount(config.accounts[0], 0, {
    location: false,
    stateDir: "/nonexistent",
    env: { EV_TESLA_ACCESS_TOKEN: "static-test-token" },
    readings: new Readings(),
    clock: { now: () => Date.UTC(2026, 2, 10) } as never,
    log: createLogger({ write: () => {} }),
    invokedAs: "deno task",
    budgets: new Map(),
  });
};

Deno.test("a Tesla Fleet account without a budget stays inside the $10 monthly credit", async () => {
  const fleet = await open(
    "accounts:\n  - provider: tesla\n    api: fleet\n    client_id: app\n" +
      "    redirect_uri: https://example.net/callback\n",
  );
  const budget = fleet.run.budget;
  assert(budget?.limited, "a Fleet account gets a budget by default");
  // $10 a month less the 10 % margin: 150 data requests a day.
  assertEquals(Math.round(budget.usdPerDay! / FLEET_PRICES.data), 150);
  const own = await open(
    "accounts:\n  - provider: tesla\n    api: fleet\n    client_id: app\n" +
      "    redirect_uri: https://example.net/callback\n    budget: { usd_per_month: 30 }\n",
  );
  assertEquals(Math.round(own.run.budget!.usdPerDay! / FLEET_PRICES.data), 450, "the config's own");
  const owner = await open("accounts:\n  - provider: tesla\n");
  assertEquals(owner.run.budget, undefined, "the Owner API is free: no budget");
});

Deno.test("shards share an account's budget: each plans on its part of it", async () => {
  const text = "accounts:\n  - provider: tesla\n    name: home\n" +
    "    api_base_url: http://127.0.0.1:9\n" +
    "    budget: { requests_per_day: 900, usd_per_month: 9, safety_margin: 0 }\n";
  const open = async (env: Record<string, string>) => {
    const config = parseConfig(text, env, "config.yaml", PLUGINS);
    const [opened] = await openConfiguredAccounts(config, {
      env: { EV_TESLA_ACCESS_TOKEN: "static-test-token" },
      readings: new Readings(),
      log: createLogger({ write: () => {} }),
      invokedAs: "deno task",
    });
    return opened.run.budget!;
  };
  assertEquals((await open({})).requestsPerDay, 900);
  const third = await open({ EV_OBSERVER_SHARD: "1/3" });
  assertEquals(third.requestsPerDay, 300, "a third of the day's requests");
  assertEquals((await open({ EV_OBSERVER_SHARD: "0/1" })).requestsPerDay, 900);
});
