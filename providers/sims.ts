/**
 * The one list of vendor simulators (the test rig, never product code): replay and the fixture
 * generator find a vendor's fake-server hook, replay account and scripted cassettes here.
 */
import type { VendorSim } from "../replay/fake_server.ts";
import { bmwSim } from "./bmw/sim/mod.ts";
import { teslaSim } from "./tesla/sim/mod.ts";
import { volvoSim } from "./volvo/sim/mod.ts";

export const SIMS: readonly VendorSim[] = [teslaSim, volvoSim, bmwSim];

/** The simulator of provider `id`, if it has one. */
export function simOf(id: string): VendorSim | undefined {
  return SIMS.find((sim) => sim.id === id);
}
