/**
 * Vendor-neutral OAuth 2 (authorization code + PKCE S256, refresh) on top of `oauth4webapi`.
 * Every token-endpoint call goes through the project's HTTP seam (`Http.send`), so requests
 * are counted and the recorder sees them; OAuth error answers become VendorErrors.
 *
 * How a provider's identity.ts uses it:
 *
 * ```ts
 * const oauth = new OAuthClient({
 *   http,                                   // the provider's Http
 *   authorizeUrl: "https://auth.tesla.com/oauth2/v3/authorize",
 *   tokenUrl: "https://auth.tesla.com/oauth2/v3/token",
 *   clientId: "ownerapi", clientAuth: "none",  // Volvo: "client_secret_basic" + clientSecret
 *   redirectUri: "tesla://auth/callback",
 *   scopes: ["openid", "email", "offline_access"],
 *   refreshParams: { scope: "openid email offline_access" }, // Tesla Owner sends scope on refresh
 *   clock,
 * });
 * const pending = await oauth.authorizationRequest({ params: { login_hint: email } });
 * // show pending.url; get the callback from core/callback_server.ts (loopback redirect URI)
 * // or parsePastedRedirect(input, pending.state) (anything else)
 * const grant = await oauth.exchangeCode(pending, callbackParams);
 * await store.save(recordFromGrant(grant, extra));            // core/tokens.ts
 * // later, as TokenManager's refresh function:
 * refresh: (current) => oauth.refresh(current.refresh_token)
 * ```
 *
 * Client authentication styles: "none" (public client, `client_id` in the body: Tesla Owner),
 * "client_secret_basic" (HTTP Basic: Volvo), "client_secret_post" (`client_id` and
 * `client_secret` in the body: Tesla Fleet). `audience` is sent with the code exchange and the
 * client-credentials grant (Tesla Fleet wants its API base URL there).
 *
 * Errors: the token endpoint's OAuth errors become VendorErrors — `invalid_grant`,
 * `login_required` (and Tesla's `invalid_auth_code`) → "sign_in_needed"; `invalid_client`,
 * `invalid_request`, … → "client"; 429 → "rate_limited"; 5xx, `server_error`,
 * `temporarily_unavailable` → "server"; an unusable 200 → "malformed". Network failures stay
 * HttpError (the scheduler knows both). Problems with the browser leg (state mismatch, denied
 * consent, no code) are AuthorizationErrors.
 *
 * ID tokens are dropped before processing: nothing here uses their claims, and validating them
 * would fail on vendor quirks (Tesla's example refresh answer carries `"id_token": "id"`) and
 * on virtual time in replay.
 *
 * Plain `http:` endpoints are accepted only on loopback (tests, the fake servers).
 */
import * as oauth from "oauth4webapi";
import type { Clock } from "./clock.ts";
import { realClock } from "./clock.ts";
import { retryAfterSeconds, VendorError, type VendorErrorKind } from "./errors.ts";
import { type Http, HttpError, type HttpResponse } from "./http.ts";
import { maskSecrets, registerSecret } from "./log.ts";
import type { TokenGrant } from "./tokens.ts";

export type ClientAuthStyle = "none" | "client_secret_basic" | "client_secret_post";

export interface OAuthClientOptions {
  readonly http: Http;
  /** The browser-facing authorize endpoint. */
  readonly authorizeUrl: string;
  /** Token endpoint for code exchange and refresh (Tesla Fleet: the fleet-auth host). */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientAuth: ClientAuthStyle;
  /** Required for the client_secret_* styles. */
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Sent as `audience` with the code exchange and client credentials. */
  readonly audience?: string;
  /** Extra form fields on every refresh (Tesla Owner: `scope`). */
  readonly refreshParams?: Readonly<Record<string, string>>;
  /**
   * The authorization server's issuer. When set, an `iss` parameter in the callback must
   * match it (mix-up defence); when unset, `iss` is ignored.
   */
  readonly issuer?: string;
  /** Extra request headers for the token endpoint (e.g. a User-Agent the vendor expects). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Stamps `obtained_at`/`expires_at`; replay passes its virtual clock. */
  readonly clock?: Clock;
}

