/** Registers the Tesla provider. */
import { registerProvider } from "../mod.ts";
import { teslaFakeHook } from "./sim/fake.ts";
import { teslaPricing } from "./pricing.ts";
import { createTeslaProvider } from "./provider.ts";
import { openTeslaAccount } from "./session.ts";

registerProvider({
  id: "tesla",
  create: createTeslaProvider,
  fakeHook: teslaFakeHook,
  openAccount: openTeslaAccount,
  pricing: teslaPricing,
  // The Owner API; Fleet API accounts set their regional base_url (reference tesla-api.md §2).
  defaultBaseUrl: "https://owner-api.teslamotors.com",
});
