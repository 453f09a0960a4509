/**
 * Least privilege in deno.json, as Deno itself reads each task's flags (a probe runs with
 * them and asks Deno.permissions): no task may reach any host while it can read the token
 * store; none may write a source folder; none may start any program; a task that may start
 * Deno must pass narrow flags to its children, which are checked here too (the commands'
 * permissions for the example config and the demo, and the benchmark's server).
 */
import { assert, assertEquals } from "../core/testing.ts";
import { denoFlags } from "../app/launch.ts";
import { permissionsFor } from "../app/permissions.ts";
import { SERVER_PERMISSIONS } from "../bench/load.ts";
import { projectRoot } from "./testing_task.ts";

const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(`${projectRoot}deno.json`),
).tasks;

/**
 * The only tasks that may start Deno: the launcher (its children get the permissions their
 * config needs, checked below), the binary's build (bakes the same), and the benchmark (its
 * load server gets SERVER_PERMISSIONS).
 */
const STARTS_DENO = [
  "auth",
  "bench",
  "compile",
  "demo:live",
  "ev-observer",
  "poll",
  "record",
  "replay",
  "sessions",
];

/**
 * The test runner keeps -A, checked by nothing here: tests start Prometheus, Chromium,
 * mosquitto and their own children, Chromium's driver needs "all" access (any --deny flag
 * breaks it), and test:update rewrites the goldens and the README's generated tables.
 */
const TEST_RUNNER = ["test", "test:update"];

/** A file in every folder that holds code, and the project files at the top. */
async function sourcePaths(): Promise<string[]> {
  const paths = ["deno.json", "deno.lock", "README.md", "Dockerfile", "compose.yaml"];
  const walk = async (dir: string) => {
    let code = false;
    for await (const e of Deno.readDir(`${projectRoot}${dir}`)) {
      if (e.name.startsWith(".") || ["node_modules", "test-output", "state"].includes(e.name)) {
        continue;
      }
      if (e.isDirectory) await walk(`${dir}${e.name}/`);
      else if (/\.(ts|js)$/.test(e.name)) code = true;
    }
    if (code && dir) paths.push(`${dir}probe.ts`);
  };
  await walk("");
  return paths;
}

const PROBE = `
const q = async (d) => (await Deno.permissions.query(d)).state === "granted";
const writes = [];
for (const path of JSON.parse(Deno.args[0])) if (await q({ name: "write", path })) writes.push(path);
console.log(JSON.stringify({
  anyHost: await q({ name: "net", host: "exfiltrate.example.org:443" }),
  tokens: await q({ name: "read", path: "state/tokens/tesla-home.json" }),
  writes,
  anyProgram: await q({ name: "run", command: "/bin/sh" }),
  deno: await q({ name: "run", command: "deno" }),
}));
`;

interface Probe {
  readonly anyHost: boolean;
  readonly tokens: boolean;
  readonly writes: string[];
  readonly anyProgram: boolean;
  readonly deno: boolean;
}

const probeFile = await Deno.makeTempFile({ prefix: "ev-probe-", suffix: ".js" });
await Deno.writeTextFile(probeFile, PROBE);
const SOURCES = await sourcePaths();

/** What Deno grants with these flags, asked from the project directory. */
async function probe(flags: string[]): Promise<Probe> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, probeFile, JSON.stringify(SOURCES)],
    cwd: projectRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The permission flags of each `deno run|test|compile` in a task line. */
function permissionFlags(task: string): string[][] {
  return task.split("&&").flatMap((segment) => {
    const words = segment.trim().split(/\s+/).filter((w) => !/^[A-Z_]+=/.test(w));
    if (words[0] !== "deno" || !["run", "test", "compile", "serve"].includes(words[1])) return [];
    const script = words.findIndex((w) => /\.(ts|js)$/.test(w));
    const options = script < 0 ? words.slice(2) : words.slice(2, script);
    return [options.filter((w) => /^--(allow|deny)-/.test(w) || w === "-A")];
  });
}

/** Every broken rule for one set of flags (empty: fine). */
function violations(name: string, p: Probe): string[] {
  const found: string[] = [];
  if (TEST_RUNNER.includes(name)) return found;
  if (p.anyHost && p.tokens) found.push("reaches any host and reads the token store");
  if (p.writes.length) found.push(`writes ${p.writes.join(", ")}`);
  if (p.anyProgram) found.push("may start any program");
  if (p.deno && !STARTS_DENO.includes(name)) found.push("may start Deno with any flags");
  return found;
}

Deno.test("deno.json: no task reaches any host with the token store readable, writes source or starts anything", async () => {
  const broken: string[] = [];
  for (const [name, line] of Object.entries(TASKS)) {
    for (const flags of permissionFlags(line)) {
      for (const v of violations(name, await probe(flags))) broken.push(`${name}: ${v}`);
    }
  }
  assertEquals(broken, []);
  // The rules themselves: what the seed's tasks had is caught.
  const seed = await probe(["--allow-read=.,/data", "--allow-write=.,/data", "--allow-net"]);
  assertEquals(violations("ev-observer", seed).length, 2);
  assert(violations("catalog", await probe(["--allow-run=deno"])).length === 1);
});

Deno.test("the children Deno is started with: each command's permissions, the bench server's", async () => {
  const example = `${projectRoot}config.example.yaml`;
  const plans = [
    ...["poll", "replay", "binary"].map((c) => permissionsFor(c, ["--config", example], {})),
    permissionsFor("record", ["tesla", "--config", example], {}),
    permissionsFor("auth", ["volvo", "--config", example], {}),
    permissionsFor("replay", [], {}),
  ];
  for (const plan of await Promise.all(plans)) {
    const p = await probe(denoFlags(plan));
    assertEquals(violations("child", p), [], denoFlags(plan).join(" "));
    assert(!p.anyHost, `a child may reach any host: ${denoFlags(plan).join(" ")}`);
  }
  // sessions needs no network, yet the token store beside its database stays closed too.
  const sessions = await probe(
    denoFlags(await permissionsFor("sessions", ["--config", example], {})),
  );
  assertEquals(violations("child", sessions), []);
  assert(!sessions.tokens && !sessions.anyHost && !sessions.writes.length, "sessions: db only");
  const bench = await probe(SERVER_PERMISSIONS);
  assertEquals(violations("bench server", bench), []);
  assert(!bench.tokens && !bench.anyHost, "the bench server reads nothing and reaches loopback");
});

/** The README's table of task permissions: one row per task, its flags as deno.json has them. */
export function permissionRows(): string[][] {
  return Object.entries(TASKS).map(([name, line]) => {
    const flags = permissionFlags(line).flat().join(" ");
    return [`\`${name}\``, flags ? `\`${flags}\`` : "none"];
  });
}

Deno.test("README: the permissions table says exactly what deno.json grants", async () => {
  const readme = await Deno.readTextFile(`${projectRoot}README.md`);
  const block = /<!-- permissions:begin -->([\s\S]*?)<!-- permissions:end -->/.exec(readme)?.[1];
  assert(block, "README.md has the permissions:begin/end markers");
  const rows = block.split("\n").filter((l) => l.startsWith("| `")).map((l) =>
    l.split("|").slice(1, -1).map((c) => c.trim())
  );
  assertEquals(rows, permissionRows());
});

addEventListener("unload", () => Deno.removeSync(probeFile));
