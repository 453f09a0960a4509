/** The BMW plug-in: CarData, the official customer API (REST and the MQTT stream). */
import type { VendorPlugin } from "../../core/plugin.ts";
import { BMW_HOSTS } from "./api.ts";
import { BMW_ACCOUNT_KEYS, BmwAccount, bmwSignInPlan, SIGN_IN_CATEGORY } from "./identity.ts";
import { BMW_SCHEDULER } from "./polling.ts";
import { createBmwProvider } from "./provider.ts";
import { openBmwAccount } from "./session.ts";

export const bmwPlugin: VendorPlugin = {
  id: "bmw",
  accountKeys: BMW_ACCOUNT_KEYS,
  create: createBmwProvider,
  openAccount: openBmwAccount,
  signIn: { plan: bmwSignInPlan },
  defaultBaseUrl: BMW_HOSTS.api,
  // Every CarData API answer counts against the day's 50; sign-in and refresh calls do not.
  pricing: {
    usd: {},
    defaultCategory: "api",
    billed: (_status, category) => category !== SIGN_IN_CATEGORY,
  },
  // BMW allows 50 calls a day per account; the margin keeps five for a restart's list calls.
  defaultBudget: { requests_per_day: 50, safety_margin: 0.1 },
  scheduler: BMW_SCHEDULER,
  // The sign-in host (device code, tokens), the API, and the stream broker.
  hosts: (account) => {
    const s = BmwAccount.safeParse(account).data;
    if (!s) return [];
    return [
      s.auth_host ?? BMW_HOSTS.auth,
      s.api_base_url ?? BMW_HOSTS.api,
      ...(s.stream === false ? [] : [streamOrigin(s.stream_url ?? BMW_HOSTS.stream)]),
    ];
  },
  files: (account) => {
    const ca = BmwAccount.safeParse(account).data?.ca_file;
    return ca ? [ca] : [];
  },
};

/** `mqtts://host:port` as an origin --allow-net takes (port 9000 when none is written). */
function streamOrigin(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || 9000}`;
}
