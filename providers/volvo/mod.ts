/** Registers the Volvo provider. */
import { registerProvider } from "../mod.ts";
import { createVolvoProvider } from "./provider.ts";
import { VOLVO_SCHEDULER } from "./polling.ts";
import { openVolvoAccount } from "./session.ts";

registerProvider({
  id: "volvo",
  create: createVolvoProvider,
  // The fake server does not check the key; a placeholder keeps the real header code path.
  replayAccount: { vcc_api_key: "replay-vcc-api-key" },
  defaultBaseUrl: "https://api.volvocars.com",
  openAccount: openVolvoAccount,
  // Volvo caps each API key: 100 requests a minute and 10,000 a day, for every account and
  // car that uses it. An account's `budget` replaces these.
  defaultBudget: { requests_per_day: 10_000, requests_per_minute: 100, safety_margin: 0.1 },
  budgetKey: (account) => typeof account.vcc_api_key === "string" ? account.vcc_api_key : undefined,
  scheduler: VOLVO_SCHEDULER,
});
