/**
 * BMW CarData sign-in: the OAuth 2 device authorization grant with PKCE S256, for the client
 * id the owner creates in the BMW customer portal (subscribed to "CarData API" and "CarData
 * Stream" before signing in). Access and ID tokens live an hour; the refresh token two weeks,
 * rotated by every refresh (the TokenManager saves it before the new tokens are used). The ID
 * token and the GCID are the stream's password and user name.
 *
 * BMW's device flow answers with non-standard statuses (403 for `authorization_pending`, 400
 * for `slow_down`, 401 for `expired_token`), so its answers are read by their `error` field,
 * never by the status.
 */
import * as oauth from "oauth4webapi";
import { z } from "zod";
import { HostUrl, signInCommand, trimSlash } from "../../core/account_keys.ts";
import type { Clock } from "../../core/clock.ts";
import { type AccountConfig, ConfigError } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import type { Http, HttpResponse } from "../../core/http.ts";
import { type Logger, maskSecrets, registerSecret } from "../../core/log.ts";
import { AuthorizationError } from "../../core/oauth.ts";
import type { DevicePoll, DeviceSignInPlan, SignInRequest } from "../../core/sign_in.ts";
import { type TokenGrant, type TokenRecord, TokenStore } from "../../core/tokens.ts";
import { BMW_HOSTS, PROVIDER } from "./api.ts";
import { BmwTokenExtra, DeviceCodeResponse, OAuthErrorBody, TokenResponse } from "./types.ts";

export const DEVICE_CODE_PATH = "/gcdm/oauth/device/code";
export const TOKEN_PATH = "/gcdm/oauth/token";
export const SCOPES = "authenticate_user openid cardata:api:read cardata:streaming:read";
/** Requests to the sign-in host: not CarData API calls, so outside the 50 a day. */
export const SIGN_IN_CATEGORY = "sign_in";
/** Refresh 15 min before the hour is up (peers refresh every 45 min). */
export const REFRESH_MARGIN_S = 900;

const PORTAL = "the BMW customer portal (My vehicle → BMW CarData)";

/** The BMW settings of an `accounts` entry. */
export const BmwAccount = z.object({
  provider: z.literal(PROVIDER),
  name: z.string(),
  /** The CarData client id (a UUID) the owner generated in the portal. */
  client_id: z.string().min(1).optional(),
  auth_host: HostUrl.optional(),
  api_base_url: HostUrl.optional(),
  /** Off: REST only (50 calls a day). */
  stream: z.boolean().optional(),
  /** The stream broker (mqtts://host:port); BMW's by default. */
  stream_url: z.string().regex(/^mqtts:\/\/[^/]+$/, "expected mqtts://host:port").optional(),
  /** A CA file for a broker whose certificate no public CA signed (the simulator). */
  ca_file: z.string().min(1).optional(),
}).loose();

/** The keys an entry may have besides the common ones. */
export const BMW_ACCOUNT_KEYS = ["client_id", "auth_host", "stream", "stream_url", "ca_file"];

export interface BmwIdentity {
  readonly account: string;
  readonly clientId: string;
  readonly authBase: string;
  readonly apiBaseUrl: string;
  readonly streamUrl?: string;
  readonly caFile?: string;
}

/** Validates the entry; the error names the key and the fix. */
export function bmwIdentity(account: AccountConfig, label: string): BmwIdentity {
  const fail = (key: string, message: string) => new ConfigError(`${label}.${key}: ${message}`);
  const parsed = BmwAccount.safeParse(account);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(issue.path.join(".") || "provider", issue.message);
  }
  const s = parsed.data;
  if (!s.client_id) {
    throw fail(
      "client_id",
      `required — the CarData client id you generated in ${PORTAL}, subscribed to ` +
        '"CarData API" and "CarData Stream"',
    );
  }
  return {
    account: s.name,
    clientId: s.client_id,
    authBase: trimSlash(s.auth_host ?? BMW_HOSTS.auth),
    apiBaseUrl: trimSlash(s.api_base_url ?? BMW_HOSTS.api),
    ...(s.stream === false ? {} : { streamUrl: s.stream_url ?? BMW_HOSTS.stream }),
    ...(s.ca_file ? { caFile: s.ca_file } : {}),
  };
}

/** The account's token file: `<state_dir>/tokens/bmw-<account>.json`. */
export function bmwTokenStore(
  stateDir: string,
  account: string,
  log: Logger,
): TokenStore<BmwTokenExtra> {
  return new TokenStore({ stateDir, provider: PROVIDER, account, log, extra: BmwTokenExtra });
}

export const bmwSignInCommand = (account: string, configPath?: string, invokedAs?: string) =>
  signInCommand(PROVIDER, account, configPath, invokedAs);

/** One form POST to the sign-in host. */
function post(http: Http, identity: BmwIdentity, path: string, form: Record<string, string>) {
  return http.send({
    method: "POST",
    url: identity.authBase + path,
    endpoint: path,
    category: SIGN_IN_CATEGORY,
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(form).toString(),
  });
}

/** The `error` of an OAuth error answer, whatever its status ("" when there is none). */
function oauthError(res: HttpResponse): { error: string; description: string } {
  try {
    const body = OAuthErrorBody.safeParse(JSON.parse(res.text));
    if (body.success) {
      return { error: body.data.error, description: body.data.error_description ?? "" };
    }
  } catch { /* not JSON */ }
  return { error: "", description: "" };
}

function json(res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    return undefined;
  }
}

