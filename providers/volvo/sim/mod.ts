/** The Volvo simulator as replay and the fixture generator see it. */
import type { VendorSim } from "../../../replay/fake_server.ts";
import { volvoCassettes } from "./scenario.ts";

export const volvoSim: VendorSim = {
  id: "volvo",
  // The fake server does not check the key; a placeholder keeps the real header code path.
  replayAccount: { vcc_api_key: "replay-vcc-api-key" },
  cassettes: volvoCassettes,
};
