/**
 * Sessions kept in SQLite (Deno's built-in `node:sqlite`, state_dir/sessions.db): finished
 * sessions, each vehicle's detector state (so a session in progress survives a restart or a
 * kill), and which sessions each export backend has already received. One transaction per
 * reading writes the state and the sessions it closed together, so a crash can neither lose
 * a closed session nor close it twice. The schema carries its version (PRAGMA user_version);
 * MIGRATIONS bring an older file up to date.
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Track } from "./detector.ts";
import { type Session, SESSION_COLUMNS, type SessionKind, TEXT_COLUMNS } from "./session.ts";

/** Schema changes in order; entry i brings a file from version i to i + 1. Never edit one. */
export const MIGRATIONS: readonly string[] = [
  // 1: finished sessions and each vehicle's detector state.
  `CREATE TABLE sessions (${
    SESSION_COLUMNS.map((c) =>
      c === "id"
        ? "id TEXT PRIMARY KEY"
        : `${c} ${TEXT_COLUMNS.has(c) ? "TEXT" : c.endsWith("_ms") ? "INTEGER" : "REAL"}${
          ["kind", "provider", "vin", "start_ms", "end_ms"].includes(c) ? " NOT NULL" : ""
        }`
    ).join(", ")
  });
   CREATE INDEX sessions_by_vehicle ON sessions (provider, vin, start_ms);
   CREATE TABLE tracks (vehicle TEXT PRIMARY KEY, state TEXT NOT NULL, updated_ms INTEGER NOT NULL);`,
  // 2: what each export backend has received (a session not listed is still to be sent).
  `CREATE TABLE deliveries (backend TEXT NOT NULL, id TEXT NOT NULL, sent_ms INTEGER NOT NULL,
     PRIMARY KEY (backend, id));`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export interface SessionFilter {
  readonly kind?: SessionKind;
  /** Matches the whole VIN or its end (the status page and logs show the last six). */
  readonly vin?: string;
  readonly provider?: string;
  /** Sessions starting at or after, Unix ms. */
  readonly fromMs?: number;
  /** Sessions starting before, Unix ms. */
  readonly toMs?: number;
  /** The newest N (still listed oldest first). */
  readonly last?: number;
}

/** Lifetime sums per vehicle, the starting values of the Prometheus counters. */
export interface VehicleTotals {
  readonly provider: string;
  readonly vin: string;
  readonly kind: SessionKind;
  readonly charger_type: string | null;
  readonly currency: string | null;
  readonly count: number;
  readonly distance_km: number;
  readonly duration_s: number;
  readonly energy_used_kwh: number;
  readonly energy_added_kwh: number;
  readonly energy_drawn_kwh: number;
  readonly energy_lost_kwh: number;
  readonly cost: number;
}

export class SessionStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionStoreError";
  }
}

