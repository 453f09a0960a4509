/** `deno task bench volvo-fuzz` as the task runs it: its permissions suffice, it says its seed. */
import { assertEquals, assertStringIncludes } from "../core/testing.ts";
import { VOLVO_FUZZ_SEED } from "../providers/volvo/sim/fuzz.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";

Deno.test("bench volvo-fuzz --runs 25: both properties clean, seed and count printed", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("bench"), "volvo-fuzz", "--runs", "25"],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stderr));
  const text = dec.decode(out.stdout);
  assertStringIncludes(text, `mapBodies: 25 cases clean (seed ${VOLVO_FUZZ_SEED},`);
  assertStringIncludes(text, `provider: 25 cases clean (seed ${VOLVO_FUZZ_SEED},`);
});
