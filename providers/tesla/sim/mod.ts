/** The Tesla simulator as replay sees it. */
import type { VendorSim } from "../../../replay/fake_server.ts";
import { teslaFakeHook } from "../fake.ts";

export const teslaSim: VendorSim = { id: "tesla", fakeHook: teslaFakeHook };
