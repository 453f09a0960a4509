/**
 * A fake OAuth 2 authorization server for tests and simulators: the authorization-code grant
 * with PKCE S256 (codes single use, two minutes), refresh with rotating single-use refresh
 * tokens, access tokens that expire, and client authentication (`none`, `client_secret_post`,
 * `client_secret_basic`, RFC 6749 §2.3). What a vendor does differently (paths, lifetimes,
 * extra checks, error codes and wording) comes in as OAuthQuirks over NEUTRAL.
 *
 * FakeOAuth answers the requests handed to it, so a vendor simulator serves it on its own host
 * (`handle`); FakeOAuthServer serves it alone on loopback with a protected `/api/me`.
 */
import type { ClientAuthStyle } from "../core/oauth.ts";
import { readForm } from "./fake_server.ts";

export interface FakeClient {
  readonly clientId: string;
  /** Confidential clients have one; public clients (Tesla's Owner API) have none. */
  readonly clientSecret?: string;
  /** Where the authorize step may send the user back; absent: anywhere. */
  readonly redirectUris?: readonly string[];
  /**
   * The one way this client must authenticate at the token endpoint. Absent: any way that
   * carries its secret (and a client without a secret is not checked).
   */
  readonly auth?: ClientAuthStyle;
}

/** Why the server refused a request. */
export type Refusal =
  /** Authorize: the client_id is not registered. */
  | "unknown_client"
  /** Authorize: the redirect_uri is not registered for the client. */
  | "redirect_uri"
  /** Authorize: response_type is not `code`. */
  | "response_type"
  /** Authorize: no S256 code_challenge of the right shape. */
  | "pkce_required"
  | "state_required"
  | "scope_required"
  /** Token: no such client. */
  | "client_unknown"
  /** Token: wrong secret, or not the client's authentication method. */
  | "client_auth"
  /** An authorization code never issued, used already, or expired. */
  | "code_invalid"
  /** A code issued to another client or redirect_uri. */
  | "code_mismatch"
  | "verifier_shape"
  | "pkce_mismatch"
  | "audience_required"
  /** A refresh token never issued (or issued to another client). */
  | "refresh_unknown"
  /** A refresh token used once already, or revoked. */
  | "refresh_spent"
  | "refresh_expired"
  | "grant_type";

