/**
 * Crash safety of the persisted last known values: child processes saving the values of many
 * vehicles again and again are killed with SIGKILL at random moments. Afterwards the file does
 * not exist (killed before the first save finished) or holds one complete version, the last one
 * saved or the one being written, which a restart reads back whole; the next save tidies the
 * temp file a kill left behind.
 */
import { assert, assertEquals } from "./testing.ts";
import { createLogger } from "./log.ts";
import { realClock } from "./clock.ts";
import { LAST_KNOWN_FILE, LastKnown } from "./last_known.ts";
import { Readings } from "./readings.ts";
import { BASE, vehicleSnapshot } from "./testdata/last_known_child.ts";

const CHILD = new URL("./testdata/last_known_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** About 2.5 MB a save: long enough for kills to land inside one. */
const VEHICLES = 2500;

type When = "blind" | "after_save" | "mid_write";

interface Kill {
  /** Last version the child reported saved (0: none). */
  readonly saved: number;
  /** Version on disk afterwards (0: no file). */
  readonly onDisk: number;
  readonly leftovers: number;
}

async function killOnce(dir: string, when: When): Promise<Kill> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${CONFIG}`,
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      CHILD,
      dir,
      String(VEHICLES),
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
  if (when === "blind") await sleep(200 + Math.random() * 800);
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
  return { saved, onDisk: await versionOnDisk(dir), leftovers };
}

/** Restores the file as a restart would: one version, whole, or 0 when there is no file. */
async function versionOnDisk(dir: string): Promise<number> {
  const lines: string[] = [];
  const readings = new Readings();
  const keeper = new LastKnown({
    stateDir: dir,
    readings,
    clock: realClock,
    log: createLogger({ write: (l) => lines.push(l) }),
    location: false,
  });
  const count = await keeper.restore([{ provider: "tesla", name: "home", vehicles: [] }]);
  assertEquals(lines.filter((l) => l.includes("level=warn")), [], "never torn");
  if (count === 0) return 0;
  assertEquals(count, VEHICLES, "every vehicle of the version");
  const versions = new Set([...readings.vehicles.values()].map((e) => e.lastSampleAt! - BASE));
  assertEquals(versions.size, 1, "one version, not a mix");
  const [n] = versions;
  for (const [i, entry] of [...readings.vehicles.values()].entries()) {
    assertEquals(entry.snapshot, vehicleSnapshot(i, n), `vehicle ${i} of version ${n}`);
  }
  return n;
}

Deno.test("last known values: SIGKILL during saves (30 kills) leaves no file, or the old or new complete one", async () => {
  const root = await Deno.makeTempDir({ prefix: "ev-last-known-crash-" });
  const kills: Kill[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        const dir = `${root}/${round}-${i}`;
        await Deno.mkdir(dir);
        const kill = await killOnce(dir, (["blind", "after_save", "mid_write"] as const)[i % 3]);
        if (kill.onDisk === 0) assertEquals(kill.saved, 0, "a saved file never disappears");
        else {
          assert(
            kill.onDisk === kill.saved || kill.onDisk === kill.saved + 1,
            `on disk ${kill.onDisk}, last saved ${kill.saved}`,
          );
        }
        // The next start saves and tidies what the kill left behind.
        const readings = new Readings();
        readings.record(vehicleSnapshot(0, kill.onDisk + 1));
        await new LastKnown({
          stateDir: dir,
          readings,
          clock: realClock,
          log: createLogger({ write: () => {} }),
          location: false,
        }).save();
        assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [LAST_KNOWN_FILE]);
        return kill;
      }));
      kills.push(...batch);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  // The kills must have hit the interesting windows, or the test proves nothing.
  assert(kills.some((k) => k.leftovers > 0), "no kill landed inside a save");
  assert(kills.some((k) => k.onDisk > 0), "no kill found a saved file");
});
