/** Shared by the export tests: a readings store filled from export/testdata. */
import { Readings } from "../core/readings.ts";
import type { Snapshot } from "../core/snapshot.ts";

export const TESLA_VIN = "5YJ3FAKE000000001";
export const VOLVO_VIN = "YV1FAKE0000000002";

export function teslaSnapshot(): Snapshot {
  const url = new URL("./testdata/snapshot_tesla.json", import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)) as Snapshot;
}

/** A Tesla online with a full snapshot, a Volvo asleep, and two exporter counters. */
export function fixtureReadings(): Readings {
  const readings = new Readings();
  readings.record(teslaSnapshot());
  readings.setState({ provider: "volvo", id: VOLVO_VIN, vin: VOLVO_VIN }, "asleep");
  readings.count("ev.api.requests", {
    provider: "tesla",
    endpoint: "/api/1/vehicles/{id}/vehicle_data",
    status: "200",
  }, 12);
  readings.count("ev.parse.errors", { provider: "tesla", field: "charge_state.charger_power" });
  return readings;
}

/** `promtool check metrics` on an exposition: its exit code and everything it printed. */
export async function promtool(text: string): Promise<{ code: number; output: string }> {
  let child;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error(
      `promtool not found (${(err as Error).message}): install it, e.g. apt-get install prometheus`,
    );
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const dec = new TextDecoder();
  return { code, output: (dec.decode(stdout) + dec.decode(stderr)).trim() };
}

/** The exposition without request-duration samples: they measure wall-clock time, not the car. */
export function withoutDurations(text: string): string {
  return text.split("\n").filter((l) => !l.startsWith("ev_api_request_duration_seconds")).join(
    "\n",
  );
}
