/**
 * `deno task demo:live` as the task runs it, briefly: both simulated vendors signed in through
 * `auth` and polled live by `poll`, on /metrics with today's sample times; Ctrl-C stops it
 * cleanly and its folder is gone.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { freeLoopbackPort, projectRoot, taskArgs, waitFor } from "./testing_task.ts";

Deno.test("demo:live: the simulated Tesla and Volvo signed in and polled live, on /metrics", async () => {
  const port = freeLoopbackPort();
  const child = new Deno.Command(Deno.execPath(), {
    // 07:45 of the scripted days: both cars are driving, whatever time of day the test runs.
    args: [...await taskArgs("demo:live"), "--listen", `127.0.0.1:${port}`, "--at", "07:45"],
    cwd: projectRoot,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const sampled = (text: string, provider: string) =>
    new RegExp(`^ev_last_sample_timestamp_seconds\\{provider="${provider}",[^}]*\\} (\\S+)$`, "m")
      .exec(text)?.[1];
  let text = "";
  try {
    text = await waitFor("both providers on /metrics", async () => {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return sampled(t, "tesla") && sampled(t, "volvo") ? t : undefined;
    }, 240);
  } finally {
    child.kill("SIGINT");
  }
  const out = await output;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assertStringIncludes(stdout, 'Signed in: tesla account "demo"');
  assertStringIncludes(stdout, 'Signed in: volvo account "demo"');
  assertStringIncludes(text, 'ev_token_expiry_timestamp_seconds{provider="volvo",account="demo"}');
  // The scripted days moved to today: samples are minutes old at most, not months.
  for (const provider of ["tesla", "volvo"]) {
    const age = Date.now() / 1000 - Number(sampled(text, provider));
    assert(Math.abs(age) < 3600, `${provider} sample is ${Math.round(age)} s old`);
  }
  const folder = /Ctrl-C stops \(and removes (\S+)\)/.exec(stdout)?.[1];
  assert(folder, stdout);
  assert(!await Deno.stat(`${projectRoot}${folder}`).then(() => true, () => false), "removed");
});
