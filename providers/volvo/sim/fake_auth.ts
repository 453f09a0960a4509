/**
 * Volvo ID as the fake Volvo server plays it (reference volvo-api.md §2): an authorize step
 * that checks its query and signs a fake user in at once, a token endpoint with PKCE S256 and
 * client authentication (HTTP Basic as evcc and volvo-cars-api send it; the form style is
 * accepted too and recorded), single-use codes, access tokens of about five minutes, refresh
 * tokens that rotate (the old one dies at once) and expire after seven days unused. A dead
 * refresh token gets Volvo's exact `invalid_grant` answer.
 */
import { calculatePKCECodeChallenge, generateRandomCodeVerifier } from "oauth4webapi";

export interface FakeVolvoClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export const FAKE_CLIENT: FakeVolvoClient = {
  clientId: "fake-volvo-client",
  clientSecret: "fake-volvo-client-secret",
  redirectUris: ["http://127.0.0.1:8765/callback"],
};

export interface FakeVolvoAuthOptions {
  /** Milliseconds since the epoch (the fake server's clock). */
  readonly now: () => number;
  readonly client?: FakeVolvoClient;
  /** Access token lifetime, seconds (Volvo: 299). */
  readonly accessLifetimeS?: number;
  /** A refresh token not used for this long is dead, seconds (Volvo: 7 days). */
  readonly refreshLifetimeS?: number;
}

/** An OAuth answer: status and JSON body, or a redirect. */
export interface AuthReply {
  readonly status: number;
  readonly body?: Record<string, unknown>;
  readonly location?: string;
}

/** How a token request authenticated the client. */
export type ClientAuthUsed = "client_secret_basic" | "client_secret_post" | "none";

/** Volvo's answer to a stale, reused or unknown refresh token (payloads oauth.error.invalid-grant). */
export const INVALID_GRANT = {
  error_description: "unknown, invalid, or expired refresh token",
  error: "invalid_grant",
} as const;

export type AccessCheck = { readonly ok: true; readonly scopes: ReadonlySet<string> } | {
  readonly ok: false;
};

interface Code {
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  used: boolean;
}

interface Refresh {
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  usable: boolean;
}

