/**
 * A live Tesla account (session.ts) against the fake SSO and a fake Tesla API: the token
 * manager inside the provider, as `deno task poll` uses it.
 */
import { VirtualClock } from "../../core/clock.ts";
import type { AccountConfig } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { SignInRequest } from "../../core/sign_in.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../core/testing.ts";
import { deadRefresh, FakeOAuthServer, type OAuthQuirks } from "../../replay/fake_oauth.ts";
import type { TokenRecord } from "../../core/tokens.ts";
import { teslaTokenStore } from "./identity.ts";
import type { TeslaTokenExtra } from "./types.ts";
import { openTeslaAccount } from "./session.ts";
import { importTeslaPy } from "./teslapy.ts";
import { FakeTeslaApi } from "./sim/fake_tesla_api.ts";

const START = 1_800_000_000_000;
const FIX = "deno task auth tesla --account home --config config.yaml";

/** One account on a virtual clock shared by the SSO, the API and the token manager. */
async function world(
  account: Partial<AccountConfig> = {},
  sso: { clientId?: string; quirks?: OAuthQuirks } = {},
) {
  const clock = new VirtualClock(START, 0);
  const oauth = new FakeOAuthServer({
    clients: [{ clientId: sso.clientId ?? "ownerapi", auth: "none" }],
    now: () => clock.now(),
    quirks: {
      authorizePath: "/oauth2/v3/authorize",
      tokenPath: "/oauth2/v3/token",
      accessLifetimeS: 28_800,
      ...sso.quirks,
    },
  });
  const api = new FakeTeslaApi({ isValid: (t) => oauth.isValid(t) });
  const stateDir = await Deno.makeTempDir({ prefix: "tesla-session-" });
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const store = teslaTokenStore(stateDir, "home", log);
  const deps = {
    account: {
      provider: "tesla",
      name: "home",
      vehicles: [],
      auth_host: oauth.origin,
      api_base_url: api.url,
      ...account,
    } as AccountConfig,
    label: "config.yaml accounts[0]",
    stateDir,
    configPath: "config.yaml",
    env: {},
    http: new Http({ provider: "tesla", now: () => clock.now() }),
    readings: new Readings(),
    clock,
    log,
    location: false,
  };
  /** What `deno task auth` leaves behind. */
  const signIn = async (extra: TeslaTokenExtra = { api: "owner" }) => {
    const m = oauth.mint();
    const now = Math.floor(clock.now() / 1000);
    const record: TokenRecord<TeslaTokenExtra> = {
      access_token: m.access_token,
      refresh_token: m.refresh_token,
      expires_at: now + m.expires_in,
      obtained_at: now,
      token_type: m.token_type,
      extra,
    };
    await store.save(record);
    return record;
  };
  const close = async () => {
    await Promise.all([oauth.close(), api.close()]);
    await Deno.remove(stateDir, { recursive: true });
  };
  return { clock, oauth, api, store, deps, lines, signIn, close };
}

Deno.test("tesla session: a token that dies during a poll gets one refresh and the call succeeds", async () => {
  const w = await world();
  try {
    await w.signIn();
    const session = await openTeslaAccount(w.deps);
    assertEquals(session.tokenStatus().state, "ok");
    assertEquals((await session.provider.listVehicles()).length, 1);

    w.oauth.revokeAccess(); // the server ends the token before its stated expiry
    const vehicles = await session.provider.listVehicles();
    assertEquals(vehicles.map((v) => v.vin), ["LRW3F7EK4NC700000"]);
    assertEquals(w.api.requests, [
      "200 /api/1/products",
      "401 /api/1/products",
      "200 /api/1/products",
    ]);
    assertEquals(w.oauth.counts.refreshes, 1);
    // Owner refreshes repeat the scope, and the rotated refresh token is on disk.
    assertEquals(w.oauth.tokenRequests[0].form.get("scope"), "openid email offline_access");
    const stored = await w.store.read();
    assert(w.oauth.isValid(stored!.access_token), "the new token was saved");

    // A token that simply runs out is refreshed ahead of time: no 401 at all.
    w.clock.advance(28_800_000);
    await session.provider.listVehicles();
    assertEquals(w.oauth.counts.refreshes, 2);
    assertEquals(w.api.requests.filter((r) => r.startsWith("401")).length, 1);
    assertEquals(session.tokenStatus().expiresAt, Math.floor(w.clock.now() / 1000) + 28_800);
  } finally {
    await w.close();
  }
});

Deno.test("tesla session: a spent (rotated) refresh token means sign-in needed, with the fix command", async () => {
  const w = await world({}, { quirks: { errors: deadRefresh(401, "login_required") } });
  try {
    const first = await w.signIn();
    const a = await openTeslaAccount(w.deps);
    w.oauth.revokeAccess();
    await a.provider.listVehicles(); // refresh: `first.refresh_token` is spent, a new one saved

    // The old file comes back (a restored backup, or a copy another tool kept using).
    await w.store.save(first);
    const b = await openTeslaAccount(w.deps);
    w.oauth.revokeAccess();
    const err = await assertRejects(() => b.provider.listVehicles());
    assert(err instanceof VendorError && err.kind === "sign_in_needed", String(err));
    assertStringIncludes(err.message, `run \`${FIX}\``);
    assertEquals(b.tokenStatus().state, "sign_in_needed");
    assertEquals(b.signInCommand, FIX);
    assertEquals(w.oauth.counts.refreshRejected, 1);
    const logged = w.lines.join("");
    assertStringIncludes(logged, "sign-in needed");
    assertStringIncludes(logged, FIX);
    for (const secret of w.oauth.secrets) {
      assert(!err.message.includes(secret) && !logged.includes(secret), "no token leaked");
    }

    // Nothing more is spent until the user signs in again; then polling resumes.
    await assertRejects(() => b.provider.listVehicles());
    assertEquals(w.oauth.counts.refreshRejected, 1);
    await w.signIn();
    assertEquals((await b.provider.listVehicles()).length, 1);
    assertEquals(b.tokenStatus().state, "ok");
  } finally {
    await w.close();
  }
});

