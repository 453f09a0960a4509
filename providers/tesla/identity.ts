/**
 * Tesla sign-in for both APIs, from one `accounts` entry of the config:
 *
 * - Owner API (`api: owner`, the default): Tesla's app client `ownerapi`, no secret, PKCE S256,
 *   scopes `openid email offline_access`, redirect `tesla://auth/callback` (the only one Tesla
 *   accepts for `ownerapi` since spring 2026; browsers cannot follow it, so the user pastes the
 *   final address). Authorize and token on auth.tesla.com (auth.tesla.cn with `region: cn`).
 * - Fleet API (`api: fleet`): the user's own app from developer.tesla.com (client id, secret,
 *   registered redirect URI). Authorize on auth.tesla.com; code exchange and refresh on the
 *   fleet-auth host with `audience` = a regional Fleet base URL; afterwards
 *   `GET /api/1/users/region` names the account's regional host, kept in the token file's
 *   `extra` (region.ts).
 *
 * Every host can be overridden (`auth_host`, `fleet_auth_host`, `api_base_url`), which is how
 * tests and replays point the same code at a fake server.
 */
import { z } from "zod";
import type { Clock } from "../../core/clock.ts";
import { type AccountConfig, ConfigError } from "../../core/config.ts";
import type { Http } from "../../core/http.ts";
import type { Logger } from "../../core/log.ts";
import {
  checkedRedirect,
  clientSecret,
  EnvName,
  HostUrl,
  scopeList,
  Scopes,
  signInCommand,
  trimSlash,
} from "../../core/account_keys.ts";
import { type ClientAuthStyle, OAuthClient } from "../../core/oauth.ts";
import { redirectPasteHelp, type SignInPlan, type SignInRequest } from "../../core/sign_in.ts";
import {
  recordFromGrant,
  type TokenGrant,
  type TokenRecord,
  TokenStore,
} from "../../core/tokens.ts";
import { PROVIDER } from "./api.ts";
import { discoverRegion } from "./region.ts";
import { TeslaTokenExtra } from "./types.ts";
import { TelemetryKeys } from "./stream_config.ts";

/**
 * Default hosts (Fleet: https://developer.tesla.com/docs/fleet-api/getting-started/base-urls).
 * The `auth` task's --allow-net lists the same ones.
 */
export const TESLA_HOSTS = {
  sso: { global: "https://auth.tesla.com", cn: "https://auth.tesla.cn" },
  owner: { global: "https://owner-api.teslamotors.com", cn: "https://owner-api.vn.cloud.tesla.cn" },
  fleetAuth: "https://fleet-auth.prd.vn.cloud.tesla.com",
  fleet: {
    na: "https://fleet-api.prd.na.vn.cloud.tesla.com",
    eu: "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    cn: "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
  },
} as const;

export const OWNER_CLIENT_ID = "ownerapi";
export const OWNER_SCOPES = ["openid", "email", "offline_access"] as const;
export const OWNER_REDIRECT_URI = "tesla://auth/callback";
/** Without these a Fleet sign-in cannot poll: id, refresh token, vehicle data. */
export const FLEET_REQUIRED_SCOPES = ["openid", "offline_access", "vehicle_device_data"] as const;
/** `user_data` is assumed to be needed for `/users/region`; Tesla's docs do not say. */
export const FLEET_DEFAULT_SCOPES = [...FLEET_REQUIRED_SCOPES, "user_data"] as const;
const AUTHORIZE_PATH = "/oauth2/v3/authorize";
const TOKEN_PATH = "/oauth2/v3/token";

