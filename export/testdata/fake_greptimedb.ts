/**
 * A stand-in for GreptimeDB's HTTP SQL API as its documentation describes it (GreptimeDB
 * cannot run here): `POST /v1/sql?db=<db>` with a form field `sql`, Basic auth, answers
 * `{"output":[{"affectedrows":N}],"execution_time_ms":…}` or `{"code":…,"error":"…"}`.
 * It understands the two statements the sessions sender makes — CREATE TABLE IF NOT EXISTS
 * with TIME INDEX and PRIMARY KEY, and a multi-row INSERT — checks names and value types
 * against the table, and keeps one row per primary key and time index, the last one written
 * (GreptimeDB's default for a table that is not append-only).
 */

export interface FakeColumn {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
}

export interface FakeTable {
  readonly columns: FakeColumn[];
  readonly timeIndex: string;
  readonly primaryKey: string[];
  /** Rows by primary key values and time index. */
  readonly rows: Map<string, Record<string, string | number | null>>;
}

export interface FakeGreptime {
  readonly url: string;
  readonly tables: Map<string, FakeTable>;
  /** Statements received, in order (after auth). */
  readonly statements: string[];
  /** Answer 503 to everything while set. */
  down: boolean;
  /** Apply the next N inserts, then answer 500 as if the reply was lost. */
  applyThenFail: number;
  rows(table: string): Record<string, string | number | null>[];
  close(): Promise<void>;
}

