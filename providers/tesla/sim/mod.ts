/** The Tesla simulator as replay and the fixture generator see it. */
import type { VendorSim } from "../../../replay/fake_server.ts";
import { teslaFakeHook } from "./fake.ts";
import { bundledCassettes } from "./scenario.ts";

export const teslaSim: VendorSim = {
  id: "tesla",
  fakeHook: teslaFakeHook,
  cassettes: () => bundledCassettes(),
};
