import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { type Exchange, Http, HttpError } from "./http.ts";
import { AuthorizationError, type ClientAuthStyle, OAuthClient } from "./oauth.ts";
import { Readings } from "./readings.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./testing.ts";
import {
  deadRefresh,
  FakeOAuthServer,
  followAuthorize,
  type OAuthQuirks,
} from "../replay/fake_oauth.ts";

const SECRET = "s3cret-client-secret-value";

function setup(
  clientAuth: ClientAuthStyle,
  extra: Partial<ConstructorParameters<typeof OAuthClient>[0]> = {},
  quirks: OAuthQuirks = {},
) {
  const clock = new VirtualClock(1_800_000_000_000, 0);
  const fake = new FakeOAuthServer({
    clients: [{ clientId: "app-id", auth: clientAuth, clientSecret: SECRET }],
    now: () => clock.now(),
    quirks,
  });
  const readings = new Readings();
  const http = new Http({ provider: "test", readings });
  const exchanges: Exchange[] = [];
  http.observe((e) => {
    exchanges.push(e);
  });
  const client = new OAuthClient({
    http,
    authorizeUrl: fake.authorizeUrl,
    tokenUrl: fake.tokenUrl,
    clientId: "app-id",
    clientAuth,
    ...(clientAuth === "none" ? {} : { clientSecret: SECRET }),
    redirectUri: "tesla://auth/callback",
    scopes: ["openid", "offline_access"],
    clock,
    ...extra,
  });
  return { clock, fake, readings, http, exchanges, client };
}

Deno.test("oauth: authorize URL carries PKCE S256, state and vendor params", async () => {
  const { fake, client } = setup("none");
  try {
    const pending = await client.authorizationRequest({
      params: { login_hint: "a@example.com", prompt_missing_scopes: "true" },
    });
    const q = pending.url.searchParams;
    assertEquals(q.get("response_type"), "code");
    assertEquals(q.get("client_id"), "app-id");
    assertEquals(q.get("redirect_uri"), "tesla://auth/callback");
    assertEquals(q.get("scope"), "openid offline_access");
    assertEquals(q.get("state"), pending.state);
    assertEquals(q.get("code_challenge_method"), "S256");
    assertEquals(q.get("login_hint"), "a@example.com");
    assertEquals(q.get("prompt_missing_scopes"), "true");
    assert(pending.codeVerifier.length >= 43, "RFC 7636: at least 43 characters");
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(pending.codeVerifier),
    );
    const expected = btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    assertEquals(q.get("code_challenge"), expected);
    const second = await client.authorizationRequest();
    assertNotEquals(second.state, pending.state);
    assertNotEquals(second.codeVerifier, pending.codeVerifier);
    await assertRejects(() => client.authorizationRequest({ params: { state: "mine" } }));
  } finally {
    await fake.close();
  }
});

Deno.test("oauth: code exchange (public client) goes through the Http seam", async () => {
  const { fake, client, exchanges, readings, clock } = setup("none");
  try {
    const pending = await client.authorizationRequest();
    const callback = await followAuthorize(pending.url);
    assertEquals(callback.protocol, "tesla:");
    const grant = await client.exchangeCode(pending, callback);
    assert(fake.isValid(grant.access_token));
    assertMatch(grant.refresh_token ?? "", /^rt_/);
    assertEquals(grant.obtained_at, clock.now() / 1000);
    assertEquals(grant.expires_at, clock.now() / 1000 + 300);
    assertEquals(grant.token_type, "bearer");
    assertEquals(grant.scope, undefined);
    // Through Http: observed, counted under the token endpoint's template.
    assertEquals(exchanges.length, 1);
    assertEquals(exchanges[0].request.endpoint, "/oauth2/token");
    assertEquals(exchanges[0].request.method, "POST");
    assertEquals(
      readings.counterValue("ev.api.requests", {
        provider: "test",
        endpoint: "/oauth2/token",
        status: "200",
      }),
      1,
    );
    const form = fake.tokenRequests[0].form;
    assertEquals(form.get("grant_type"), "authorization_code");
    assertEquals(form.get("client_id"), "app-id");
    assertEquals(form.get("redirect_uri"), "tesla://auth/callback");
    assertEquals(form.get("code_verifier"), pending.codeVerifier);
  } finally {
    await fake.close();
  }
});

