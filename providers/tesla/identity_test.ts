import { VirtualClock } from "../../core/clock.ts";
import { type AccountConfig, ConfigError, parseConfig } from "../../core/config.ts";
import { Http } from "../../core/http.ts";
import { createLogger, maskSecrets } from "../../core/log.ts";
import type { SignInRequest } from "../../core/sign_in.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../core/testing.ts";
import {
  otherSso,
  TESLA_HOSTS,
  type TeslaIdentity,
  teslaIdentity,
  teslaRefresh,
  teslaSignInCommand,
  teslaSignInPlan,
} from "./identity.ts";
import { pickTeslaPyEntry } from "./teslapy.ts";
import { teslaPlugin } from "./mod.ts";

const LABEL = "config.yaml accounts[0]";

function account(keys: Record<string, unknown> = {}): AccountConfig {
  return { provider: "tesla", name: "home", vehicles: [], ...keys } as AccountConfig;
}

function identity(
  keys: Record<string, unknown> = {},
  options: { env?: Record<string, string>; location?: boolean; api?: string } = {},
): TeslaIdentity {
  return teslaIdentity(account(keys), {
    label: LABEL,
    env: options.env ?? {},
    location: options.location ?? false,
    ...(options.api !== undefined ? { api: options.api } : {}),
  });
}

function configError(fn: () => unknown): string {
  const err = assertThrows(fn);
  assert(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
  return err.message;
}

const FLEET = { api: "fleet", client_id: "app-1", redirect_uri: "http://localhost:8123/callback" };

Deno.test("tesla identity: Owner API defaults, China hosts, and host overrides", () => {
  const owner = identity();
  assertEquals(owner.api, "owner");
  assertEquals(owner.clientId, "ownerapi");
  assertEquals(owner.clientSecret, undefined);
  assertEquals(owner.scopes, ["openid", "email", "offline_access"]);
  assertEquals(owner.redirectUri, "tesla://auth/callback");
  assertEquals(owner.ssoBase, "https://auth.tesla.com");
  assertEquals(owner.tokenUrl, "https://auth.tesla.com/oauth2/v3/token");
  assertEquals(owner.apiBaseUrl, "https://owner-api.teslamotors.com");

  const cn = identity({ region: "cn" });
  assertEquals(cn.tokenUrl, "https://auth.tesla.cn/oauth2/v3/token");
  assertEquals(cn.apiBaseUrl, "https://owner-api.vn.cloud.tesla.cn");

  const fake = identity({
    auth_host: "http://127.0.0.1:9000/",
    api_base_url: "http://127.0.0.1:9001",
  });
  assertEquals(fake.tokenUrl, "http://127.0.0.1:9000/oauth2/v3/token");
  assertEquals(fake.apiBaseUrl, "http://127.0.0.1:9001");
});

Deno.test("tesla identity: Fleet API resolves client, scopes, fleet-auth host and audience", () => {
  const secret = "fleet-secret-8a7b6c5d";
  const fleet = identity({ ...FLEET, client_secret_env: "TESLA_SECRET" }, {
    env: { TESLA_SECRET: secret },
    location: true,
  });
  assertEquals(fleet.clientId, "app-1");
  assertEquals(fleet.clientSecret, secret);
  assertEquals(maskSecrets(`x ${secret} y`), "x [redacted] y", "the secret is registered");
  assertEquals(fleet.tokenUrl, "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token");
  assertEquals(fleet.ssoBase, "https://auth.tesla.com");
  assertEquals(fleet.audience, TESLA_HOSTS.fleet.na);
  assertEquals(fleet.scopes, [
    "openid",
    "offline_access",
    "vehicle_device_data",
    "user_data",
    "vehicle_location",
  ]);
  assertEquals(identity({ ...FLEET, region: "eu" }).audience, TESLA_HOSTS.fleet.eu);
  assertEquals(identity(FLEET).scopes.includes("vehicle_location"), false);
  assertEquals(
    identity({ ...FLEET, scopes: "openid offline_access vehicle_device_data" }).scopes,
    ["openid", "offline_access", "vehicle_device_data"],
  );
  // An open-source app without a secret: public client.
  assertEquals(identity(FLEET).clientSecret, undefined);
  // --api picks the API for an account that does not say.
  assertEquals(
    identity({ client_id: "app-1", redirect_uri: FLEET.redirect_uri }, {
      api: "fleet",
    }).api,
    "fleet",
  );
});

Deno.test("tesla identity: each mistake names the key and the fix", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ api: "fleet" }, `${LABEL}.client_id: required for api: fleet`],
    [{ api: "fleet", client_id: "a" }, `${LABEL}.redirect_uri: required for api: fleet`],
    [
      { ...FLEET, scopes: ["openid", "offline_access"] },
      `${LABEL}.scopes: add vehicle_device_data`,
    ],
    [{ ...FLEET, client_secret_env: "NOPE_UNSET" }, "environment variable NOPE_UNSET is not set"],
    [{ ...FLEET, client_secret: "x", client_secret_env: "Y" }, "not both"],
    [{ client_secret: "abc123" }, `${LABEL}.client_secret: the Owner API has no client secret`],
    [{ api: "both" }, `${LABEL}.api:`],
    [{ region: "us" }, `${LABEL}.region:`],
    [{ auth_host: "http://sso.example.com" }, `${LABEL}.auth_host: expected an https:// URL`],
    [
      { ...FLEET, redirect_uri: "http://example.com/cb" },
      "plain http is only allowed for 127.0.0.1",
    ],
    [{ ...FLEET, redirect_uri: "not a url" }, `${LABEL}.redirect_uri: "not a url" is not a URL`],
    [{ wake_up: "yes" }, `${LABEL}.wake_up:`],
  ];
  for (const [keys, expected] of cases) {
    assertStringIncludes(configError(() => identity(keys)), expected);
  }
  assertStringIncludes(
    configError(() => identity({ api: "owner" }, { api: "fleet" })),
    "is owner but --api fleet was given",
  );
  const secret = "do-not-print-me-123";
  assert(!configError(() => identity({ client_secret: secret })).includes(secret));
});