const CODE_LIFETIME_MS = 120_000;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export class FakeVolvoAuth {
  readonly counts = { codes: 0, exchanges: 0, refreshes: 0, rejected: 0 };
  /** Each token request's grant type and client authentication style, in order. */
  readonly tokenRequests: { grantType: string; clientAuth: ClientAuthUsed }[] = [];
  readonly client: FakeVolvoClient;
  readonly #codes = new Map<string, Code>();
  readonly #access = new Map<string, { expiresAt: number; scopes: ReadonlySet<string> }>();
  readonly #refresh = new Map<string, Refresh>();

  constructor(readonly options: FakeVolvoAuthOptions) {
    this.client = options.client ?? FAKE_CLIENT;
  }

  get accessLifetimeS(): number {
    return this.options.accessLifetimeS ?? 299;
  }

  /** Tokens as if the user had just signed in with `scopes` (skips the browser leg). */
  mint(scopes: readonly string[]): Record<string, unknown> {
    return this.#issue(scopes);
  }

  /** Whether a bearer token is live, and what it may read. */
  checkAccess(token: string | undefined): AccessCheck {
    const entry = token === undefined ? undefined : this.#access.get(token);
    if (!entry || this.options.now() >= entry.expiresAt) return { ok: false };
    return { ok: true, scopes: entry.scopes };
  }

  /** Every access token issued so far stops working before its stated expiry. */
  revokeAccessTokens(): void {
    this.#access.clear();
  }

  /** Server-side end of every refresh token (what a password change or a week unused does). */
  revokeRefreshTokens(): void {
    for (const entry of this.#refresh.values()) entry.usable = false;
  }

  /** GET /as/authorization.oauth2: checks the query, "signs in", redirects with a code. */
  authorize(query: URLSearchParams): AuthReply {
    const get = (k: string) => query.get(k) ?? "";
    if (get("client_id") !== this.client.clientId) {
      return this.#reject(400, "invalid_client", "unknown client_id");
    }
    const redirectUri = get("redirect_uri");
    if (!this.client.redirectUris.includes(redirectUri)) {
      return this.#reject(400, "invalid_request", "redirect_uri is not registered for the client");
    }
    if (get("response_type") !== "code") {
      return this.#reject(400, "unsupported_response_type", "response_type must be code");
    }
    // "For all new published applications, PKCE will be enforced."
    const challenge = get("code_challenge");
    if (get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return this.#reject(400, "invalid_request", "PKCE with code_challenge_method S256 required");
    }
    const scopes = get("scope").split(" ").filter(Boolean);
    if (!scopes.includes("openid")) {
      return this.#reject(400, "invalid_scope", "every Volvo API call needs the openid scope");
    }
    const code = randomToken("fake-volvo-code");
    this.#codes.set(code, {
      redirectUri,
      challenge,
      scopes,
      expiresAt: this.options.now() + CODE_LIFETIME_MS,
      used: false,
    });
    this.counts.codes++;
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    if (query.has("state")) target.searchParams.set("state", get("state"));
    return { status: 302, location: target.href };
  }

  /** POST /as/token.oauth2 with the decoded form and the Basic credentials, if any. */
  async token(form: Record<string, string>, basic?: [string, string]): Promise<AuthReply> {
    const clientAuth: ClientAuthUsed = basic
      ? "client_secret_basic"
      : form.client_secret !== undefined
      ? "client_secret_post"
      : "none";
    this.tokenRequests.push({ grantType: form.grant_type ?? "", clientAuth });
    const [id, secret] = basic ?? [form.client_id ?? "", form.client_secret ?? ""];
    if (id !== this.client.clientId || secret !== this.client.clientSecret) {
      return this.#reject(401, "invalid_client", "client authentication failed");
    }
    switch (form.grant_type) {
      case "authorization_code":
        return await this.#exchange(form);
      case "refresh_token":
        return this.#refreshGrant(form);
      default:
        return this.#reject(400, "unsupported_grant_type", "unsupported grant_type");
    }
  }

  async #exchange(form: Record<string, string>): Promise<AuthReply> {
    const code = this.#codes.get(form.code ?? "");
    if (!code || code.used || code.expiresAt <= this.options.now()) {
      return this.#reject(400, "invalid_grant", "authorization code is invalid or expired");
    }
    code.used = true; // single use, even when the rest of the request is wrong
    if (code.redirectUri !== form.redirect_uri) {
      return this.#reject(400, "invalid_grant", "redirect_uri does not match the authorization");
    }
    const verifier = form.code_verifier ?? "";
    if (!VERIFIER.test(verifier)) {
      return this.#reject(400, "invalid_request", "code_verifier must be 43-128 characters");
    }
    if (await calculatePKCECodeChallenge(verifier) !== code.challenge) {
      return this.#reject(400, "invalid_grant", "PKCE verification failed");
    }
    this.counts.exchanges++;
    return { status: 200, body: this.#issue(code.scopes) };
  }

  #refreshGrant(form: Record<string, string>): AuthReply {
    const entry = this.#refresh.get(form.refresh_token ?? "");
    if (!entry || !entry.usable || entry.expiresAt <= this.options.now()) {
      this.counts.rejected++;
      return { status: 400, body: { ...INVALID_GRANT } };
    }
    entry.usable = false; // rotation: the old one dies with its first use
    this.counts.refreshes++;
    return { status: 200, body: this.#issue(entry.scopes) };
  }

  #issue(scopes: readonly string[]): Record<string, unknown> {
    const now = this.options.now();
    const access = randomToken("fake-volvo-at");
    const refresh = randomToken("fake-volvo-rt");
    this.#access.set(access, {
      expiresAt: now + this.accessLifetimeS * 1000,
      scopes: new Set(scopes),
    });
    this.#refresh.set(refresh, {
      scopes,
      expiresAt: now + (this.options.refreshLifetimeS ?? 7 * 86_400) * 1000,
      usable: true,
    });
    // The shape of payloads oauth.token.json (no `scope` field).
    return {
      access_token: access,
      refresh_token: refresh,
      id_token: randomToken("fake-volvo-id"),
      token_type: "Bearer",
      expires_in: this.accessLifetimeS,
    };
  }

  #reject(status: number, error: string, description: string): AuthReply {
    this.counts.rejected++;
    return { status, body: { error_description: description, error } };
  }
}

/** Unguessable and URL-safe: a PKCE verifier is exactly that (32 random bytes, base64url). */
const randomToken = (prefix: string) => `${prefix}-${generateRandomCodeVerifier()}`;
