import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { assertEquals } from "../core/testing.ts";
import { PLUGINS } from "../providers/mod.ts";
import { openConfiguredAccounts } from "./accounts.ts";

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
