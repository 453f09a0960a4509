/** The BMW simulator as replay and the fixture generator see it (no cassettes yet). */
import type { VendorSim } from "../../../replay/fake_server.ts";

export const bmwSim: VendorSim = {
  id: "bmw",
  // The fake server checks no client id; a placeholder keeps the account valid.
  replayAccount: { client_id: "replay-client-id" },
};
