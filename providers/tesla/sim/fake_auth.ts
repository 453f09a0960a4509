/**
 * Tesla's SSO as the fake server plays it (reference tesla-api.md §3–4, §7): an authorize step
 * that checks its query and signs a fake user in at once, a token endpoint with PKCE S256,
 * single-use authorization codes, access tokens that expire, and refresh tokens that rotate
 * and are single use (a reused one answers 401 `login_required`, as Tesla does).
 */

export interface FakeClient {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  /** Fleet apps have a secret (form `client_secret` or HTTP Basic); the Owner API has none. */
  readonly clientSecret?: string;
}

export const OWNER_API_CLIENT: FakeClient = {
  clientId: "ownerapi",
  redirectUris: ["tesla://auth/callback"],
};

export interface FakeAuthOptions {
  /** Milliseconds since the epoch (the fake server's clock). */
  readonly now: () => number;
  readonly clients?: readonly FakeClient[];
  /** Access token lifetime, seconds (default 28800: Tesla's 8 h). */
  readonly accessLifetimeS?: number;
  /** Where the authorize step says the user signed in (`issuer` in the redirect). */
  readonly issuer?: string;
}

export interface TokenAnswer {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly id_token: string;
  readonly expires_in: number;
  readonly token_type: "Bearer";
  readonly state?: string;
}

/** An OAuth answer: status and JSON body (or a redirect). */
export interface AuthReply {
  readonly status: number;
  readonly body?: Record<string, unknown>;
  readonly location?: string;
}

interface Code {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly state: string;
  readonly expiresAt: number;
  used: boolean;
}

const CODE_LIFETIME_MS = 120_000;
const B64URL = /^[A-Za-z0-9_-]+$/;

export type AccessCheck = "ok" | "expired" | "unknown";

export class FakeTeslaAuth {
  readonly counts = { codes: 0, exchanges: 0, refreshes: 0, rejected: 0 };
  readonly #clients: Map<string, FakeClient>;
  readonly #codes = new Map<string, Code>();
  readonly #access = new Map<string, number>();
  /** refresh token → still usable. */
  readonly #refresh = new Map<string, { clientId: string; usable: boolean }>();

  constructor(readonly options: FakeAuthOptions) {
    this.#clients = new Map(
      (options.clients ?? [OWNER_API_CLIENT]).map((c) => [c.clientId, c]),
    );
  }

  /** Tokens as if the user had just signed in (seeds clients that skip the browser leg). */
  mint(clientId = [...this.#clients.keys()][0]): TokenAnswer {
    return this.#issue(clientId);
  }

  checkAccess(token: string | undefined): AccessCheck {
    const expiresAt = token === undefined ? undefined : this.#access.get(token);
    if (expiresAt === undefined) return "unknown";
    return this.options.now() < expiresAt ? "ok" : "expired";
  }

  /** GET /oauth2/v3/authorize: checks the query, then "signs in" and redirects with a code. */
  authorize(query: URLSearchParams): AuthReply {
    const get = (k: string) => query.get(k) ?? "";
    const client = this.#clients.get(get("client_id"));
    if (!client) return this.#reject(400, "invalid_client", "unknown client_id");
    const redirectUri = get("redirect_uri");
    if (!client.redirectUris.includes(redirectUri)) {
      // Tesla's own wording on its error page (reference §3.3).
      return this.#reject(
        400,
        "invalid_redirect_url",
        "The 'redirect_uri' supplied is not registered for this 'client_id'.",
      );
    }
    if (get("response_type") !== "code") {
      return this.#reject(400, "invalid_request", "response_type must be code");
    }
    const challenge = get("code_challenge");
    if (get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return this.#reject(400, "invalid_request", "PKCE S256 code_challenge required");
    }
    if (!get("state")) return this.#reject(400, "invalid_request", "state required");
    const code = randomToken("fake-code");
    this.#codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge,
      state: get("state"),
      expiresAt: this.options.now() + CODE_LIFETIME_MS,
      used: false,
    });
    this.counts.codes++;
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    target.searchParams.set("state", get("state"));
    if (this.options.issuer) target.searchParams.set("issuer", this.options.issuer);
    return { status: 302, location: target.href };
  }

  /** POST /oauth2/v3/token with a form or JSON body already decoded. */
  async token(form: Record<string, string>, basicAuth?: [string, string]): Promise<AuthReply> {
    const clientId = form.client_id ?? basicAuth?.[0] ?? "";
    const client = this.#clients.get(clientId);
    if (!client) return this.#reject(401, "invalid_client", "unknown client_id");
    if (client.clientSecret !== undefined) {
      const secret = form.client_secret ?? basicAuth?.[1];
      if (secret !== client.clientSecret) {
        return this.#reject(401, "invalid_client", "client authentication failed");
      }
    }
    switch (form.grant_type) {
      case "authorization_code":
        return await this.#exchange(client, form);
      case "refresh_token":
        return this.#refreshGrant(client, form);
      default:
        return this.#reject(400, "unsupported_grant_type", "unsupported grant_type");
    }
  }

  async #exchange(client: FakeClient, form: Record<string, string>): Promise<AuthReply> {
    const code = this.#codes.get(form.code ?? "");
    if (!code || code.used || code.expiresAt <= this.options.now()) {
      return this.#reject(400, "invalid_auth_code", "authorization code expired or used");
    }
    code.used = true; // single use, even when the rest of the request is wrong
    if (code.clientId !== client.clientId || code.redirectUri !== form.redirect_uri) {
      return this.#reject(400, "invalid_grant", "client_id or redirect_uri does not match");
    }
    const verifier = form.code_verifier ?? "";
    if (verifier.length < 43 || verifier.length > 128 || !B64URL.test(verifier)) {
      return this.#reject(400, "invalid_request", "code_verifier must be 43-128 characters");
    }
    if (await s256(verifier) !== code.challenge) {
      return this.#reject(400, "invalid_grant", "code_verifier does not match code_challenge");
    }
    this.counts.exchanges++;
    return { status: 200, body: { ...this.#issue(client.clientId), state: code.state } };
  }

  #refreshGrant(client: FakeClient, form: Record<string, string>): AuthReply {
    const entry = this.#refresh.get(form.refresh_token ?? "");
    if (!entry || entry.clientId !== client.clientId) {
      return this.#reject(400, "invalid_grant", "unknown refresh token");
    }
    if (!entry.usable) {
      // Single use: a second use means it leaked or two processes raced (reference §4.3).
      return this.#reject(401, "login_required", "refresh token already used");
    }
    entry.usable = false;
    this.counts.refreshes++;
    return { status: 200, body: { ...this.#issue(client.clientId) } };
  }

  #issue(clientId: string): TokenAnswer {
    const lifetime = this.options.accessLifetimeS ?? 28800;
    const access = randomToken("fake-at");
    const refresh = randomToken("fake-rt");
    this.#access.set(access, this.options.now() + lifetime * 1000);
    this.#refresh.set(refresh, { clientId, usable: true });
    return {
      access_token: access,
      refresh_token: refresh,
      id_token: randomToken("fake-id"),
      expires_in: lifetime,
      token_type: "Bearer",
    };
  }

  #reject(status: number, error: string, description: string): AuthReply {
    this.counts.rejected++;
    return { status, body: { error, error_description: description } };
  }
}

/** base64url(SHA-256(verifier)) without padding: RFC 7636 S256. */
export async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function randomToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}-${base64url(bytes)}`;
}
