import { assert, assertEquals } from "../core/testing.ts";
import { PLUGINS, vendorPlugin } from "./mod.ts";
import { simOf, SIMS } from "./sims.ts";

Deno.test("sims: one per registered provider id, found by simOf; cassettes under their vendor", () => {
  const ids = SIMS.map((sim) => sim.id);
  assertEquals(ids, PLUGINS.map((p) => p.id));
  for (const sim of SIMS) {
    assertEquals(vendorPlugin(sim.id).id, sim.id);
    assertEquals(simOf(sim.id), sim);
    for (const path of Object.keys(sim.cassettes?.() ?? {})) {
      assert(path.startsWith(`${sim.id}/`) && path.endsWith("/cassette.json"), path);
    }
  }
  assertEquals(simOf("nissan"), undefined);
});