/** Tesla's keys in an `accounts` entry. Other keys (the scheduler's budget) pass through. */
export const TeslaAccount = z.object({
  provider: z.literal(PROVIDER),
  name: z.string(),
  vehicles: z.array(z.string()).default([]),
  api: z.enum(["owner", "fleet"]).default("owner"),
  client_id: z.string().min(1).optional(),
  client_secret: z.string().min(1).optional(),
  client_secret_env: EnvName.optional(),
  redirect_uri: z.string().optional(),
  /** A list or one space-separated string. */
  scopes: Scopes.optional(),
  region: z.enum(["na", "eu", "cn"]).optional(),
  /** Browser-facing SSO (authorize; Owner token endpoint too). */
  auth_host: HostUrl.optional(),
  /** Fleet token exchange and refresh. */
  fleet_auth_host: HostUrl.optional(),
  /** Owner REST base, or the Fleet host asked for the account's region. */
  api_base_url: HostUrl.optional(),
  /** Fleet Telemetry from the owner's MQTT broker (stream_config.ts); polling is the fallback. */
  telemetry: TelemetryKeys.optional(),
  /** Waking is a scheduler setting, the same for every vendor: `polling.wake_up`. */
  wake_up: z.never({
    error: "is a polling setting: write polling: {wake_up: true} in this account, " +
      "or wake_up under the top-level polling block",
  }).optional(),
}).loose();
export type TeslaAccount = z.infer<typeof TeslaAccount>;

/** Everything needed to sign in and refresh for one account, resolved and checked. */
export interface TeslaIdentity {
  readonly account: string;
  readonly api: "owner" | "fleet";
  readonly settings: TeslaAccount;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Browser-facing SSO origin (authorize). */
  readonly ssoBase: string;
  readonly tokenUrl: string;
  /** Owner: the REST base. Fleet: the regional base to start from and ask for the region. */
  readonly apiBaseUrl: string;
  /** Fleet: sent with the code exchange. */
  readonly audience?: string;
}

export interface IdentityOptions {
  /** Where the entry sits, for messages: `config.yaml accounts[0]`. */
  readonly label: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The config's `location`: Fleet then asks for `vehicle_location` too. */
  readonly location: boolean;
  /** `--api` from the command line. */
  readonly api?: string;
}

/** Validates Tesla's keys of an account and resolves hosts, client and scopes. */
export function teslaIdentity(account: AccountConfig, options: IdentityOptions): TeslaIdentity {
  const { label } = options;
  const fail = (key: string, message: string) => new ConfigError(`${label}.${key}: ${message}`);
  const parsed = TeslaAccount.safeParse(account);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(issue.path.join(".") || "provider", issue.message);
  }
  const s = parsed.data;
  if (options.api !== undefined) {
    if (options.api !== "owner" && options.api !== "fleet") {
      throw new ConfigError(`--api: expected owner or fleet, got "${options.api}"`);
    }
    if ("api" in account && account.api !== options.api) {
      throw fail("api", `is ${s.api} but --api ${options.api} was given; change one of them`);
    }
    s.api = options.api;
  }
  const secret = clientSecret(s, options.env, fail);
  const sso = trimSlash(s.auth_host ?? TESLA_HOSTS.sso[s.region === "cn" ? "cn" : "global"]);

  if (s.api === "owner") {
    if (secret !== undefined) {
      throw fail(
        s.client_secret !== undefined ? "client_secret" : "client_secret_env",
        "the Owner API has no client secret; remove it, or set api: fleet for your own app",
      );
    }
    return {
      account: s.name,
      api: "owner",
      settings: s,
      clientId: s.client_id ?? OWNER_CLIENT_ID,
      redirectUri: checkedRedirect(s.redirect_uri ?? OWNER_REDIRECT_URI, fail),
      scopes: scopeList(s.scopes) ?? [...OWNER_SCOPES],
      ssoBase: sso,
      tokenUrl: sso + TOKEN_PATH,
      apiBaseUrl: trimSlash(
        s.api_base_url ?? TESLA_HOSTS.owner[s.region === "cn" ? "cn" : "global"],
      ),
    };
  }

  if (!s.client_id) {
    throw fail("client_id", "required for api: fleet — the Client ID of your app at " + DEV_SITE);
  }
  if (!s.redirect_uri) {
    throw fail(
      "redirect_uri",
      "required for api: fleet — one of the Allowed Redirect URIs of your app, e.g. " +
        "http://localhost:8123/callback",
    );
  }
  const scopes = scopeList(s.scopes) ??
    [...FLEET_DEFAULT_SCOPES, ...(options.location ? ["vehicle_location"] : [])];
  const missing = FLEET_REQUIRED_SCOPES.filter((x) => !scopes.includes(x));
  if (missing.length) {
    throw fail("scopes", `add ${missing.join(", ")} (needed to read vehicle data and refresh)`);
  }
  const base = trimSlash(s.api_base_url ?? TESLA_HOSTS.fleet[s.region ?? "na"]);
  return {
    account: s.name,
    api: "fleet",
    settings: s,
    clientId: s.client_id,
    ...(secret !== undefined ? { clientSecret: secret } : {}),
    redirectUri: checkedRedirect(s.redirect_uri, fail),
    scopes,
    ssoBase: sso,
    tokenUrl: trimSlash(s.fleet_auth_host ?? TESLA_HOSTS.fleetAuth) + TOKEN_PATH,
    apiBaseUrl: base,
    audience: base,
  };
}

