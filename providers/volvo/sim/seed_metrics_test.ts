import { assert, assertEquals } from "../../../core/testing.ts";
import { metric } from "../../../core/catalog.ts";
import { SEED_METRICS } from "./seed_metrics.ts";
import { LIGHTS } from "../types.ts";

Deno.test("every metric of the original Volvo exporter has a home or a reason", () => {
  const seeds = SEED_METRICS.map((s) => s.seed);
  assertEquals(new Set(seeds).size, seeds.length, "no duplicates");
  // 9 single metrics, 23 lamps, 4 tyres, 6 diagnostics, 4 windows + sunroof, 3 location,
  // 6 weather, 14 statistics keys (3 of them pre-2023), 10 energy fields, 2 HTTP metrics.
  assertEquals(seeds.length, 9 + 23 + 4 + 6 + 5 + 3 + 6 + 14 + 10 + 2);
  for (const s of SEED_METRICS) {
    assert(Boolean(s.metric) !== Boolean(s.reason), `${s.seed}: exactly one of metric/reason`);
    if (!s.metric) continue;
    const def = metric(s.metric);
    for (const k of Object.keys(s.labels ?? {})) assert(def.labels.includes(k), `${s.seed}: ${k}`);
  }
  const lamps = SEED_METRICS.filter((s) => s.metric === "ev.light.warning")
    .map((s) => s.labels!.light);
  assertEquals(lamps.sort(), Object.values(LIGHTS).sort(), "the 23 lamps the provider maps");
  assert(
    SEED_METRICS.find((s) => s.seed === "volvo_battery_level_percent")!.fixes!.includes("kWh"),
  );
});
