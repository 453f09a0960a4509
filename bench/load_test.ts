/**
 * The short load run of CI: `deno task bench load` as the task runs it, small. Asserts no
 * errors, polling alongside, and no retained memory growth; never speed.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";
import type { LoadReport } from "./load.ts";

Deno.test("bench load: concurrent clients on /metrics, / and /status.json while polling: no errors, no memory growth", async () => {
  const args = await taskArgs("bench");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, "load", "--vehicles", "30", "--clients", "20", "--seconds", "3", "--json"],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const r: LoadReport = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(r.total.errors, 0, r.failures.join("\n"));
  assertEquals(r.failures, []);
  assertEquals(r.paths.map((p) => p.path), ["/metrics", "/", "/status.json"]);
  for (const p of r.paths) assert(p.requests > 0 && p.errors === 0, JSON.stringify(p));
  assert(r.polls > 0, "the server kept polling while it was hammered");
  // What survives a full collection: a leak per request (hundreds of them here) would show.
  const m = r.memory;
  assert(
    m.retained_after_mib <= m.retained_before_mib * 1.25 + 2,
    `retained heap grew from ${m.retained_before_mib} to ${m.retained_after_mib} MiB`,
  );
  assert(m.samples >= 10, `${m.samples} memory samples`);
});
