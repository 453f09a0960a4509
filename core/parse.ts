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
 * How far a vendor sample time may run ahead of this machine's clock, s: a car's or a vendor's
 * clock a little fast is normal; further ahead is a wrong value (or a wrong clock here).
 */
export const SAMPLE_TIME_SKEW_S = 300;
/** 2008-01-01: no car answered a vendor's cloud API before (the first Roadsters shipped then). */
export const EARLIEST_SAMPLE_S = 1_199_145_600;

/** Why vendor sample time `t` (Unix s) cannot be true when read at `readAt`; else undefined. */
export function sampleTimeProblem(t: number, readAt: number | undefined): string | undefined {
  if (!inRange(metric("ev.last_sample.timestamp"), t)) return "outside the catalog range";
  if (t < EARLIEST_SAMPLE_S) return "before 2008, older than any connected car";
  if (readAt !== undefined && t > readAt + SAMPLE_TIME_SKEW_S) {
    return `more than ${SAMPLE_TIME_SKEW_S} s ahead of this machine's clock (a wrong vendor ` +
      "time, or check this machine's clock)";
  }
  return undefined;
}

/**
 * The newest believable vendor time among `stamps` (field, Unix s); each refused one is
 * reported under its field, so one bad timestamp never becomes the read's time. `readAt`
 * (when the values were read) when none is left.
 */
export function newestSampleTime(
  report: ParseReport,
  stamps: readonly (readonly [field: string, t: number])[],
  readAt: number,
): number {
  let newest: number | undefined;
  for (const [field, t] of stamps) {
    const problem = sampleTimeProblem(t, readAt);
    if (problem) reportField(report, field, `sample time ${problem}`);
    else newest = Math.max(newest ?? t, t);
  }
  return newest ?? readAt;
}

/**
 * Drops every sample outside its catalog metric's sane range (core/catalog.ts `range`) and
 * reports it under the metric's name, so no provider exports an absurd value. A sample time
 * that cannot be true (sampleTimeProblem) is reported too and replaced by the time the values
 * were read, when known; the readings store never adopts a time outside the catalog range.
 */
export function checkRanges(report: ParseReport, snapshot: Snapshot): Snapshot {
  const bad = snapshot.samples.filter((s) => !inRange(metric(s.metric), s.value));
  for (const s of bad) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",") : "";
    reportField(report, s.metric, `outside the catalog range${labels ? ` (${labels})` : ""}`);
  }
  const timeProblem = sampleTimeProblem(snapshot.sampledAt, snapshot.readAt);
  if (timeProblem) {
    reportField(report, "ev.last_sample.timestamp", `sample time ${timeProblem}`);
  }
  if (bad.length === 0 && !(timeProblem && snapshot.readAt !== undefined)) return snapshot;
  return {
    ...snapshot,
    sampledAt: timeProblem && snapshot.readAt !== undefined ? snapshot.readAt : snapshot.sampledAt,
    samples: snapshot.samples.filter((s) => !bad.includes(s)),
  };
}
