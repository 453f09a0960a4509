/** Shutdown on signals: the same stop arriving twice must not cut the save short. */
import { assertEquals } from "../core/testing.ts";

async function run(delays: number[]): Promise<{ code: number; saved: boolean }> {
  const dir = await Deno.makeTempDir({ prefix: "ev-cli-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-write=${dir}`,
        new URL("testdata/slow_shutdown.ts", import.meta.url).pathname,
        `${dir}/out`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // "ready"
    reader.releaseLock();
    for (const ms of delays) {
      await new Promise((r) => setTimeout(r, ms));
      child.kill("SIGTERM");
    }
    const { code } = await child.status;
    await child.stdout.cancel();
    const saved = await Deno.readTextFile(`${dir}/out`).then(() => true, () => false);
    return { code, saved };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a stop signalled twice (process group and a forwarder) still saves and exits 0", async () => {
  assertEquals(await run([0, 150]), { code: 0, saved: true });
});
