/**
 * The short fleet run of CI: `deno task bench fleet` as the task runs it, small. Asserts no
 * errors, an OTLP push with one point per series of /metrics, and no retained growth; never
 * speed.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { projectRoot, taskArgs } from "../scripts/testing_task.ts";
import type { FleetResult } from "./fleet.ts";

Deno.test("bench fleet: /metrics and OTLP agree at every size, no errors, no memory growth", async () => {
  const args = await taskArgs("bench");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, "fleet", "--vehicles", "1,30", "--seconds", "2", "--json"],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr.slice(-3000));
  const { rows, one_car }: FleetResult = JSON.parse(new TextDecoder().decode(out.stdout));
  assert(one_car && one_car.rss_steady_mib > 0 && one_car.bare_deno_mib > 0, "one-car memory");
  const ours = rows.filter((r) => r.impl === "ev-observer");
  assertEquals(ours.map((r) => r.vehicles), [1, 30]);
  // The Python baseline runs where python3-prometheus-client is installed (CI installs it).
  for (const r of rows.filter((r) => r.impl === "python")) {
    assertEquals(r.errors, 0, JSON.stringify(r));
    assert(r.series > 10 * r.vehicles, `baseline: ${r.series} series for ${r.vehicles} cars`);
  }
  for (const r of ours) {
    assertEquals(r.errors, 0, JSON.stringify(r));
    assertEquals(r.otlp_points, r.series, "every series of /metrics in the push, once");
    assert(r.series > 80 * r.vehicles, `${r.series} series for ${r.vehicles} cars`);
    assert(
      r.retained_after_mib! <= r.retained_before_mib! * 1.25 + 2,
      `retained heap grew from ${r.retained_before_mib} to ${r.retained_after_mib} MiB`,
    );
  }
});