/** An error answer: HTTP status, OAuth `error` and `error_description`. */
export interface OAuthError {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

/** What the server makes: authorization codes, access, refresh and id tokens. */
export type TokenKind = "code" | "at" | "rt" | "id";

/** Everything that makes one authorization server differ from another. */
export interface OAuthBehaviour {
  readonly authorizePath: string;
  readonly tokenPath: string;
  /** Access token lifetime, seconds. */
  readonly accessLifetimeS: number;
  /** A refresh token unused this long is dead, seconds; absent: never. */
  readonly refreshLifetimeS?: number;
  /** How each code and token the server makes starts; random characters follow. */
  readonly tokenPrefix: (kind: TokenKind) => string;
  /** Token answers carry an `id_token`: a random one, or the literal "id" (not a JWT). */
  readonly idToken?: "random" | "id";
  /** The authorize step refuses a request without `state`. */
  readonly stateRequired?: boolean;
  /** The authorize step refuses a request without this scope. */
  readonly requiredScope?: string;
  /** What a code_verifier must look like (RFC 7636 §4.1: 43-128 unreserved characters). */
  readonly verifierShape: RegExp;
  /** The authorize redirect names the server (`issuer`, RFC 9207). */
  readonly issuer?: string;
  /** The code exchange answer repeats the authorize `state`. */
  readonly echoState?: boolean;
  /** The code exchange must carry this `audience`. */
  readonly audience?: string;
  readonly errors: Readonly<Record<Refusal, OAuthError>>;
}

/** How a server differs from NEUTRAL: absent fields are NEUTRAL's; `errors` merge by entry. */
export type OAuthQuirks =
  & Partial<Omit<OAuthBehaviour, "errors">>
  & { readonly errors?: Partial<Record<Refusal, OAuthError>> };

export const refusal = (status: number, error: string, description: string): OAuthError => ({
  status,
  error,
  description,
});

/** A plain server: RFC 6749 and 7636 answers, five-minute access tokens, no id_token. */
export const NEUTRAL: OAuthBehaviour = {
  authorizePath: "/oauth2/authorize",
  tokenPath: "/oauth2/token",
  accessLifetimeS: 300,
  tokenPrefix: (kind) => `${kind}_`,
  verifierShape: /^[A-Za-z0-9._~-]{43,128}$/,
  errors: {
    unknown_client: refusal(400, "invalid_client", "unknown client_id"),
    redirect_uri: refusal(400, "invalid_request", "redirect_uri is not registered for the client"),
    response_type: refusal(400, "unsupported_response_type", "response_type must be code"),
    pkce_required: refusal(400, "invalid_request", "PKCE with code_challenge_method S256 required"),
    state_required: refusal(400, "invalid_request", "state required"),
    scope_required: refusal(400, "invalid_scope", "a required scope is missing"),
    client_unknown: refusal(401, "invalid_client", "unknown client_id"),
    client_auth: refusal(401, "invalid_client", "client authentication failed"),
    code_invalid: refusal(400, "invalid_grant", "authorization code is invalid or expired"),
    code_mismatch: refusal(400, "invalid_grant", "redirect_uri does not match the authorization"),
    verifier_shape: refusal(400, "invalid_request", "code_verifier must be 43-128 characters"),
    pkce_mismatch: refusal(400, "invalid_grant", "PKCE verification failed"),
    audience_required: refusal(400, "invalid_request", "audience required"),
    ...deadRefresh(400, "invalid_grant"),
    grant_type: refusal(400, "unsupported_grant_type", "unsupported grant_type"),
  },
};

/** The same answer to every dead refresh token: unknown, spent, revoked or expired. */
export function deadRefresh(
  status: number,
  error: string,
): Record<"refresh_unknown" | "refresh_spent" | "refresh_expired", OAuthError> {
  const answer = refusal(status, error, "unknown, invalid, or expired refresh token");
  return { refresh_unknown: answer, refresh_spent: answer, refresh_expired: answer };
}

export interface FakeOAuthOptions {
  /** The registered clients; `mint` issues to the first one. */
  readonly clients: readonly FakeClient[];
  /** Server time in ms (default Date.now); tests share their clock with it. */
  readonly now?: () => number;
  readonly quirks?: OAuthQuirks;
  /** Wait this long before answering a token request (widens race windows). */
  readonly tokenDelayMs?: number;
}

export interface TokenAnswer {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token?: string;
  readonly token_type: "Bearer";
  readonly expires_in: number;
  readonly state?: string;
}

/** One request to the token endpoint, as it arrived. */
export interface TokenRequest {
  readonly grantType: string;
  /** How the request authenticated the client. */
  readonly clientAuth: ClientAuthStyle;
  readonly form: URLSearchParams;
  readonly headers: Headers;
}

export type AccessCheck =
  | { readonly state: "ok"; readonly scopes: ReadonlySet<string> }
  | { readonly state: "expired" | "unknown" };

/** An answer: status and JSON body, or a redirect. */
interface Reply {
  readonly status: number;
  readonly body?: Record<string, unknown>;
  readonly location?: string;
}

interface Code {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scopes: readonly string[];
  readonly state?: string;
  readonly expiresAt: number;
  used: boolean;
}

interface Refresh {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  usable: boolean;
}

const CODE_LIFETIME_MS = 120_000;
/** base64url(SHA-256(verifier)) is always 43 characters. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export class FakeOAuth {
  readonly counts = { codes: 0, exchanges: 0, refreshes: 0, rejected: 0, refreshRejected: 0 };
  /** Every token request, in order. */
  readonly tokenRequests: TokenRequest[] = [];
  /** Every token, code and verifier the server saw or made (for the no-leak tests). */
  readonly secrets = new Set<string>();
  readonly quirks: OAuthBehaviour;
  readonly #clients: ReadonlyMap<string, FakeClient>;
  readonly #now: () => number;
  readonly #codes = new Map<string, Code>();
  readonly #access = new Map<string, { expiresAt: number; scopes: ReadonlySet<string> }>();
  readonly #refresh = new Map<string, Refresh>();

  constructor(readonly options: FakeOAuthOptions) {
    this.#clients = new Map(options.clients.map((c) => [c.clientId, c]));
    this.#now = options.now ?? Date.now;
    const quirks = Object.fromEntries(
      Object.entries(options.quirks ?? {}).filter(([, v]) => v !== undefined),
    ) as OAuthQuirks;
    this.quirks = { ...NEUTRAL, ...quirks, errors: { ...NEUTRAL.errors, ...quirks.errors } };
  }

  /** Tokens as if a sign-in just happened (seeds clients that skip the browser leg). */
  mint(scopes: readonly string[] = [], clientId = this.options.clients[0].clientId): TokenAnswer {
    return this.#issue(clientId, scopes);
  }

  /** Whether a bearer token is live, and what it may read. */
  checkAccess(token: string | undefined): AccessCheck {
    const entry = token === undefined ? undefined : this.#access.get(token);
    if (!entry) return { state: "unknown" };
    return this.#now() < entry.expiresAt
      ? { state: "ok", scopes: entry.scopes }
      : { state: "expired" };
  }

