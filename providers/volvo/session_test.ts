/**
 * Volvo sign-in and a live account against the fake Volvo (fake_api.ts): PKCE S256 with
 * Basic client auth, state checked, default scopes, rotation saved before use, refresh ahead
 * of the five-minute expiry, one refresh on a 401, and an expired refresh token → sign-in
 * needed with the command to run, while nothing else is spent.
 */
import { VirtualClock } from "../../core/clock.ts";
import type { AccountConfig } from "../../core/config.ts";
import { ConfigError } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import { Http } from "../../core/http.ts";
import { freeLoopbackPort } from "../../core/listen.ts";
import { createLogger } from "../../core/log.ts";
import { AuthorizationError } from "../../core/oauth.ts";
import { Readings } from "../../core/readings.ts";
import { runSignIn, type SignInIO, type SignInRequest } from "../../core/sign_in.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../core/testing.ts";
import { defaultScopes, VolvoError } from "./api.ts";
import { FAKE_API_KEY, FakeVolvo } from "./sim/fake_api.ts";
import { VOLVO_HOSTS, volvoIdentity, volvoSignInPlan, volvoTokenStore } from "./identity.ts";
import { openVolvoAccount } from "./session.ts";
import { volvoPlugin } from "./mod.ts";
import { DAY_START } from "./sim/scenario.ts";

const SECRET = "volvo-client-secret-7f3e9a";
const FIX = "deno task auth volvo --account family --config config.yaml";

