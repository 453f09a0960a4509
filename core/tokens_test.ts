import { z } from "zod";
import { VirtualClock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { Http, HttpError } from "./http.ts";
import { createLogger, type Logger, maskSecrets } from "./log.ts";
import { OAuthClient } from "./oauth.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./testing.ts";
import { type FakeOAuthOptions, FakeOAuthServer } from "../replay/fake_oauth.ts";
import { loopRecord } from "./testdata/token_child.ts";
import {
  type LockedStore,
  recordFromGrant,
  type TokenGrant,
  TokenManager,
  type TokenRecord,
  TokenStore,
} from "./tokens.ts";

const START = 1_800_000_000_000;
const FIX = "deno task auth test --account home";

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: "debug", write: (l) => lines.push(l) }) };
}

/** A fake OAuth server, a store in a temp dir and a manager on one virtual clock. */
async function world(fakeOptions: Partial<FakeOAuthOptions> = {}, account = "home") {
  const clock = new VirtualClock(START, 0);
  const fake = new FakeOAuthServer({
    clients: [{ clientId: "app-id", auth: "none" }],
    now: () => clock.now(),
    ...fakeOptions,
  });
  const stateDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  const { log, lines } = capture();
  const oauth = new OAuthClient({
    http: new Http({ provider: "test" }),
    authorizeUrl: fake.authorizeUrl,
    tokenUrl: fake.tokenUrl,
    clientId: "app-id",
    clientAuth: "none",
    redirectUri: "http://127.0.0.1/cb",
    scopes: ["openid", "offline_access"],
    clock,
  });
  const store = new TokenStore({ stateDir, provider: "test", account, log });
  const manager = (s: TokenStore = store, options: { marginS?: number } = {}) =>
    new TokenManager({
      store: s,
      refresh: (current) => oauth.refresh(current.refresh_token),
      signInCommand: FIX,
      clock,
      log,
      ...options,
    });
  /** What `deno task auth` would store after a sign-in. */
  const signIn = async (s: TokenStore = store) => {
    const m = fake.mint();
    const now = clock.now() / 1000;
    const grant: TokenGrant = {
      access_token: m.access_token,
      refresh_token: m.refresh_token,
      token_type: m.token_type,
      expires_at: now + m.expires_in,
      obtained_at: now,
    };
    await s.save(recordFromGrant(grant, {}));
    return m;
  };
  /** An API call the way a provider makes it: 401 becomes VendorError "unauthorized". */
  const callApi = async (token: string) => {
    const res = await fetch(fake.apiUrl, { headers: { authorization: `Bearer ${token}` } });
    await res.body?.cancel();
    if (res.status === 401) throw new VendorError("unauthorized", "access token rejected");
    return token;
  };
  const cleanup = async () => {
    await fake.close();
    await Deno.remove(stateDir, { recursive: true });
  };
  return { clock, fake, stateDir, log, lines, oauth, store, manager, signIn, callApi, cleanup };
}

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test("store: 0600 files in a 0700 dir, previous version kept as .bak", async () => {
  const w = await world();
  try {
    const first = await w.signIn();
    assertEquals(await mode(w.store.dir), 0o700);
    assertEquals(await mode(w.store.path), 0o600);
    assertEquals(await mode(w.store.lockPath), 0o600);
    assertMatch(w.store.path, /\/tokens\/test-home\.json$/);
    const second = await w.signIn();
    assertEquals(await mode(w.store.backupPath), 0o600);
    assertEquals((await w.store.read())?.refresh_token, second.refresh_token);
    const backup = JSON.parse(await Deno.readTextFile(w.store.backupPath));
    assertEquals(backup.refresh_token, first.refresh_token);
    const names = [...Deno.readDirSync(w.store.dir)].map((e) => e.name).sort();
    assertEquals(names, ["test-home.json", "test-home.json.bak", "test-home.json.lock"]);
  } finally {
    await w.cleanup();
  }
});

