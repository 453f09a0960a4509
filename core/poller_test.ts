/** Accounts are polled independently: a broken one is retried, the others keep running. */
import { assert, assertEquals } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { pollAccounts } from "./poller.ts";
import { Readings } from "./readings.ts";
import type { VehicleRef } from "./snapshot.ts";
import type { Provider } from "./source.ts";

function asleepProvider(id: string, vins: string[], failListing = 0) {
  const checked: string[] = [];
  let listings = 0;
  const provider: Provider = {
    id,
    listVehicles() {
      if (listings++ < failListing) {
        return Promise.reject(new VendorError("sign_in_needed", "login_required"));
      }
      return Promise.resolve(vins.map((vin): VehicleRef => ({ provider: id, id: vin, vin })));
    },
    checkState(v) {
      checked.push(v.vin);
      return Promise.resolve({ state: "asleep" });
    },
    fetch: () => Promise.resolve(undefined),
  };
  return { provider, checked, listings: () => listings };
}

Deno.test("pollAccounts: VIN filter, and a failing account retried without stalling others", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const good = asleepProvider("good", ["VIN_A", "VIN_B"]);
  const bad = asleepProvider("bad", ["VIN_C"], 2);
  const lines: string[] = [];
  const controller = new AbortController();
  const readings = new Readings();
  let polls = 0;
  await pollAccounts({
    accounts: [
      { name: "home", provider: good.provider, vins: ["VIN_B", "VIN_X"] },
      { name: "work", provider: bad.provider, vins: [] },
    ],
    readings,
    clock,
    log: createLogger({ write: (l) => lines.push(l) }),
    config: {},
    signal: controller.signal,
    retryS: 10,
    onPoll: () => {
      if (++polls >= 12) controller.abort();
    },
  });
  assert(good.checked.length > 0 && good.checked.every((v) => v === "VIN_B"), "only VIN_B");
  assertEquals(bad.listings(), 3, "listed again after two failures");
  assert(bad.checked.includes("VIN_C"), "then polled");
  assert(lines.some((l) => l.includes("VIN_X") && l.includes("not in the account")));
  assert(lines.some((l) => l.includes("cannot list") && l.includes("deno task auth bad")));
  assertEquals(readings.vehicles.get("good/VIN_B")?.pollState, "sleeping");
});
