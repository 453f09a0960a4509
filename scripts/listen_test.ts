/**
 * Every entry point that listens, given an address it cannot use, stops with one clear line
 * naming the address, the flag, variable or key that set it, and the fix, with exit code 2 and
 * no stack trace: `poll` (/metrics), `replay` (/metrics) and `replay --serve` (the fake vendor
 * API). `record` and `healthcheck` listen nowhere. Each runs as `deno task` runs it.
 */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { projectRoot, taskCommand } from "./testing_task.ts";

/** The task's command line, with its script and deno.json named absolutely (any cwd). */
const command = (task: "poll" | "replay") => taskCommand(task);

interface Run {
  readonly code: number;
  readonly stderr: string;
}

/** Runs `argv` in `cwd`; `wrap` puts a program in front (setpriv). */
async function run(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string>; wrap?: string[] } = {},
): Promise<Run> {
  const [program, ...args] = [...options.wrap ?? [], Deno.execPath(), ...argv];
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd ?? projectRoot,
    env: { NO_COLOR: "1", EV_LOG_LEVEL: "warn", EV_TESLA_ACCESS_TOKEN: "", ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** A user error: exit 2, the message's parts, and no stack trace or "Uncaught". */
function assertClear(result: Run, ...parts: string[]): void {
  assertEquals(result.code, 2, result.stderr);
  for (const part of parts) assertStringIncludes(result.stderr, part);
  assert(!/Uncaught|^\s+at /m.test(result.stderr), `a stack trace:\n${result.stderr}`);
  assert(!/os error \d+/.test(result.stderr), `a bare OS error:\n${result.stderr}`);
}

/** A port something already listens on, until `close`. */
function busyPort(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

/** A temp directory with a config of one Tesla account (it needs no network to start). */
async function pollDir(extra = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ev-listen-" });
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `${extra}accounts:\n  - provider: tesla\n    name: home\n`,
  );
  return dir;
}

/**
 * How to run a child that may not bind ports below 1024, or why that cannot be tested here:
 * as root, setpriv drops CAP_NET_BIND_SERVICE (the kernel checks that, not the user id).
 */
async function unprivileged(): Promise<{ wrap: string[] } | { skip: string }> {
  const start = await Deno.readTextFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    .then(Number).catch(() => 1024);
  if (start <= 80) {
    return { skip: `this kernel lets everyone bind port 80 (ip_unprivileged_port_start=${start})` };
  }
  if (Deno.uid() !== 0) return { wrap: [] };
  const setpriv = await new Deno.Command("setpriv", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  })
    .output().then((o) => o.success).catch(() => false);
  return setpriv
    ? { wrap: ["setpriv", "--bounding-set=-net_bind_service", "--inh-caps=-net_bind_service"] }
    : { skip: "running as root and setpriv (util-linux) is missing to drop CAP_NET_BIND_SERVICE" };
}

const PRIVILEGED = await unprivileged();
const privilegedName = (name: string) =>
  "skip" in PRIVILEGED ? `${name} (skipped: ${PRIVILEGED.skip})` : name;

Deno.test("poll: a busy port, by flag, variable or config key, names it and the fix", async () => {
  const busy = busyPort();
  const dir = await pollDir(`listen: 127.0.0.1:${busy.port}\n`);
  try {
    const poll = await command("poll");
    const address = `127.0.0.1:${busy.port}`;
    const fix = `choose a free port`;
    assertClear(
      await run([...poll, "--listen", address], { cwd: dir }),
      `cannot listen on ${address} (--listen)`,
      "another program already uses port",
      `--listen 127.0.0.1:${busy.port + 1}`,
    );
    assertClear(
      await run(poll, { cwd: dir, env: { EV_OBSERVER_LISTEN: address } }),
      `cannot listen on ${address} (EV_OBSERVER_LISTEN)`,
      fix,
      `EV_OBSERVER_LISTEN=127.0.0.1:${busy.port + 1}`,
    );
    assertClear(
      await run(poll, { cwd: dir }),
      `cannot listen on ${address} (listen in config.yaml)`,
      `listen: 127.0.0.1:${busy.port + 1} in config.yaml`,
    );
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("poll: a malformed address is refused before anything starts, by flag and variable", async () => {
  const dir = await pollDir();
  try {
    const poll = await command("poll");
    assertClear(
      await run([...poll, "--listen", "9464"], { cwd: dir }),
      '--listen: "9464" has no host: write 127.0.0.1:9464',
    );
    assertClear(
      await run([...poll, "--listen", ":99999"], { cwd: dir }),
      '--listen: ":99999": port 99999 is out of range: use a port from 1 to 65535',
    );
    assertClear(
      await run(poll, { cwd: dir, env: { EV_OBSERVER_LISTEN: ":99999" } }),
      "listen (set by EV_OBSERVER_LISTEN)",
      "port 99999 is out of range",
    );
    // An address this machine does not have (the task may listen there: it follows --listen).
    assertClear(
      await run([...poll, "--listen", "192.0.2.7:9464"], { cwd: dir }),
      "cannot listen on 192.0.2.7:9464 (--listen): this machine has no address 192.0.2.7",
      "--listen 127.0.0.1:9464",
    );
    // No config file at all: says so and names the example.
    await Deno.remove(`${dir}/config.yaml`);
    assertClear(await run(poll, { cwd: dir }), "no config file", "copy config.example.yaml");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: busy port, no host, out of range, foreign and unresolvable hosts", async () => {
  const busy = busyPort();
  try {
    const replay = await command("replay");
    const address = `127.0.0.1:${busy.port}`;
    assertClear(
      await run([...replay, "--listen", address]),
      `cannot listen on ${address} (--listen)`,
      `--listen 127.0.0.1:${busy.port + 1}`,
    );
    assertClear(
      await run(replay, { env: { EV_OBSERVER_LISTEN: address } }),
      `cannot listen on ${address} (EV_OBSERVER_LISTEN)`,
    );
    assertClear(await run([...replay, "--listen", "9464"]), '--listen: "9464" has no host');
    assertClear(await run([...replay, "--listen", ":99999"]), "port 99999 is out of range");
    // TEST-NET-1 (RFC 5737): never an address of this machine.
    assertClear(
      await run([...replay, "--listen", "192.0.2.7:9464"]),
      "cannot listen on 192.0.2.7:9464 (--listen): this machine has no address 192.0.2.7",
      "--listen 127.0.0.1:9464",
    );
    assertClear(
      await run([...replay, "--listen", "no-such-host.invalid:9464"]),
      "cannot listen on no-such-host.invalid:9464 (--listen): the host name",
      "does not resolve",
    );
  } finally {
    busy.close();
  }
});

Deno.test("replay --serve --port: busy, out of range, and --port without --serve", async () => {
  const busy = busyPort();
  try {
    const replay = await command("replay");
    assertClear(
      await run([...replay, "--serve", "--port", String(busy.port)]),
      `cannot listen on 127.0.0.1:${busy.port} (--port)`,
      `--port ${busy.port + 1}`,
    );
    assertClear(
      await run([...replay, "--serve", "--port", "99999"]),
      "--port: ",
      "port 99999 is out of range",
    );
    assertClear(await run([...replay, "--port", "8080"]), "--port", "needs --serve");
  } finally {
    busy.close();
  }
});

Deno.test({
  name: privilegedName(
    "a privileged port as a user without the right: poll, replay, replay --serve",
  ),
  ignore: "skip" in PRIVILEGED,
  async fn() {
    const { wrap } = PRIVILEGED as { wrap: string[] };
    const dir = await pollDir();
    try {
      const fix = "ports below 1024 need root (or CAP_NET_BIND_SERVICE)";
      assertClear(
        await run([...await command("poll"), "--listen", "127.0.0.1:80"], { cwd: dir, wrap }),
        "cannot listen on 127.0.0.1:80 (--listen)",
        fix,
        "--listen 127.0.0.1:9464",
      );
      const replay = await command("replay");
      assertClear(
        await run([...replay, "--listen", "127.0.0.1:80"], { wrap }),
        "cannot listen on 127.0.0.1:80 (--listen)",
        fix,
      );
      assertClear(
        await run([...replay, "--serve", "--port", "80"], { wrap }),
        "cannot listen on 127.0.0.1:80 (--port)",
        fix,
        "--port 9464",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