Deno.test("store: a corrupt file falls back to .bak and says so, without quoting it", async () => {
  const w = await world();
  try {
    const old = await w.signIn();
    await w.signIn();
    const text = await Deno.readTextFile(w.store.path);
    await Deno.writeTextFile(w.store.path, text.slice(0, 60)); // torn mid-token
    const got = await w.store.read();
    assertEquals(got?.refresh_token, old.refresh_token);
    const warn = w.lines.find((l) => l.includes("using its backup"));
    assert(warn, "a warning names the fallback");
    assertStringIncludes(warn, 'reason="not valid JSON"');
    assertStringIncludes(warn, w.store.backupPath);
    assert(!w.lines.join("").includes(text.slice(20, 60)), "no file content in logs");
    await Deno.writeTextFile(w.store.backupPath, "{}");
    assertEquals(await w.store.read(), undefined);
    assert(w.lines.some((l) => l.includes("token file and its backup are unreadable")));
  } finally {
    await w.cleanup();
  }
});

Deno.test("store: typed extras are validated; names cannot escape the directory", async () => {
  const { log } = capture();
  const stateDir = await Deno.makeTempDir();
  try {
    const Extra = z.object({ region: z.enum(["na", "eu"]), base_url: z.string() });
    const store = new TokenStore({ stateDir, provider: "tesla", account: "a", extra: Extra, log });
    const grant = { access_token: "A".repeat(10), refresh_token: "R".repeat(10) };
    const rec = recordFromGrant({ ...grant, expires_at: 2, obtained_at: 1, token_type: "bearer" }, {
      region: "eu" as const,
      base_url: "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    });
    await store.save(rec);
    const back = await store.read();
    assertEquals(back?.extra.region, "eu");
    const loose = new TokenStore({ stateDir, provider: "tesla", account: "a", log });
    await loose.save({ ...rec, extra: { region: "mars", base_url: "x" } });
    assertEquals((await store.read())?.extra.region, "eu", "bad extra: the backup is used");
    assertThrows(() => new TokenStore({ stateDir, provider: "tesla", account: "../x", log }));
    assertThrows(() =>
      recordFromGrant({ access_token: "a", expires_at: 1, obtained_at: 0, token_type: "x" }, {})
    );
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("manager: refreshes ahead of expiry (10 % of lifetime, min 30 s, max 5 min)", async () => {
  const w = await world(); // 300 s tokens: margin 30 s
  try {
    const first = await w.signIn();
    const tokens = w.manager();
    assertEquals(await tokens.load(), { state: "ok", expiresAt: START / 1000 + 300 });
    w.clock.advance(269_000);
    assertEquals(await tokens.accessToken(), first.access_token);
    assertEquals(w.fake.counts.refreshes, 0);
    w.clock.advance(2_000); // 29 s left
    const second = await tokens.accessToken();
    assertNotEquals(second, first.access_token);
    assertEquals(w.fake.counts.refreshes, 1);
    assert(w.fake.isValid(second));
    assertEquals((await w.store.read())?.access_token, second, "persisted");
    assertEquals(tokens.status(), { state: "ok", expiresAt: START / 1000 + 271 + 300 });
  } finally {
    await w.cleanup();
  }
  const long = await world({ quirks: { accessLifetimeS: 8 * 3600 } }); // Tesla Owner: margin capped at 5 min
  try {
    const first = await long.signIn();
    const tokens = long.manager();
    long.clock.advance((8 * 3600 - 301) * 1000);
    assertEquals(await tokens.accessToken(), first.access_token);
    long.clock.advance(2_000);
    assertNotEquals(await tokens.accessToken(), first.access_token);
    assertEquals(long.fake.counts.refreshes, 1);
  } finally {
    await long.cleanup();
  }
});

/** Wraps a store's locked writes to log them, and can fail the next one. */
class SpyStore extends TokenStore {
  failNext = false;
  constructor(readonly events: string[], base: TokenStore) {
    super({
      stateDir: base.dir.replace(/\/tokens$/, ""),
      provider: base.provider,
      account: base.account,
      log: createLogger({ write: () => {} }),
    });
  }
  override withLock<T>(fn: (locked: LockedStore<Record<string, unknown>>) => Promise<T>) {
    return super.withLock((locked) =>
      fn({
        read: () => locked.read(),
        write: async (record) => {
          if (this.failNext) {
            this.failNext = false;
            throw new Deno.errors.PermissionDenied("disk says no");
          }
          await locked.write(record);
          this.events.push(`write:${record.access_token}`);
        },
      })
    );
  }
}

Deno.test("manager: the rotated refresh token is on disk before the new access token is used", async () => {
  const w = await world();
  try {
    const first = await w.signIn();
    const spy = new SpyStore(w.fake.events, w.store);
    const tokens = w.manager(spy);
    w.clock.advance(300_000); // expired
    const used = await tokens.run(w.callApi);
    assertEquals(w.fake.events, [`write:${used}`, `use:${used}`]);
    // A failed save: the new token is not handed out, and the next call saves it first
    // instead of spending another refresh token.
    w.clock.advance(300_000);
    spy.failNext = true;
    const err = await assertRejects(() => tokens.accessToken());
    assertStringIncludes(err.message, "could not be saved");
    assertEquals(w.fake.counts.refreshes, 2);
    const third = await tokens.accessToken();
    assertEquals(w.fake.counts.refreshes, 2, "no second spend");
    assertEquals((await w.store.read())?.access_token, third);
    assert(w.fake.isValid(third));
    assertNotEquals(third, first.access_token);
  } finally {
    await w.cleanup();
  }
});

Deno.test("manager: 401 gets exactly one refresh; a second 401 in a row is an error", async () => {
  const w = await world();
  try {
    const first = await w.signIn();
    const tokens = w.manager();
    w.fake.revokeAccess(); // server-side: the unexpired token is no longer accepted
    const second = await tokens.run(w.callApi);
    assertNotEquals(second, first.access_token);
    assertEquals(w.fake.counts.refreshes, 1);
    assertEquals(await tokens.onUnauthorized(first.access_token), second, "stale 401: no refresh");
    assertEquals(w.fake.counts.refreshes, 1);
    w.fake.revokeAccess();
    const err = await assertRejects(() => tokens.run(w.callApi));
    assert(err instanceof VendorError);
    assertEquals(err.kind, "unauthorized");
    assertEquals(w.fake.counts.refreshes, 1, "no refresh loop");
    assertEquals(tokens.status().state, "ok");
  } finally {
    await w.cleanup();
  }
});

Deno.test("manager: reused refresh token -> sign_in_needed for that account only; a new sign-in resumes", async () => {
  const w = await world();
  try {
    const first = await w.signIn();
    const otherStore = new TokenStore({
      stateDir: w.stateDir,
      provider: "test",
      account: "work",
      log: w.log,
    });
    await w.signIn(otherStore);
    const tokens = w.manager();
    const other = w.manager(otherStore);
    await tokens.load();
    await w.oauth.refresh(first.refresh_token); // another app spent our refresh token
    w.clock.advance(300_000);
    const err = await assertRejects(() => tokens.accessToken());
    assert(err instanceof VendorError);
    assertEquals(err.kind, "sign_in_needed");
    assertStringIncludes(err.message, `run \`${FIX}\``);
    assertEquals(tokens.status().state, "sign_in_needed");
    const line = w.lines.find((l) => l.includes('msg="sign-in needed"'));
    assert(line, "an error line");
    assertStringIncludes(line, `fix="${FIX}"`);
    assertStringIncludes(line, "account=home");
    // No further spending while signed out.
    const rejected = w.fake.counts.refreshRejected;
    await assertRejects(() => tokens.accessToken());
    assertEquals(w.fake.counts.refreshRejected, rejected);
    // The other account keeps working.
    assert(w.fake.isValid(await other.accessToken()));
    assertEquals(other.status().state, "ok");
    // `deno task auth` (another process) writes a new sign-in: picked up without restart.
    await w.signIn();
    assert(w.fake.isValid(await tokens.accessToken()));
    assertEquals(tokens.status().state, "ok");
  } finally {
    await w.cleanup();
  }
});

Deno.test("manager: missing sign-in, and a failed early refresh keeps the current token", async () => {
  const w = await world();
  try {
    const tokens = w.manager();
    assertEquals(await tokens.load(), { state: "missing" });
    const err = await assertRejects(() => tokens.accessToken());
    assertEquals((err as VendorError).kind, "sign_in_needed");
    assertStringIncludes(err.message, FIX);
    const first = await w.signIn();
    let calls = 0;
    const flaky = new TokenManager({
      store: w.store,
      refresh: () => {
        calls++;
        return Promise.reject(new HttpError("network", "/token", "connection refused"));
      },
      signInCommand: FIX,
      clock: w.clock,
      log: w.log,
    });
    w.clock.advance(280_000); // inside the margin, not expired
    assertEquals(await flaky.accessToken(), first.access_token);
    assertEquals(calls, 1);
    w.clock.advance(20_000); // expired: the error surfaces
    const expired = await assertRejects(() => flaky.accessToken());
    assert(expired instanceof HttpError);
    assertEquals(flaky.status().state, "ok", "a network error is not a dead sign-in");
  } finally {
    await w.cleanup();
  }
});

Deno.test("manager: two managers refreshing at once spend the refresh token once", async () => {
  const w = await world({ tokenDelayMs: 50 });
  try {
    await w.signIn();
    const storeB = new TokenStore({
      stateDir: w.stateDir,
      provider: "test",
      account: "home",
      log: w.log,
    });
    const a = w.manager();
    const b = w.manager(storeB);
    await Promise.all([a.load(), b.load()]);
    w.clock.advance(300_000);
    const got = await Promise.all([a.accessToken(), b.accessToken(), a.accessToken()]);
    assertEquals(w.fake.counts.refreshes, 1);
    assertEquals(w.fake.counts.refreshRejected, 0);
    assertEquals(new Set(got).size, 1);
    assert(w.fake.isValid(got[0]));
  } finally {
    await w.cleanup();
  }
});

const CHILD = new URL("./testdata/token_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

function spawnChild(args: string[], dir: string, stdout: "piped" | "null" = "piped") {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${CONFIG}`,
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-net=127.0.0.1",
      CHILD,
      ...args,
    ],
    stdout,
    stderr: "piped",
  }).spawn();
}

Deno.test("manager: three OS processes refreshing at once spend the refresh token once", async () => {
  const fake = new FakeOAuthServer({
    clients: [{ clientId: "app-id", auth: "none" }],
    tokenDelayMs: 100,
  });
  const stateDir = await Deno.makeTempDir();
  try {
    const { log } = capture();
    const store = new TokenStore({ stateDir, provider: "test", account: "shared", log });
    const m = fake.mint();
    const now = Date.now() / 1000;
    await store.save({
      access_token: m.access_token,
      refresh_token: m.refresh_token,
      token_type: "bearer",
      expires_at: now - 1, // expired: every child must refresh
      obtained_at: now - 301,
      extra: {},
    });
    const startAt = String(Date.now() + 1500); // all children start together
    const children = [0, 1, 2].map(() =>
      spawnChild(["refresh", stateDir, fake.tokenUrl, startAt], stateDir)
    );
    const outputs = await Promise.all(children.map((c) => c.output()));
    const tokens = outputs.map((o) => {
      const err = new TextDecoder().decode(o.stderr);
      assertEquals(o.code, 0, err);
      return JSON.parse(new TextDecoder().decode(o.stdout)).token as string;
    });
    assertEquals(fake.counts.refreshes, 1);
    assertEquals(fake.counts.refreshRejected, 0);
    assertEquals(new Set(tokens).size, 1);
    assert(fake.isValid(tokens[0]));
    assertEquals((await store.read())?.access_token, tokens[0]);
  } finally {
    await fake.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("store: the lock wait times out naming the holder", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const holder = spawnChild(["hold-lock", stateDir, "1500"], stateDir);
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assertEquals((await reader.read()).value?.trim(), "locked");
    const { log } = capture();
    const store = new TokenStore({
      stateDir,
      provider: "test",
      account: "shared",
      log,
      lockTimeoutMs: 200,
    });
    const err = await assertRejects(() => store.withLock(() => Promise.resolve()));
    assertMatch(err.message, /still held after 200 ms \(holder: pid \d+ since /);
    while (!(await reader.read()).done) { /* drain */ }
    await holder.stderr.cancel();
    assertEquals((await holder.status).code, 0);
    await store.withLock(() => Promise.resolve()); // free again once the holder exits
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("store: SIGKILL during writes (50 kills) leaves the old or new complete file", async () => {
  const root = await Deno.makeTempDir();
  const { log } = capture();
  let leftovers = 0;
  try {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(Array.from({ length: 10 }, async (_, i) => {
        const dir = `${root}/${round}-${i}`;
        await Deno.mkdir(dir);
        const child = spawnChild(["write-loop", dir], dir);
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assertEquals((await reader.read()).value?.trim(), "ready");
        await new Promise((r) => setTimeout(r, Math.random() * 40));
        child.kill("SIGKILL");
        while (!(await reader.read()).done) { /* drain */ }
        await child.stderr.cancel();
        assertEquals((await child.status).signal, "SIGKILL");

        const store = new TokenStore({ stateDir: dir, provider: "test", account: "shared", log });
        const check = (text: string): number => {
          const raw = JSON.parse(text); // never torn
          const n = raw.extra.n;
          const want = loopRecord(n);
          assertEquals(raw.access_token, want.access_token);
          assertEquals(raw.refresh_token, want.refresh_token);
          assertEquals(raw.expires_at, want.expires_at);
          assertEquals(raw.extra, want.extra);
          return n;
        };
        const n = check(await Deno.readTextFile(store.path));
        if (n > 1) {
          const b = check(await Deno.readTextFile(store.backupPath));
          assert(b === n || b === n - 1, `backup ${b} is the previous version of ${n}`);
        }
        const names = [...Deno.readDirSync(store.dir)].map((e) => e.name);
        if (names.some((x) => x.includes(".tmp-"))) leftovers++;
        // The next start works: reads the last complete version, writes, cleans up.
        assertEquals((await store.read())?.extra.n, n);
        await store.save(loopRecord(n + 1));
        assertEquals((await store.read())?.extra.n, n + 1);
        const after = [...Deno.readDirSync(store.dir)].map((e) => e.name);
        assertEquals(after.filter((x) => x.includes(".tmp-")), []);
        assertEquals(await mode(store.path), 0o600);
      }));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  // Kills that land mid-write leave temp files (about half do): the test hits the window.
  assert(leftovers > 0, "no kill landed inside a write");
});

Deno.test("no token, code or secret in any log line or error message", async () => {
  const w = await world({
    clients: [{
      clientId: "app-id",
      auth: "client_secret_post",
      clientSecret: "client-secret-XYZ",
    }],
  });
  const errors: string[] = [];
  const keep = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(String(err), (err as Error).stack ?? "");
    }
  };
  try {
    const oauth = new OAuthClient({
      http: new Http({ provider: "test" }),
      authorizeUrl: w.fake.authorizeUrl,
      tokenUrl: w.fake.tokenUrl,
      clientId: "app-id",
      clientAuth: "client_secret_post",
      clientSecret: "client-secret-XYZ",
      redirectUri: "http://127.0.0.1/cb",
      scopes: ["openid"],
      clock: w.clock,
    });
    const { followAuthorize } = await import("../replay/fake_oauth.ts");
    const pending = await oauth.authorizationRequest();
    const grant = await oauth.exchangeCode(pending, await followAuthorize(pending.url));
    await w.store.save(recordFromGrant(grant, {}));
    const tokens = new TokenManager({
      store: w.store,
      refresh: (r: TokenRecord) => oauth.refresh(r.refresh_token),
      signInCommand: FIX,
      clock: w.clock,
      log: w.log,
    });
    await tokens.load();
    w.clock.advance(290_000);
    await tokens.accessToken(); // refresh
    w.fake.revokeAccess();
    await keep(() => tokens.run(w.callApi)); // 401 -> refresh
    w.fake.revokeAccess();
    await keep(() => tokens.run(w.callApi)); // second 401
    const text = await Deno.readTextFile(w.store.path);
    await Deno.writeTextFile(w.store.path, text.slice(0, 80)); // corrupt -> backup
    await keep(() => w.store.read());
    w.fake.revokeRefresh();
    w.clock.advance(600_000);
    await keep(() => tokens.accessToken()); // invalid_grant -> sign-in needed
    await keep(() => oauth.exchangeCode(pending, new URLSearchParams({ code: "x", state: "bad" })));

    const secrets = [...w.fake.secrets, "client-secret-XYZ", pending.codeVerifier];
    assert(w.fake.secrets.size >= 8, "the flow saw codes, verifiers and several tokens");
    assert(w.lines.length >= 5, "the flow logged");
    const logged = w.lines.join("");
    const thrown = errors.join("\n");
    assert(errors.length >= 4, "the flow failed where expected");
    for (const s of secrets) {
      assert(!logged.includes(s), "a secret reached a log line");
      assert(!thrown.includes(s), "a secret reached an error message");
      if (s.length >= 6) assertEquals(maskSecrets(`x${s}x`), "x[redacted]x", "registered");
    }
    assert(!logged.includes("[redacted]"), "nothing secret was even offered to the logger");
  } finally {
    await w.cleanup();
  }
});
