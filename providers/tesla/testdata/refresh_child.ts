/**
 * A `deno task poll` start for providers/tesla/refresh_crash_test.ts, cut down to the token
 * part: opens the account from the token store (as poll does), prints "loaded", then lists
 * the vehicles, which refreshes the expired access token first, and stays up like poll. The
 * test kills it.
 *
 *   refresh_child.ts <state_dir> <fake_tesla_url>
 */
import { realClock } from "../../../core/clock.ts";
import { Http } from "../../../core/http.ts";
import { createLogger, type Logger } from "../../../core/log.ts";
import { Readings } from "../../../core/readings.ts";
import { openTeslaAccount } from "../session.ts";

/** Account "home" of a config whose Tesla hosts are all `url`, as poll opens it. */
export function openHome(stateDir: string, url: string, log: Logger) {
  const readings = new Readings();
  return openTeslaAccount({
    account: { provider: "tesla", name: "home", vehicles: [], auth_host: url, api_base_url: url },
    label: "config.yaml accounts[0]",
    stateDir,
    env: {},
    http: new Http({ provider: "tesla", readings }),
    readings,
    clock: realClock,
    log,
    location: false,
  });
}

if (import.meta.main) {
  const [stateDir, url] = Deno.args;
  const session = await openHome(stateDir, url, createLogger({ level: "warn" }));
  console.log("loaded");
  const vehicles = await session.provider.listVehicles();
  console.log(`listed ${vehicles.length}`);
  setInterval(() => {}, 60_000); // keeps running, like poll, until killed
}
