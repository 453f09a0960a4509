/** The Tesla plug-in: Owner API and Fleet API accounts. */
import type { VendorPlugin } from "../../core/plugin.ts";
import { TeslaAccount, teslaSignInPlan } from "./identity.ts";
import { teslaPricing } from "./pricing.ts";
import { createTeslaProvider } from "./provider.ts";
import { openTeslaAccount } from "./session.ts";
import { importTeslaPy } from "./teslapy.ts";

export const teslaPlugin: VendorPlugin = {
  id: "tesla",
  accountKeys: Object.keys(TeslaAccount.shape),
  create: createTeslaProvider,
  openAccount: openTeslaAccount,
  signIn: { plan: teslaSignInPlan, imports: { teslapy: importTeslaPy } },
  signInFlags: {
    api: { type: "string", value: "owner|fleet", help: "Owner API (default) or Fleet API" },
    "login-hint": {
      type: "string",
      value: "EMAIL",
      help: "pre-fill the e-mail on the sign-in page (part of the printed address); " +
        "with --import-teslapy: which sign-in to import",
    },
  },
  pricing: teslaPricing,
  // The Owner API; Fleet API accounts set their regional host (`api_base_url`).
  defaultBaseUrl: "https://owner-api.teslamotors.com",
};
