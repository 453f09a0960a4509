/** Registers the Volvo provider. */
import { registerProvider } from "../mod.ts";
import { createVolvoProvider } from "./provider.ts";
import { openVolvoAccount } from "./session.ts";

registerProvider({
  id: "volvo",
  create: createVolvoProvider,
  // The fake server does not check the key; a placeholder keeps the real header code path.
  replayAccount: { vcc_api_key: "replay-vcc-api-key" },
  defaultBaseUrl: "https://api.volvocars.com",
  openAccount: openVolvoAccount,
});