const DEV_SITE = "developer.tesla.com (Dashboard → your app → Credentials & APIs)";

/** The only SSO hosts a token file or callback may redirect the token endpoint to. */
const KNOWN_SSO: readonly string[] = Object.values(TESLA_HOSTS.sso);

/**
 * The SSO named by a callback's `issuer` or a stored `auth_host` when it is a Tesla SSO other
 * than the configured one (Tesla sends an account to its own region's SSO), else undefined.
 * A configured `auth_host` that is not Tesla's (a fake, a proxy) always wins.
 */
export function otherSso(identity: TeslaIdentity, value: string | null | undefined) {
  const configured = new URL(identity.ssoBase).origin;
  if (!value || !KNOWN_SSO.includes(configured)) return undefined;
  let origin: string;
  try {
    origin = new URL(value).origin;
  } catch {
    return undefined;
  }
  return KNOWN_SSO.includes(origin) && origin !== configured ? origin : undefined;
}

/** The OAuth client for this account; `sso` swaps the Owner token host (see `otherSso`). */
export function teslaOAuthClient(
  identity: TeslaIdentity,
  http: Http,
  clock: Clock,
  sso?: string,
): OAuthClient {
  const clientAuth: ClientAuthStyle = identity.clientSecret ? "client_secret_post" : "none";
  return new OAuthClient({
    http,
    clock,
    authorizeUrl: identity.ssoBase + AUTHORIZE_PATH,
    tokenUrl: sso ? sso + TOKEN_PATH : identity.tokenUrl,
    clientId: identity.clientId,
    clientAuth,
    ...(identity.clientSecret ? { clientSecret: identity.clientSecret } : {}),
    redirectUri: identity.redirectUri,
    scopes: identity.scopes,
    ...(identity.audience ? { audience: identity.audience } : {}),
    // Owner refreshes repeat the scope (TeslaMate, timdorr).
    ...(identity.api === "owner" ? { refreshParams: { scope: identity.scopes.join(" ") } } : {}),
  });
}

/** The account's token file: `<state_dir>/tokens/tesla-<account>.json`. */
export function teslaTokenStore(
  stateDir: string,
  account: string,
  log: Logger,
): TokenStore<TeslaTokenExtra> {
  return new TokenStore({ stateDir, provider: PROVIDER, account, log, extra: TeslaTokenExtra });
}

/** The TokenManager's refresh callback: spends the stored refresh token at the right host. */
export function teslaRefresh(
  identity: TeslaIdentity,
  http: Http,
  clock: Clock,
): (current: TokenRecord<TeslaTokenExtra>) => Promise<TokenGrant> {
  const configured = teslaOAuthClient(identity, http, clock);
  const others = new Map<string, OAuthClient>();
  return (current) => {
    const sso = identity.api === "owner" ? otherSso(identity, current.extra.auth_host) : undefined;
    let client = configured;
    if (sso) {
      if (!others.has(sso)) others.set(sso, teslaOAuthClient(identity, http, clock, sso));
      client = others.get(sso)!;
    }
    return client.refresh(current.refresh_token);
  };
}