async function world(location = true, extra: Partial<AccountConfig> = {}) {
  const clock = new VirtualClock((DAY_START + 12 * 3600) * 1000, 0);
  const redirect = `http://127.0.0.1:${freeLoopbackPort()}/callback`;
  const fake = new FakeVolvo({
    clock,
    client: { clientId: "my-volvo-app", clientSecret: SECRET, redirectUris: [redirect] },
  });
  const stateDir = await Deno.makeTempDir({ prefix: "volvo-session-" });
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const account = {
    provider: "volvo",
    name: "family",
    vehicles: [],
    client_id: "my-volvo-app",
    client_secret_env: "TEST_VOLVO_SECRET",
    redirect_uri: redirect,
    vcc_api_key: FAKE_API_KEY,
    auth_host: fake.url,
    api_base_url: fake.url,
    ...extra,
  } as AccountConfig;
  const common = {
    account,
    label: "config.yaml accounts[0]",
    stateDir,
    configPath: "config.yaml",
    env: { TEST_VOLVO_SECRET: SECRET },
    http: new Http({ provider: "volvo", now: () => clock.now() }),
    clock,
    log,
    location,
  };
  const request: SignInRequest = { ...common, options: {} };
  /**
   * A browser that follows the authorize address and lands wherever Volvo ID redirects it; it
   * runs on its own, as a real one does, and reloads while the callback page says "not ready".
   */
  const follow = async (url: string, tamper: (u: URL) => void = () => {}) => {
    const res = await fetch(url, { redirect: "manual" });
    await res.body?.cancel();
    const callback = new URL(res.headers.get("location")!);
    tamper(callback);
    for (;;) {
      const page = await fetch(callback);
      await page.body?.cancel();
      if (page.status !== 503) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const browser = (tamper?: (u: URL) => void, seen?: (u: URL) => void): SignInIO => ({
    print: (line) => lines.push(line),
    readLine: () => new Promise(() => {}), // nobody pastes
    openBrowser: (url) => {
      seen?.(new URL(url));
      follow(url, tamper).catch((err) => lines.push(`browser: ${err}`));
      return Promise.resolve(true);
    },
  });
  const close = async () => {
    await fake.shutdown();
    await Deno.remove(stateDir, { recursive: true });
  };
  return {
    clock,
    fake,
    request,
    browser,
    lines,
    stateDir,
    deps: { ...common, readings: new Readings() },
    close,
  };
}

Deno.test("volvo sign-in: PKCE S256, Basic client auth, state, default scopes, tokens 0600", async () => {
  const w = await world();
  try {
    const plan = volvoSignInPlan(w.request);
    let authorize: URL | undefined;
    const record = await runSignIn(plan, w.browser(undefined, (u) => (authorize = u)));
    const q = authorize!.searchParams;
    assertEquals(authorize!.pathname, "/as/authorization.oauth2");
    assertEquals([q.get("code_challenge_method"), q.get("response_type")], ["S256", "code"]);
    assertEquals(q.get("scope")!.split(" "), defaultScopes(true));
    assert(
      q.get("scope")!.includes("location:read") && !q.get("scope")!.includes("conve:commands"),
    );
    assertEquals(
      w.fake.auth.tokenRequests.map(({ grantType, clientAuth }) => ({ grantType, clientAuth })),
      [{ grantType: "authorization_code", clientAuth: "client_secret_basic" }],
    );
    assertEquals(record.extra.scopes, defaultScopes(true));
    assertEquals(record.expires_at - record.obtained_at, 299);
    const file = `${w.stateDir}/tokens/volvo-family.json`;
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    assertStringIncludes(plan.describe(record), "the API key works: 1 vehicle on this account");
    assert(!w.lines.join("\n").includes(SECRET), "the client secret is never printed");
  } finally {
    await w.close();
  }
});

Deno.test("volvo sign-in: an answer from another sign-in (state) is refused; no token written", async () => {
  const w = await world();
  try {
    const plan = volvoSignInPlan(w.request);
    const io = w.browser((callback) => callback.searchParams.set("state", "someone-elses-state"));
    const err = await assertRejects(() => runSignIn(plan, io));
    assert(err instanceof AuthorizationError && err.reason === "state_mismatch", String(err));
    assertEquals(w.fake.auth.tokenRequests.length, 0, "the code was never exchanged");
    assertEquals(await volvoTokenStore(w.stateDir, "family", w.request.log).read(), undefined);
  } finally {
    await w.close();
  }
});

Deno.test("volvo session: refresh ahead of the 5-minute expiry; the rotated token is on disk first", async () => {
  const w = await world();
  try {
    await runSignIn(volvoSignInPlan(w.request), w.browser());
    const store = volvoTokenStore(w.stateDir, "family", w.request.log);
    const first = (await store.read())!;
    const session = await openVolvoAccount(w.deps);
    assertEquals(session.tokenStatus().state, "ok");
    const [car] = await session.provider.listVehicles();
    w.clock.advance(250_000); // inside the one-minute margin
    await session.provider.fetch(car, { endpoints: ["odometer"] });
    const second = (await store.read())!;
    assert(second.refresh_token !== first.refresh_token, "rotated refresh token saved");
    assertEquals(w.fake.auth.counts.refreshes, 1);
    assertEquals(w.fake.usage().byStatus[401], undefined, "refreshed before, not after a 401");
    // The spent refresh token is dead at Volvo: reusing it is the exact invalid_grant.
    const res = await fetch(`${w.fake.url}/as/token.oauth2`, {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa(`my-volvo-app:${SECRET}`)}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
      }),
    });
    assertEquals([res.status, (await res.json()).error], [400, "invalid_grant"]);

    // A token the server ends early: one refresh, one retry, data arrives.
    w.fake.auth.revokeAccess();
    const s = await session.provider.fetch(car, { endpoints: ["odometer"] });
    assert(s!.samples.some((x) => x.metric === "ev.odometer"));
    assertEquals(w.fake.usage().byStatus[401], 1);
    assertEquals(w.fake.auth.counts.refreshes, 2);
  } finally {
    await w.close();
  }
});

