/**
 * BMW's device-code sign-in against the simulated BMW: `deno task auth bmw` end to end in a
 * child process (the launcher, then auth with the hosts its config allows), and the flow's
 * non-standard answers (403 pending, 400 slow down, 403 declined) read by their error field.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../core/testing.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { AuthorizationError } from "../../core/oauth.ts";
import { runSignIn } from "../../core/sign_in.ts";
import { taskCommand } from "../../scripts/testing_task.ts";
import { bmwSignInPlan } from "./identity.ts";
import { FakeBmw, SIM_CLIENT_ID } from "./sim/fake_bmw.ts";
import { SIM_GCID } from "./sim/scenario.ts";

Deno.test("deno task auth bmw: user code printed, polled at the server's interval, tokens with ID token and GCID saved 0600", async () => {
  const fake = new FakeBmw({ now: Date.now, intervalS: 1, approveAfterPolls: 1 });
  const dir = await Deno.makeTempDir({ prefix: "bmw-auth-" });
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `accounts:
  - provider: bmw
    name: home
    client_id: ${SIM_CLIENT_ID}
    auth_host: ${fake.url}
    api_base_url: ${fake.url}
    stream: false
`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...await taskCommand("auth"), "bmw", "--config", "config.yaml", "--no-browser"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(stdout, `${fake.url}/verify?user_code=`);
    assert(/code: [0-9A-F]{8}/.test(stdout), stdout);
    assertStringIncludes(stdout, 'Signed in: bmw account "home"');
    // The first poll finds the code unconfirmed (BMW: 403), the second gets the tokens.
    assertEquals(fake.polls, ["authorization_pending", "ok"]);
    const path = `${dir}/state/tokens/bmw-home.json`;
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const record = JSON.parse(await Deno.readTextFile(path));
    assertEquals(record.extra.gcid, SIM_GCID);
    assert(record.id_token.startsWith("bmw-id-"), "the ID token is kept for the stream");
    for (const secret of [record.access_token, record.refresh_token, record.id_token]) {
      assert(!stdout.includes(secret) && !stderr.includes(secret), "no token in the output");
    }
    assertEquals(fake.calls.total, 0, "signing in spends none of the day's 50 API calls");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The plan with virtual waits: each sleep moves the fake's time by what was asked less `early`. */
async function signIn(
  fake: FakeBmw,
  time: { t: number },
  early: number,
  onLine: (line: string) => void = () => {},
) {
  const dir = await Deno.makeTempDir({ prefix: "bmw-plan-" });
  const waits: number[] = [];
  const lines: string[] = [];
  const plan = bmwSignInPlan({
    account: {
      provider: "bmw",
      name: "home",
      vehicles: [],
      client_id: SIM_CLIENT_ID,
      auth_host: fake.url,
    },
    label: "config.yaml accounts[0]",
    stateDir: dir,
    env: {},
    http: new Http({ provider: "bmw" }),
    clock: { now: () => time.t, sleep: () => Promise.resolve() },
    log: createLogger({ write: () => {} }),
    location: false,
    options: {},
  });
  const print = (l: string) => {
    lines.push(l);
    onLine(l);
  };
  const io = { print, readLine: () => Promise.resolve(undefined) };
  const sleep = (ms: number) => {
    waits.push(ms);
    time.t += ms - early;
    return Promise.resolve();
  };
  const done = runSignIn(plan, io, { sleep });
  return { done, waits, lines, dir, plan };
}

Deno.test("device flow: slow_down (BMW: 400) adds five seconds to the interval; pending (403) waits", async () => {
  const time = { t: Date.UTC(2026, 5, 10, 8) };
  const fake = new FakeBmw({ now: () => time.t, intervalS: 5, approveAfterPolls: 2 });
  // A clock running a second fast makes the first poll early: the server asks to slow down.
  const run = await signIn(fake, time, 1000);
  try {
    const record = await run.done;
    assertEquals(fake.polls, ["slow_down", "authorization_pending", "ok"]);
    assertEquals(run.waits, [5000, 10_000, 10_000]);
    assertEquals(record.extra, { gcid: SIM_GCID });
    assertEquals((await run.plan.store.read())?.id_token, record.id_token);
  } finally {
    await fake.shutdown();
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("device flow: a declined code (BMW: 403 access_denied) fails the sign-in and saves nothing", async () => {
  const time = { t: Date.UTC(2026, 5, 10, 8) };
  const fake = new FakeBmw({ now: () => time.t, intervalS: 5 });
  // The user declines as soon as the code is shown.
  const run = await signIn(fake, time, 0, (line) => {
    const code = /code: (\S+)/.exec(line)?.[1];
    if (code) fake.decide(code, "denied");
  });
  try {
    const err = await assertRejects(() => run.done);
    assert(err instanceof AuthorizationError && err.message.includes("declined"), String(err));
    assertEquals(await run.plan.store.read(), undefined);
  } finally {
    await fake.shutdown();
    await Deno.remove(run.dir, { recursive: true });
  }
});
