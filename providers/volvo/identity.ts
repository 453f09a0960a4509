/**
 * Volvo ID sign-in (https://developer.volvocars.com/apis/docs/authorisation) from one
 * `accounts` entry of the config:
 * the user's own application at developer.volvocars.com (client id and secret, a registered
 * redirect URI), authorization code with PKCE S256, the client authenticated with HTTP Basic
 * (client_secret_basic) at the token endpoint, and read-only scopes (defaultScopes: Connected
 * Vehicle, Energy v2, and Location when `location: true`) unless the entry lists its own.
 *
 * Access tokens live about five minutes and every refresh rotates the refresh token; the
 * TokenManager (core/tokens.ts) refreshes ahead of expiry and saves the new refresh token
 * before the new access token is used. A refresh token unused for a week is dead
 * (`invalid_grant`): the account then needs `deno task auth volvo` again.
 *
 * Hosts can be overridden (`auth_host`, `api_base_url`), which is how tests point the same
 * code at the fake server (fake_api.ts).
 */
import { z } from "zod";
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
import type { Clock } from "../../core/clock.ts";
import { type AccountConfig, ConfigError } from "../../core/config.ts";
import type { Http } from "../../core/http.ts";
import type { Logger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { OAuthClient } from "../../core/oauth.ts";
import { redirectPasteHelp, type SignInPlan, type SignInRequest } from "../../core/sign_in.ts";
import {
  recordFromGrant,
  type TokenGrant,
  type TokenRecord,
  TokenStore,
} from "../../core/tokens.ts";
import { defaultScopes, PROVIDER, VolvoApi } from "./api.ts";

/** Default hosts. The `auth` task's --allow-net lists the same ones. */
export const VOLVO_HOSTS = {
  id: "https://volvoid.eu.volvocars.com",
  api: "https://api.volvocars.com",
} as const;
export const AUTHORIZE_PATH = "/as/authorization.oauth2";
export const TOKEN_PATH = "/as/token.oauth2";
/** Refresh this long before a five-minute token expires: a full read takes a while. */
export const REFRESH_MARGIN_S = 60;

const DEV_SITE = "developer.volvocars.com (Account → your application)";

/** Volvo's sign-in keys in an `accounts` entry; `vcc_api_key` and others pass through. */
export const VolvoIdentityKeys = z.object({
  provider: z.literal(PROVIDER),
  name: z.string(),
  client_id: z.string().min(1).optional(),
  client_secret: z.string().min(1).optional(),
  client_secret_env: EnvName.optional(),
  redirect_uri: z.string().optional(),
  scopes: Scopes.optional(),
  auth_host: HostUrl.optional(),
  api_base_url: HostUrl.optional(),
}).loose();

/** Provider extras in the token file: the scopes the sign-in asked for. */
export const VolvoTokenExtra = z.object({ scopes: z.array(z.string()) });
export type VolvoTokenExtra = z.infer<typeof VolvoTokenExtra>;

export interface VolvoIdentity {
  readonly account: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly authBase: string;
  readonly apiBaseUrl: string;
}

export interface IdentityOptions {
  /** Where the entry sits, for messages: `config.yaml accounts[0]`. */
  readonly label: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The config's `location`: the default scopes then include `location:read`. */
  readonly location: boolean;
}

/** Validates the entry's sign-in keys and resolves client, hosts and scopes. */
export function volvoIdentity(account: AccountConfig, options: IdentityOptions): VolvoIdentity {
  const fail = (key: string, message: string) =>
    new ConfigError(`${options.label}.${key}: ${message}`);
  const parsed = VolvoIdentityKeys.safeParse(account);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(issue.path.join(".") || "provider", issue.message);
  }
  const s = parsed.data;
  if (!s.client_id) throw fail("client_id", `required — the Client ID of your app at ${DEV_SITE}`);
  const secret = clientSecret(s, options.env, fail);
  if (!secret) {
    throw fail(
      "client_secret",
      `required (or client_secret_env naming a variable) — the Client Secret at ${DEV_SITE}`,
    );
  }
  if (!s.redirect_uri) {
    throw fail(
      "redirect_uri",
      `required — a Redirect URI registered with your app at ${DEV_SITE}, e.g. ` +
        "http://127.0.0.1:8765/callback (a loopback one lets this command catch the answer)",
    );
  }
  const scopes = scopeList(s.scopes) ?? defaultScopes(options.location);
  if (!scopes.includes("openid")) throw fail("scopes", "add openid (every Volvo call needs it)");
  return {
    account: s.name,
    clientId: s.client_id,
    clientSecret: secret,
    redirectUri: checkedRedirect(s.redirect_uri, fail),
    scopes,
    authBase: trimSlash(s.auth_host ?? VOLVO_HOSTS.id),
    apiBaseUrl: trimSlash(s.api_base_url ?? VOLVO_HOSTS.api),
  };
}

