/**
 * Sessions into GreptimeDB over its HTTP SQL API, tested against a fake that follows the API's
 * documentation (GreptimeDB cannot run here): every field arrives typed, nothing is lost while
 * the backend is away, and nothing is stored twice when a send is repeated.
 */
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { type Session, SESSION_COLUMNS, TEXT_COLUMNS } from "../core/sessions/session.ts";
import { SessionStore } from "../core/sessions/store.ts";
import { assert, assertEquals } from "../core/testing.ts";
import { BACKEND, GreptimeSessions, SESSIONS_TABLE } from "./greptime_sessions.ts";
import { startFakeGreptime } from "./testdata/fake_greptimedb.ts";

/** A session with every column set (text with a quote and a comma; whole and broken numbers). */
function full(i: number): Session {
  const row = Object.fromEntries(SESSION_COLUMNS.map((c, k) => [
    c,
    TEXT_COLUMNS.has(c)
      ? `${c} ${i}, it's`
      : c === "duration_s" || c === "readings"
      ? 60 + i
      : k + i / 4,
  ]));
  return {
    ...row,
    id: `drive-tesla-VIN${i}-${1_773_127_300_000 + i}`,
    kind: i % 2 ? "charge" : "drive",
    provider: "tesla",
    vin: `VIN${i}`,
    start_ms: 1_773_127_300_000 + i * 60_000,
    end_ms: 1_773_129_400_000 + i * 60_000,
    distance_km: i === 0 ? 12 : 12.5,
  } as unknown as Session;
}

function setup(n: number, auth = false) {
  const store = SessionStore.open(":memory:");
  const sessions = Array.from({ length: n }, (_, i) => full(i));
  store.commit("tesla/x", {}, sessions, 0);
  const fake = startFakeGreptime(
    auth ? { database: "ev", username: "ev", password: "s3cret-pw" } : {},
  );
  const lines: string[] = [];
  const readings = new Readings();
  const sender = new GreptimeSessions({
    url: fake.url,
    database: auth ? "ev" : "public",
    username: auth ? "ev" : undefined,
    password: auth ? "s3cret-pw" : undefined,
    queue: store,
    readings,
    log: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    batch: 3,
  });
  return { store, sessions, fake, sender, lines, readings };
}

const stored = (row: Record<string, unknown>) =>
  Object.fromEntries(SESSION_COLUMNS.map((c) => [
    c,
    row[c === "start_ms" ? "start_time" : c === "end_ms" ? "end_time" : c],
  ]));

Deno.test("GreptimeDB: every session field lands in its typed column, one row per session", async () => {
  const { fake, sender, sessions, store } = setup(7, true);
  try {
    await sender.flush();
    const rows = fake.rows(SESSIONS_TABLE).map(stored).sort((a, b) =>
      String(a.id).localeCompare(String(b.id))
    );
    assertEquals(rows, sessions.map((s) => ({ ...s })).sort((a, b) => a.id.localeCompare(b.id)));
    const table = fake.tables.get(SESSIONS_TABLE)!;
    assertEquals(table.timeIndex, "start_time");
    assertEquals(table.primaryKey, ["provider", "vin", "kind"]);
    assertEquals(table.columns.find((c) => c.name === "distance_km")?.type, "DOUBLE");
    assertEquals(table.columns.find((c) => c.name === "start_time")?.type, "TIMESTAMP(3)");
    assertEquals(store.unsent(BACKEND), []);
    assert(fake.statements[0].startsWith("CREATE TABLE IF NOT EXISTS ev_sessions"));
    assertEquals(fake.statements.length, 1 + 3, "7 sessions in batches of 3");
  } finally {
    await fake.close();
  }
});

Deno.test("GreptimeDB: sessions wait while it is down and all arrive once it is back", async () => {
  const { fake, sender, store, readings, lines } = setup(4);
  try {
    fake.down = true;
    await sender.flush();
    assertEquals(fake.rows(SESSIONS_TABLE).length, 0);
    assertEquals(store.unsent(BACKEND).length, 4, "still queued");
    assertEquals(
      readings.counterValue("ev.export.requests", { backend: "greptimedb_sql", result: "error" }),
      1,
    );
    assert(lines.some((l) => l.includes("stay queued") && l.includes("queued=4")));
    fake.down = false;
    await sender.flush();
    assertEquals(fake.rows(SESSIONS_TABLE).length, 4);
    assertEquals(store.unsent(BACKEND), []);
  } finally {
    await fake.close();
  }
});

Deno.test("GreptimeDB: a send repeated after a lost reply stores nothing twice", async () => {
  const { fake, sender, store } = setup(2);
  try {
    fake.applyThenFail = 1; // GreptimeDB wrote the rows, the reply never came
    await sender.flush();
    assertEquals(fake.rows(SESSIONS_TABLE).length, 2);
    assertEquals(store.unsent(BACKEND).length, 2, "not confirmed, so still queued");
    await sender.flush();
    const inserts = fake.statements.filter((s) => s.startsWith("INSERT"));
    assertEquals(inserts.length, 2, "sent twice");
    assertEquals(fake.rows(SESSIONS_TABLE).length, 2, "stored once");
    assertEquals(store.unsent(BACKEND), []);
  } finally {
    await fake.close();
  }
});

Deno.test("GreptimeDB: a refused statement keeps the sessions queued; the password never logged", async () => {
  const { fake, store, lines } = setup(1, true);
  const wrong = new GreptimeSessions({
    url: fake.url,
    database: "ev",
    username: "ev",
    password: "wrong-password-1",
    queue: store,
    log: createLogger({ level: "debug", write: (l) => lines.push(l) }),
  });
  try {
    await wrong.flush();
    assertEquals(store.unsent(BACKEND).length, 1);
    assert(lines.some((l) => l.includes("HTTP 401") && l.includes("password mismatch")));
    assert(!lines.some((l) => l.includes("wrong-password-1")), "no password in the log");
    // A statement GreptimeDB rejects quoting a VIN: the log keeps its tail only.
    fake.tables.clear();
    const vin = "5YJ3E1EA9PF000001";
    // A VIN where a number belongs (as a mix-up would put it): GreptimeDB quotes the value.
    const bad = { ...full(9), id: "drive-tesla-x-1", distance_km: vin } as unknown as Session;
    store.commit("tesla/x", {}, [bad], 0);
    const right = new GreptimeSessions({
      url: fake.url,
      database: "ev",
      username: "ev",
      password: "s3cret-pw",
      queue: store,
      log: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    });
    await right.flush();
    assert(lines.some((l) => l.includes("DOUBLE") && l.includes("…000001")), lines.join("\n"));
    assert(!lines.some((l) => l.includes(vin)), "no VIN in the log");
  } finally {
    await fake.close();
  }
});
