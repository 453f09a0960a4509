/** The Volvo plug-in: Connected Vehicle, Energy and Location APIs. */
import type { VendorPlugin } from "../../core/plugin.ts";
import { VOLVO_HOSTS, VolvoIdentityKeys, volvoSignInPlan } from "./identity.ts";
import { VOLVO_SCHEDULER } from "./polling.ts";
import { createVolvoProvider, VolvoAccount } from "./provider.ts";
import { openVolvoAccount } from "./session.ts";

export const volvoPlugin: VendorPlugin = {
  id: "volvo",
  accountKeys: [...Object.keys(VolvoIdentityKeys.shape), ...Object.keys(VolvoAccount.shape)],
  create: createVolvoProvider,
  openAccount: openVolvoAccount,
  signIn: { plan: volvoSignInPlan },
  defaultBaseUrl: "https://api.volvocars.com",
  // Volvo caps each API key: 100 requests a minute and 10,000 a day, for every account and
  // car that uses it. An account's `budget` replaces these. A parked read costs five requests
  // or more, so parked cars may plan on 40 % of what is left (bench volvo-day: 25 cars on one
  // key see their charges every 2–3 min; at 70 % the charges start on an empty key).
  defaultBudget: {
    requests_per_day: 10_000,
    requests_per_minute: 100,
    safety_margin: 0.1,
    idle_share: 0.4,
  },
  budgetKey: (account) => typeof account.vcc_api_key === "string" ? account.vcc_api_key : undefined,
  scheduler: VOLVO_SCHEDULER,
  // Volvo ID (sign-in, refresh) and the API.
  hosts: (account) => {
    const parsed = VolvoIdentityKeys.safeParse(account);
    if (!parsed.success) return [];
    const { auth_host = VOLVO_HOSTS.id, api_base_url = VOLVO_HOSTS.api } = parsed.data;
    return [auth_host, api_base_url];
  },
};