  isValid(token: string): boolean {
    return this.checkAccess(token).state === "ok";
  }

  /** Every access token issued so far stops working before its stated expiry. */
  revokeAccess(): void {
    this.#access.clear();
  }

  /** Server-side end of every refresh token (a password reset). */
  revokeRefresh(): void {
    for (const entry of this.#refresh.values()) entry.usable = false;
  }

  /** Answers the authorize and token endpoints; undefined for any other request. */
  async handle(req: Request): Promise<Response | undefined> {
    const url = new URL(req.url);
    let reply: Reply;
    if (url.pathname === this.quirks.authorizePath && req.method === "GET") {
      reply = this.#authorize(url.searchParams);
    } else if (url.pathname === this.quirks.tokenPath && req.method === "POST") {
      reply = await this.#token(await readForm(req), req.headers);
    } else {
      return undefined;
    }
    if (reply.location) {
      return new Response(null, { status: reply.status, headers: { location: reply.location } });
    }
    return Response.json(reply.body ?? {}, { status: reply.status });
  }

  /** Checks the query, then "signs the user in" and redirects with a code. */
  #authorize(query: URLSearchParams): Reply {
    const get = (k: string) => query.get(k) ?? "";
    const client = this.#clients.get(get("client_id"));
    if (!client) return this.#refuse("unknown_client");
    const redirectUri = get("redirect_uri");
    if (!URL.canParse(redirectUri) || !(client.redirectUris?.includes(redirectUri) ?? true)) {
      return this.#refuse("redirect_uri");
    }
    if (get("response_type") !== "code") return this.#refuse("response_type");
    const challenge = get("code_challenge");
    if (get("code_challenge_method") !== "S256" || !CHALLENGE.test(challenge)) {
      return this.#refuse("pkce_required");
    }
    if (this.quirks.stateRequired && !get("state")) return this.#refuse("state_required");
    const scopes = get("scope").split(" ").filter(Boolean);
    if (this.quirks.requiredScope && !scopes.includes(this.quirks.requiredScope)) {
      return this.#refuse("scope_required");
    }
    const code = this.#newToken("code");
    this.#codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge,
      scopes,
      ...(query.has("state") ? { state: get("state") } : {}),
      expiresAt: this.#now() + CODE_LIFETIME_MS,
      used: false,
    });
    this.counts.codes++;
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    if (query.has("state")) target.searchParams.set("state", get("state"));
    if (this.quirks.issuer) target.searchParams.set("issuer", this.quirks.issuer);
    return { status: 302, location: target.href };
  }

  async #token(form: Record<string, string>, headers: Headers): Promise<Reply> {
    const basic = basicCredentials(headers.get("authorization"));
    const clientAuth: ClientAuthStyle = basic
      ? "client_secret_basic"
      : form.client_secret !== undefined
      ? "client_secret_post"
      : "none";
    const grantType = form.grant_type ?? "";
    this.tokenRequests.push({ grantType, clientAuth, form: new URLSearchParams(form), headers });
    if (this.options.tokenDelayMs) await delay(this.options.tokenDelayMs);
    const client = this.#clients.get(basic?.[0] ?? form.client_id ?? "");
    if (!client) return this.#refuse("client_unknown");
    const secret = basic?.[1] ?? form.client_secret;
    if (!authenticates(client, clientAuth, secret, form)) return this.#refuse("client_auth");
    switch (grantType) {
      case "authorization_code":
        return await this.#exchange(client, form);
      case "refresh_token":
        return this.#refreshGrant(client, form);
      default:
        return this.#refuse("grant_type");
    }
  }

  async #exchange(client: FakeClient, form: Record<string, string>): Promise<Reply> {
    for (const seen of [form.code, form.code_verifier]) if (seen) this.secrets.add(seen);
    const code = this.#codes.get(form.code ?? "");
    if (!code || code.used || code.expiresAt <= this.#now()) return this.#refuse("code_invalid");
    code.used = true; // single use, even when the rest of the request is wrong
    if (code.clientId !== client.clientId || code.redirectUri !== form.redirect_uri) {
      return this.#refuse("code_mismatch");
    }
    const verifier = form.code_verifier ?? "";
    if (!this.quirks.verifierShape.test(verifier)) return this.#refuse("verifier_shape");
    if (await s256(verifier) !== code.challenge) return this.#refuse("pkce_mismatch");
    if (this.quirks.audience !== undefined && form.audience !== this.quirks.audience) {
      return this.#refuse("audience_required");
    }
    this.counts.exchanges++;
    const state = this.quirks.echoState ? code.state : undefined;
    return { status: 200, body: { ...this.#issue(client.clientId, code.scopes, state) } };
  }

  #refreshGrant(client: FakeClient, form: Record<string, string>): Reply {
    const entry = this.#refresh.get(form.refresh_token ?? "");
    if (!entry || entry.clientId !== client.clientId) return this.#deadRefresh("refresh_unknown");
    if (!entry.usable) return this.#deadRefresh("refresh_spent");
    if (entry.expiresAt <= this.#now()) return this.#deadRefresh("refresh_expired");
    entry.usable = false; // rotation: the old one dies with its first use
    this.counts.refreshes++;
    return { status: 200, body: { ...this.#issue(client.clientId, entry.scopes) } };
  }

  #deadRefresh(why: Refusal): Reply {
    this.counts.refreshRejected++;
    return this.#refuse(why);
  }

  #issue(clientId: string, scopes: readonly string[], state?: string): TokenAnswer {
    const now = this.#now();
    const { accessLifetimeS, refreshLifetimeS, idToken } = this.quirks;
    const access = this.#newToken("at");
    const refresh = this.#newToken("rt");
    this.#access.set(access, { expiresAt: now + accessLifetimeS * 1000, scopes: new Set(scopes) });
    this.#refresh.set(refresh, {
      clientId,
      scopes,
      expiresAt: refreshLifetimeS === undefined ? Infinity : now + refreshLifetimeS * 1000,
      usable: true,
    });
    const id = idToken === "random" ? this.#newToken("id") : idToken;
    return {
      access_token: access,
      refresh_token: refresh,
      ...(id === undefined ? {} : { id_token: id }),
      token_type: "Bearer",
      expires_in: accessLifetimeS,
      ...(state === undefined ? {} : { state }),
    };
  }

  #refuse(why: Refusal): Reply {
    this.counts.rejected++;
    const { status, error, description } = this.quirks.errors[why];
    return { status, body: { error, error_description: description } };
  }

  /** Unguessable and URL-safe, like a PKCE verifier: 32 random bytes, base64url. */
  #newToken(kind: TokenKind): string {
    const token = this.quirks.tokenPrefix(kind) + base64url(randomBytes(32));
    this.secrets.add(token);
    return token;
  }
}

