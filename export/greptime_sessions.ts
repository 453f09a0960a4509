/**
 * Finished sessions into GreptimeDB, one row per session, over its HTTP SQL API
 * (`POST /v1/sql?db=`, form field `sql`): a table created up front with typed columns, the
 * session's own start as time index and (provider, vin, kind) as primary key. A row sent twice
 * has the same key and time, so GreptimeDB keeps one (its default merge mode, last row wins).
 *
 * Not OTLP logs: those would store the arrival time as time index, fix each column's type from
 * the first value seen (12 after 12.5 changes type) and append a re-sent session a second time.
 *
 * The queue is the SQLite store itself: a session is sent until GreptimeDB confirms it, then
 * marked delivered; while GreptimeDB is away nothing is lost, and a retry that repeats an
 * insert GreptimeDB had already applied stores nothing twice.
 */
import type { Logger } from "../core/log.ts";
import { registerSecret } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { type Session, SESSION_COLUMNS, TEXT_COLUMNS } from "../core/sessions/session.ts";
import { vinTails } from "../core/snapshot.ts";

export const SESSIONS_TABLE = "ev_sessions";
/** The delivery mark in the store. */
export const BACKEND = "greptimedb";

/** What the sender needs of the store: the queue. */
export interface SessionQueue {
  unsent(backend: string, limit?: number): Session[];
  markSent(backend: string, ids: readonly string[], nowMs: number): void;
}

export interface GreptimeSessionsOptions {
  readonly url: string;
  readonly database: string;
  readonly username?: string;
  readonly password?: string;
  readonly queue: SessionQueue;
  readonly log: Logger;
  readonly readings?: Readings;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Rows per INSERT. */
  readonly batch?: number;
  readonly timeoutMs?: number;
}

/** Column types: text STRING, Unix ms TIMESTAMP (milliseconds), counts BIGINT, else DOUBLE. */
function columnType(c: (typeof SESSION_COLUMNS)[number]): string {
  if (TEXT_COLUMNS.has(c)) return "STRING";
  if (c === "duration_s" || c === "readings") return "BIGINT";
  return "DOUBLE";
}

/** start_ms and end_ms are stored as timestamps named start_time and end_time. */
const column = (c: string) => c === "start_ms" ? "start_time" : c === "end_ms" ? "end_time" : c;

export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${SESSIONS_TABLE} (\n` +
  SESSION_COLUMNS.map((c) =>
    `  ${column(c)} ${
      c === "start_ms" ? "TIMESTAMP(3) NOT NULL" : c === "end_ms" ? "TIMESTAMP(3)" : columnType(c)
    }`
  ).join(",\n") +
  ",\n  TIME INDEX (start_time),\n  PRIMARY KEY (provider, vin, kind)\n)";

/** A SQL literal: strings quoted ('' inside), numbers without exponent, NULL. */
function literal(v: string | number | null): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return `'${v.replaceAll("'", "''")}'`;
  if (!Number.isFinite(v)) return "NULL";
  const s = String(v);
  return /e/i.test(s) ? v.toFixed(12).replace(/\.?0+$/, "") : s;
}

export function insertStatement(sessions: readonly Session[]): string {
  const rows = sessions.map((s) =>
    `(${
      SESSION_COLUMNS.map((c) => {
        const v = s[c];
        // Whole numbers into DOUBLE columns stay doubles: GreptimeDB casts the literal.
        return literal(v as string | number | null);
      }).join(", ")
    })`
  );
  return `INSERT INTO ${SESSIONS_TABLE} (${SESSION_COLUMNS.map(column).join(", ")}) VALUES\n` +
    rows.join(",\n");
}

export class GreptimeSessions {
  readonly #o: GreptimeSessionsOptions;
  readonly #endpoint: string;
  readonly #headers: Record<string, string>;
  #tableReady = false;
  #running?: Promise<void>;

  constructor(options: GreptimeSessionsOptions) {
    this.#o = options;
    const base = options.url.replace(/\/+$/, "");
    this.#endpoint = `${base}/v1/sql?db=${encodeURIComponent(options.database || "public")}`;
    this.#headers = { "content-type": "application/x-www-form-urlencoded" };
    if (options.username) {
      registerSecret(options.password);
      const credentials = `${options.username}:${options.password ?? ""}`;
      const bytes = new TextEncoder().encode(credentials);
      const basic = btoa(String.fromCharCode(...bytes));
      registerSecret(basic);
      this.#headers.authorization = `Basic ${basic}`;
    }
  }

  /**
   * Sends every queued session, batch by batch, until the queue is empty or GreptimeDB fails
   * (then the rest waits for the next call). Calls while one runs share it. Never throws.
   */
  flush(): Promise<void> {
    this.#running ??= this.#drain().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #drain(): Promise<void> {
    const { queue, log } = this.#o;
    const batch = this.#o.batch ?? 200;
    try {
      if (!this.#tableReady) {
        await this.#sql(CREATE_TABLE);
        this.#tableReady = true;
      }
      for (;;) {
        const sessions = queue.unsent(BACKEND, batch);
        if (!sessions.length) return;
        await this.#sql(insertStatement(sessions));
        queue.markSent(BACKEND, sessions.map((s) => s.id), (this.#o.now ?? Date.now)());
        this.#count("ok");
        log.debug("sessions sent to GreptimeDB", { sessions: sessions.length });
        if (sessions.length < batch) return;
      }
    } catch (err) {
      this.#count("error");
      log.warn("GreptimeDB did not take the sessions; they stay queued", {
        error: (err as Error).message,
        queued: queue.unsent(BACKEND, 10_000).length,
      });
    }
  }

  #count(result: "ok" | "error"): void {
    this.#o.readings?.count("ev.export.requests", { backend: "greptimedb_sql", result });
  }

  async #sql(statement: string): Promise<void> {
    const res = await (this.#o.fetch ?? fetch)(this.#endpoint, {
      method: "POST",
      headers: this.#headers,
      body: new URLSearchParams({ sql: statement }),
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let body: { error?: string; code?: number } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // A proxy's HTML page: the status says enough.
    }
    if (!res.ok || body.error) {
      // GreptimeDB may quote a rejected value: a VIN goes into the log as its tail only.
      const reason = vinTails(body.error ?? text.slice(0, 200));
      throw new Error(
        `HTTP ${res.status}${body.code !== undefined ? ` code ${body.code}` : ""}: ${reason}`,
      );
    }
  }
}
