/**
 * What `deno task sessions` prints: the stored drives, charges and parked periods, filtered by
 * car, kind and date, as a table for people or as CSV / JSON for other tools. Dates and times
 * are in the configured time zone (sessions.timezone, UTC by default).
 */
import { ConfigError } from "../core/config.ts";
import { sessionsCsv } from "../core/sessions/csv.ts";
import type { Session, SessionKind } from "../core/sessions/session.ts";
import type { SessionFilter } from "../core/sessions/store.ts";
import { vinTail } from "../core/snapshot.ts";

export interface ReportOptions {
  readonly car?: string;
  readonly kind?: string;
  readonly from?: string;
  readonly to?: string;
  readonly last?: string;
  readonly timezone: string;
}

const KINDS: readonly SessionKind[] = ["drive", "charge", "parked"];

/** The store filter for the command's options; a bad option is a ConfigError saying the fix. */
export function reportFilter(o: ReportOptions): SessionFilter {
  if (o.kind !== undefined && !KINDS.includes(o.kind as SessionKind)) {
    throw new ConfigError(`--kind: expected one of ${KINDS.join(", ")}, got "${o.kind}"`);
  }
  const last = o.last === undefined ? undefined : Number(o.last);
  if (last !== undefined && !(Number.isInteger(last) && last > 0)) {
    throw new ConfigError(`--last: expected a whole number above 0, got "${o.last}"`);
  }
  const fromMs = o.from === undefined ? undefined : dateMs("--from", o.from, o.timezone, false);
  const toMs = o.to === undefined ? undefined : dateMs("--to", o.to, o.timezone, true);
  return { vin: o.car, kind: o.kind as SessionKind | undefined, fromMs, toMs, last };
}

/**
 * A date (the whole day, in `timezone`) or an ISO date-time. `end` gives the moment after:
 * `--to 2026-03-10` includes that day.
 */
function dateMs(flag: string, value: string, timezone: string, end: boolean): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) {
    const [y, m, d] = day.slice(1).map(Number);
    const ms = zonedMidnight(y, m, d + (end ? 1 : 0), timezone);
    if (Number.isFinite(ms)) return ms;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value))) {
    return Date.parse(value);
  }
  throw new ConfigError(
    `${flag}: expected a date such as 2026-03-10 or a time such as 2026-03-10T07:30:00Z, ` +
      `got "${value}"`,
  );
}

/** Unix ms of local midnight of y-m-d in `timezone` (m 1-based; d may overflow to the next). */
function zonedMidnight(y: number, m: number, d: number, timezone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const offset = (t: number) => {
    const p = Object.fromEntries(parts.formatToParts(t).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t;
  };
  const wall = Date.UTC(y, m - 1, d);
  // Twice: the offset at the guess may differ from the one at the answer (a DST change).
  const guess = wall - offset(wall);
  return wall - offset(guess);
}

/** A terminal table: one line a session, the figures of its kind. */
export function sessionsTable(sessions: readonly Session[], timezone: string): string {
  if (!sessions.length) return "No sessions match.";
  const when = new Intl.DateTimeFormat("sv-SE", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
  const n = (v: number | null, digits = 1) => v === null ? "" : v.toFixed(digits);
  const duration = (s: number) =>
    s >= 86_400
      ? `${Math.floor(s / 86_400)}d ${Math.floor(s % 86_400 / 3600)}h`
      : `${Math.floor(s / 3600)}:${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}`;
  const header = ["start", "kind", "car", "time", "km", "kWh", "Wh/km", "SoC %", "cost", "place"];
  const rows = sessions.map((s) => [
    when.format(s.start_ms),
    s.kind + (s.kind === "charge" && s.charger_type ? ` ${s.charger_type}` : ""),
    `…${vinTail(s.vin)}`,
    duration(s.duration_s),
    n(s.distance_km),
    n(s.energy_used_kwh ?? s.energy_added_kwh ?? s.energy_lost_kwh, 2),
    n(s.efficiency_wh_per_km, 0),
    s.soc_start_pct === null || s.soc_end_pct === null
      ? ""
      : `${Math.round(s.soc_start_pct)}→${Math.round(s.soc_end_pct)}`,
    s.cost === null ? "" : `${s.cost.toFixed(2)} ${s.currency ?? ""}`.trim(),
    [s.start_place, s.end_place].filter((p) => p !== null).join(" → "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8]);
  const line = (cells: string[]) =>
    cells.map((c, i) => numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

export function sessionsOutput(
  sessions: readonly Session[],
  format: "table" | "csv" | "json",
  timezone: string,
): string {
  if (format === "csv") return sessionsCsv(sessions);
  if (format === "json") return JSON.stringify(sessions, null, 2) + "\n";
  return sessionsTable(sessions, timezone) + "\n";
}
