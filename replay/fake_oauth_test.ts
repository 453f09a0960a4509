/** The shared fake OAuth server on its own: the checks no vendor test reaches, and quirks. */
import { VirtualClock } from "../core/clock.ts";
import { assert, assertEquals } from "../core/testing.ts";
import { deadRefresh, type FakeClient, FakeOAuth, type OAuthQuirks, s256 } from "./fake_oauth.ts";

const ORIGIN = "http://fake-oauth.invalid";
const REDIRECT = "http://127.0.0.1:9/cb";
const VERIFIER = "v".repeat(43);

function setup(clients: FakeClient[], quirks: OAuthQuirks = {}) {
  const clock = new VirtualClock(1_800_000_000_000, 0);
  const fake = new FakeOAuth({ clients, now: () => clock.now(), quirks });
  const authorize = async (extra: Record<string, string> = {}) => {
    const q = new URLSearchParams({
      client_id: clients[0].clientId,
      redirect_uri: REDIRECT,
      response_type: "code",
      state: "st",
      code_challenge: await s256(VERIFIER),
      code_challenge_method: "S256",
      ...extra,
    });
    const res = (await fake.handle(new Request(`${ORIGIN}${fake.quirks.authorizePath}?${q}`)))!;
    return new URL(res.headers.get("location") ?? `${ORIGIN}/refused?status=${res.status}`);
  };
  const token = async (form: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = (await fake.handle(
      new Request(`${ORIGIN}${fake.quirks.tokenPath}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(form),
      }),
    ))!;
    return { status: res.status, body: await res.json() };
  };
  const exchange = async (code: string, extra: Record<string, string> = {}) =>
    await token({
      grant_type: "authorization_code",
      client_id: clients[0].clientId,
      code,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
      ...extra,
    });
  return { clock, fake, authorize, token, exchange };
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${btoa(`${id}:${secret}`)}`,
});

Deno.test("fake oauth: a client bound to one method is refused any other, or two at once", async () => {
  const post = setup([{ clientId: "app", clientSecret: "s3cret", auth: "client_secret_post" }]);
  const form = { grant_type: "refresh_token", client_id: "app", refresh_token: "x" };
  assertEquals((await post.token(form)).status, 401, "no secret");
  assertEquals((await post.token(form, basic("app", "s3cret"))).status, 401, "Basic instead");
  assertEquals(
    (await post.token({ ...form, client_secret: "s3cret" })).body.error,
    "invalid_grant",
  );

  const both = setup([{ clientId: "app", clientSecret: "s3cret", auth: "client_secret_basic" }]);
  const refused = await both.token({ ...form, client_secret: "s3cret" }, basic("app", "s3cret"));
  assertEquals([refused.status, refused.body.error], [401, "invalid_client"]);
  assertEquals((await both.token(form, { authorization: "Basic %%%" })).status, 401);
  assertEquals(
    both.fake.tokenRequests.map((r) => r.clientAuth),
    ["client_secret_basic", "client_secret_basic"],
  );
  assertEquals(both.fake.counts.rejected, 2);
});

Deno.test("fake oauth: codes die after two minutes; refresh tokens belong to their client", async () => {
  const w = setup([{ clientId: "app" }, { clientId: "other" }], { refreshLifetimeS: 3600 });
  const late = (await w.authorize()).searchParams.get("code")!;
  w.clock.advance(120_000);
  assertEquals((await w.exchange(late)).body.error, "invalid_grant");
  const code = (await w.authorize()).searchParams.get("code")!;
  const grant = await w.exchange(code);
  assertEquals(grant.status, 200);
  assertEquals(w.fake.checkAccess(grant.body.access_token).state, "ok");

  const refresh = (clientId: string, refresh_token: string) =>
    w.token({ grant_type: "refresh_token", client_id: clientId, refresh_token });
  assertEquals((await refresh("other", grant.body.refresh_token)).status, 400);
  w.clock.advance(3600_000);
  assertEquals(w.fake.checkAccess(grant.body.access_token).state, "expired");
  assertEquals((await refresh("app", grant.body.refresh_token)).body.error, "invalid_grant");
  assertEquals(w.fake.counts.refreshRejected, 2);
  assertEquals((await w.token({ grant_type: "password", client_id: "app" })).status, 400);
});

Deno.test("fake oauth: quirks change paths, checks, answers and the tokens' names", async () => {
  const w = setup([{ clientId: "app", redirectUris: [REDIRECT] }], {
    authorizePath: "/as/authorize",
    tokenPath: "/as/token",
    accessLifetimeS: 60,
    tokenPrefix: (kind) => `acme-${kind}-`,
    idToken: "random",
    requiredScope: "openid",
    issuer: "https://sso.example",
    echoState: true,
    audience: "https://api.example",
    errors: deadRefresh(401, "login_required"),
  });
  assert((await w.authorize({ scope: "openid" })).pathname !== "/refused");
  assertEquals((await w.authorize()).searchParams.get("status"), "400", "openid missing");
  const wrongRedirect = await w.authorize({ scope: "openid", redirect_uri: "http://evil.example" });
  assertEquals(wrongRedirect.searchParams.get("status"), "400");

  const callback = await w.authorize({ scope: "openid" });
  assertEquals(callback.searchParams.get("issuer"), "https://sso.example");
  const code = callback.searchParams.get("code")!;
  assert(code.startsWith("acme-code-"));
  assertEquals((await w.exchange(code)).body.error, "invalid_request", "audience missing");
  const again = (await w.authorize({ scope: "openid" })).searchParams.get("code")!;
  const grant = (await w.exchange(again, { audience: "https://api.example" })).body;
  assertEquals(grant.state, "st");
  assertEquals(grant.expires_in, 60);
  assert(grant.id_token.startsWith("acme-id-") && grant.refresh_token.startsWith("acme-rt-"));
  w.fake.revokeRefresh();
  const dead = await w.token({
    grant_type: "refresh_token",
    client_id: "app",
    refresh_token: grant.refresh_token,
  });
  assertEquals([dead.status, dead.body.error], [401, "login_required"]);
  assert(w.fake.secrets.has(grant.access_token) && w.fake.secrets.has(VERIFIER));
});
