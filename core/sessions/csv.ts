/**
 * Sessions as CSV (RFC 4180): a header of the column names, one row per session, numbers as
 * written by JavaScript (they read back exactly), an empty cell for null. `parseSessionsCsv`
 * reads it back, so an export can be checked, edited and compared.
 */
import { type Session, SESSION_COLUMNS, TEXT_COLUMNS } from "./session.ts";

const quote = (s: string) => /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;

export function sessionsCsv(sessions: readonly Session[]): string {
  const rows = sessions.map((s) =>
    SESSION_COLUMNS.map((c) => {
      const v = s[c];
      return v === null ? "" : quote(String(v));
    }).join(",")
  );
  return [SESSION_COLUMNS.join(","), ...rows].join("\r\n") + "\r\n";
}

/** The rows of a CSV text (quoted fields may hold commas, quotes and line breaks). */
function records(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      out.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) out.push([...row, field]);
  return out;
}

export function parseSessionsCsv(text: string): Session[] {
  const [header, ...rows] = records(text.replace(/^\uFEFF/, ""));
  if (!header || header.join(",") !== SESSION_COLUMNS.join(",")) {
    throw new Error(
      "not a sessions CSV: the first line must be the column names `deno task sessions --csv` writes",
    );
  }
  return rows.filter((r) => r.length > 1 || r[0] !== "").map((r, n) => {
    if (r.length !== header.length) {
      throw new Error(`sessions CSV line ${n + 2}: ${r.length} fields, expected ${header.length}`);
    }
    return Object.fromEntries(header.map((c, i) => {
      const cell = r[i];
      if (cell === "") return [c, null];
      if (TEXT_COLUMNS.has(c as keyof Session)) return [c, cell];
      const n = Number(cell);
      if (!Number.isFinite(n)) throw new Error(`sessions CSV: ${c} "${cell}" is not a number`);
      return [c, n];
    })) as unknown as Session;
  });
}
