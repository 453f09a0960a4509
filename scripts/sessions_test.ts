/** `deno task sessions`: the stored sessions as a table, CSV that reads back, JSON; filters. */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { parseSessionsCsv } from "../core/sessions/csv.ts";
import { type Session, SESSION_COLUMNS } from "../core/sessions/session.ts";
import { SessionStore } from "../core/sessions/store.ts";
import { taskArgs } from "./testing_task.ts";

const root = new URL("../", import.meta.url).pathname;
const T = Date.UTC(2026, 2, 10, 7, 35);

function session(kind: Session["kind"], vin: string, startMs: number, extra: Partial<Session>) {
  const blank = Object.fromEntries(SESSION_COLUMNS.map((c) => [c, null]));
  return {
    ...blank,
    id: `${kind}-tesla-${vin}-${startMs}`,
    kind,
    provider: "tesla",
    vin,
    start_ms: startMs,
    end_ms: startMs + 1_800_000,
    duration_s: 1800,
    readings: 30,
    ...extra,
  } as Session;
}

const SESSIONS = [
  session("drive", "5YJ3E1EA9PF000001", T, {
    distance_km: 50.201,
    energy_used_kwh: 6.411,
    energy_method: "vendor",
    efficiency_wh_per_km: 127.7,
    soc_start_pct: 56.42,
    soc_end_pct: 48.2,
    // Commas, quotes and a line break must survive CSV.
    start_place: 'Home, "the" garage',
    end_place: "Work\nnorth gate",
  }),
  session("charge", "5YJ3E1EA9PF000001", T + 11 * 3_600_000, {
    energy_added_kwh: 31.2,
    energy_drawn_kwh: 37.217,
    charger_type: "ac",
    cost: 7.8,
    currency: "EUR",
  }),
  session("drive", "YV1XZEFV8R2000001", T + 86_400_000, { distance_km: 38.4 }),
];

/** A database under ./state, where the task may read and write. */
async function database(): Promise<string> {
  await Deno.mkdir(`${root}state`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${root}state`, prefix: "test-sessions-cli-" });
  const path = `${dir}/sessions.db`;
  const store = SessionStore.open(path);
  store.commit("tesla/x", {}, SESSIONS, Date.now());
  store.close();
  return path;
}

const cleanup = (db: string) => Deno.remove(db.replace(/\/sessions\.db$/, ""), { recursive: true });

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("sessions"), ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("sessions --csv round-trips every column; --json too", async () => {
  const db = await database();
  const csv = await run("--db", db, "--csv");
  assertEquals(csv.code, 0, csv.stderr);
  assertEquals(parseSessionsCsv(csv.stdout), SESSIONS);
  const json = await run("--db", db, "--json");
  assertEquals(JSON.parse(json.stdout), SESSIONS);
  await cleanup(db);
});

Deno.test("sessions: the table, and filters by car, kind and day", async () => {
  const db = await database();
  const table = await run("--db", db);
  assertEquals(table.code, 0, table.stderr);
  assertStringIncludes(table.stdout, "2026-03-10 07:35  drive");
  assertStringIncludes(table.stdout, "charge ac");
  assertStringIncludes(table.stdout, "7.80 EUR");
  assert(!table.stdout.includes("5YJ3E1EA9PF000001"), "the table shows the VIN's tail only");
  const volvo = await run("--db", db, "--car", "000001", "--kind", "drive", "--json");
  assertEquals(JSON.parse(volvo.stdout).length, 2, "both cars' VINs end in 000001");
  const one = await run("--db", db, "--car", "YV1XZEFV8R2000001", "--json");
  assertEquals(JSON.parse(one.stdout).map((s: Session) => s.distance_km), [38.4]);
  const day = await run("--db", db, "--from", "2026-03-10", "--to", "2026-03-10", "--json");
  assertEquals(JSON.parse(day.stdout).map((s: Session) => s.kind), ["drive", "charge"]);
  const last = await run("--db", db, "--last", "1", "--json");
  assertEquals(JSON.parse(last.stdout).map((s: Session) => s.vin), ["YV1XZEFV8R2000001"]);
  await cleanup(db);
});

Deno.test("sessions: bad options and a missing database say what to do, no stack trace", async () => {
  const db = await database();
  const kind = await run("--db", db, "--kind", "flight");
  assertEquals(kind.code, 2);
  assertStringIncludes(kind.stderr, "--kind: expected one of drive, charge, parked");
  const from = await run("--db", db, "--from", "10/03/2026");
  assertStringIncludes(from.stderr, "--from: expected a date such as 2026-03-10");
  const missing = await run("--db", `${db}.nowhere`);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "no sessions database at");
  assertStringIncludes(missing.stderr, "deno task poll");
  for (const r of [kind, from, missing]) assert(!r.stderr.includes("    at "), r.stderr);
  await cleanup(db);
});
