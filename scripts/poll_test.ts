/** `deno task poll` end to end: the simulated Tesla on loopback, /metrics, clean shutdown. */
import "../providers/all.ts";
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { realClock } from "../core/clock.ts";
import { FakeTesla } from "../providers/tesla/fake_api.ts";
import { projectRoot, taskArgs } from "./testing_task.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("deno task poll: polls the account, serves health metrics, stops cleanly on SIGTERM", async () => {
  const fake = new FakeTesla({ clock: realClock });
  await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${projectRoot}test-output`, prefix: "poll-" });
  const config = `${dir}/config.yaml`.slice(projectRoot.length);
  await Deno.writeTextFile(
    `${projectRoot}${config}`,
    `accounts:\n  - provider: tesla\n    name: home\n    base_url: ${fake.url}\n` +
      `    budget: { requests_per_day: 500 }\n`,
  );
  const port = freePort();
  const token = fake.auth.mint().access_token;
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("poll"), "--config", config, "--listen", `127.0.0.1:${port}`],
    cwd: projectRoot,
    env: { EV_TESLA_ACCESS_TOKEN: token, EV_LOG_LEVEL: "info" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    let text = "";
    for (let i = 0; i < 100 && !text.includes('state="sleeping"} 1'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
    }
    assertStringIncludes(
      text,
      'ev_poll_state{provider="tesla",vin="5YJ3E1EA9PF000001",state="sleeping"} 1',
    );
    assertStringIncludes(
      text,
      'ev_api_billable_requests_total{provider="tesla",account="home",category="data"} 2',
    );
    assertStringIncludes(text, 'ev_api_budget_remaining{provider="tesla",account="home"} 448');
    assertEquals(fake.billing.data, 2, "products, then one summary: asleep, so no vehicle_data");
  } finally {
    child.kill("SIGTERM");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
    assertEquals(out.code, 0, stderr);
    assertStringIncludes(stderr, "stopped");
    assert(!stderr.includes(token), "the token never reaches a log line");
  }
});

Deno.test("deno task poll without a token names the variable to set", async () => {
  await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${projectRoot}test-output`, prefix: "poll-" });
  const config = `${dir}/config.yaml`.slice(projectRoot.length);
  await Deno.writeTextFile(`${projectRoot}${config}`, "accounts:\n  - provider: tesla\n");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("poll"), "--config", config],
    cwd: projectRoot,
    env: { EV_TESLA_ACCESS_TOKEN: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  assertEquals(out.code, 2);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "EV_TESLA_ACCESS_TOKEN");
});
