/** Accounts are polled independently: a broken one is retried, the others keep running. */
import { assert, assertEquals } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { pollAccounts } from "./poller.ts";
import { Readings } from "./readings.ts";
import { shardOf } from "./shard.ts";
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

Deno.test("pollAccounts: an account with no vehicle keeps running, warns naming it, and lists again until a car appears", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const lines: string[] = [];
  const controller = new AbortController();
  const readings = new Readings();
  let listings = 0;
  const listedAt: number[] = [];
  const checked: string[] = [];
  const provider: Provider = {
    id: "empty",
    listVehicles() {
      listedAt.push(clock.now());
      // The car is added to the account after the exporter started.
      const vins = ++listings < 3 ? [] : ["VIN_NEW"];
      return Promise.resolve(vins.map((vin): VehicleRef => ({ provider: "empty", id: vin, vin })));
    },
    checkState(v) {
      checked.push(v.vin);
      if (checked.length >= 2) controller.abort();
      return Promise.resolve({ state: "asleep" });
    },
    fetch: () => Promise.resolve(undefined),
  };
  let settled = false;
  const done = pollAccounts({
    accounts: [{ name: "garage", provider, vins: [] }],
    readings,
    clock,
    log: createLogger({ write: (l) => lines.push(l) }),
    config: {},
    signal: controller.signal,
    relistS: 600,
  }).then(() => (settled = true));
  await done;
  assert(settled);
  assertEquals(listings, 3, "listed again while empty, until the car appeared");
  assertEquals(listedAt.map((t) => (t - listedAt[0]) / 1000), [0, 600, 1200]);
  assertEquals(checked, ["VIN_NEW", "VIN_NEW"], "the new car is polled");
  const warnings = lines.filter((l) => l.includes("level=warn") && l.includes("no vehicle"));
  assertEquals(warnings.length, 1, `one warning, not one per listing:\n${lines.join("\n")}`);
  assert(warnings[0].includes("account=garage"), warnings[0]);
});

Deno.test("pollAccounts: configured VINs none of which is on the account: keeps running and says how to fix it", async () => {
  const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
  const lines: string[] = [];
  const controller = new AbortController();
  const other = asleepProvider("other", ["VIN_OTHER"]);
  const done = pollAccounts({
    accounts: [{ name: "family", provider: other.provider, vins: ["VIN_GONE"] }],
    readings: new Readings(),
    clock,
    log: createLogger({ write: (l) => lines.push(l) }),
    config: {},
    signal: controller.signal,
    relistS: 60,
  });
  let returned = false;
  done.then(() => (returned = true));
  // Still listing later (it used to return at once, ending the exporter).
  for (let i = 0; i < 2000 && other.listings() < 3 && !returned; i++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  controller.abort();
  await done;
  assert(other.listings() >= 3, `listed ${other.listings()} times`);
  assertEquals(other.checked, [], "no vehicle of the account was polled");
  assert(
    lines.some((l) => l.includes("no vehicle") && l.includes("vehicles:")),
    `the warning names the config key:\n${lines.join("\n")}`,
  );
});

Deno.test("pollAccounts: each shard polls its own cars, every car polled by exactly one shard", async () => {
  const count = 3;
  const fleet = Array.from({ length: 12 }, (_, n) => `5YJ3E7EB${String(n).padStart(9, "0")}`);
  // A second account whose cars all belong to shards other than 0.
  const elsewhere = fleet.filter((vin) => shardOf(vin, count) !== 0).slice(0, 2);
  const polledBy: string[][] = [];
  for (let index = 0; index < count; index++) {
    const clock = new VirtualClock(Date.UTC(2026, 2, 10), 0);
    const home = asleepProvider("home", fleet);
    const work = asleepProvider("work", elsewhere);
    const owned = fleet.filter((vin) => shardOf(vin, count) === index);
    assert(owned.length > 0, `shard ${index} owns some of the 12 cars`);
    const lines: string[] = [];
    const controller = new AbortController();
    const readings = new Readings();
    let polls = 0;
    await pollAccounts({
      accounts: [
        { name: "home", provider: home.provider, vins: [] },
        { name: "work", provider: work.provider, vins: [] },
      ],
      readings,
      clock,
      log: createLogger({ write: (l) => lines.push(l) }),
      config: {},
      signal: controller.signal,
      shard: { index, count },
      onPoll: () => {
        // Each owned car once, or (a wrong filter) enough polls to show more.
        if (new Set(home.checked).size >= owned.length || ++polls > 200) controller.abort();
      },
    });
    assertEquals([...new Set(home.checked)].sort(), owned, `shard ${index} polls its own cars`);
    polledBy.push([...new Set([...home.checked, ...work.checked])]);
    const gauge = (provider: string) =>
      readings.gaugeValue("ev.shard.vehicles", {
        provider,
        account: provider,
        shard: `${index}/3`,
      });
    assertEquals(gauge("home"), owned.length, "ev_shard_vehicles says how many it owns");
    if (index === 0) assertEquals(gauge("work"), 0);
    const said = lines.find((l) => l.includes("this shard's cars") && l.includes("account=home"));
    assert(said?.includes(`vehicles=${owned.length}`) && said.includes("listed=12"), said);
    assert(lines.every((l) => !fleet.some((vin) => l.includes(vin))), "no full VIN in the log");
    if (index === 0) {
      assertEquals(work.checked, [], "none of work's cars is shard 0's");
      assert(
        lines.some((l) => l.includes("level=info") && l.includes("belongs to another shard")),
        lines.join("\n"),
      );
      assert(!lines.some((l) => l.includes("level=warn")), `no warning:\n${lines.join("\n")}`);
    }
  }
  const all = polledBy.flat();
  assertEquals(all.length, new Set(all).size, "no car polled by two shards");
  assertEquals([...new Set(all)].sort(), fleet, "no car polled by none");
});
