/** A real Prometheus server scrapes the replay; PromQL returns the car's state of charge. */
import { assert, assertAlmostEquals } from "../core/testing.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { freePort, startPrometheus, taskArgs, waitFor } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "Prometheus scrapes the replay and PromQL returns the expected state of charge",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const day = teslaDay();
    // Parked after the morning drive: SoC holds still while the test runs in real time.
    const at = day.drives[0].end + 120;
    const expected = (day.vehicleDataAt(at) as { charge_state: { battery_level: number } })
      .charge_state.battery_level / 100;
    const exporterPort = freePort();
    const replay = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskArgs("replay"),
        "--speed",
        "1",
        "--start",
        String(at),
        "--listen",
        `127.0.0.1:${exporterPort}`,
      ],
      cwd: root,
      env: { EV_LOG_LEVEL: "warn" },
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const prometheus = await startPrometheus([`127.0.0.1:${exporterPort}`]);
    try {
      const value = await waitFor("a PromQL result", async () => {
        const url = `${prometheus.url}/api/v1/query?query=ev_battery_level_ratio`;
        const body = await (await fetch(url)).json();
        const result = body?.data?.result?.[0];
        return result ? Number(result.value[1]) : undefined;
      });
      assertAlmostEquals(value, expected, 1e-9);
      const up = await (await fetch(`${prometheus.url}/api/v1/query?query=up`)).json();
      assert(up.data.result[0].value[1] === "1", "the scrape target is up");
    } finally {
      replay.kill("SIGTERM");
      await replay.status;
      await prometheus.stop();
    }
  },
});