/** One started sign-in: show `url`, keep the rest for the exchange. */
export interface PendingAuthorization {
  readonly url: URL;
  readonly state: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

export type AuthorizationErrorReason =
  | "state_mismatch"
  | "missing_state"
  | "missing_code"
  | "denied"
  | "timeout"
  | "cancelled"
  | "unreadable";

/** The browser leg of a sign-in failed (nothing was sent to the token endpoint). */
export class AuthorizationError extends Error {
  constructor(readonly reason: AuthorizationErrorReason, message: string) {
    super(message);
    this.name = "AuthorizationError";
  }
}

/** Parameters the authorize URL sets itself; `params` may not override them. */
const RESERVED = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
];

export class OAuthClient {
  readonly #o: OAuthClientOptions;
  readonly #as: oauth.AuthorizationServer;
  readonly #client: oauth.Client;
  readonly #auth: oauth.ClientAuth;
  readonly #endpoint: string;
  readonly #insecure: boolean;

  constructor(options: OAuthClientOptions) {
    this.#o = options;
    const authorize = checkedUrl(options.authorizeUrl, "authorize URL");
    const token = checkedUrl(options.tokenUrl, "token URL");
    this.#insecure = token.protocol === "http:";
    this.#as = {
      issuer: options.issuer ?? authorize.origin,
      authorization_endpoint: authorize.href,
      token_endpoint: token.href,
    };
    this.#client = { client_id: options.clientId };
    this.#endpoint = token.pathname;
    if (options.clientAuth === "none") {
      this.#auth = oauth.None();
    } else {
      if (!options.clientSecret) {
        throw new Error(`OAuth client auth ${options.clientAuth} needs a client secret`);
      }
      registerSecret(options.clientSecret);
      this.#auth = options.clientAuth === "client_secret_basic"
        ? oauth.ClientSecretBasic(options.clientSecret)
        : oauth.ClientSecretPost(options.clientSecret);
    }
  }

  /**
   * Starts a sign-in: fresh PKCE verifier (S256) and state, and the authorize URL.
   * `params` adds vendor parameters (`login_hint`, `prompt_missing_scopes`, `locale`, …);
   * `redirectUri` overrides the configured one (a callback server bound to port 0).
   */
  async authorizationRequest(
    options: { params?: Readonly<Record<string, string>>; redirectUri?: string } = {},
  ): Promise<PendingAuthorization> {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    registerSecret(codeVerifier);
    const redirectUri = options.redirectUri ?? this.#o.redirectUri;
    const url = new URL(this.#o.authorizeUrl);
    const q = url.searchParams;
    q.set("response_type", "code");
    q.set("client_id", this.#o.clientId);
    q.set("redirect_uri", redirectUri);
    q.set("scope", this.#o.scopes.join(" "));
    q.set("state", state);
    q.set("code_challenge", await oauth.calculatePKCECodeChallenge(codeVerifier));
    q.set("code_challenge_method", "S256");
    for (const [key, value] of Object.entries(options.params ?? {})) {
      if (RESERVED.includes(key)) {
        throw new Error(`authorize parameter ${key} is set by OAuthClient`);
      }
      q.set(key, value);
    }
    return { url, state, codeVerifier, redirectUri };
  }

  /** Exchanges the callback's code (state checked again here) for tokens. */
  async exchangeCode(
    pending: PendingAuthorization,
    callback: URLSearchParams | URL,
  ): Promise<TokenGrant> {
    const params = checkAuthorizationResponse(callback, pending.state);
    registerSecret(params.get("code") ?? undefined);
    if (this.#o.issuer === undefined) params.delete("iss");
    const validated = oauth.validateAuthResponse(this.#as, this.#client, params, pending.state);
    const extra = this.#o.audience ? { audience: this.#o.audience } : undefined;
    return await this.#grant(
      () =>
        oauth.authorizationCodeGrantRequest(
          this.#as,
          this.#client,
          this.#auth,
          validated,
          pending.redirectUri,
          pending.codeVerifier,
          this.#requestOptions(extra),
        ),
      (res) => oauth.processAuthorizationCodeResponse(this.#as, this.#client, res),
    );
  }

  /** Spends `refreshToken`; the grant's `refresh_token` is the rotated one (if any). */
  async refresh(refreshToken: string): Promise<TokenGrant> {
    return await this.#grant(
      () =>
        oauth.refreshTokenGrantRequest(
          this.#as,
          this.#client,
          this.#auth,
          refreshToken,
          this.#requestOptions(this.#o.refreshParams),
        ),
      (res) => oauth.processRefreshTokenResponse(this.#as, this.#client, res),
    );
  }

  /** Client-credentials grant (Tesla Fleet partner token); `scope` defaults to `scopes`. */
  async clientCredentials(scopes: readonly string[] = this.#o.scopes): Promise<TokenGrant> {
    const params: Record<string, string> = { scope: scopes.join(" ") };
    if (this.#o.audience) params.audience = this.#o.audience;
    return await this.#grant(
      () =>
        oauth.clientCredentialsGrantRequest(
          this.#as,
          this.#client,
          this.#auth,
          params,
          this.#requestOptions(),
        ),
      (res) => oauth.processClientCredentialsResponse(this.#as, this.#client, res),
    );
  }

  #requestOptions(
    additionalParameters?: Readonly<Record<string, string>>,
  ): oauth.TokenEndpointRequestOptions {
    return {
      ...(additionalParameters ? { additionalParameters: { ...additionalParameters } } : {}),
      ...(this.#o.headers ? { headers: { ...this.#o.headers } } : {}),
      [oauth.customFetch]: (url, init) =>
        this.#o.http.send({
          method: "POST",
          url,
          headers: init.headers,
          body: init.body?.toString(),
          endpoint: this.#endpoint,
        }).then(toResponse),
      ...(this.#insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  async #grant(
    send: () => Promise<Response>,
    process: (res: Response) => Promise<oauth.TokenEndpointResponse>,
  ): Promise<TokenGrant> {
    const clock = this.#o.clock ?? realClock;
    let body: oauth.TokenEndpointResponse;
    try {
      body = await process(await send());
    } catch (err) {
      throw toVendorError(err, this.#endpoint, clock.now());
    }
    registerSecret(body.access_token);
    registerSecret(body.refresh_token);
    const obtainedAt = Math.floor(clock.now() / 1000);
    const expiresAt = body.expires_in !== undefined
      ? obtainedAt + body.expires_in
      : jwtExpiry(body.access_token) ?? obtainedAt + 3600;
    return {
      access_token: body.access_token,
      ...(body.refresh_token ? { refresh_token: body.refresh_token } : {}),
      expires_at: expiresAt,
      obtained_at: obtainedAt,
      ...(body.scope !== undefined ? { scope: body.scope } : {}),
      token_type: body.token_type,
    };
  }
}

/**
 * Checks a callback's query: `state` must equal `expectedState`, and a `code` must be there
 * (an `error` parameter means the user or the server declined). Returns a copy of the params.
 */
export function checkAuthorizationResponse(
  callback: URLSearchParams | URL,
  expectedState: string,
): URLSearchParams {
  const params = new URLSearchParams(callback instanceof URL ? callback.searchParams : callback);
  const state = params.get("state");
  if (state === null) {
    throw new AuthorizationError("missing_state", "the sign-in answer carries no state");
  }
  if (state !== expectedState) {
    throw new AuthorizationError(
      "state_mismatch",
      "the sign-in answer does not belong to this sign-in (state mismatch); start again",
    );
  }
  const error = params.get("error");
  if (error) {
    const description = params.get("error_description");
    throw new AuthorizationError(
      "denied",
      `the sign-in was not completed: ${error}${description ? ` (${description})` : ""}`,
    );
  }
  if (!params.get("code")) {
    throw new AuthorizationError("missing_code", "the sign-in answer carries no code");
  }
  return params;
}

/** True for http(s) URLs on 127.0.0.1, ::1 or localhost. */
export function isLoopbackUrl(url: URL): boolean {
  return ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
}

function checkedUrl(value: string, what: string): URL {
  const url = new URL(value);
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopbackUrl(url)) return url;
  throw new Error(`OAuth ${what} must use https (plain http only on loopback): ${url.origin}`);
}

/**
 * The seam's answer as a fetch Response for oauth4webapi, without the ID token, and labelled
 * JSON when it is JSON (oauth4webapi ignores an error body with another content type, and
 * that would hide an `invalid_grant`).
 */
function toResponse(res: HttpResponse): Response {
  if ([101, 204, 205, 304].includes(res.status)) {
    return new Response(null, { status: res.status, headers: res.headers });
  }
  const headers = new Headers(res.headers);
  let text = res.text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: oauth4webapi reports it */ }
  if (body && typeof body === "object" && !Array.isArray(body)) {
    headers.set("content-type", "application/json");
    if (res.status === 200 && "id_token" in body) {
      const { id_token: idToken, ...rest } = body as Record<string, unknown>;
      registerSecret(typeof idToken === "string" ? idToken : undefined);
      text = JSON.stringify(rest);
    }
  }
  return new Response(text, { status: res.status, headers });
}

/** `exp` of a JWT access token, when the server sent no `expires_in`. */
function jwtExpiry(token: string): number | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const exp = JSON.parse(json)?.exp;
    return typeof exp === "number" ? exp : undefined;
  } catch {
    return undefined;
  }
}

const SIGN_IN = ["invalid_grant", "login_required", "invalid_auth_code", "interaction_required"];
const SERVER = ["server_error", "temporarily_unavailable"];

/** Maps what oauth4webapi threw for a token-endpoint answer to a VendorError. */
export function toVendorError(err: unknown, endpoint: string, nowMs: number): unknown {
  // Network and timeout failures keep the seam's own error type.
  if (err instanceof VendorError || err instanceof HttpError || !(err instanceof Error)) return err;
  let status: number | undefined;
  let code = "";
  let description = "";
  let response: Response | undefined;
  if (err instanceof oauth.ResponseBodyError) {
    ({ status, error: code, response } = err);
    description = err.error_description ?? "";
  } else if (err instanceof oauth.WWWAuthenticateChallengeError) {
    status = err.status;
    response = err.response;
    code = String(err.cause[0]?.parameters.error ?? "");
    description = String(err.cause[0]?.parameters.error_description ?? "");
  } else if (
    err instanceof oauth.OperationProcessingError && err.cause instanceof Response &&
    err.cause.status !== 200
  ) {
    response = err.cause;
    status = response.status;
  } else {
    // A 200 we cannot use (no access_token, not JSON, unknown token_type).
    return new VendorError("malformed", `token endpoint answer unusable: ${err.message}`, {
      endpoint,
    });
  }
  const retryAfterS = retryAfterSeconds(response?.headers.get("retry-after") ?? null, nowMs);
  let kind: VendorErrorKind = "client";
  if (status === 429) kind = "rate_limited";
  else if (SIGN_IN.includes(code)) kind = "sign_in_needed";
  else if (SERVER.includes(code) || (status ?? 0) >= 500) kind = "server";
  // Vendor text only, shortened; masked in case a server echoes what we sent.
  const detail = maskSecrets(description).slice(0, 200);
  const what = code ? `${code}${detail ? `: ${detail}` : ""}` : "no OAuth error body";
  return new VendorError(kind, `token endpoint answered ${status}: ${what}`, {
    endpoint,
    ...(status !== undefined ? { status } : {}),
    ...(retryAfterS !== undefined ? { retryAfterS } : {}),
  });
}
