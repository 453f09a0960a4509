/**
 * The "Sessions (GreptimeDB)" dashboard: its SQL names the table and columns the sessions
 * sender creates, and every panel's query returns rows. GreptimeDB cannot run here, so the
 * queries (plain SELECT/WHERE/ORDER BY) run on SQLite, loaded by the sender's own INSERT, over
 * sessions found in the replayed Tesla stress days.
 */
import { DatabaseSync } from "node:sqlite";
import { parse as parseYaml } from "yaml";
import { SESSION_COLUMNS, TEXT_COLUMNS } from "../../core/sessions/session.ts";
import { assert, assertEquals } from "../../core/testing.ts";
import { insertStatement, SESSIONS_TABLE } from "../../export/greptime_sessions.ts";
import { findSessions, SCENARIOS } from "../../bench/sessions.ts";
import { SQL_PANELS, sqlDashboardJson, sqlQueries, T } from "./sessions_sql_dashboard.ts";

const column = (c: string) => c === "start_ms" ? "start_time" : c === "end_ms" ? "end_time" : c;

Deno.test("sessions SQL dashboard: the sender's table, and rows in every panel", async () => {
  assertEquals(T, SESSIONS_TABLE);
  const sessions = await findSessions(SCENARIOS.find((s) => s.name === "tesla/stress")!);
  const db = new DatabaseSync(":memory:");
  db.exec(
    `CREATE TABLE ${T} (${
      SESSION_COLUMNS.map((c) => `${column(c)} ${TEXT_COLUMNS.has(c) ? "TEXT" : "REAL"}`).join(", ")
    })`,
  );
  db.exec(insertStatement(sessions));
  const from = Math.min(...sessions.map((s) => s.start_ms));
  const to = Math.max(...sessions.map((s) => s.end_ms));
  const vins = [...new Set(sessions.map((s) => `'${s.vin}'`))].join(", ");
  /** The rows of a query with Grafana's macros and variables filled in. */
  const rows = (query: string, units: 0 | 1) => {
    const sql = query.replace("$__timeFilter(start_time)", `start_time BETWEEN ${from} AND ${to}`)
      .replace("$vin", vins).replace("$units", String(units));
    assert(!sql.includes("$"), `a macro left: ${sql}`);
    return db.prepare(sql).all();
  };
  let twins = 0;
  for (const p of SQL_PANELS) {
    const queries = sqlQueries(p);
    const metric = rows(queries[0], 0);
    assert(metric.length > 0, `${p.title}: no rows`);
    if (p.type === "timeseries") {
      assertEquals(Object.keys(metric[0]).sort(), ["metric", "time", "value"], p.title);
    }
    if (queries.length === 1) continue;
    // With $units, exactly one of the twins answers, the imperial one converted.
    twins++;
    assertEquals([rows(queries[0], 1).length, rows(queries[1], 0).length], [0, 0], p.title);
    const imperial = rows(queries[1], 1) as { value: number }[];
    assertEquals(imperial.length, metric.length, p.title);
    const ratio = imperial[0].value / (metric[0] as { value: number }).value;
    assert(Math.abs(ratio - 1.609344) < 1e-9, `${p.title}: imperial / metric = ${ratio}`);
  }
  assert(twins >= 1, "the consumption chart has an imperial twin");
  db.close();
});

Deno.test("sessions SQL dashboard: its data source is the provisioned GreptimeDB MySQL one", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const ds = parseYaml(
    await Deno.readTextFile(`${root}deploy/grafana/provisioning/datasources/ev-observer.yaml`),
  ) as { datasources: { uid: string; type: string; url: string }[] };
  const sql = ds.datasources.find((d) => d.uid === "greptimedb-sql");
  assertEquals([sql?.type, sql?.url], ["mysql", "greptimedb:4002"]);
  const dash = sqlDashboardJson() as {
    templating: { list: { current: { value: string } }[] };
  };
  assertEquals(dash.templating.list[0].current.value, "greptimedb-sql");
});