Deno.test("tesla identity: budget and other keys of the account pass through to their owners", () => {
  const config = parseConfig(
    `accounts:\n  - provider: tesla\n    name: home\n    requests_per_day: 200\n    polling: {wake_up: false}\n`,
  );
  const id = teslaIdentity(config.accounts[0], { label: LABEL, env: {}, location: false });
  assertEquals((id.settings as Record<string, unknown>).requests_per_day, 200);
});

Deno.test("tesla identity: the fix command names the account and the config file", () => {
  assertEquals(teslaSignInCommand("home"), "deno task auth tesla --account home");
  assertEquals(
    teslaSignInCommand("car-2", "/etc/ev observer.yaml"),
    "deno task auth tesla --account car-2 --config '/etc/ev observer.yaml'",
  );
  assertEquals(
    teslaSignInCommand("home", "/etc/ev-observer/config.yaml", "ev-observer"),
    "ev-observer auth tesla --account home --config /etc/ev-observer/config.yaml",
  );
});

Deno.test("tesla identity: refresh goes to the SSO that issued the tokens, only if it is Tesla's", async () => {
  const urls: string[] = [];
  const http = new Http({
    provider: "tesla",
    fetch: (input) => {
      urls.push(String(input));
      return Promise.resolve(
        Response.json({ access_token: "at-xyz-123", expires_in: 60, token_type: "Bearer" }),
      );
    },
  });
  const refresh = teslaRefresh(identity(), http, new VirtualClock(0, 0));
  const record = (auth_host?: string) => ({
    access_token: "a",
    refresh_token: "r",
    expires_at: 0,
    obtained_at: 0,
    token_type: "Bearer",
    extra: { api: "owner" as const, ...(auth_host ? { auth_host } : {}) },
  });
  await refresh(record());
  await refresh(record("https://auth.tesla.cn"));
  await refresh(record("https://evil.example.com"));
  assertEquals(urls, [
    "https://auth.tesla.com/oauth2/v3/token",
    "https://auth.tesla.cn/oauth2/v3/token",
    "https://auth.tesla.com/oauth2/v3/token",
  ]);
  // A callback's issuer switches the SSO only between Tesla's own hosts.
  assertEquals(otherSso(identity(), "https://auth.tesla.cn/oauth2/v3"), "https://auth.tesla.cn");
  assertEquals(otherSso(identity(), "https://auth.tesla.com/oauth2/v3"), undefined);
  assertEquals(
    otherSso(identity({ auth_host: "http://127.0.0.1:1" }), "https://auth.tesla.cn"),
    undefined,
  );
});

/** An Http that answers every token request and records where it went. */
function recordingHttp(urls: string[]) {
  return new Http({
    provider: "tesla",
    fetch: (input) => {
      urls.push(String(input));
      return Promise.resolve(
        Response.json({
          access_token: "at-xyz-123",
          refresh_token: "rt-xyz-123",
          expires_in: 60,
          token_type: "Bearer",
        }),
      );
    },
  });
}