Deno.test("tesla session (Fleet): 421 from the stored region → region found again, stored, retried", async () => {
  const w = await world(
    { api: "fleet", client_id: "my-app", redirect_uri: "http://127.0.0.1:8123/callback" },
    { clientId: "my-app" },
  );
  const eu = new FakeTeslaApi({ isValid: (t) => w.oauth.isValid(t) });
  // The account moved: the stored host answers 421, and names eu when asked.
  const old = new FakeTeslaApi({
    isValid: (t) => w.oauth.isValid(t),
    misdirected: true,
    region: { region: "eu", base: () => eu.url },
  });
  const deps = { ...w.deps, account: { ...w.deps.account, api_base_url: old.url } };
  try {
    await w.signIn({ api: "fleet", region: "na", fleet_api_base_url: old.url });
    const session = await openTeslaAccount(deps);
    assertEquals((await session.provider.listVehicles()).length, 1);
    assertEquals(old.requests, ["421 /api/1/products", "200 /api/1/users/region"]);
    assertEquals(eu.requests, ["200 /api/1/products"]);
    assertEquals((await w.store.read())!.extra, {
      api: "fleet",
      region: "eu",
      fleet_api_base_url: eu.url,
    });
    await session.provider.listVehicles();
    assertEquals(old.requests.length, 2, "later calls go straight to the new region");

    // A new process starts from the stored region.
    const again = await openTeslaAccount(deps);
    await again.provider.listVehicles();
    assertEquals(old.requests.length, 2);
    assertEquals(eu.requests.length, 3);
  } finally {
    await Promise.all([eu.close(), old.close()]);
    await w.close();
  }
});

Deno.test("tesla session: a region host outside Tesla's domains is never sent the token", async () => {
  const w = await world(
    { api: "fleet", client_id: "my-app", redirect_uri: "http://127.0.0.1:8123/callback" },
    { clientId: "my-app" },
  );
  const evil = new FakeTeslaApi({
    isValid: (t) => w.oauth.isValid(t),
    misdirected: true,
    region: { region: "eu", base: () => "https://fleet-api.example.com" },
  });
  const deps = { ...w.deps, account: { ...w.deps.account, api_base_url: evil.url } };
  try {
    await w.signIn({ api: "fleet" });
    const session = await openTeslaAccount(deps);
    const err = await assertRejects(() => session.provider.listVehicles());
    assertStringIncludes(err.message, "refusing the regional host https://fleet-api.example.com");
  } finally {
    await evil.close();
    await w.close();
  }
});

Deno.test("tesla session: Owner tokens with api: fleet configured → sign-in needed, not a 401 loop", async () => {
  const w = await world(
    { api: "fleet", client_id: "my-app", redirect_uri: "http://127.0.0.1:8123/callback" },
  );
  try {
    await w.signIn({ api: "owner" });
    const session = await openTeslaAccount(w.deps);
    const err = await assertRejects(() => session.provider.listVehicles());
    assert(err instanceof VendorError && err.kind === "sign_in_needed");
    assertStringIncludes(err.message, "signed in for the owner API but the config says api: fleet");
    assertStringIncludes(err.message, FIX);
    assertEquals(w.api.requests, []);
  } finally {
    await w.close();
  }
});

Deno.test("tesla session: a TeslaPy sign-in imported into the store keeps working and refreshing", async () => {
  const w = await world();
  try {
    const m = w.oauth.mint();
    const cache = `${w.deps.stateDir}/cache.json`;
    await Deno.writeTextFile(
      cache,
      JSON.stringify({
        "someone@example.com": {
          url: "https://auth.tesla.com/",
          sso: { ...m, id_token: "id", expires_at: START / 1000 + m.expires_in },
        },
      }),
    );
    const request: SignInRequest = { ...w.deps, options: {} };
    const result = await importTeslaPy(cache, request);
    assertEquals(result.accounts, 1);
    assert(!result.notes.join("").includes("someone@example.com"));
    const session = await openTeslaAccount(w.deps);
    assertEquals((await session.provider.listVehicles()).length, 1);
    w.oauth.revokeAccess();
    assertEquals((await session.provider.listVehicles()).length, 1);
    assertEquals(w.oauth.counts.refreshes, 1, "the imported refresh token was accepted");
  } finally {
    await w.close();
  }
});

Deno.test("tesla session: a telemetry block opens the account's stream; a bad one names the key", async () => {
  const w = await world({
    telemetry: { broker_url: "mqtt://127.0.0.1:1", topic_base: "tesla" },
  } as Partial<AccountConfig>);
  try {
    await w.signIn();
    const session = await openTeslaAccount(w.deps);
    assert(session.stream, "a stream beside the provider");
    assertEquals(session.stream.id, "tesla");
    assertEquals(session.stream.live({ provider: "tesla", id: "1", vin: "X" }), false);
    const none = await openTeslaAccount({
      ...w.deps,
      account: { ...w.deps.account, telemetry: undefined } as AccountConfig,
    });
    assertEquals(none.stream, undefined);
    const err = await assertRejects(() =>
      openTeslaAccount({
        ...w.deps,
        account: {
          ...w.deps.account,
          telemetry: { broker_url: "mqtts://broker.example:8883", password_env: "EV_NOPE" },
        } as AccountConfig,
      })
    );
    assertStringIncludes(err.message, "config.yaml accounts[0].telemetry.password_env");
  } finally {
    await w.close();
  }
});
