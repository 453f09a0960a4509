/**
 * "EV · Sessions (GreptimeDB)": one row per drive, charge and parked period from the table the
 * sessions sender fills (export/greptime_sessions.ts), over GreptimeDB's MySQL protocol
 * (Grafana's MySQL data source, raw SQL: GreptimeDB's docs say the SQL builder does not work).
 * Queries keep to plain SELECT/WHERE/ORDER BY so a test can run them on SQLite too. The tables
 * show the stored columns, named with their units (distance_km); a chart in km or Wh/km has an
 * imperial twin switched by `$units`, as on the PromQL dashboards.
 */
import { UNITS_VARIABLE } from "./spec.ts";

export interface SqlPanel {
  readonly title: string;
  readonly type: "table" | "timeseries" | "stat";
  readonly sql: string;
  readonly w: number;
  readonly h: number;
  readonly unit?: string;
  readonly description?: string;
  /** The query converted for `$units` imperial, and Grafana's unit for it. */
  readonly imperial?: { readonly unit: string; readonly sql: string };
}

/** The table export/greptime_sessions.ts creates (a test checks the two agree). */
export const T = "ev_sessions";
/** Grafana's macros: the dashboard's time range and the chosen cars. */
const WHERE = `$__timeFilter(start_time) AND vin IN ($vin)`;

/** Wh per km (or per mile, given the conversion) of each drive, as a time series. */
function consumption(value: string): string {
  return `SELECT start_time AS time, vin AS metric, ${value} AS value FROM ${T} ` +
    `WHERE kind = 'drive' AND efficiency_wh_per_km IS NOT NULL AND ${WHERE} ` +
    `ORDER BY start_time`;
}

export const SQL_PANELS: readonly SqlPanel[] = [
  {
    title: "Drives",
    type: "table",
    w: 24,
    h: 9,
    sql: `SELECT start_time, end_time, vin, distance_km, duration_s, energy_used_kwh, ` +
      `energy_method, efficiency_wh_per_km, speed_avg_kmh, speed_max_kmh, soc_start_pct, ` +
      `soc_end_pct, outside_temp_avg_c, start_place, end_place, cost, currency FROM ${T} ` +
      `WHERE kind = 'drive' AND ${WHERE} ORDER BY start_time DESC`,
  },
  {
    title: "Charges",
    type: "table",
    w: 24,
    h: 9,
    sql: `SELECT start_time, end_time, vin, charger_type, energy_added_kwh, energy_drawn_kwh, ` +
      `energy_method, power_max_kw, power_avg_kw, soc_start_pct, soc_end_pct, cost, currency, ` +
      `start_place, capacity_estimate_kwh FROM ${T} WHERE kind = 'charge' AND ${WHERE} ` +
      `ORDER BY start_time DESC`,
  },
  {
    title: "Consumption per drive",
    type: "timeseries",
    w: 12,
    h: 8,
    unit: "suffix: Wh/km",
    sql: consumption("efficiency_wh_per_km"),
    imperial: { unit: "suffix: Wh/mi", sql: consumption("efficiency_wh_per_km * 1.609344") },
  },
  {
    title: "Usable capacity per charge",
    type: "timeseries",
    w: 12,
    h: 8,
    unit: "kwatth",
    description: "Energy added ÷ state of charge added, for each charge long enough to tell.",
    sql: `SELECT start_time AS time, vin AS metric, capacity_estimate_kwh AS value FROM ${T} ` +
      `WHERE kind = 'charge' AND capacity_estimate_kwh IS NOT NULL AND ${WHERE} ` +
      `ORDER BY start_time`,
  },
  {
    title: "Vampire drain per parked period",
    type: "table",
    w: 24,
    h: 8,
    sql: `SELECT start_time, end_time, vin, duration_s, soc_lost_pct, range_lost_km, ` +
      `energy_lost_kwh, drain_avg_w, energy_method, start_place FROM ${T} ` +
      `WHERE kind = 'parked' AND ${WHERE} ORDER BY start_time DESC`,
  },
];

const DS = { type: "mysql", uid: "${sql}" };

/**
 * A panel's queries: its own, or with an imperial twin each gated by `$units` (only one
 * returns rows).
 */
export function sqlQueries(p: SqlPanel): string[] {
  if (!p.imperial) return [p.sql];
  const gated = (sql: string, choice: 0 | 1) =>
    sql.replace(" ORDER BY ", ` AND $units = ${choice} ORDER BY `);
  return [gated(p.sql, 0), gated(p.imperial.sql, 1)];
}

export function sqlDashboardJson(): Record<string, unknown> {
  let x = 0, y = 0, rowH = 0;
  const panels = SQL_PANELS.map((p, i) => {
    if (x + p.w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const gridPos = { x, y, w: p.w, h: p.h };
    x += p.w;
    rowH = Math.max(rowH, p.h);
    return {
      id: i + 1,
      type: p.type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: DS,
      gridPos,
      targets: sqlQueries(p).map((sql, n) => ({
        datasource: DS,
        refId: String.fromCharCode(65 + n),
        editorMode: "code",
        rawQuery: true,
        rawSql: sql,
        format: p.type === "timeseries" ? "time_series" : "table",
      })),
      fieldConfig: {
        defaults: { ...(p.unit ? { unit: p.unit } : {}) },
        overrides: p.imperial
          ? [{
            matcher: { id: "byFrameRefID", options: "B" },
            properties: [{ id: "unit", value: p.imperial.unit }],
          }]
          : [],
      },
      options: p.type === "table" ? { showHeader: true } : {},
    };
  });
  return {
    uid: "ev-sessions-sql",
    title: "EV · Sessions (GreptimeDB)",
    description: "Every drive, charge and parked period, one row each, from GreptimeDB's " +
      `${T} table over its MySQL protocol.`,
    tags: ["ev-observer"],
    timezone: "browser",
    editable: false,
    refresh: "5m",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-30d", to: "now" },
    templating: {
      list: [
        {
          name: "sql",
          label: "Data source",
          type: "datasource",
          query: "mysql",
          current: { selected: true, text: "GreptimeDB SQL", value: "greptimedb-sql" },
          hide: 0,
          refresh: 1,
          regex: "",
          options: [],
        },
        {
          name: "vin",
          label: "Vehicle",
          type: "query",
          datasource: DS,
          query: `SELECT DISTINCT vin FROM ${T}`,
          definition: `SELECT DISTINCT vin FROM ${T}`,
          refresh: 2,
          includeAll: true,
          multi: true,
          current: { selected: true, text: ["All"], value: ["$__all"] },
          sort: 1,
          hide: 0,
          options: [],
        },
        UNITS_VARIABLE,
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
