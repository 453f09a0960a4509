/**
 * The SQLite store: versioned schema and migrations, a session stored once however often it
 * is committed, and a drive in progress that survives a restart and a kill -9.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch, assertThrows } from "../testing.ts";
import { MIGRATIONS, SCHEMA_VERSION, SessionStore } from "./store.ts";
import { rig, T0 } from "./testdata/rig.ts";
import type { Session } from "./session.ts";

const tempDb = async () => `${await Deno.makeTempDir({ prefix: "ev-sessions-" })}/sessions.db`;

/** Drives minutes [from, to] at 1 km and 0.15 kWh a minute from minute 5. */
function drive(r: ReturnType<typeof rig>, from: number, to: number) {
  for (let m = from; m <= to; m++) {
    const k = m - 5;
    r.at(m, { drive: true, speed: 50, km: 1000 + k, kwh: 60 - 0.15 * k });
  }
}

Deno.test("store: a new file gets the whole schema; an old one is migrated, its rows kept", async () => {
  const path = await tempDb();
  // A file as the first release left it: schema version 1, one session.
  const old = new DatabaseSync(path);
  old.exec(MIGRATIONS[0]);
  old.exec("PRAGMA user_version = 1");
  old.exec(
    "INSERT INTO sessions (id, kind, provider, vin, start_ms, end_ms, distance_km) " +
      "VALUES ('drive-sim-X-1', 'drive', 'sim', 'X', 1, 2, 12.5)",
  );
  old.close();
  const store = SessionStore.open(path);
  assertEquals(store.version, SCHEMA_VERSION);
  assertEquals(store.list().map((s) => [s.id, s.distance_km]), [["drive-sim-X-1", 12.5]]);
  assertEquals(store.unsent("greptimedb").map((s) => s.id), ["drive-sim-X-1"], "v2 table works");
  store.close();
  const fresh = SessionStore.open(":memory:");
  assertEquals(fresh.version, SCHEMA_VERSION);
  fresh.close();
});

Deno.test("store: a file from a newer ev-observer is refused with what to do", async () => {
  const path = await tempDb();
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  const err = assertThrows(() => SessionStore.open(path));
  assertMatch(err.message, /newer than this ev-observer knows.*upgrade ev-observer/);
});

Deno.test("store: committing a finished session twice stores it once", () => {
  const r = rig({ stop_gap_s: 600, parked_min_s: 0 });
  r.at(0, { km: 1000, kwh: 60, soc: 80 });
  drive(r, 5, 20);
  r.at(21, { km: 1015, kwh: 57.75 });
  r.idle(40);
  const [session] = r.sessions("drive");
  const again = r.store.commit("sim/X", {}, [session as Session], Date.now());
  assertEquals(again, [], "nothing new stored");
  assertEquals(r.sessions("drive").length, 1);
});

Deno.test("store: a drive in progress survives a restart and is closed once, correctly", async () => {
  const path = await tempDb();
  const first = rig({ stop_gap_s: 600, parked_min_s: 0 }, SessionStore.open(path));
  first.at(0, { km: 1000, kwh: 60, soc: 80 });
  drive(first, 5, 20);
  first.tracker.close();
  first.store.close();

  const second = rig({ stop_gap_s: 600, parked_min_s: 0 }, SessionStore.open(path));
  drive(second, 21, 40);
  second.at(41, { km: 1035, kwh: 54.75 });
  second.idle(60);
  const drives = second.sessions("drive");
  assertEquals(drives.length, 1);
  assertEquals(drives[0].start_ms, (T0 + 5 * 60) * 1000, "started before the restart");
  assertEquals(drives[0].distance_km, 35);
  assertEquals(second.counter("ev.drives"), 1);
  second.tracker.close();
  second.store.close();

  // Restarted again: the counters resume from the stored sessions, nothing is closed twice.
  const third = rig({ stop_gap_s: 600, parked_min_s: 0 }, SessionStore.open(path));
  third.idle(120);
  assertEquals(third.counter("ev.drives"), 1);
  assertEquals(third.counter("ev.drive.distance"), 35_000);
  assertEquals(third.sessions("drive").length, 1);
  third.store.close();
});

Deno.test("store: a drive in progress survives kill -9 and is closed once, correctly", async () => {
  const path = await tempDb();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      new URL("./testdata/drive_child.ts", import.meta.url).pathname,
      path,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("minute 20\n")) {
    const { value, done } = await lines.read();
    assert(!done, `the child stopped early: ${seen}`);
    seen += value;
  }
  child.kill("SIGKILL");
  const status = await child.status;
  assertEquals(status.signal, "SIGKILL");
  await lines.cancel();
  // Whatever minute the child had reached when it died, the drive continues from there.
  const reached = Math.max(...[...seen.matchAll(/minute (\d+)/g)].map((m) => Number(m[1])));
  const r = rig({ stop_gap_s: 600, parked_min_s: 0 }, SessionStore.open(path));
  assertEquals(r.sessions("drive"), [], "not closed by the kill");
  drive(r, reached + 1, 40);
  r.at(41, { km: 1035, kwh: 54.75 });
  r.idle(60);
  const drives = r.sessions("drive");
  assertEquals(drives.length, 1);
  assertEquals(drives[0].start_ms, (T0 + 5 * 60) * 1000);
  assertEquals(drives[0].distance_km, 35);
  assertEquals(drives[0].energy_used_kwh, 5.25);
  r.store.close();
});
