/**
 * A real Prometheus scrapes a replayed Volvo day; `increase()` over the drive distance counter
 * gives the distance the simulator drove.
 */
import { assert, assertAlmostEquals } from "../core/testing.ts";
import { CARS } from "../providers/volvo/sim/scenario.ts";
import { freePort, startPrometheus, taskArgs, waitFor } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "Prometheus: increase() of the drive distance counter is the replayed day's distance",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const car = CARS.find((c) => c.scenario === "xc40-bev-day")!;
    const truthM = car.drives.reduce((m, d) => m + d.km * 1000, 0);
    const port = freePort();
    const replay = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskArgs("replay"),
        "--fixtures",
        `fixtures/volvo/${car.scenario}/cassette.json`,
        "--speed",
        "2880",
        "--listen",
        `127.0.0.1:${port}`,
      ],
      cwd: root,
      env: { EV_LOG_LEVEL: "warn" },
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const prometheus = await startPrometheus([`127.0.0.1:${port}`]);
    const query = async (q: string, time?: number) => {
      const url = `${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}` +
        (time === undefined ? "" : `&time=${time}`);
      return (await (await fetch(url)).json()).data.result;
    };
    try {
      const status = await replay.status;
      assert(status.success, "the replay played the day");
      // Evaluated at the last scrape: nothing to extrapolate past the end of the data.
      const samples = await waitFor("scraped samples", async () => {
        const [r] = await query("ev_drive_distance_meters_total[10m]");
        return r?.values?.length ? r.values as [number, string][] : undefined;
      });
      const [lastAt] = samples[samples.length - 1];
      assert(samples.length > 10, `scraped through the day (${samples.length} samples)`);
      const [result] = await query("increase(ev_drive_distance_meters_total[10m])", lastAt);
      const meters = Number(result.value[1]);
      assertAlmostEquals(meters, truthM, truthM * 0.01, `${meters} m against ${truthM} m`);
      const [drives] = await query("increase(ev_drives_total[10m])", lastAt);
      assertAlmostEquals(Number(drives.value[1]), car.drives.length, 1e-9);
    } finally {
      await prometheus.stop();
    }
  },
});
