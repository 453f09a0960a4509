/**
 * A real Prometheus server scrapes the replay: PromQL returns the car's state of charge, and it
 * keeps finding it at every scrape after the first read while the car falls asleep.
 */
import { assert, assertAlmostEquals } from "../core/testing.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { freeLoopbackPort, startPrometheus, taskArgs, waitFor } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;
/** startPrometheus scrapes every second. */
const SCRAPE_S = 1;

type Samples = [number, string][];

Deno.test({
  name: "Prometheus scrapes the replay: the state of charge at every scrape, asleep or not",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const day = teslaDay();
    // Parked after the morning drive (the charge holds still), asleep about 18 min later:
    // at 120× that is some 9 s of real time into the test.
    const at = day.drives[0].end + 120;
    const expected = (day.vehicleDataAt(at) as { charge_state: { battery_level: number } })
      .charge_state.battery_level / 100;
    const exporterPort = freeLoopbackPort();
    const replay = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskArgs("replay"),
        "--fixtures",
        "fixtures/tesla/day/cassette.json",
        "--speed",
        "120",
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
    const query = async (q: string) => {
      const url = `${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`;
      return (await (await fetch(url)).json())?.data?.result ?? [];
    };
    try {
      const value = await waitFor("a PromQL result", async () => {
        const result = (await query("ev_battery_level_ratio"))[0];
        return result ? Number(result.value[1]) : undefined;
      });
      assertAlmostEquals(value, expected, 1e-9);
      // The car falls asleep, and a few more scrapes land while it sleeps.
      await waitFor("the car asleep", async () => {
        const r = await query('ev_vehicle_state{state="asleep"} == 1');
        return r.length ? true : undefined;
      }, 240);
      await new Promise((r) => setTimeout(r, 5 * SCRAPE_S * 1000));

      // Raw samples of the last minutes: one per scrape, no gap, while `up` counts the scrapes.
      const raw = async (q: string): Promise<Samples> => (await query(`${q}[5m]`))[0]?.values ?? [];
      const soc = await raw("ev_battery_level_ratio");
      const asleep = await raw('ev_vehicle_state{state="asleep"}');
      const up = await raw("up");
      const first = soc[0][0];
      const scrapes = up.filter(([t]) => t >= first).length;
      assert(soc.length === scrapes, `${soc.length} samples of the charge in ${scrapes} scrapes`);
      const gaps = soc.slice(1).map(([t], i) => t - soc[i][0]);
      const longest = Math.max(...gaps);
      assert(longest <= 2 * SCRAPE_S, `longest gap ${longest} s`);
      const slept = asleep.filter(([, v]) => v === "1").map(([t]) => t);
      assert(slept.length >= 5, `${slept.length} scrapes saw the car asleep`);
      for (const t of slept) {
        const s = soc.find(([u]) => u === t);
        assert(s !== undefined && Number(s[1]) === expected, `the charge at ${t}, asleep`);
      }
      const [upNow] = await query("up");
      assert(upNow.value[1] === "1", "the scrape target is up");
    } finally {
      replay.kill("SIGTERM");
      await replay.status;
      await prometheus.stop();
    }
  },
});
