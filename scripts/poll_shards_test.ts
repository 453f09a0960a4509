/**
 * `deno task poll` sharded, end to end in child processes: two shards of one config share the
 * token store, the shard that owns the simulated car polls and exports it, the other leaves it
 * alone without a warning, each keeps its state in its own folder, a second process of a
 * running shard is refused by the shard's lock, and a restarted shard resumes from its folder.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { realClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { shardOf } from "../core/shard.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { teslaTokenStore } from "../providers/tesla/identity.ts";
import { freeLoopbackPort, taskCommand } from "./testing_task.ts";

const VIN = "5YJ3E1EA9PF000001";
const SLEEPING = `ev_poll_state{provider="tesla",vin="${VIN}",state="sleeping"} 1`;

function spawn(cwd: string, port: number, shard: string) {
  return taskCommand("poll").then((task) =>
    new Deno.Command(Deno.execPath(), {
      args: [...task, "--listen", `127.0.0.1:${port}`],
      cwd,
      env: { NO_COLOR: "1", EV_TESLA_ACCESS_TOKEN: "", EV_OBSERVER_SHARD: shard },
      stdout: "piped",
      stderr: "piped",
    }).spawn()
  );
}

async function scrape(port: number, done: (text: string) => boolean): Promise<string> {
  let text = "";
  for (let i = 0; i < 150 && !done(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => "");
  }
  return text;
}

async function stop(child: Deno.ChildProcess): Promise<string> {
  child.kill("SIGTERM");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  return stderr;
}

Deno.test("deno task poll sharded: the owning shard polls the car, the other leaves it, a second process of a shard is refused, a restart resumes", async () => {
  const fake = new FakeTesla({ clock: realClock });
  const dir = await Deno.makeTempDir({ prefix: "ev-shards-" });
  const owner = shardOf(VIN, 2);
  const other = 1 - owner;
  try {
    // One sign-in for both shards: the token store in state_dir is shared (core/tokens.ts).
    await teslaTokenStore(`${dir}/state`, "home", createLogger({ write: () => {} }))
      .save(fake.signIn());
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `accounts:\n  - provider: tesla\n    name: home\n    api_base_url: ${fake.url}\n` +
        `    auth_host: ${fake.url}\n`,
    );
    const ports = [freeLoopbackPort(), freeLoopbackPort()];
    const owning = await spawn(dir, ports[owner], `${owner}/2`);
    const idle = await spawn(dir, ports[other], `${other}/2`);
    let ownerLog = "", idleLog = "";
    try {
      assertStringIncludes(await scrape(ports[owner], (t) => t.includes(SLEEPING)), SLEEPING);
      const text = await scrape(ports[other], (t) => t.includes("ev_api_requests_total"));
      assert(text.includes("ev_api_requests_total"), "the other shard listed the account");
      assert(!text.includes(VIN), "and exports no car");

      // The same shard again, on another port: refused at start, naming the lock and the fix.
      const again = await spawn(dir, freeLoopbackPort(), `${owner}/2`);
      const out = await again.output();
      const message = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, message);
      assertStringIncludes(
        message,
        `already polling shard ${owner}/2: it holds ./state/shard-${owner}-of-2/poll.lock (pid`,
      );
      assertStringIncludes(message, "Stop that process first");
      assert(!message.includes("    at "), `no stack trace:\n${message}`);
    } finally {
      ownerLog = await stop(owning);
      idleLog = await stop(idle);
    }
    assertStringIncludes(ownerLog, "vehicles=1 listed=1");
    assertStringIncludes(idleLog, "every car of this account belongs to another shard");
    assert(!idleLog.includes("level=warn"), idleLog);
    // Each shard's state in its own folder, nothing of theirs in state_dir itself.
    const saved = await Deno.readTextFile(`${dir}/state/shard-${owner}-of-2/last_known.json`);
    assertStringIncludes(saved, VIN);
    await Deno.stat(`${dir}/state/shard-${other}-of-2/poll.lock`);
    const top = [...Deno.readDirSync(`${dir}/state`)].map((e) => e.name).sort();
    assertEquals(top, ["shard-0-of-2", "shard-1-of-2", "tokens"]);

    // Restarted, the owning shard takes up its car where it left it, from its own folder.
    const port = freeLoopbackPort();
    const restarted = await spawn(dir, port, `${owner}/2`);
    let restartLog = "";
    try {
      assertStringIncludes(await scrape(port, (t) => t.includes(SLEEPING)), SLEEPING);
    } finally {
      restartLog = await stop(restarted);
    }
    assertStringIncludes(restartLog, 'restored last known values" vehicles=1');
    assertStringIncludes(restartLog, "resumed from the saved state");
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
