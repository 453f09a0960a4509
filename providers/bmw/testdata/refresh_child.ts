/**
 * A `deno task poll` start for providers/bmw/refresh_crash_test.ts, cut down to the token part:
 * opens the BMW account from the token store (as poll does), then lists the vehicles, which
 * refreshes the expired access token first, and stays up like poll. The test kills it.
 *
 *   refresh_child.ts <state_dir> <fake_bmw_url>
 */
import { realClock } from "../../../core/clock.ts";
import { Http } from "../../../core/http.ts";
import { createLogger, type Logger } from "../../../core/log.ts";
import { Readings } from "../../../core/readings.ts";
import { openBmwAccount } from "../session.ts";
import { SIM_CLIENT_ID } from "../sim/fake_bmw.ts";

/** Account "home" whose BMW hosts are all `url`, the stream off, as poll opens it. */
export function openHome(stateDir: string, url: string, log: Logger) {
  const readings = new Readings();
  return openBmwAccount({
    account: {
      provider: "bmw",
      name: "home",
      vehicles: [],
      client_id: SIM_CLIENT_ID,
      auth_host: url,
      api_base_url: url,
      stream: false,
    },
    label: "config.yaml accounts[0]",
    stateDir,
    env: {},
    http: new Http({ provider: "bmw", readings }),
    readings,
    clock: realClock,
    log,
    location: false,
  });
}

if (import.meta.main) {
  const [stateDir, url] = Deno.args;
  const session = await openHome(stateDir, url, createLogger({ level: "warn" }));
  const vehicles = await session.provider.listVehicles();
  console.log(`listed ${vehicles.length}`);
  setInterval(() => {}, 60_000); // keeps running, like poll, until killed
}
