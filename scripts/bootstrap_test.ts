/**
 * `./dev` on a machine without Deno: which Deno it picks, how it installs the pinned one from npm,
 * and what it says when it cannot. A temp HOME, a PATH without `deno` (symlinks to every other
 * program), and fake `deno` / `npm` / `sudo` that record their calls: no network, no root.
 * EV_OBSERVER_TEST_NPM=1 adds one test that really installs deno@<pin> with npm.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const dev = `${root}dev`;
const PIN = (await Deno.readTextFile(dev)).match(/^DENO_VERSION=(\S+)$/m)![1];

Deno.test("./dev pins the Deno that CI names", async () => {
  const ci = await Deno.readTextFile(`${root}.ci/run`);
  assert.equal(/^DENO_VERSION=(\S+)$/m.exec(ci)?.[1], PIN);
  assert.match(ci, /^\.\/dev test$/m, "CI runs the README's test command");
});

/** A directory of symlinks to everything on this PATH except `without`. */
async function shadowPath(dir: string, without: string[]): Promise<string> {
  const bin = `${dir}/shadow-bin`;
  await Deno.mkdir(bin);
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d || "."));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (without.includes(e.name)) continue;
      await Deno.symlink(`${d}/${e.name}`, `${bin}/${e.name}`).catch((err) => {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err; // the first on PATH wins
      });
    }
  }
  return bin;
}

async function script(path: string, body: string): Promise<void> {
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
}

/** `echo` line of a fake deno that reports `version`. */
const fakeDeno = (version: string) => `echo "deno ${version} (stable, release, fake)"`;

/** Fake npm: logs its arguments, and with `binary` lays out the platform package under --prefix. */
const fakeNpm = (log: string, binary: boolean) =>
  `echo "$*" >> '${log}'
prefix=; while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix=$2; shift; done
${
    binary
      ? `mkdir -p "$prefix/node_modules/@deno/fake-platform"
printf '#!/bin/sh\\n${fakeDeno(PIN)}\\n' > "$prefix/node_modules/@deno/fake-platform/deno"
chmod +x "$prefix/node_modules/@deno/fake-platform/deno"`
      : ""
  }`;

interface Machine {
  dir: string;
  /** Fakes go here; it comes first on PATH. */
  fakes: string;
  tools: string;
  npmLog: string;
  run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** A temp HOME and tools dir, and PATH = fakes + this machine's programs less `without`. */
async function machine(without: string[], env: Record<string, string> = {}): Promise<Machine> {
  const dir = await Deno.makeTempDir({ prefix: "ev-observer-bootstrap-" });
  const fakes = `${dir}/fakes`;
  await Deno.mkdir(fakes);
  await Deno.mkdir(`${dir}/home`);
  const path = `${fakes}:${await shadowPath(dir, without)}`;
  const tools = `${dir}/tools`;
  return {
    dir,
    fakes,
    tools,
    npmLog: `${dir}/npm.log`,
    async run(...args) {
      const out = await new Deno.Command(dev, {
        args,
        cwd: dir, // ./dev works from any directory
        clearEnv: true,
        env: { HOME: `${dir}/home`, PATH: path, EV_OBSERVER_TOOLS: tools, ...env },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder();
      return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
    },
  };
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);
const lines = (path: string) =>
  Deno.readTextFile(path).then((t) => t.trim().split("\n"), () => [] as string[]);

Deno.test("./dev: a deno of the pinned version on PATH is used, nothing is installed", async () => {
  const m = await machine(["deno", "npm"]);
  try {
    await script(`${m.fakes}/deno`, fakeDeno(PIN));
    await script(`${m.fakes}/npm`, fakeNpm(m.npmLog, true));
    const r = await m.run("deno-path");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${m.fakes}/deno\n`);
    assert.deepEqual(await lines(m.npmLog), [], "npm was not called");
    assert.equal(await exists(m.tools), false);
  } finally {
    await Deno.remove(m.dir, { recursive: true });
  }
});

Deno.test("./dev: another deno on PATH: deno@<pin> from npm goes to the tools dir, once", async () => {
  const m = await machine(["deno", "npm"]);
  try {
    await script(`${m.fakes}/deno`, fakeDeno("2.1.0"));
    await script(`${m.fakes}/npm`, fakeNpm(m.npmLog, true));
    const r = await m.run("deno-path");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${m.tools}/bin/deno\n`);
    assert.match(
      r.stderr,
      new RegExp(`is 'deno 2\\.1\\.0 \\(stable, release, fake\\)', not ${PIN}`),
    );
    assert.match(r.stderr, new RegExp(`installing Deno ${PIN} from the npm registry`));
    const [call] = await lines(m.npmLog);
    assert.match(call, new RegExp(`^install --prefix ${m.tools}/\\.deno-${PIN}\\.\\S+ `));
    for (const arg of ["--ignore-scripts", "--include=optional", `deno@${PIN}`]) {
      assert.ok(call.split(" ").includes(arg), `npm ${call} lacks ${arg}`);
    }
    assert.equal(
      await Deno.realPath(`${m.tools}/bin/deno`),
      await Deno.realPath(`${m.tools}/deno-${PIN}/node_modules/@deno/fake-platform/deno`),
    );
    const installed = await new Deno.Command(`${m.tools}/bin/deno`, { args: ["--version"] })
      .output();
    assert.match(new TextDecoder().decode(installed.stdout), new RegExp(`^deno ${PIN} `));

    const again = await m.run("deno-path");
    assert.equal(again.stdout, `${m.tools}/bin/deno\n`);
    assert.equal((await lines(m.npmLog)).length, 1, "the installed copy is reused");
  } finally {
    await Deno.remove(m.dir, { recursive: true });
  }
});

Deno.test("./dev: npm brings no binary for this machine: an error, nothing half-installed", async () => {
  const m = await machine(["deno", "npm"]);
  try {
    await script(`${m.fakes}/npm`, fakeNpm(m.npmLog, false));
    const r = await m.run("demo", "--once", "--print");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no Deno binary that runs here/);
    assert.match(r.stderr, /put it on PATH/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(m.tools)), [], "temp dir removed");
  } finally {
    await Deno.remove(m.dir, { recursive: true });
  }
});

