/**
 * A tracker on a real database file, driving one minute at a time until killed: prints
 * "minute N" once reading N is committed.
 */
import { SessionStore } from "../store.ts";
import { rig } from "./rig.ts";

const store = SessionStore.open(Deno.args[0]);
const r = rig({ stop_gap_s: 600, parked_min_s: 0 }, store);
r.at(0, { km: 1000, kwh: 60, soc: 80 });
for (let m = 5; m < 1000; m++) {
  const k = m - 5;
  r.at(m, { drive: true, speed: 50, km: 1000 + k, kwh: 60 - 0.15 * k });
  console.log(`minute ${m}`);
  await new Promise((resolve) => setTimeout(resolve, 10));
}
