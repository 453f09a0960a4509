/**
 * The Volvo mapper fuzz (providers/volvo/sim/fuzz.ts), a short seeded run; `deno task bench
 * volvo-fuzz` plays 10,000 cases of each property, and FUZZ_SEED / FUZZ_RUNS override the
 * seed and count here (`FUZZ_RUNS=100000 deno test -A providers/volvo/fuzz_test.ts`).
 */
import { assert, assertEquals } from "../../core/testing.ts";
import { fuzzRun } from "../../replay/fuzz.ts";
import { fuzzMapBodies, fuzzProvider, loadSeeds, VOLVO_FUZZ_SEED } from "./sim/fuzz.ts";
import { ENDPOINTS } from "./api.ts";

const RUN = fuzzRun(VOLVO_FUZZ_SEED, 300);
const seeds = await loadSeeds();

Deno.test("fuzz seeds: a body of every endpoint from the cassettes and the reference files", () => {
  const empty = Object.entries(seeds).filter(([, bodies]) => bodies.length === 0).map(([n]) => n);
  assertEquals(empty, []);
  assertEquals(Object.keys(seeds).sort(), Object.keys(ENDPOINTS).sort());
  const total = Object.values(seeds).reduce((n, b) => n + b.length, 0);
  assert(total > 100, `${total} seed bodies`);
});

Deno.test("fuzz: Volvo mapBodies on mutated and random bodies", async () => {
  await fuzzMapBodies(RUN, seeds);
});

Deno.test("fuzz: the Volvo provider and pollOnce never throw past the provider", async () => {
  await fuzzProvider(RUN, seeds);
});
