/**
 * Strategy (a), the original GreptimeTeam demo (demo-scene `ev-open-telemetry/`): every
 * 300 s a new TeslaPy session lists the products and reads `vehicle_data` of the first car,
 * with no state check and no wake; a 408 just leaves a gap. Its loop starts with two reads
 * back to back (the constructor's, then `last_run = 0`).
 */
import { VendorError } from "../core/errors.ts";
import { TeslaApi } from "../providers/tesla/api.ts";
import type { Harness } from "./harness.ts";

/** TeslaPy's default `endpoints`, plus drive_state, which the demo's DriveState gauges read. */
const ENDPOINTS = [
  "location_data",
  "charge_state",
  "climate_state",
  "vehicle_state",
  "gui_settings",
  "vehicle_config",
  "drive_state",
];
const INTERVAL_S = 300;

export async function runDemo(h: Harness): Promise<void> {
  const api = new TeslaApi(h.ctx);
  const observe = async () => {
    try {
      const products = await api.products() as { id_s: string }[];
      await api.vehicleData(products[0].id_s, ENDPOINTS);
    } catch (err) {
      if (!(err instanceof VendorError)) throw err; // "car is sleeping or connection timed out"
    }
  };
  await observe();
  while (!h.over.aborted) {
    await observe().catch(() => {});
    await h.clock.sleep(INTERVAL_S * 1000);
  }
}
