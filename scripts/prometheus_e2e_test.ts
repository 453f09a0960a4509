/** A real Prometheus server scrapes the replay; PromQL returns the car's state of charge. */
import { assert, assertAlmostEquals } from "../core/testing.ts";
import { teslaDay } from "../providers/tesla/scenario.ts";
import { taskArgs } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, tries = 120): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

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
    const promPort = freePort();
    const dir = await Deno.makeTempDir({ prefix: "ev-observer-prom-" });
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ev-observer
    static_configs: [{ targets: ["127.0.0.1:${exporterPort}"] }]
`,
    );
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
    const prometheus = new Deno.Command("prometheus", {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const value = await waitFor("a PromQL result", async () => {
        const url = `http://127.0.0.1:${promPort}/api/v1/query?query=ev_battery_level_ratio`;
        const body = await (await fetch(url)).json();
        const result = body?.data?.result?.[0];
        return result ? Number(result.value[1]) : undefined;
      });
      assertAlmostEquals(value, expected, 1e-9);
      const up = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=up`)).json();
      assert(up.data.result[0].value[1] === "1", "the scrape target is up");
    } finally {
      prometheus.kill("SIGTERM");
      replay.kill("SIGTERM");
      await prometheus.status;
      await replay.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
