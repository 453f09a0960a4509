import { parse as parseYaml } from "yaml";
import { ConfigError, parseConfig } from "./config.ts";
import { ownsVin, parseShardText, shardBudget, shardOf, shardStateDir } from "./shard.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./testing.ts";

/** Made-up VINs of the three vendors' shapes (17 characters), none of a real car. */
const VINS = Array.from({ length: 240 }, (_, n) => {
  const prefix = ["5YJ3E7EB", "YV1XZEFV", "WBY31AW0"][n % 3];
  return `${prefix}${String(n).padStart(9, "0")}`;
});

Deno.test("shardOf is Prometheus's hashmod: its own relabel test vector", () => {
  // Prometheus's relabel tests: hashmod of "baz" with modulus 1000 is 976.
  assertEquals(shardOf("baz", 1000), 976);
  // A digest whose 8 low bytes exceed 2^53: exact only with 64-bit arithmetic.
  assertEquals(shardOf("foo", 1000), 696);
});

Deno.test("every VIN belongs to exactly one shard, for several counts", () => {
  for (const count of [1, 2, 3, 5, 8, 16]) {
    const owners = VINS.map((vin) =>
      Array.from({ length: count }, (_, index) => index).filter((index) =>
        ownsVin({ index, count }, vin)
      )
    );
    assert(owners.every((o) => o.length === 1), `count ${count}: each VIN in one shard`);
    const sizes = Array.from({ length: count }, (_, i) => owners.filter((o) => o[0] === i).length);
    assertEquals(sizes.reduce((a, b) => a + b), VINS.length);
    // Spread, not all on one shard: each gets a share (240 VINs: at least a third of even).
    assert(sizes.every((s) => s >= VINS.length / count / 3), `count ${count}: ${sizes}`);
  }
  assert(VINS.every((vin) => ownsVin(undefined, vin)), "unsharded owns every car");
});

Deno.test("promtool's hashmod relabeling puts each VIN on the same shard", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-shard-" });
  try {
    // Static targets are there at once; promtool waits out its whole timeout regardless.
    for (const count of [2, 3, 7]) {
      const config = {
        scrape_configs: [{
          job_name: "shards",
          static_configs: VINS.map((vin, n) => ({
            targets: [`car-${n}.invalid:9464`],
            labels: { vin },
          })),
          relabel_configs: [
            { source_labels: ["vin"], modulus: count, target_label: "shard", action: "hashmod" },
          ],
        }],
      };
      const file = `${dir}/prometheus-${count}.yml`;
      await Deno.writeTextFile(file, JSON.stringify(config));
      const out = await new Deno.Command("promtool", {
        args: ["check", "service-discovery", "--timeout=3s", file, "shards"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, `promtool check service-discovery failed: ${stderr}`);
      const targets = parseYaml(new TextDecoder().decode(out.stdout)) as {
        labels: { vin: string; shard: string };
      }[];
      assertEquals(targets.length, VINS.length);
      for (const { labels } of targets) {
        assertEquals(shardOf(labels.vin, count), Number(labels.shard), `${labels.vin} of ${count}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shard in the config and EV_OBSERVER_SHARD: validated, the variable wins", () => {
  assertEquals(parseConfig("").shard, undefined);
  assertEquals(parseConfig("shard: {index: 1, count: 3}\n").shard, { index: 1, count: 3 });
  const env = parseConfig("shard: {index: 1, count: 3}\n", { EV_OBSERVER_SHARD: "2/4" });
  assertEquals(env.shard, { index: 2, count: 4 });
  assertEquals(parseShardText(" 0 / 1 "), { index: 0, count: 1 });

  const above = assertThrows(() => parseConfig("shard: {index: 3, count: 3}\n", {}, "my.yaml"));
  assert(above instanceof ConfigError);
  assertStringIncludes(above.message, "my.yaml is invalid");
  assertStringIncludes(above.message, "shard: index 3 is not below count 3");
  const zero = assertThrows(() => parseConfig("shard: {index: 0, count: 0}\n"));
  assertStringIncludes(zero.message, "shard.count");
  const negative = assertThrows(() => parseConfig("shard: {index: -1, count: 2}\n"));
  assertStringIncludes(negative.message, "shard.index");
  const typo = assertThrows(() => parseConfig("shard: {index: 0, cuont: 2}\n"));
  assertStringIncludes(typo.message, "did you mean count");
  const missing = assertThrows(() => parseConfig("shard: {index: 0}\n"));
  assertStringIncludes(missing.message, "shard.count");

  const range = assertThrows(() => parseConfig("", { EV_OBSERVER_SHARD: "4/4" }));
  assertStringIncludes(range.message, "shard (set by EV_OBSERVER_SHARD): index 4 is not below");
  for (const bad of ["1", "a/3", "1/3/4", "-1/3", "1:3"]) {
    const err = assertThrows(() => parseConfig("", { EV_OBSERVER_SHARD: bad }));
    assert(err instanceof ConfigError);
    assertStringIncludes(err.message, "EV_OBSERVER_SHARD: expected i/n, e.g. 0/3");
  }
});

Deno.test("each shard's own state lives in its own folder of state_dir", () => {
  assertEquals(shardStateDir({ state_dir: "./state/" }), "./state");
  assertEquals(
    shardStateDir({ state_dir: "/var/lib/ev", shard: { index: 1, count: 3 } }),
    "/var/lib/ev/shard-1-of-3",
  );
});

Deno.test("a shard's budget is its part of the account's: whole requests, at least one", () => {
  const volvo = { requests_per_day: 10_000, requests_per_minute: 100, safety_margin: 0.1 };
  assertEquals(shardBudget(volvo, undefined), volvo);
  assertEquals(shardBudget(volvo, { index: 2, count: 3 }), {
    requests_per_day: 3333,
    requests_per_minute: 33,
    safety_margin: 0.1,
  });
  assertEquals(shardBudget({ usd_per_month: 10 }, { index: 0, count: 4 }), { usd_per_month: 2.5 });
  assertEquals(shardBudget({ requests_per_day: 50 }, { index: 0, count: 64 }), {
    requests_per_day: 1,
  });
});
