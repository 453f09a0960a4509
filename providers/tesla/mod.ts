/** The Tesla plug-in: Owner API and Fleet API accounts. */
import type { VendorPlugin } from "../../core/plugin.ts";
import type { AccountConfig } from "../../core/config.ts";
import { TESLA_HOSTS, TeslaAccount, teslaSignInPlan } from "./identity.ts";
import { FLEET_MONTHLY_CREDIT_USD, teslaPricing } from "./pricing.ts";
import { createTeslaProvider } from "./provider.ts";
import { openTeslaAccount } from "./session.ts";
import { importTeslaPy } from "./teslapy.ts";
import { telemetrySetup } from "./telemetry_setup.ts";

export const teslaPlugin: VendorPlugin = {
  id: "tesla",
  accountKeys: Object.keys(TeslaAccount.shape),
  create: createTeslaProvider,
  openAccount: openTeslaAccount,
  signIn: {
    plan: teslaSignInPlan,
    imports: { teslapy: importTeslaPy },
    setups: { telemetry: telemetrySetup },
  },
  signInFlags: {
    api: { type: "string", value: "owner|fleet", help: "Owner API (default) or Fleet API" },
    "login-hint": {
      type: "string",
      value: "EMAIL",
      help: "pre-fill the e-mail on the sign-in page (part of the printed address); " +
        "with --import-teslapy: which sign-in to import",
    },
    proxy: {
      type: "string",
      value: "URL",
      help: "with --telemetry: the vehicle-command proxy (over telemetry.proxy.url)",
    },
    "proxy-ca": {
      type: "string",
      value: "FILE",
      help: "with --telemetry: the proxy's certificate (over telemetry.proxy.ca_file)",
    },
    yes: { type: "boolean", help: "with --telemetry: send without asking" },
  },
  pricing: teslaPricing,
  // A Fleet account that sets no budget spends at most Tesla's monthly credit (less the
  // margin: 150 requests a day), so a new user never pays; the Owner API bills nothing. Two
  // commutes read every minute and a charge every 10 min take about 100 of them: the state
  // checks of a car asleep plan on 40 % of what is left.
  defaultBudget: (account) =>
    TeslaAccount.safeParse(account).data?.api === "fleet"
      ? { usd_per_month: FLEET_MONTHLY_CREDIT_USD, idle_share: 0.4 }
      : undefined,
  // The Owner API; Fleet API accounts set their regional host (`api_base_url`).
  defaultBaseUrl: "https://owner-api.teslamotors.com",
  hosts: (account) => [...teslaHosts(account), ...telemetryHosts(account)],
  files: (account) => {
    const ca = TeslaAccount.safeParse(account).data?.telemetry?.ca_file;
    return ca ? [ca] : [];
  },
};

/** The owner's MQTT broker, when the account streams (default ports: 1883, TLS 8883). */
function telemetryHosts(account: AccountConfig): string[] {
  const url = TeslaAccount.safeParse(account).data?.telemetry?.broker_url;
  if (!url) return [];
  try {
    const u = new URL(url);
    const tls = /^(mqtts|ssl|tls|wss):$/.test(u.protocol);
    return [`${u.protocol}//${u.hostname}:${u.port || (tls ? 8883 : 1883)}`];
  } catch {
    return []; // the account's own check names the bad URL when it opens
  }
}

/**
 * The origins an account reaches. Owner: the SSO's token endpoint (both Tesla SSOs, as Tesla
 * may move an account to its region's one) and the REST base. Fleet: the fleet-auth token
 * host and every regional host `/users/region` may name (a fake or proxy base names itself).
 * The sign-in page itself opens in the browser.
 */
function teslaHosts(account: AccountConfig): string[] {
  const parsed = TeslaAccount.safeParse(account);
  if (!parsed.success) return [];
  const s = parsed.data;
  const region = s.region === "cn" ? "cn" : "global";
  if (s.api === "owner") {
    const sso = s.auth_host === undefined || isTeslaSso(s.auth_host)
      ? Object.values(TESLA_HOSTS.sso)
      : [s.auth_host];
    return [...sso, s.api_base_url ?? TESLA_HOSTS.owner[region]];
  }
  const base = s.api_base_url ?? TESLA_HOSTS.fleet[s.region ?? "na"];
  const regional = /(^|\.)tesla\.(com|cn)$/.test(new URL(base).hostname)
    ? Object.values(TESLA_HOSTS.fleet)
    : [];
  return [s.fleet_auth_host ?? TESLA_HOSTS.fleetAuth, base, ...regional];
}

function isTeslaSso(url: string): boolean {
  return (Object.values(TESLA_HOSTS.sso) as string[]).includes(new URL(url).origin);
}