export function volvoOAuthClient(identity: VolvoIdentity, http: Http, clock: Clock): OAuthClient {
  return new OAuthClient({
    http,
    clock,
    authorizeUrl: identity.authBase + AUTHORIZE_PATH,
    tokenUrl: identity.authBase + TOKEN_PATH,
    clientId: identity.clientId,
    clientAuth: "client_secret_basic",
    clientSecret: identity.clientSecret,
    redirectUri: identity.redirectUri,
    scopes: identity.scopes,
  });
}

/** The account's token file: `<state_dir>/tokens/volvo-<account>.json`. */
export function volvoTokenStore(
  stateDir: string,
  account: string,
  log: Logger,
): TokenStore<VolvoTokenExtra> {
  return new TokenStore({ stateDir, provider: PROVIDER, account, log, extra: VolvoTokenExtra });
}

/** The TokenManager's refresh callback (the rotated refresh token comes back in the grant). */
export function volvoRefresh(
  identity: VolvoIdentity,
  http: Http,
  clock: Clock,
): (current: TokenRecord<VolvoTokenExtra>) => Promise<TokenGrant> {
  const client = volvoOAuthClient(identity, http, clock);
  return (current) => client.refresh(current.refresh_token);
}

export const volvoSignInCommand = (account: string, configPath?: string, invokedAs?: string) =>
  signInCommand(PROVIDER, account, configPath, invokedAs);

/** The sign-in plan for `deno task auth volvo`. */
export function volvoSignInPlan(request: SignInRequest): SignInPlan<VolvoTokenExtra> {
  const identity = volvoIdentity(request.account, request);
  const { http, clock } = request;
  const oauth = volvoOAuthClient(identity, http, clock);
  /** What a first read with the new token told (the API key is checked on the way). */
  let check = "";
  return {
    store: volvoTokenStore(request.stateDir, identity.account, request.log),
    redirectUri: identity.redirectUri,
    pasteHelp: redirectPasteHelp(identity.redirectUri),
    authorize: (redirectUri) => oauth.authorizationRequest({ redirectUri }),
    async finish(pending, callback) {
      const grant = await oauth.exchangeCode(pending, callback);
      check = await firstRead(request, identity, grant.access_token);
      return recordFromGrant(grant, { scopes: [...identity.scopes] });
    },
    describe: (record) =>
      `${record.extra.scopes.length} scopes${
        record.extra.scopes.includes("location:read") ? " (with location)" : ""
      }${check}`,
  };
}

/**
 * Lists the account's cars once with the new token, so a wrong or unpublished API key shows
 * now and not at the first poll. Never fails the sign-in: the tokens are good either way.
 */
async function firstRead(
  request: SignInRequest,
  identity: VolvoIdentity,
  accessToken: string,
): Promise<string> {
  const apiKey = request.account.vcc_api_key;
  if (typeof apiKey !== "string" || !apiKey) {
    return '; add vcc_api_key (the app\'s "VCC API key – Primary") to poll';
  }
  const api = new VolvoApi({
    http: request.http.withAuth({ token: () => Promise.resolve(accessToken) }),
    readings: new Readings(),
    clock: request.clock,
    log: request.log,
    baseUrl: identity.apiBaseUrl,
    location: request.location,
  }, apiKey);
  try {
    const list = await api.vehicles();
    const n = Array.isArray(list) ? list.length : 0;
    return `; the API key works: ${n} vehicle${n === 1 ? "" : "s"} on this account`;
  } catch (err) {
    return `; but the first API call failed: ${(err as Error).message}`;
  }
}