Deno.test("volvo session: an expired refresh token → sign-in needed with the command; a new sign-in resumes", async () => {
  const w = await world();
  try {
    await runSignIn(volvoSignInPlan(w.request), w.browser());
    const session = await openVolvoAccount(w.deps);
    w.clock.advance(8 * 86_400_000); // a week unused
    const err = await assertRejects(() => session.provider.listVehicles());
    assert(err instanceof VendorError && err.kind === "sign_in_needed", String(err));
    assertStringIncludes(err.message, `run \`${FIX}\``);
    assertEquals(session.tokenStatus().state, "sign_in_needed");
    assertEquals(session.signInCommand, FIX);
    const logged = w.lines.join("\n");
    assertStringIncludes(logged, "sign-in needed");
    assertStringIncludes(logged, FIX);
    assertEquals(
      w.fake.usage().total,
      1,
      "no API request without a token (1 = the sign-in's check)",
    );
    await assertRejects(() => session.provider.listVehicles());
    assertEquals(w.fake.auth.counts.rejected, 1, "the dead refresh token is not tried again");

    await runSignIn(volvoSignInPlan(w.request), w.browser());
    assertEquals((await session.provider.listVehicles()).length, 1);
    assertEquals(session.tokenStatus().state, "ok");
  } finally {
    await w.close();
  }
});

Deno.test("volvo session: an invalid API key is not a token problem: no refresh is spent", async () => {
  const w = await world(false);
  try {
    await runSignIn(volvoSignInPlan(w.request), w.browser());
    const deps = { ...w.deps, account: { ...w.deps.account, vcc_api_key: "unpublished-key" } };
    const session = await openVolvoAccount(deps);
    const err = await assertRejects(() => session.provider.listVehicles());
    assert(err instanceof VolvoError && err.reason === "api_key", String(err));
    assertEquals(w.fake.auth.counts.refreshes, 0);
    assertEquals(session.tokenStatus().state, "ok");
  } finally {
    await w.close();
  }
});

Deno.test("volvo identity: defaults, scopes from config, and each mistake names the key", () => {
  const base = { provider: "volvo", name: "f", vehicles: [] };
  const opts = { label: "c.yaml accounts[1]", env: { S: "x".repeat(10) }, location: false };
  const full = {
    ...base,
    client_id: "id",
    client_secret_env: "S",
    redirect_uri: "https://me.example/cb",
  };
  const id = volvoIdentity(full, opts);
  assertEquals([id.authBase, id.apiBaseUrl], [VOLVO_HOSTS.id, VOLVO_HOSTS.api]);
  assertEquals(id.scopes, defaultScopes(false));
  assert(!id.scopes.includes("location:read"));
  assertEquals(volvoIdentity({ ...full, scopes: "openid energy:state:read" }, opts).scopes, [
    "openid",
    "energy:state:read",
  ]);
  const cases: [Record<string, unknown>, string][] = [
    [{ ...full, client_id: undefined }, "c.yaml accounts[1].client_id: required"],
    [{ ...full, client_secret_env: undefined }, "client_secret: required"],
    [{ ...full, client_secret_env: "NOPE" }, "environment variable NOPE is not set"],
    [{ ...full, redirect_uri: undefined }, "redirect_uri: required"],
    [{ ...full, redirect_uri: "http://me.example/cb" }, "plain http is only allowed"],
    [{ ...full, scopes: ["energy:state:read"] }, "scopes: add openid"],
    [{ ...full, auth_host: "http://volvo.example" }, "auth_host: expected an https:// URL"],
  ];
  for (const [account, message] of cases) {
    const err = assertThrows(() => volvoIdentity(account as AccountConfig, opts));
    assert(err instanceof ConfigError, String(err));
    assertStringIncludes(err.message, message);
  }
});

Deno.test("volvo plug-in: an account may reach Volvo ID and the API, or their overrides", () => {
  const hosts = (extra: Record<string, unknown>) =>
    volvoPlugin.hosts!({ provider: "volvo", name: "home", vehicles: [], ...extra });
  assertEquals(hosts({}), Object.values(VOLVO_HOSTS));
  assertEquals(
    hosts({ auth_host: "http://127.0.0.1:7001", api_base_url: "http://127.0.0.1:7002/" }),
    ["http://127.0.0.1:7001", "http://127.0.0.1:7002/"],
  );
});