export function startFakeGreptime(
  options: { database?: string; username?: string; password?: string } = {},
): FakeGreptime {
  const tables = new Map<string, FakeTable>();
  const statements: string[] = [];
  const error = (status: number, code: number, message: string) =>
    Response.json({ code, error: message, execution_time_ms: 0 }, { status });
  const state = { down: false, applyThenFail: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (state.down) return error(503, 1003, "service unavailable");
    if (req.method !== "POST" || url.pathname !== "/v1/sql") return error(404, 1001, "not found");
    if (options.username) {
      const want = `Basic ${btoa(`${options.username}:${options.password ?? ""}`)}`;
      if (req.headers.get("authorization") !== want) {
        return error(401, 7002, "User not found or password mismatch");
      }
    }
    const db = url.searchParams.get("db") ?? "public";
    if (db !== (options.database ?? "public")) return error(400, 4004, `Database not found: ${db}`);
    if (!req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")) {
      return error(400, 1004, "expected a form body with the field sql");
    }
    const sql = new URLSearchParams(await req.text()).get("sql");
    if (!sql) return error(400, 1004, "missing the form field sql");
    statements.push(sql);
    try {
      const affected = execute(tables, sql);
      if (state.applyThenFail > 0 && /^\s*INSERT/i.test(sql)) {
        state.applyThenFail--;
        return error(500, 1003, "connection reset after the write");
      }
      return Response.json({ output: [{ affectedrows: affected }], execution_time_ms: 1 });
    } catch (e) {
      return error(400, 1004, (e as Error).message);
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    tables,
    statements,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    get applyThenFail() {
      return state.applyThenFail;
    },
    set applyThenFail(n: number) {
      state.applyThenFail = n;
    },
    rows: (table) => [...(tables.get(table)?.rows.values() ?? [])],
    close: () => server.shutdown(),
  };
}

function execute(tables: Map<string, FakeTable>, sql: string): number {
  const create = /^\s*CREATE TABLE IF NOT EXISTS\s+(\w+)\s*\(([\s\S]*)\)\s*$/i.exec(sql);
  if (create) {
    const [, name, body] = create;
    if (tables.has(name)) return 0;
    const columns: FakeColumn[] = [];
    let timeIndex = "";
    let primaryKey: string[] = [];
    for (const part of body.split(/,(?![^(]*\))/).map((p) => p.trim())) {
      const ti = /^TIME INDEX\s*\((\w+)\)$/i.exec(part);
      const pk = /^PRIMARY KEY\s*\(([\w\s,]+)\)$/i.exec(part);
      const col = /^(\w+)\s+(STRING|DOUBLE|BIGINT|TIMESTAMP(?:\(\d\))?)(\s+NOT NULL)?$/i.exec(part);
      if (ti) timeIndex = ti[1];
      else if (pk) primaryKey = pk[1].split(",").map((s) => s.trim());
      else if (col) columns.push({ name: col[1], type: col[2].toUpperCase(), notNull: !!col[3] });
      else throw new Error(`cannot parse column definition: ${part}`);
    }
    const known = new Set(columns.map((c) => c.name));
    if (!known.has(timeIndex)) throw new Error("a table needs a TIME INDEX column");
    for (const k of primaryKey) if (!known.has(k)) throw new Error(`Column ${k} not found`);
    tables.set(name, { columns, timeIndex, primaryKey, rows: new Map() });
    return 0;
  }
  const insert = /^\s*INSERT INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*([\s\S]*)$/i.exec(sql);
  if (insert) {
    const [, name, cols, values] = insert;
    const table = tables.get(name);
    if (!table) throw new Error(`Table not found: greptime.public.${name}`);
    const names = cols.split(",").map((s) => s.trim());
    for (const n of names) {
      if (!table.columns.some((c) => c.name === n)) throw new Error(`Column ${n} not found`);
    }
    const tuples = parseTuples(values);
    for (const tuple of tuples) {
      if (tuple.length !== names.length) {
        throw new Error(`expected ${names.length} values, got ${tuple.length}`);
      }
      const row: Record<string, string | number | null> = {};
      for (const c of table.columns) {
        const i = names.indexOf(c.name);
        const v = i < 0 ? null : tuple[i];
        if (v === null && (c.notNull || c.name === table.timeIndex)) {
          throw new Error(`Column ${c.name} is not nullable`);
        }
        if (v !== null && (c.type === "STRING") !== (typeof v === "string")) {
          throw new Error(`Invalid value for column ${c.name} of type ${c.type}: ${v}`);
        }
        if (v !== null && c.type === "BIGINT" && !Number.isInteger(v)) {
          throw new Error(`Invalid value for column ${c.name} of type BIGINT: ${v}`);
        }
        row[c.name] = v;
      }
      const key = JSON.stringify([...table.primaryKey.map((k) => row[k]), row[table.timeIndex]]);
      table.rows.set(key, row);
    }
    return tuples.length;
  }
  throw new Error(`unsupported statement: ${sql.slice(0, 40)}`);
}

/** `(v, v, …), (…)` with 'strings' ('' escapes), numbers and NULL. */
function parseTuples(text: string): (string | number | null)[][] {
  const out: (string | number | null)[][] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && /[\s,]/.test(text[i])) i++;
  };
  for (skip(); i < text.length; skip()) {
    if (text[i] !== "(") throw new Error(`syntax error at ${i}: expected (`);
    i++;
    const tuple: (string | number | null)[] = [];
    for (;;) {
      while (/\s/.test(text[i])) i++;
      if (text[i] === "'") {
        let s = "";
        for (i++;; i++) {
          if (i >= text.length) throw new Error("unterminated string");
          if (text[i] === "'" && text[i + 1] === "'") {
            s += "'";
            i++;
          } else if (text[i] === "'") break;
          else s += text[i];
        }
        i++;
        tuple.push(s);
      } else if (/^NULL\b/i.test(text.slice(i, i + 5))) {
        i += 4;
        tuple.push(null);
      } else {
        const m = /^-?\d+(\.\d+)?/.exec(text.slice(i));
        if (!m) throw new Error(`syntax error at ${i}: ${text.slice(i, i + 20)}`);
        tuple.push(Number(m[0]));
        i += m[0].length;
      }
      while (/\s/.test(text[i])) i++;
      if (text[i] === ",") i++;
      else if (text[i] === ")") {
        i++;
        break;
      } else throw new Error(`syntax error at ${i}: expected , or )`);
    }
    out.push(tuple);
  }
  return out;
}
