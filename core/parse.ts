/**
 * Field-by-field validation of vendor bodies. One bad field drops one metric and is counted
 * as `ev_parse_errors_total{provider,field}`; the rest of the body is still used.
 */
import { z } from "zod";
import { inRange, metric } from "./catalog.ts";
import type { Logger } from "./log.ts";
import type { Readings } from "./readings.ts";
import type { Snapshot } from "./snapshot.ts";

export type FieldSchemas = Record<string, z.ZodType>;

/** A field that must be present; `null` is allowed and means "no value". */
export const num = z.number().finite().nullable();
/** A field only newer firmware sends: missing is fine. */
export const optNum = num.optional();
export const bool = z.boolean().nullable();
export const optBool = bool.optional();
export const str = z.string().nullable();
export const optStr = str.optional();
/** Numeric strings are accepted as numbers (some vendors send "12.5"). */
export const numLike = z.union([
  z.number().finite(),
  z.string().trim().regex(/^-?\d+(\.\d+)?$/).transform(Number),
]).nullable();

export interface ParseReport {
  readonly provider: string;
  readonly readings?: Readings;
  readonly log?: Logger;
}

/** Records one bad field: counter + a log line naming the field (never its value). */
export function reportField(report: ParseReport, field: string, problem: string): void {
  report.readings?.count("ev.parse.errors", { provider: report.provider, field });
  report.log?.warn("vendor field rejected; its metric is dropped", {
    provider: report.provider,
    field,
    problem,
  });
}

/**
 * Validates each field of `section` on its own. Returns only the fields that passed; every
 * failure is reported under `prefix.field`.
 */
export function parseFields<S extends FieldSchemas>(
  report: ParseReport,
  prefix: string,
  section: unknown,
  schemas: S,
): Partial<{ [K in keyof S]: z.infer<S[K]> }> {
  const out: Record<string, unknown> = {};
  if (section === undefined || section === null) return out as never;
  if (typeof section !== "object" || Array.isArray(section)) {
    reportField(report, prefix, "expected an object");
    return out as never;
  }
  const obj = section as Record<string, unknown>;
  for (const [key, schema] of Object.entries(schemas)) {
    const result = schema.safeParse(obj[key]);
    if (result.success) {
      if (result.data !== undefined) out[key] = result.data;
    } else {
      const problem = key in obj ? result.error.issues[0]?.message ?? "invalid" : "missing";
      reportField(report, `${prefix}.${key}`, problem);
    }
  }
  return out as never;
}

/** JSON.parse that reports a body which is not JSON (truncated, an HTML error page). */
export function parseJsonBody(
  report: ParseReport,
  endpoint: string,
  text: string,
): unknown | undefined {
  try {
    return JSON.parse(text);
  } catch {
    const looksHtml = /^\s*</.test(text);
    reportField(report, endpoint, looksHtml ? "HTML instead of JSON" : "malformed JSON");
    return undefined;
  }
}

/**
 * Drops every sample outside its catalog metric's sane range (core/catalog.ts `range`) and
 * reports it under the metric's name, so no provider exports an absurd value. A sample time
 * outside the range is reported too; the readings store then keeps the previous one.
 */
export function checkRanges(report: ParseReport, snapshot: Snapshot): Snapshot {
  const bad = snapshot.samples.filter((s) => !inRange(metric(s.metric), s.value));
  for (const s of bad) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",") : "";
    reportField(report, s.metric, `outside the catalog range${labels ? ` (${labels})` : ""}`);
  }
  if (!inRange(metric("ev.last_sample.timestamp"), snapshot.sampledAt)) {
    reportField(report, "ev.last_sample.timestamp", "sample time outside the catalog range");
  }
  if (bad.length === 0) return snapshot;
  return { ...snapshot, samples: snapshot.samples.filter((s) => !bad.includes(s)) };
}