/** A token answer as a grant (with the ID token) and the account's GCID. */
function grantOf(body: TokenResponse, clock: Clock): { grant: TokenGrant; gcid?: string } {
  registerSecret(body.access_token);
  registerSecret(body.refresh_token);
  registerSecret(body.id_token);
  const obtainedAt = Math.floor(clock.now() / 1000);
  return {
    grant: {
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      id_token: body.id_token,
      expires_at: obtainedAt + body.expires_in,
      obtained_at: obtainedAt,
      token_type: body.token_type,
      ...(body.scope !== undefined ? { scope: body.scope } : {}),
    },
    ...(body.gcid ? { gcid: body.gcid } : {}),
  };
}

function tokenAnswer(res: HttpResponse, endpoint: string): TokenResponse {
  const parsed = TokenResponse.safeParse(json(res));
  if (!parsed.success) {
    throw new VendorError(
      "malformed",
      `token endpoint answer unusable (${parsed.error.issues[0].path.join(".")}: ` +
        `${parsed.error.issues[0].message})`,
      { status: res.status, endpoint },
    );
  }
  return parsed.data;
}

/** The TokenManager's refresh: spends the refresh token, returns new access, refresh, ID. */
export function bmwRefresh(
  identity: BmwIdentity,
  http: Http,
  clock: Clock,
): (current: TokenRecord<BmwTokenExtra>) => Promise<TokenGrant> {
  return async (current) => {
    const res = await post(http, identity, TOKEN_PATH, {
      grant_type: "refresh_token",
      refresh_token: current.refresh_token,
      client_id: identity.clientId,
    });
    if (res.status === 200) return grantOf(tokenAnswer(res, TOKEN_PATH), clock).grant;
    const { error, description } = oauthError(res);
    const detail = maskSecrets(`${error || res.status}${description ? `: ${description}` : ""}`)
      .slice(0, 200);
    const opts = { status: res.status, endpoint: TOKEN_PATH };
    // A refresh token older than two weeks, or one whose client id was unsubscribed.
    if (["invalid_grant", "expired_token", "invalid_token"].includes(error)) {
      throw new VendorError("sign_in_needed", `refresh refused: ${detail}`, opts);
    }
    if (res.status >= 500) throw new VendorError("server", `refresh failed: ${detail}`, opts);
    throw new VendorError("client", `refresh refused: ${detail}`, opts);
  };
}

/** The sign-in plan for `deno task auth bmw`: the device flow. */
export function bmwSignInPlan(request: SignInRequest): DeviceSignInPlan<BmwTokenExtra> {
  const identity = bmwIdentity(request.account, request.label);
  const { http, clock } = request;
  const verifier = oauth.generateRandomCodeVerifier();
  registerSecret(verifier);
  let deviceCode = "";
  return {
    kind: "device",
    store: bmwTokenStore(request.stateDir, identity.account, request.log),
    async start() {
      const res = await post(http, identity, DEVICE_CODE_PATH, {
        client_id: identity.clientId,
        response_type: "device_code",
        scope: SCOPES,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
      });
      if (res.status !== 200) {
        const { error } = oauthError(res);
        throw new VendorError(
          "client",
          `BMW refused the client id (${error || res.status}): check client_id against ` +
            `${PORTAL}, and that it is subscribed to "CarData API" and "CarData Stream"`,
          { status: res.status, endpoint: DEVICE_CODE_PATH },
        );
      }
      const parsed = DeviceCodeResponse.safeParse(json(res));
      if (!parsed.success) {
        throw new VendorError("malformed", "the device-code answer is unusable", {
          endpoint: DEVICE_CODE_PATH,
        });
      }
      const d = parsed.data;
      deviceCode = d.device_code;
      registerSecret(deviceCode);
      return {
        userCode: d.user_code,
        verificationUri: d.verification_uri,
        ...(d.verification_uri_complete
          ? { verificationUriComplete: d.verification_uri_complete }
          : {}),
        intervalS: d.interval ?? 5,
        expiresInS: d.expires_in,
      };
    },
    async poll(): Promise<DevicePoll<BmwTokenExtra>> {
      const res = await post(http, identity, TOKEN_PATH, {
        client_id: identity.clientId,
        device_code: deviceCode,
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        code_verifier: verifier,
      });
      if (res.status === 200) {
        const body = tokenAnswer(res, TOKEN_PATH);
        const { grant, gcid } = grantOf(body, clock);
        const id = gcid ?? claim(body.id_token, "gcid");
        if (!id) {
          throw new VendorError("malformed", "the token answer names no gcid", {
            endpoint: TOKEN_PATH,
          });
        }
        return {
          status: "done",
          record: { ...grant, refresh_token: body.refresh_token, extra: { gcid: id } },
        };
      }
      const { error } = oauthError(res);
      switch (error) {
        case "authorization_pending":
          return { status: "pending" };
        case "slow_down":
          return { status: "slow_down" };
        case "access_denied":
          throw new AuthorizationError("denied", "the code was declined in the browser");
        case "expired_token":
          throw new AuthorizationError("timeout", "the code expired; run the command again");
        case "invalid_client":
          throw new VendorError(
            "client",
            `BMW refused the client id: check client_id against ${PORTAL}`,
            { status: res.status, endpoint: TOKEN_PATH },
          );
        default:
          throw new VendorError(
            res.status >= 500 ? "server" : "client",
            `token endpoint answered ${res.status}${error ? `: ${error}` : ""}`,
            { status: res.status, endpoint: TOKEN_PATH },
          );
      }
    },
    describe: (record) => `GCID …${record.extra.gcid.slice(-4)}, streaming and API scopes`,
  };
}

/** One string claim of a JWT, unverified (only to find the GCID when the answer lacks it). */
function claim(jwt: string, name: string): string | undefined {
  const part = jwt.split(".")[1];
  if (!part) return undefined;
  try {
    const value = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")))?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