/** The command that fixes a dead sign-in, e.g. `deno task auth tesla --account home`. */
export function teslaSignInCommand(
  account: string,
  configPath?: string,
  invokedAs = "deno task",
): string {
  return signInCommand(PROVIDER, account, configPath, invokedAs);
}

/** What to do with the `tesla://` address, which no browser can open. */
export const OWNER_PASTE_HELP = `
After you sign in, Tesla sends the browser to tesla://auth/callback?code=…&state=…, which no
browser can open, so the page seems to hang or shows an error. Copy that address:
  • Chrome / Edge: the Console (F12) shows "Failed to launch 'tesla://auth/callback?code=…'":
    copy the address between the quotes.
  • Any browser: open the developer tools (F12) on the Network tab BEFORE you sign in; after
    signing in, click the last request named "authorize" (status 302) and copy its "location"
    response header, which starts with tesla://auth/callback?code=.
  • Firefox and Safari may show the address in the address bar or in an error page.
The code expires after a few minutes: paste promptly.`.trim();

/** The sign-in plan for `deno task auth tesla`. */
export function teslaSignInPlan(request: SignInRequest): SignInPlan<TeslaTokenExtra> {
  for (const flag of ["proxy", "proxy-ca", "yes"]) {
    if (request.options[flag] !== undefined) {
      throw new ConfigError(`--${flag} goes with --telemetry (it does not change a sign-in)`);
    }
  }
  const identity = teslaIdentity(request.account, {
    label: request.label,
    env: request.env,
    location: request.location,
    ...(typeof request.options.api === "string" ? { api: request.options.api } : {}),
  });
  const { http, clock } = request;
  const oauth = teslaOAuthClient(identity, http, clock);
  const hint = request.options["login-hint"];
  const loginHint = typeof hint === "string" ? hint : undefined;
  return {
    store: teslaTokenStore(request.stateDir, identity.account, request.log),
    redirectUri: identity.redirectUri,
    pasteHelp: identity.api === "owner"
      ? OWNER_PASTE_HELP
      : redirectPasteHelp(identity.redirectUri),
    authorize: (redirectUri) =>
      oauth.authorizationRequest({
        redirectUri,
        params: {
          ...(loginHint ? { login_hint: loginHint } : {}),
          // Fleet: ask again for scopes the user unticked at an earlier consent.
          ...(identity.api === "fleet" ? { prompt_missing_scopes: "true" } : {}),
        },
      }),
    async finish(pending, callback) {
      if (identity.api === "owner") {
        // Tesla moves an account to its own region's SSO; the code is only valid there.
        const sso = otherSso(identity, callback.get("issuer"));
        const client = sso ? teslaOAuthClient(identity, http, clock, sso) : oauth;
        const grant = await client.exchangeCode(pending, callback);
        return recordFromGrant(grant, { api: "owner", ...(sso ? { auth_host: sso } : {}) });
      }
      const grant = await oauth.exchangeCode(pending, callback);
      const found = await discoverRegion(http, identity.apiBaseUrl, grant.access_token, clock);
      return recordFromGrant(grant, {
        api: "fleet",
        region: found.region,
        fleet_api_base_url: found.fleet_api_base_url,
      });
    },
    describe(record) {
      const e = record.extra;
      if (e.api === "owner") return `Owner API${e.auth_host ? ` (SSO ${e.auth_host})` : ""}`;
      const where = `Fleet API, region ${e.region ?? "?"} (${e.fleet_api_base_url})`;
      // The token's audience came from `region` (default na); say how to make them agree.
      const regional = Object.entries(TESLA_HOSTS.fleet).find(([, u]) =>
        u === e.fleet_api_base_url
      );
      return regional && identity.settings.api_base_url === undefined &&
          regional[1] !== identity.audience
        ? `${where}; add \`region: ${regional[0]}\` to this account so sign-ins ask for it`
        : where;
    },
  };
}