/** The fake alone on loopback, with a protected `/api/me` that answers 401 to dead tokens. */
export class FakeOAuthServer extends FakeOAuth {
  /** `use:<token>` for each accepted `/api/me` call, in order (tests add their own events). */
  readonly events: string[] = [];
  readonly api = { served: 0, unauthorized: 0 };
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(options: FakeOAuthOptions) {
    super(options);
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      handler: async (req) => (await this.handle(req)) ?? this.#resource(req),
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }
  get authorizeUrl(): string {
    return this.origin + this.quirks.authorizePath;
  }
  get tokenUrl(): string {
    return this.origin + this.quirks.tokenPath;
  }
  get apiUrl(): string {
    return `${this.origin}/api/me`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  #resource(req: Request): Response {
    if (new URL(req.url).pathname !== "/api/me") {
      return Response.json({ error: "not_found" }, { status: 404 });
    }
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (!this.isValid(token)) {
      this.api.unauthorized++;
      return Response.json({ error: "token expired (401)" }, { status: 401 });
    }
    this.api.served++;
    this.events.push(`use:${token}`);
    return Response.json({ response: { ok: true } });
  }
}

/** A browser following the authorize URL: returns the redirect (the callback URL). */
export async function followAuthorize(url: URL | string): Promise<URL> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}`);
  return new URL(location);
}

/** base64url(SHA-256(verifier)) without padding: RFC 7636 S256. */
export async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** May this request speak for `client`? */
function authenticates(
  client: FakeClient,
  used: ClientAuthStyle,
  secret: string | undefined,
  form: Record<string, string>,
): boolean {
  if (client.auth === undefined) {
    return client.clientSecret === undefined || secret === client.clientSecret;
  }
  // Exactly the registered method, and only one (RFC 6749 §2.3).
  if (used !== client.auth) return false;
  if (used === "client_secret_basic" && form.client_secret !== undefined) return false;
  return used === "none" || secret === client.clientSecret;
}

/** HTTP Basic client credentials; RFC 6749 §2.3.1 form-encodes both parts before base64. */
function basicCredentials(header: string | null): [string, string] | undefined {
  const m = /^Basic (.+)$/.exec(header ?? "");
  if (!m) return undefined;
  const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
  try {
    const text = atob(m[1]);
    const i = text.indexOf(":");
    return i < 0 ? [decode(text), ""] : [decode(text.slice(0, i)), decode(text.slice(i + 1))];
  } catch {
    return ["", ""]; // not base64 or not form-encoded: authenticates nobody
  }
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
