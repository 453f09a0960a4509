/**
 * A second OS process for core/last_known_crash_test.ts: saves versions 1, 2, 3, … of the last
 * known values of `count` vehicles until killed, printing "saved n" after each. In version n
 * every vehicle's sample time is BASE + n and its charge n / 1e6, so a torn or mixed file shows.
 *
 *   last_known_child.ts <state_dir> <count>
 */
import { realClock } from "../clock.ts";
import { LastKnown } from "../last_known.ts";
import { createLogger } from "../log.ts";
import { Readings } from "../readings.ts";
import type { Snapshot } from "../snapshot.ts";

export const BASE = 1_773_100_000;

export function vehicleSnapshot(i: number, n: number): Snapshot {
  const vin = `5YJ3E1EA9PF${String(i).padStart(6, "0")}`;
  return {
    vehicle: { provider: "tesla", id: String(i), vin },
    sampledAt: BASE + n,
    state: "online",
    samples: [
      { metric: "ev.battery.level", value: n / 1e6 },
      { metric: "ev.odometer", value: 1000 + n },
      ...["rated", "estimated", "ideal"].map((estimate) => ({
        metric: "ev.battery.range",
        value: 300_000 + n,
        labels: { estimate },
      })),
      ...["front_left", "front_right", "rear_left", "rear_right"].map((wheel) => ({
        metric: "ev.tire.pressure",
        value: 290_000 + n,
        labels: { wheel },
      })),
    ],
    states: [{ metric: "ev.charging.state", state: "charging" }],
    info: { model: "model3", software_version: `2025.${n}` },
  };
}

if (import.meta.main) {
  const [stateDir, count] = Deno.args;
  const readings = new Readings();
  const keeper = new LastKnown({
    stateDir,
    readings,
    clock: realClock,
    log: createLogger({ level: "warn" }),
    location: false,
  });
  for (let n = 1;; n++) {
    for (let i = 0; i < Number(count); i++) readings.record(vehicleSnapshot(i, n));
    await keeper.save();
    console.log(`saved ${n}`);
  }
}
