/**
 * Crash safety of cassette writes: child processes saving a large cassette again and again are
 * killed with SIGKILL at random moments. Afterwards the file does not exist (killed before the
 * first save finished) or is a complete version that validates, the last one saved or the one
 * being written; temp files a kill leaves behind are removed by the next save.
 */
import { assert, assertEquals } from "../core/testing.ts";
import { loadCassette, saveCassette } from "./cassette.ts";
import { loopCassette } from "./testdata/cassette_child.ts";

const CHILD = new URL("./testdata/cassette_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** About 2.7 MB written: each save takes long enough for kills to land inside it. */
const EXCHANGES = 8000;

interface Kill {
  /** Last version the child reported as saved (0: none). */
  readonly saved: number;
  /** Version on disk afterwards (0: no file). */
  readonly onDisk: number;
  readonly leftovers: number;
}

/**
 * When to kill: at a random moment (maybe before the first save ends), a while after a save,
 * or as soon as a temp file shows up (inside a write).
 */
type When = "blind" | "after_save" | "mid_write";

async function killOnce(dir: string, when: When): Promise<Kill> {
  const path = `${dir}/cassette.json`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${CONFIG}`,
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      CHILD,
      path,
      String(EXCHANGES),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let saved = 0;
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      const all = [...out.matchAll(/saved (\d+)\n/g)];
      if (all.length) saved = Number(all.at(-1)![1]);
    }
  })();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  if (when === "blind") await sleep(100 + Math.random() * 600);
  else {
    while (saved === 0) await sleep(5);
    if (when === "after_save") await sleep(Math.random() * 150);
    else {
      const writing = () => [...Deno.readDirSync(dir)].some((e) => e.name.includes(".tmp-"));
      for (let i = 0; i < 2000 && !writing(); i++) await sleep(1);
      await sleep(Math.random() * 5);
    }
  }
  child.kill("SIGKILL");
  await reading;
  assertEquals((await child.status).signal, "SIGKILL");

  const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp-")).length;
  let onDisk = 0;
  try {
    await Deno.stat(path);
    const cassette = await loadCassette(path); // parses and validates: never torn
    onDisk = Number(/^version (\d+)$/.exec(cassette.description ?? "")?.[1]);
    assertEquals(cassette, await roundTrip(onDisk), `version ${onDisk} is complete`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return { saved, onDisk, leftovers };
}

/** What version n looks like once saved and loaded. */
const expected = new Map<number, unknown>();
async function roundTrip(n: number) {
  if (!expected.has(n)) {
    const dir = await Deno.makeTempDir();
    await saveCassette(`${dir}/c.json`, loopCassette(n, EXCHANGES));
    expected.set(n, await loadCassette(`${dir}/c.json`));
    await Deno.remove(dir, { recursive: true });
  }
  return expected.get(n);
}

Deno.test("cassette: SIGKILL during saves (30 kills) leaves no file, or the old or new complete one", async () => {
  const root = await Deno.makeTempDir({ prefix: "ev-cassette-crash-" });
  const kills: Kill[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const dir = `${root}/${round}-${i}`;
        await Deno.mkdir(dir);
        const kill = await killOnce(dir, (["blind", "after_save", "mid_write"] as const)[i % 3]);
        // Old or new: the last version reported saved, or the one it was writing.
        if (kill.onDisk === 0) {
          assertEquals(kill.saved, 0, "a saved cassette never disappears");
        } else {
          assert(
            kill.onDisk === kill.saved || kill.onDisk === kill.saved + 1,
            `on disk ${kill.onDisk}, last saved ${kill.saved}`,
          );
        }
        // The next save works and tidies what the kill left behind.
        const path = `${dir}/cassette.json`;
        await saveCassette(path, loopCassette(kill.onDisk + 1, 3));
        assertEquals((await loadCassette(path)).description, `version ${kill.onDisk + 1}`);
        assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["cassette.json"]);
        return kill;
      }));
      kills.push(...batch);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  // The kills must have hit the interesting windows, or the test proves nothing.
  assert(kills.some((k) => k.leftovers > 0), "no kill landed inside a save");
  assert(kills.some((k) => k.onDisk > 0), "no kill found a saved cassette");
});