export class SessionStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (or creates) the database at `path` and migrates it; ":memory:" for tests. */
  static open(path: string): SessionStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      throw new SessionStoreError(
        `cannot open the sessions database ${path}: ${(err as Error).message} — check that ` +
          `state_dir exists and is writable`,
      );
    }
    // WAL: `deno task sessions` can read while the exporter writes; a killed process loses
    // nothing that was committed.
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    const store = new SessionStore(db);
    store.#migrate(path);
    return store;
  }

  get version(): number {
    return Number(
      (this.#db.prepare("PRAGMA user_version").get() as { user_version: number })
        .user_version,
    );
  }

  #migrate(path: string): void {
    const from = this.version;
    if (from > SCHEMA_VERSION) {
      throw new SessionStoreError(
        `${path} has schema version ${from}, newer than this ev-observer knows ` +
          `(${SCHEMA_VERSION}): upgrade ev-observer, or point state_dir elsewhere`,
      );
    }
    for (let v = from; v < SCHEMA_VERSION; v++) {
      this.#transaction(() => {
        this.#db.exec(MIGRATIONS[v]);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  #transaction<T>(f: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = f();
      this.#db.exec("COMMIT");
      return out;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** Every vehicle's detector state, by vehicle key. */
  loadTracks(): Map<string, Track> {
    const rows = this.#db.prepare("SELECT vehicle, state FROM tracks").all() as {
      vehicle: string;
      state: string;
    }[];
    return new Map(rows.map((r) => [r.vehicle, JSON.parse(r.state) as Track]));
  }

  /**
   * One vehicle's state after a reading, and the sessions it finished, atomically. A session
   * already stored (same id) is left as it is: closed once.
   */
  commit(vehicle: string, track: Track, finished: readonly Session[], nowMs: number): Session[] {
    return this.#transaction(() => {
      this.#db.prepare(
        "INSERT INTO tracks (vehicle, state, updated_ms) VALUES (?, ?, ?) " +
          "ON CONFLICT (vehicle) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
      ).run(vehicle, JSON.stringify(track), nowMs);
      const insert = this.#db.prepare(
        `INSERT OR IGNORE INTO sessions (${SESSION_COLUMNS.join(", ")}) VALUES (${
          SESSION_COLUMNS.map(() => "?").join(", ")
        })`,
      );
      return finished.filter((s) =>
        Number(insert.run(...SESSION_COLUMNS.map((c) => s[c] as SQLInputValue)).changes) > 0
      );
    });
  }

  list(filter: SessionFilter = {}): Session[] {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    const add = (sql: string, ...values: SQLInputValue[]) => {
      where.push(sql);
      args.push(...values);
    };
    if (filter.kind) add("kind = ?", filter.kind);
    if (filter.provider) add("provider = ?", filter.provider);
    if (filter.vin) {
      add("(vin = ? OR substr(vin, -length(?)) = ?)", filter.vin, filter.vin, filter.vin);
    }
    if (filter.fromMs !== undefined) add("start_ms >= ?", filter.fromMs);
    if (filter.toMs !== undefined) add("start_ms < ?", filter.toMs);
    const sql = `SELECT ${SESSION_COLUMNS.join(", ")} FROM sessions` +
      (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
      (filter.last ? ` ORDER BY start_ms DESC, id DESC LIMIT ${Math.floor(filter.last)}` : "");
    const rows = (this.#db.prepare(sql).all(...args) as unknown as Session[]).map(plain);
    return rows.sort((a, b) => a.start_ms - b.start_ms || a.id.localeCompare(b.id));
  }

  totals(): VehicleTotals[] {
    return this.#db.prepare(
      `SELECT provider, vin, kind, charger_type, currency, count(*) AS count,
         coalesce(sum(distance_km), 0) AS distance_km, coalesce(sum(duration_s), 0) AS duration_s,
         coalesce(sum(max(energy_used_kwh, 0)), 0) AS energy_used_kwh,
         coalesce(sum(max(energy_added_kwh, 0)), 0) AS energy_added_kwh,
         coalesce(sum(max(energy_drawn_kwh, 0)), 0) AS energy_drawn_kwh,
         coalesce(sum(max(energy_lost_kwh, 0)), 0) AS energy_lost_kwh,
         coalesce(sum(cost), 0) AS cost
       FROM sessions GROUP BY provider, vin, kind, charger_type, currency`,
    ).all().map(plain) as unknown as VehicleTotals[];
  }

  /** The vehicle's newest capacity estimates (kWh), newest first. */
  capacityEstimates(provider: string, vin: string, n: number): number[] {
    return (this.#db.prepare(
      `SELECT capacity_estimate_kwh AS kwh FROM sessions WHERE provider = ? AND vin = ?
         AND capacity_estimate_kwh IS NOT NULL ORDER BY start_ms DESC LIMIT ?`,
    ).all(provider, vin, n) as { kwh: number }[]).map((r) => r.kwh);
  }

  /** What the vehicle's priced charges cost per kWh on average (drawn energy, else added). */
  pricePerKwh(provider: string, vin: string): number | undefined {
    const row = this.#db.prepare(
      `SELECT sum(cost) AS cost, sum(coalesce(energy_drawn_kwh, energy_added_kwh)) AS kwh
         FROM sessions WHERE provider = ? AND vin = ? AND kind = 'charge' AND cost IS NOT NULL`,
    ).get(provider, vin) as { cost: number | null; kwh: number | null };
    return row.cost !== null && row.kwh ? row.cost / row.kwh : undefined;
  }

  /** Finished sessions `backend` has not received yet, oldest first. */
  unsent(backend: string, limit = 500): Session[] {
    return (this.#db.prepare(
      `SELECT ${SESSION_COLUMNS.map((c) => `s.${c}`).join(", ")} FROM sessions s
         LEFT JOIN deliveries d ON d.backend = ? AND d.id = s.id
         WHERE d.id IS NULL ORDER BY s.start_ms, s.id LIMIT ?`,
    ).all(backend, limit) as unknown as Session[]).map(plain);
  }

  markSent(backend: string, ids: readonly string[], nowMs: number): void {
    this.#transaction(() => {
      const mark = this.#db.prepare(
        "INSERT OR IGNORE INTO deliveries (backend, id, sent_ms) VALUES (?, ?, ?)",
      );
      for (const id of ids) mark.run(backend, id, nowMs);
    });
  }

  close(): void {
    this.#db.close();
  }
}

/** node:sqlite rows have a null prototype; plain objects compare and print as usual. */
function plain<T>(row: T): T {
  return { ...row } as T;
}
