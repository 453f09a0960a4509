/**
 * A readings store filled by N simulated Teslas, each read once by the real Tesla provider,
 * all at the same minute of the reference day (by default 19:00, every car charging): the
 * fleet the export tests and `bench fleet` measure.
 */
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { checkRanges } from "../core/parse.ts";
import { Readings } from "../core/readings.ts";
import { fakeFleet, fleetTargets } from "../providers/tesla/sim/fake_fleet.ts";
import { DAY_START } from "../providers/tesla/sim/scenario.ts";

/** 19:00 on the reference day: the simulated car charges from 18:32 to 22:02. */
export const CHARGING_HOUR = 19;

export async function fleetReadings(size: number, hour = CHARGING_HOUR): Promise<Readings> {
  const log = createLogger({ level: "error" });
  const readings = new Readings();
  const clock = new VirtualClock((DAY_START + hour * 3600) * 1000, 0);
  const cars = await fleetTargets(fakeFleet({ clock, size }), { clock, readings, log });
  for (const { provider, vehicle } of cars) {
    const snapshot = await provider.fetch(vehicle);
    if (!snapshot) throw new Error(`simulated car ${vehicle.id} did not answer at ${hour}:00`);
    // As the scheduler stores a read: absurd values dropped and counted.
    readings.record(checkRanges({ provider: vehicle.provider, readings, log }, snapshot));
  }
  return readings;
}
