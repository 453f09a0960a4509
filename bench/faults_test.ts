/**
 * `deno task bench faults` as the task runs it (its permissions, its output); the rows of every
 * fault are asserted in replay/faults_test.ts, which plays the same cases.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import type { FaultRow } from "../app/fault_suite.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";

async function bench(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("bench"), "faults", ...args],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("bench faults --json: the task's permissions suffice (a real DNS failure included); no data lost", async () => {
  const run = await bench(["--only", "DNS failure,401 mid-session", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const rows: FaultRow[] = JSON.parse(run.stdout);
  assertEquals(rows.map((r) => r.fault), ["DNS failure", "401 mid-session"]);
  for (const r of rows) {
    assert(r.alive && r.unaffected && !r.data_lost && r.recovery_s !== null, JSON.stringify(r));
    assert(r.requests_tried > 0);
  }
  const table = await bench(["--only", "refused"]);
  assertEquals(table.code, 0, table.stderr);
  assertStringIncludes(table.stdout, "| fault | requests tried | process alive |");
  assertStringIncludes(table.stdout, "| refused | 5 | yes | yes |");
  const unknown = await bench(["--only", "meteor strike"]);
  assertEquals(unknown.code, 1);
  assertStringIncludes(unknown.stderr, 'unknown fault "meteor strike"');
});

Deno.test("bench faults --only BMW rows --json: the task's permissions suffice; no data lost", async () => {
  const run = await bench(["--only", "BMW reset,BMW CU-429 (403)", "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const rows: FaultRow[] = JSON.parse(run.stdout);
  assertEquals(rows.map((r) => r.fault), ["BMW reset", "BMW CU-429 (403)"]);
  for (const r of rows) {
    assert(r.alive && r.unaffected && !r.data_lost && r.recovery_s !== null, JSON.stringify(r));
  }
  assertEquals(rows[1].requests_tried, 1, "one refused call, then the pause until 00:00 UTC");
});