Deno.test("./dev: no deno and no npm: the error names the package and how to install it", async () => {
  const m = await machine(["deno", "npm", "id", "sudo"]);
  try {
    await script(`${m.fakes}/id`, "echo 1000");
    const r = await m.run("demo");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /npm, which installs it, is missing/);
    assert.match(r.stderr, /Debian\/Ubuntu: as root, apt-get install npm\)/);
    await script(`${m.fakes}/sudo`, "exit 1");
    assert.match((await m.run("demo")).stderr, /Debian\/Ubuntu: sudo apt-get install npm\)/);
  } finally {
    await Deno.remove(m.dir, { recursive: true });
  }
});

Deno.test("./dev test: packages missing, not root: names them and the command to run", async () => {
  // promtool and docker-compose hidden; `id` says uid 1000. First no sudo, then a sudo that fails.
  const m = await machine(["deno", "promtool", "docker-compose", "id", "sudo"]);
  try {
    await script(`${m.fakes}/deno`, fakeDeno(PIN));
    await script(`${m.fakes}/id`, "echo 1000");
    const noSudo = await m.run("test");
    assert.equal(noSudo.code, 1);
    assert.match(noSudo.stderr, /needs root \(no sudo here\): prometheus docker-compose[a-z -]*\n/);
    assert.match(
      noSudo.stderr,
      /As root, run: {2}apt-get update && apt-get install -y --no-install-recommends prometheus docker-compose[a-z -]*\n/,
    );

    const sudoLog = `${m.dir}/sudo.log`;
    await script(
      `${m.fakes}/sudo`,
      `echo "$*" >> '${sudoLog}'; echo 'sudo: a password is required' >&2; exit 1`,
    );
    const failing = await m.run("test");
    assert.equal(failing.code, 1);
    assert.deepEqual(await lines(sudoLog), [
      "-n env DEBIAN_FRONTEND=noninteractive apt-get update -q", // no terminal: never waits
    ]);
    assert.match(failing.stderr, /\| sudo: a password is required/);
    assert.match(
      failing.stderr,
      /sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus docker-compose[a-z -]*\n/,
    );
    assert.doesNotMatch(failing.stderr, /deno task test/, "the tests did not start");
  } finally {
    await Deno.remove(m.dir, { recursive: true });
  }
});

Deno.test({
  name: "./dev: really installs deno@<pin> with npm (EV_OBSERVER_TEST_NPM=1)",
  ignore: !Deno.env.get("EV_OBSERVER_TEST_NPM"),
  async fn() {
    const m = await machine(
      ["deno"],
      Object.fromEntries(
        ["NODE_EXTRA_CA_CERTS", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"]
          .flatMap((k) => Deno.env.get(k) === undefined ? [] : [[k, Deno.env.get(k)!]]),
      ),
    );
    try {
      const r = await m.run("deno", "--version");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^deno ${PIN} `));
      assert.match(
        await Deno.realPath(`${m.tools}/bin/deno`),
        /\/node_modules\/@deno\/[^/]+\/deno$/,
      );
    } finally {
      await Deno.remove(m.dir, { recursive: true });
    }
  },
});