Deno.test("oauth: PKCE mismatch is rejected by the server as sign_in_needed", async () => {
  const { fake, client } = setup("none");
  try {
    const pending = await client.authorizationRequest();
    const other = await client.authorizationRequest();
    const callback = await followAuthorize(pending.url);
    const err = await assertRejects(() =>
      client.exchangeCode({ ...pending, codeVerifier: other.codeVerifier }, callback)
    );
    assert(err instanceof VendorError);
    assertEquals(err.kind, "sign_in_needed");
    assertEquals(err.status, 400);
    assertStringIncludes(err.message, "PKCE verification failed");
    assertEquals(fake.counts.exchanges, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("oauth: state mismatch is rejected before any token request", async () => {
  const { fake, client } = setup("none");
  try {
    const pending = await client.authorizationRequest();
    const other = await client.authorizationRequest();
    const callback = await followAuthorize(other.url); // an answer to a different sign-in
    const err = await assertRejects(() => client.exchangeCode(pending, callback));
    assert(err instanceof AuthorizationError);
    assertEquals(err.reason, "state_mismatch");
    const denied = new URLSearchParams({ error: "access_denied", state: pending.state });
    const err2 = await assertRejects(() => client.exchangeCode(pending, denied));
    assertEquals((err2 as AuthorizationError).reason, "denied");
    assertEquals(fake.tokenRequests.length, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("oauth: client_secret_basic (Volvo) and client_secret_post with audience (Tesla Fleet)", async () => {
  const basic = setup("client_secret_basic");
  try {
    const p = await basic.client.authorizationRequest();
    await basic.client.exchangeCode(p, await followAuthorize(p.url));
    const req = basic.fake.tokenRequests[0];
    // RFC 6749 2.3.1 form-encodes both parts ("-" becomes %2D) before base64.
    const basicCreds = atob(req.headers.get("authorization")!.replace(/^Basic /, ""));
    assertEquals(basicCreds.split(":").map(decodeURIComponent), ["app-id", SECRET]);
    assertEquals(req.form.has("client_secret"), false);
    assertEquals(basic.fake.counts.exchanges, 1);
  } finally {
    await basic.fake.close();
  }
  const audience = "https://fleet-api.example";
  const post = setup("client_secret_post", { audience }, { audience });
  try {
    const p = await post.client.authorizationRequest();
    const grant = await post.client.exchangeCode(p, await followAuthorize(p.url));
    const req = post.fake.tokenRequests[0];
    assertEquals(req.headers.get("authorization"), null);
    assertEquals(req.form.get("client_secret"), SECRET);
    assertEquals(req.form.get("audience"), audience);
    // Refresh sends no audience (Fleet docs: grant_type, client_id, refresh_token).
    await post.client.refresh(grant.refresh_token!);
    assertEquals(post.fake.tokenRequests[1].form.get("audience"), null);
    assertEquals(post.fake.tokenRequests[1].form.get("client_secret"), SECRET);
  } finally {
    await post.fake.close();
  }
  assertThrows(() => setup("client_secret_basic", { clientSecret: undefined }));
});

Deno.test("oauth: wrong client secret maps to kind client", async () => {
  const { fake, client } = setup("client_secret_post", { clientSecret: "wrong-secret-value" });
  try {
    const p = await client.authorizationRequest();
    const err = await assertRejects(async () =>
      client.exchangeCode(p, await followAuthorize(p.url))
    );
    assertEquals((err as VendorError).kind, "client");
    assertStringIncludes(err.message, "invalid_client");
  } finally {
    await fake.close();
  }
});

Deno.test("oauth: refresh rotates; reusing a spent refresh token is sign_in_needed", async () => {
  for (const dead of [undefined, { status: 401, error: "login_required" }]) {
    const { fake, client } = setup(
      "none",
      { refreshParams: { scope: "openid email offline_access" } },
      { idToken: "id", ...(dead ? { errors: deadRefresh(dead.status, dead.error) } : {}) },
    );
    try {
      const first = fake.mint();
      const next = await client.refresh(first.refresh_token);
      assertNotEquals(next.refresh_token, first.refresh_token);
      assert(fake.isValid(next.access_token));
      assertEquals("id_token" in next, false, "Tesla's non-JWT id_token is dropped, not fatal");
      assertEquals(fake.tokenRequests[0].form.get("scope"), "openid email offline_access");
      const err = await assertRejects(() => client.refresh(first.refresh_token));
      assert(err instanceof VendorError);
      assertEquals(err.kind, "sign_in_needed");
      assertEquals(err.status, dead?.status ?? 400);
    } finally {
      await fake.close();
    }
  }
});

Deno.test("oauth: error answers map to VendorError kinds; network errors stay HttpError", async () => {
  const canned = (status: number, body: string, headers: Record<string, string> = {}) =>
    new OAuthClient({
      http: new Http({
        provider: "test",
        fetch: () => Promise.resolve(new Response(body, { status, headers })),
      }),
      authorizeUrl: "https://auth.example/authorize",
      tokenUrl: "https://auth.example/token",
      clientId: "c",
      clientAuth: "none",
      redirectUri: "https://app.example/cb",
      scopes: ["openid"],
    });
  const kindOf = async (client: OAuthClient) => {
    const err = await assertRejects(() => client.refresh("refresh-token-x"));
    return err instanceof VendorError ? [err.kind, err.status, err.retryAfterS] : [err.name];
  };
  const json = { "content-type": "application/json" };
  assertEquals(
    await kindOf(canned(429, '{"error":"too_many"}', { ...json, "retry-after": "42" })),
    ["rate_limited", 429, 42],
  );
  assertEquals(await kindOf(canned(503, "<html>down</html>")), ["server", 503, undefined]);
  assertEquals(
    await kindOf(canned(400, '{"error":"temporarily_unavailable"}', json)),
    ["server", 400, undefined],
  );
  assertEquals(
    await kindOf(canned(400, '{"error":"invalid_auth_code"}', json)),
    ["sign_in_needed", 400, undefined],
  );
  assertEquals(await kindOf(canned(403, "<html>waf</html>")), ["client", 403, undefined]);
  assertEquals(await kindOf(canned(200, "not json")), ["malformed", undefined, undefined]);
  assertEquals(
    await kindOf(canned(200, '{"token_type":"Bearer"}', json)),
    ["malformed", undefined, undefined],
  );
  const offline = new OAuthClient({
    http: new Http({ provider: "test", fetch: () => Promise.reject(new TypeError("refused")) }),
    authorizeUrl: "https://auth.example/authorize",
    tokenUrl: "https://auth.example/token",
    clientId: "c",
    clientAuth: "none",
    redirectUri: "https://app.example/cb",
    scopes: ["openid"],
  });
  const err = await assertRejects(() => offline.refresh("refresh-token-x"));
  assert(err instanceof HttpError && err.kind === "network");
});

Deno.test("oauth: plain http is refused unless the endpoint is loopback", () => {
  const base = {
    http: new Http({ provider: "test" }),
    clientId: "c",
    clientAuth: "none" as const,
    redirectUri: "http://127.0.0.1:1/cb",
    scopes: [],
  };
  assertThrows(() =>
    new OAuthClient({
      ...base,
      authorizeUrl: "https://auth.example/a",
      tokenUrl: "http://auth.example/token",
    })
  );
  assertThrows(() =>
    new OAuthClient({ ...base, authorizeUrl: "http://10.0.0.1/a", tokenUrl: "https://x/t" })
  );
  new OAuthClient({ ...base, authorizeUrl: "http://localhost:9/a", tokenUrl: "http://[::1]:9/t" });
});

Deno.test("oauth: client credentials grant with audience (Tesla partner token)", async () => {
  const { fake, client } = setup("client_secret_post", { audience: "https://fleet.example" });
  try {
    // The fake does not implement client_credentials: the request shape is what matters.
    const err = await assertRejects(() =>
      client.clientCredentials(["openid", "vehicle_device_data"])
    );
    assertEquals((err as VendorError).kind, "client");
    const form = fake.tokenRequests[0].form;
    assertEquals(form.get("grant_type"), "client_credentials");
    assertEquals(form.get("audience"), "https://fleet.example");
    assertEquals(form.get("scope"), "openid vehicle_device_data");
  } finally {
    await fake.close();
  }
});
