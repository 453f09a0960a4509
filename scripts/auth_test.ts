/**
 * `deno task auth` end to end: the task's command line in a child process (the launcher, then
 * auth with the permissions its config needs), against a fake Tesla SSO (replay/fake_oauth.ts) and a fake Tesla
 * API, driven through its stdin and stdout like a user with a browser would.
 */
import { freeLoopbackPort } from "../core/listen.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../core/testing.ts";
import { FakeOAuthServer, followAuthorize } from "../replay/fake_oauth.ts";
import { FakeTeslaApi } from "../providers/tesla/sim/fake_tesla_api.ts";
import { realClock } from "../core/clock.ts";
import { FAKE_API_KEY, FakeVolvo } from "../providers/volvo/sim/fake_api.ts";
import { taskCommand } from "./testing_task.ts";

const FLEET_SECRET = "fleet-client-secret-5d1c7e9a3b";
const TESLAPY = new URL("../providers/tesla/testdata/teslapy_cache.json", import.meta.url);

interface Child {
  /** Resolves with the first match of `re` in stdout so far or later. */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  write(text: string): Promise<void>;
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno task auth` in `cwd` (which plays the project directory) and lets `drive` act. */
async function runAuth(
  cwd: string,
  args: string[],
  drive: (child: Child) => Promise<void> = async () => {},
  env: Record<string, string> = {},
  command?: string[],
): Promise<Run> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [...command ?? await taskCommand("auth"), ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const waiters: {
    re: RegExp;
    resolve: (m: RegExpMatchArray) => void;
    reject: (e: Error) => void;
  }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = stdout.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  const pump = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      add(chunk);
      check();
    }
  };
  const reading = Promise.all([
    pump(proc.stdout, (s) => (stdout += s)),
    pump(proc.stderr, (s) => (stderr += s)),
  ]).then(() => {
    // All output is in: whoever still waits will never see their line.
    for (const w of waiters.splice(0)) {
      w.reject(new Error(`exited before ${w.re}:\n${stdout}\n${stderr}`));
    }
  });
  const writer = proc.stdin.getWriter();
  const child: Child = {
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        check();
      }),
    write: (text) => writer.write(new TextEncoder().encode(text)),
  };
  try {
    await drive(child);
  } finally {
    await writer.close().catch(() => {});
  }
  const status = await proc.status;
  await reading;
  return { code: status.code, stdout, stderr };
}

/** A temp project directory with a config file. */
async function project(config: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "auth-test-" });
  await Deno.writeTextFile(`${dir}/config.yaml`, config);
  return dir;
}

const TESLA_SSO_PATHS = {
  authorizePath: "/oauth2/v3/authorize",
  tokenPath: "/oauth2/v3/token",
} as const;

function ownerSso() {
  return new FakeOAuthServer({
    clients: [{ clientId: "ownerapi", auth: "none" }],
    quirks: { ...TESLA_SSO_PATHS, accessLifetimeS: 28_800 },
  });
}

const ownerConfig = (sso: FakeOAuthServer) =>
  `accounts:\n  - provider: tesla\n    name: home\n    auth_host: ${sso.origin}\n`;

const AUTHORIZE = /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/v3\/authorize\?\S+)/;

/** Every planted or issued secret must be absent from what the CLI printed. */
function assertNoLeak(run: Run, secrets: Iterable<string>) {
  const output = run.stdout + run.stderr;
  let checked = 0;
  for (const secret of secrets) {
    if (!secret) continue;
    checked++;
    assert(!output.includes(secret), `output leaks a secret (${secret.slice(0, 6)}…)`);
  }
  assert(checked > 0, "nothing was checked");
}

async function tokenFile(dir: string, account: string) {
  const path = `${dir}/state/tokens/tesla-${account}.json`;
  const stat = await Deno.stat(path);
  return { mode: stat.mode! & 0o777, record: JSON.parse(await Deno.readTextFile(path)) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("auth tesla (Owner API): paste the tesla:// address, tokens stored 0600, next command", async () => {
  const sso = ownerSso();
  const dir = await project(ownerConfig(sso));
  try {
    let authorize: URL | undefined;
    const run = await runAuth(
      dir,
      ["tesla", "--config", "config.yaml", "--no-browser"],
      async (child) => {
        authorize = new URL((await child.waitFor(AUTHORIZE))[1]);
        await child.waitFor(/tesla:\/\/auth\/callback\?code=/); // the paste help is shown
        const callback = await followAuthorize(authorize); // the user signs in
        assertEquals(callback.protocol, "tesla:");
        await child.waitFor(/Paste the address/);
        await child.write(`${callback.href}\n`);
      },
    );
    assertEquals(run.code, 0, run.stderr);
    const q = authorize!.searchParams;
    assertEquals(q.get("client_id"), "ownerapi");
    assertEquals(q.get("scope"), "openid email offline_access");
    assertEquals(q.get("redirect_uri"), "tesla://auth/callback");
    assertEquals(q.get("code_challenge_method"), "S256");
    assertEquals(sso.counts.exchanges, 1);
    const form = sso.tokenRequests[0].form;
    assertEquals(form.get("redirect_uri"), "tesla://auth/callback");
    assert(!form.has("client_secret"));

    const { mode, record } = await tokenFile(dir, "home");
    assertEquals(mode, 0o600);
    assert(sso.isValid(record.access_token), "the stored access token is the one issued");
    assertEquals(record.extra, { api: "owner" });
    assertEquals(record.expires_at - record.obtained_at, 28_800);
    assertStringIncludes(run.stdout, 'Signed in: tesla account "home", Owner API.');
    assertStringIncludes(run.stdout, "deno task poll --config config.yaml");
    assertNoLeak(run, sso.secrets);
  } finally {
    await sso.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth tesla (Fleet API): loopback callback, client secret from env, region stored", async () => {
  const isValid = (t: string): boolean => sso.isValid(t); // called once `sso` exists
  const eu = new FakeTeslaApi({ isValid });
  const na = new FakeTeslaApi({ isValid, region: { region: "eu", base: () => eu.url } });
  const sso: FakeOAuthServer = new FakeOAuthServer({
    clients: [{ clientId: "my-fleet-app", auth: "client_secret_post", clientSecret: FLEET_SECRET }],
    quirks: { ...TESLA_SSO_PATHS, audience: na.url },
  });
  const dir = await project(`
location: true
accounts:
  - provider: tesla
    name: fleet1
    api: fleet
    client_id: my-fleet-app
    client_secret_env: TEST_TESLA_CLIENT_SECRET
    redirect_uri: http://127.0.0.1:0/callback
    auth_host: ${sso.origin}
    fleet_auth_host: ${sso.origin}
    api_base_url: ${na.url}
`);
  try {
    let authorize: URL | undefined;
    let page = "";
    const run = await runAuth(
      dir,
      ["tesla", "--config", "config.yaml", "--no-browser"],
      async (child) => {
        authorize = new URL((await child.waitFor(AUTHORIZE))[1]);
        const callback = await followAuthorize(authorize);
        assertEquals(callback.hostname, "127.0.0.1");
        assert(callback.port !== "0" && callback.port !== "", "a real port was bound");
        const res = await fetch(callback); // the browser lands on the one-shot server
        page = await res.text();
        assertEquals(res.status, 200);
      },
      { TEST_TESLA_CLIENT_SECRET: FLEET_SECRET },
    );
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(page, "You can close this tab");
    const scopes = authorize!.searchParams.get("scope")!.split(" ");
    for (const s of ["openid", "offline_access", "vehicle_device_data", "vehicle_location"]) {
      assert(scopes.includes(s), `scope ${s} requested`);
    }
    assertEquals(authorize!.searchParams.get("prompt_missing_scopes"), "true");
    const form = sso.tokenRequests[0].form;
    assertEquals(form.get("audience"), na.url);
    assertEquals(form.get("client_id"), "my-fleet-app");

    const { mode, record } = await tokenFile(dir, "fleet1");
    assertEquals(mode, 0o600);
    assertEquals(record.extra, { api: "fleet", region: "eu", fleet_api_base_url: eu.url });
    assertEquals(na.requests, ["200 /api/1/users/region"]);
    assertStringIncludes(run.stdout, `region eu (${eu.url})`);
    assertStringIncludes(run.stdout, "deno task poll --config config.yaml");
    assertNoLeak(run, [...sso.secrets, FLEET_SECRET]);
  } finally {
    await Promise.all([sso.close(), na.close(), eu.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth tesla: a swapped PKCE challenge is refused by the SSO; no token written", async () => {
  const sso = ownerSso();
  const dir = await project(ownerConfig(sso));
  try {
    const run = await runAuth(
      dir,
      ["tesla", "--config", "config.yaml", "--no-browser"],
      async (child) => {
        const url = new URL((await child.waitFor(AUTHORIZE))[1]);
        // Someone else's challenge: the code is bound to a verifier this CLI does not have.
        url.searchParams.set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        const callback = await followAuthorize(url);
        await child.waitFor(/Paste the address/);
        await child.write(`${callback.href}\n`);
      },
    );
    assertEquals(run.code, 1);
    assertStringIncludes(run.stderr, "PKCE verification failed");
    assertStringIncludes(run.stderr, "run the command again");
    assertEquals(sso.counts.exchanges, 0);
    assert(!await exists(`${dir}/state/tokens/tesla-home.json`), "no token file");
    assertNoLeak(run, sso.secrets);
  } finally {
    await sso.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth tesla: a pasted address from another sign-in (state mismatch) is refused", async () => {
  const sso = ownerSso();
  const dir = await project(ownerConfig(sso));
  try {
    let code = "";
    const run = await runAuth(
      dir,
      ["tesla", "--config", "config.yaml", "--no-browser"],
      async (child) => {
        const callback = await followAuthorize((await child.waitFor(AUTHORIZE))[1]);
        code = callback.searchParams.get("code")!;
        callback.searchParams.set("state", "state-of-another-sign-in");
        await child.waitFor(/Paste the address/);
        await child.write(`${callback.href}\n`);
      },
    );
    assertEquals(run.code, 1);
    assertMatch(run.stderr, /sign-in failed: .*state mismatch.*start again/);
    assertEquals(sso.tokenRequests.length, 0, "nothing reached the token endpoint");
    assert(!await exists(`${dir}/state`), "nothing written");
    assertNoLeak(run, [code]);
  } finally {
    await sso.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth tesla --import-teslapy: TeslaPy sign-in moved to the token store, nothing personal printed", async () => {
  const dir = await project("accounts:\n  - provider: tesla\n    name: home\n");
  try {
    await Deno.copyFile(TESLAPY, `${dir}/cache.json`);
    const run = await runAuth(dir, [
      "tesla",
      "--config",
      "config.yaml",
      "--import-teslapy",
      "cache.json",
    ]);
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(run.stdout, "imported 1 account\n");
    assertStringIncludes(run.stdout, "deno task poll --config config.yaml");
    const cache = JSON.parse(await Deno.readTextFile(TESLAPY));
    const [email] = Object.keys(cache);
    const sso = cache[email].sso;
    const { mode, record } = await tokenFile(dir, "home");
    assertEquals(mode, 0o600);
    assertEquals(record.access_token, sso.access_token);
    assertEquals(record.refresh_token, sso.refresh_token);
    assertEquals(record.expires_at, 1_800_028_800);
    assertEquals(record.obtained_at, 1_800_000_000);
    assertEquals(record.extra, { api: "owner" });
    const stored = await Deno.readTextFile(`${dir}/state/tokens/tesla-home.json`);
    assert(!stored.includes(email) && !stored.includes(sso.id_token), "no e-mail or id token kept");
    assertNoLeak(run, [email, sso.access_token, sso.refresh_token, sso.id_token]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ev-observer auth (the binary's dispatcher) runs the same command and says ev-observer poll", async () => {
  const dir = await project("accounts: []\n");
  try {
    await Deno.copyFile(TESLAPY, `${dir}/cache.json`);
    const args = ["auth", "tesla", "--config", "config.yaml", "--import-teslapy", "cache.json"];
    const run = await runAuth(dir, args, undefined, {}, await taskCommand("ev-observer"));
    assertEquals(run.code, 0, run.stderr);
    // Not in the config yet: the entry to add, then the next command in the binary's words.
    assertStringIncludes(run.stdout, "    - provider: tesla\n      name: default\n");
    assertStringIncludes(run.stdout, "  ev-observer poll --config config.yaml");
    assert(await exists(`${dir}/state/tokens/tesla-default.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth tesla: configuration mistakes name the key and the fix (exit 2)", async () => {
  const dir = await project(
    "accounts:\n  - provider: tesla\n    name: car\n    api: fleet\n    client_id: app\n",
  );
  try {
    const run = await runAuth(dir, ["tesla", "--config", "config.yaml", "--no-browser"]);
    assertEquals(run.code, 2);
    assertStringIncludes(
      run.stderr,
      "config.yaml accounts[0].redirect_uri: required for api: fleet",
    );
    const unknown = await runAuth(dir, ["volvoo"]);
    assertEquals(unknown.code, 2);
    assertStringIncludes(unknown.stderr, 'unknown provider "volvoo"');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth volvo: loopback callback, Basic client auth, PKCE, API key checked, tokens 0600", async () => {
  const secret = "volvo-app-secret-4b8d2f6e1a";
  const redirect = `http://127.0.0.1:${freeLoopbackPort()}/callback`;
  const fake = new FakeVolvo({
    clock: realClock,
    client: { clientId: "volvo-app", clientSecret: secret, redirectUris: [redirect] },
  });
  const dir = await project(`
accounts:
  - provider: volvo
    name: family
    client_id: volvo-app
    client_secret_env: TEST_VOLVO_CLIENT_SECRET
    redirect_uri: ${redirect}
    vcc_api_key: ${FAKE_API_KEY}
    auth_host: ${fake.url}
    api_base_url: ${fake.url}
`);
  try {
    const run = await runAuth(
      dir,
      ["volvo", "--config", "config.yaml", "--no-browser"],
      async (child) => {
        const url =
          (await child.waitFor(/(http:\/\/127\.0\.0\.1:\d+\/as\/authorization\.oauth2\?\S+)/))[1];
        const callback = await followAuthorize(url);
        assertEquals(callback.href.split("?")[0], redirect);
        await child.waitFor(/Waiting up to/);
        const res = await fetch(callback); // the browser lands on the one-shot server
        assertEquals(res.status, 200);
        await res.body?.cancel();
      },
      { TEST_VOLVO_CLIENT_SECRET: secret },
    );
    assertEquals(run.code, 0, run.stderr);
    assertEquals(
      fake.auth.tokenRequests.map(({ grantType, clientAuth }) => ({ grantType, clientAuth })),
      [{ grantType: "authorization_code", clientAuth: "client_secret_basic" }],
    );
    assertStringIncludes(run.stdout, 'Signed in: volvo account "family"');
    assertStringIncludes(run.stdout, "the API key works: 1 vehicle on this account");
    const path = `${dir}/state/tokens/volvo-family.json`;
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const record = JSON.parse(await Deno.readTextFile(path));
    assert(record.extra.scopes.includes("energy:state:read"), "default scopes stored");
    assert(!record.extra.scopes.includes("location:read"), "no location scope with location off");
    assertNoLeak(run, [secret, record.access_token, record.refresh_token]);
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
