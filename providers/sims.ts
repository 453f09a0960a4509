/** The simulators, one line each: what replay and the fixture generator know of a vendor. */
import type { VendorSim } from "../replay/fake_server.ts";
import { teslaSim } from "./tesla/sim/mod.ts";
import { volvoSim } from "./volvo/sim/mod.ts";

export const SIMS: readonly VendorSim[] = [teslaSim, volvoSim];

export function simOf(id: string): VendorSim | undefined {
  return SIMS.find((s) => s.id === id);
}
