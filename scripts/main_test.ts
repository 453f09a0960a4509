/**
 * `ev-observer <command>`: the dispatcher with the compiled binary's permissions, run from a
 * directory that is not the repository (as the binary and the container are), and the
 * compiled binary itself where Deno can obtain its runtime for `deno compile`.
 */
import { assertEquals, assertStringIncludes } from "../core/testing.ts";
import { COMMANDS } from "./main.ts";
import { projectRoot, taskArgs } from "./testing_task.ts";

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { EV_LOG_LEVEL: "warn", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `deno task ev-observer` as arguments, with the script path made absolute. */
async function dispatcher(): Promise<string[]> {
  return (await taskArgs("ev-observer")).map((a) => a.endsWith(".ts") ? projectRoot + a : a);
}

Deno.test("ev-observer replay --once --print works from another directory with the binary's permissions", async () => {
  const elsewhere = await Deno.makeTempDir({ prefix: "ev-observer-cwd-" });
  try {
    const res = await run(
      Deno.execPath(),
      [...await dispatcher(), "replay", "--once", "--print"],
      elsewhere,
    );
    assertEquals(res.code, 0, res.stderr);
    assertStringIncludes(res.stdout, "ev_battery_level_ratio{");
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("ev-observer: usage, and an unknown command", async () => {
  const args = await dispatcher();
  const help = await run(Deno.execPath(), [...args, "--help"], projectRoot);
  assertEquals(help.code, 0);
  for (const name of Object.keys(COMMANDS)) {
    assertStringIncludes(help.stdout, `  ${name} `);
  }
  const unknown = await run(Deno.execPath(), [...args, "polll"], projectRoot);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, 'unknown command "polll"');
  const catalog = await run(Deno.execPath(), [...args, "catalog"], projectRoot);
  assertEquals(catalog.code, 0, catalog.stderr);
  assertStringIncludes(catalog.stdout, "`ev_battery_level_ratio`");
});

/**
 * `deno compile` needs Deno's `denort` runtime, which it downloads from Deno's own server;
 * machines that reach only package registries cannot, unless DENORT_BIN names a copy.
 */
async function denortAvailable(): Promise<boolean> {
  const bin = Deno.env.get("DENORT_BIN");
  if (bin) return await Deno.stat(bin).then(() => true, () => false);
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  const zip = `${denoDir}/dl/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip`;
  return await Deno.stat(zip).then(() => true, () => false);
}

const canCompile = await denortAvailable();
if (!canCompile) {
  console.warn(
    "main_test: the compiled-binary test is ignored: no denort runtime here (set DENORT_BIN)",
  );
}

Deno.test({
  name: "deno task compile builds one binary that runs `replay --once --print`",
  ignore: !canCompile,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ev-observer-bin-" });
    try {
      const args = [...await taskArgs("compile"), "--output", `${dir}/ev-observer`];
      const build = await run(Deno.execPath(), args, projectRoot);
      assertEquals(build.code, 0, build.stderr);
      const res = await run(`${dir}/ev-observer`, ["replay", "--once", "--print"], dir);
      assertEquals(res.code, 0, res.stderr);
      assertStringIncludes(res.stdout, "ev_battery_level_ratio{");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