function request(urls: string[], keys: Record<string, unknown> = {}): SignInRequest {
  return {
    account: account(keys),
    label: LABEL,
    stateDir: "/nonexistent",
    env: {},
    http: recordingHttp(urls),
    clock: new VirtualClock(0, 0),
    log: createLogger({ write: () => {} }),
    location: false,
    options: {},
  };
}

Deno.test("tesla sign-in: a code issued by the China SSO is exchanged there, and remembered", async () => {
  const urls: string[] = [];
  const plan = teslaSignInPlan(request(urls));
  const pending = await plan.authorize(plan.redirectUri);
  assertEquals(pending.url.origin, "https://auth.tesla.com");
  const callback = new URLSearchParams({
    code: "code-123456",
    state: pending.state,
    issuer: "https://auth.tesla.cn/oauth2/v3",
  });
  const record = await plan.finish(pending, callback);
  assertEquals(urls, ["https://auth.tesla.cn/oauth2/v3/token"]);
  assertEquals(record.extra, { api: "owner", auth_host: "https://auth.tesla.cn" });
  assertEquals(plan.describe(record), "Owner API (SSO https://auth.tesla.cn)");
});

Deno.test("tesla sign-in: a Fleet account found in another region gets a hint about region:", () => {
  const plan = teslaSignInPlan(request([], FLEET));
  const record = (base: string, region: string) => ({
    access_token: "a",
    refresh_token: "r",
    expires_at: 0,
    obtained_at: 0,
    token_type: "Bearer",
    extra: { api: "fleet" as const, region, fleet_api_base_url: base },
  });
  assertStringIncludes(
    plan.describe(record(TESLA_HOSTS.fleet.eu, "eu")),
    "add `region: eu` to this account",
  );
  assertEquals(
    plan.describe(record(TESLA_HOSTS.fleet.na, "na")),
    `Fleet API, region na (${TESLA_HOSTS.fleet.na})`,
  );
});

Deno.test("tesla plug-in: an account may reach every default Tesla host it signs in or polls on", () => {
  const hosts = (extra: Record<string, unknown>) =>
    teslaPlugin.hosts!({ provider: "tesla", name: "home", vehicles: [], ...extra });
  const owner = hosts({});
  for (const u of [...Object.values(TESLA_HOSTS.sso), TESLA_HOSTS.owner.global]) {
    assert(owner.includes(u), `owner lacks ${u}`);
  }
  const fleet = hosts({ api: "fleet", client_id: "app", redirect_uri: "http://localhost:1/cb" });
  for (const u of [TESLA_HOSTS.fleetAuth, ...Object.values(TESLA_HOSTS.fleet)]) {
    assert(fleet.includes(u), `fleet lacks ${u}`);
  }
  // Overridden hosts replace the defaults: a fake on loopback reaches nothing of Tesla's.
  const fake = hosts({ auth_host: "http://127.0.0.1:7001", api_base_url: "http://127.0.0.1:7002" });
  assertEquals(fake, ["http://127.0.0.1:7001", "http://127.0.0.1:7002"]);
});

Deno.test("teslapy cache: picking a sign-in never prints an e-mail", () => {
  const sso = { access_token: "at-1234567", refresh_token: "rt-1234567", expires_at: 1 };
  const two = JSON.stringify({ "a@example.com": { sso }, "b@example.com": { sso } });
  const many = configError(() => pickTeslaPyEntry(two, "cache.json"));
  assertStringIncludes(many, "holds 2 sign-ins; choose one with --login-hint");
  assert(!many.includes("@example.com"));
  assertEquals(pickTeslaPyEntry(two, "cache.json", "B@example.com").sso.access_token, "at-1234567");
  const none = configError(() => pickTeslaPyEntry(two, "cache.json", "c@example.com"));
  assert(!none.includes("c@example.com"));
  const bad = JSON.stringify({ "a@example.com": { sso: { access_token: "x" } } });
  const badMsg = configError(() => pickTeslaPyEntry(bad, "cache.json"));
  assertStringIncludes(badMsg, "sign-in 1: sso.refresh_token");
  assert(!badMsg.includes("a@example.com"));
  const notJson = configError(() => pickTeslaPyEntry('{"a@example.com": tok', "cache.json"));
  assertEquals(notJson, "cache.json is not a TeslaPy cache (not JSON)");
  assertStringIncludes(configError(() => pickTeslaPyEntry("{}", "c.json")), "no TeslaPy sign-in");
});
