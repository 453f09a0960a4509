/**
 * A small loopback OAuth 2 authorization server for the core auth tests: authorize with PKCE
 * S256, code exchange, single-use rotating refresh tokens, expiring access tokens, and a
 * protected `/api/me` that answers 401 to unknown or expired tokens.
 */
import type { ClientAuthStyle } from "../oauth.ts";

export interface FakeOAuthOptions {
  readonly clientId: string;
  readonly clientAuth: ClientAuthStyle;
  readonly clientSecret?: string;
  /** Access token lifetime in seconds (default 300). */
  readonly accessLifetimeS?: number;
  /** Server time in ms; tests share their clock with it. */
  readonly now?: () => number;
  /** When set, the code exchange must carry this `audience`. */
  readonly audience?: string;
  /** Answer to a used or unknown refresh token (default 400 invalid_grant, like Volvo). */
  readonly deadRefresh?: { status: number; error: string };
  /** Wait this long before answering a token request (widens race windows). */
  readonly tokenDelayMs?: number;
  /** Adds Tesla's `"id_token": "id"` (not a JWT) to token answers. */
  readonly bogusIdToken?: boolean;
  /** Where the endpoints live (default `/oauth2`; Tesla's SSO uses `/oauth2/v3`). */
  readonly pathPrefix?: string;
}

interface CodeGrant {
  challenge: string;
  redirectUri: string;
  used: boolean;
}

export class FakeOAuthServer {
  readonly counts = { code: 0, refresh: 0, refreshRejected: 0, api: 0, api401: 0 };
  /** Every token request's form and headers, in order. */
  readonly tokenRequests: { form: URLSearchParams; headers: Headers }[] = [];
  /** Every token, code and verifier the server saw or made (for the no-leak tests). */
  readonly secrets = new Set<string>();
  /** `use:<token>` for each accepted API call, in order (tests add their own events). */
  readonly events: string[] = [];
  readonly #codes = new Map<string, CodeGrant>();
  readonly #refresh = new Map<string, boolean>(); // token -> still usable
  readonly #access = new Map<string, number>(); // token -> expiry ms
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #now: () => number;
  readonly #prefix: string;

  constructor(readonly options: FakeOAuthOptions) {
    this.#now = options.now ?? Date.now;
    this.#prefix = options.pathPrefix ?? "/oauth2";
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      handler: (req) => this.#handle(req),
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }
  get authorizeUrl(): string {
    return `${this.origin}${this.#prefix}/authorize`;
  }
  get tokenUrl(): string {
    return `${this.origin}${this.#prefix}/token`;
  }
  get apiUrl(): string {
    return `${this.origin}/api/me`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  /** Tokens as if a sign-in just happened (to seed a store without the browser leg). */
  mint(): { access_token: string; refresh_token: string; expires_in: number; token_type: string } {
    return this.#issue();
  }

  isValid(accessToken: string): boolean {
    const exp = this.#access.get(accessToken);
    return exp !== undefined && exp > this.#now();
  }

  /** Every access token issued so far stops working (as if the server forgot them). */
  revokeAccess(): void {
    this.#access.clear();
  }

  /** Server-side revocation of every refresh token (a password reset). */
  revokeAll(): void {
    for (const k of this.#refresh.keys()) this.#refresh.set(k, false);
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === `${this.#prefix}/authorize`) return this.#authorize(url);
    if (url.pathname === `${this.#prefix}/token` && req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      this.tokenRequests.push({ form, headers: req.headers });
      if (this.options.tokenDelayMs) await delay(this.options.tokenDelayMs);
      return this.#token(req, form);
    }
    if (url.pathname === "/api/me") {
      const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
      if (!this.isValid(token)) {
        this.counts.api401++;
        return json(401, { error: "token expired (401)" });
      }
      this.counts.api++;
      this.events.push(`use:${token}`);
      return json(200, { response: { ok: true } });
    }
    return json(404, { error: "not_found" });
  }

  #authorize(url: URL): Response {
    const q = url.searchParams;
    const redirectUri = q.get("redirect_uri") ?? "";
    if (q.get("client_id") !== this.options.clientId) {
      return json(400, { error: "invalid_request", error_description: "unknown client" });
    }
    if (q.get("response_type") !== "code" || q.get("code_challenge_method") !== "S256") {
      return json(400, { error: "invalid_request", error_description: "S256 PKCE required" });
    }
    const code = randomToken("code");
    this.#codes.set(code, { challenge: q.get("code_challenge") ?? "", redirectUri, used: false });
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    target.searchParams.set("state", q.get("state") ?? "");
    return new Response(null, { status: 302, headers: { location: target.href } });
  }

  async #token(req: Request, form: URLSearchParams): Promise<Response> {
    if (!this.#clientOk(req, form)) return json(401, { error: "invalid_client" });
    const grantType = form.get("grant_type");
    if (grantType === "authorization_code") {
      const code = form.get("code") ?? "";
      const grant = this.#codes.get(code);
      const verifier = form.get("code_verifier") ?? "";
      this.secrets.add(code).add(verifier);
      if (!grant || grant.used) return json(400, { error: "invalid_grant" });
      grant.used = true;
      if (grant.redirectUri !== form.get("redirect_uri")) {
        return json(400, { error: "invalid_grant", error_description: "redirect_uri mismatch" });
      }
      if (await s256(verifier) !== grant.challenge) {
        return json(400, { error: "invalid_grant", error_description: "PKCE verification failed" });
      }
      if (this.options.audience && form.get("audience") !== this.options.audience) {
        return json(400, { error: "invalid_request", error_description: "audience required" });
      }
      this.counts.code++;
      return json(200, this.#issue());
    }
    if (grantType === "refresh_token") {
      const token = form.get("refresh_token") ?? "";
      if (this.#refresh.get(token) !== true) {
        this.counts.refreshRejected++;
        const dead = this.options.deadRefresh ?? { status: 400, error: "invalid_grant" };
        return json(dead.status, {
          error: dead.error,
          error_description: "unknown, invalid, or expired refresh token",
        });
      }
      this.#refresh.set(token, false); // single use
      this.counts.refresh++;
      return json(200, this.#issue());
    }
    return json(400, { error: "unsupported_grant_type" });
  }

  #clientOk(req: Request, form: URLSearchParams): boolean {
    const { clientId, clientSecret, clientAuth } = this.options;
    const basic = req.headers.get("authorization");
    switch (clientAuth) {
      case "none":
        return form.get("client_id") === clientId && !form.has("client_secret") && !basic;
      case "client_secret_post":
        return form.get("client_id") === clientId && form.get("client_secret") === clientSecret;
      case "client_secret_basic": {
        // RFC 6749 2.3.1: both parts are form-encoded before base64.
        const [id, secret] = atob(basic?.replace(/^Basic /, "") ?? "").split(":")
          .map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
        return id === clientId && secret === clientSecret && !form.has("client_secret");
      }
    }
  }

  #issue() {
    const lifetime = this.options.accessLifetimeS ?? 300;
    const access = randomToken("at");
    const refresh = randomToken("rt");
    this.#access.set(access, this.#now() + lifetime * 1000);
    this.#refresh.set(refresh, true);
    this.secrets.add(access).add(refresh);
    return {
      access_token: access,
      refresh_token: refresh,
      expires_in: lifetime,
      token_type: "Bearer",
      ...(this.options.bogusIdToken ? { id_token: "id" } : {}),
    };
  }
}

function randomToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A browser following the authorize URL: returns the redirect (the callback URL). */
export async function followAuthorize(url: URL | string): Promise<URL> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}`);
  return new URL(location);
}
