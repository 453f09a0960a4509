/** Opening an account: the budget it gets when the config sets none. */
import { assert, assertEquals } from "../core/testing.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { openAccount } from "./accounts.ts";
import { FLEET_PRICES } from "../providers/tesla/pricing.ts";

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
