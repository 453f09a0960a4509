/**
 * A real Prometheus scrapes a replayed Volvo and Tesla day with a tariff configured:
 * `increase()` over the session counters gives the distance the simulators drove, and the
 * capacity estimate and the charging cost are there for the dashboards.
 */
import { assert, assertAlmostEquals } from "../core/testing.ts";
import { CARS } from "../providers/volvo/sim/scenario.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { freeLoopbackPort, startPrometheus, taskArgs, waitFor } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;
const PRICE = 0.25;

Deno.test({
  name: "Prometheus: increase() of the session counters is the replayed day's distance",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const car = CARS.find((c) => c.scenario === "xc40-bev-day")!;
    const truthM = car.drives.reduce((m, d) => m + d.km * 1000, 0);
    const tesla = teslaDay();
    // The replay task reads inside the project only: the config goes under ./state.
    await Deno.mkdir(`${root}state`, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: `${root}state`, prefix: "test-sessions-prom-" });
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `sessions: { currency: EUR, tariff: { price_per_kwh: ${PRICE} } }\n`,
    );
    const port = freeLoopbackPort();
    const replay = new Deno.Command(Deno.execPath(), {
      args: [
        ...await taskArgs("replay"),
        "--fixtures",
        `fixtures/volvo/${car.scenario}/cassette.json`,
        "--fixtures",
        "fixtures/tesla/day/cassette.json",
        "--config",
        `${dir}/config.yaml`,
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
      return (await (await fetch(url)).json()).data.result as {
        metric: Record<string, string>;
        value: [number, string];
      }[];
    };
    try {
      const status = await replay.status;
      assert(status.success, "the replay played the day");
      // Evaluated at the last scrape: nothing to extrapolate past the end of the data.
      const samples = await waitFor("scraped samples", async () => {
        const [r] = await query(`ev_drive_distance_meters_total{provider="volvo"}[10m]`);
        return (r as unknown as { values?: [number, string][] })?.values?.length
          ? (r as unknown as { values: [number, string][] }).values
          : undefined;
      });
      const [lastAt] = samples[samples.length - 1];
      assert(samples.length > 10, `scraped through the day (${samples.length} samples)`);
      const volvo = (q: string) =>
        query(q, lastAt).then((r) =>
          Number(r.find((x) => x.metric.provider === "volvo")!.value[1])
        );
      const meters = await volvo("increase(ev_drive_distance_meters_total[10m])");
      assertAlmostEquals(meters, truthM, truthM * 0.01, `${meters} m against ${truthM} m`);
      assertAlmostEquals(await volvo("increase(ev_drives_total[10m])"), car.drives.length, 1e-9);
      // The Tesla's charge: its capacity estimate, and its cost at the configured price.
      const [capacity] = await query(
        `ev_battery_capacity_estimate_joules{provider="tesla"} / 3600000`,
        lastAt,
      );
      assertAlmostEquals(Number(capacity.value[1]), 78, 78 * 0.03);
      const [cost] = await query(`increase(ev_charge_cost_total{provider="tesla"}[10m])`, lastAt);
      const [drawn] = await query(
        `sum(increase(ev_charge_energy_drawn_joules_total{provider="tesla"}[10m])) / 3600000`,
        lastAt,
      );
      assert(Number(drawn.value[1]) > 30, `energy drawn ${drawn.value[1]} kWh`);
      assertAlmostEquals(Number(cost.value[1]), Number(drawn.value[1]) * PRICE, 0.02);
      assert(
        cost.metric.currency === "EUR" && tesla.charges.length === 1,
        "cost in the configured currency",
      );
    } finally {
      await prometheus.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
