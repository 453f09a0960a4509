/**
 * The one place that turns the readings store into series. Both exports (Prometheus /metrics
 * and OTLP push) render each vehicle with vehicleSeries() and the exporter's own metrics with
 * exporterSeries(), so they always carry the same metrics, labels and values; collectSeries()
 * is the two together.
 */
import { CATALOG, metric, type MetricDef, prometheusName } from "../core/catalog.ts";
import type { Readings, VehicleEntry } from "../core/readings.ts";
import type { Labels } from "../core/snapshot.ts";

export interface Series {
  readonly def: MetricDef;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface SeriesOptions {
  /** Export latitude/longitude/heading (catalog metrics with `location`). Off by default. */
  readonly location: boolean;
}

/** Metrics derived from the readings store itself; a provider must not sample them. */
const VEHICLE_STATE = "ev.vehicle.state";
const LAST_SAMPLE = "ev.last_sample.timestamp";
const INFO = "ev.vehicle.info";
const POLL_STATE = "ev.poll.state";
const DERIVED = new Set([VEHICLE_STATE, LAST_SAMPLE, INFO, POLL_STATE]);

/**
 * The catalog metrics an export publishes with these options, sorted by Prometheus name (as
 * node_exporter lists them): /metrics reads alphabetically, whatever order the catalog
 * groups its definitions in.
 */
export function exportedMetrics(opts: SeriesOptions = { location: false }): MetricDef[] {
  const named = CATALOG.filter((def) => opts.location || !def.location)
    .map((def) => [prometheusName(def), def] as const);
  return named.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([, def]) => def);
}

/**
 * Every series the exports publish right now. Throws on programming errors (a metric name
 * that is not in the catalog, a label the catalog does not declare, a sample of the wrong
 * kind); silently skips non-finite values and, unless enabled, location metrics.
 */
export function collectSeries(
  readings: Readings,
  opts: SeriesOptions = { location: false },
): Series[] {
  const out: Series[] = [];
  for (const entry of readings.vehicles.values()) {
    for (const series of vehicleSeries(entry, opts)) out.push(series);
  }
  out.push(...exporterSeries(readings, opts));
  return out;
}

/** The series of one vehicle (what changes only when its entry does). */
export function vehicleSeries(entry: VehicleEntry, opts: SeriesOptions): Series[] {
  const out = new Map<string, Series>();
  collectVehicle(entry, collector(out, opts));
  return [...out.values()];
}

/** The exporter's own series: counters and gauges, no vehicle labels. */
export function exporterSeries(readings: Readings, opts: SeriesOptions): Series[] {
  const out = new Map<string, Series>();
  const emit = collector(out, opts);
  for (const counter of readings.counters.values()) {
    const def = metric(counter.metric);
    if (def.kind !== "counter") throw new Error(`${def.name} is not a counter`);
    emit(def, {}, counter.labels, counter.value);
  }
  for (const gauge of readings.gauges.values()) {
    emit(metric(gauge.metric), {}, gauge.labels, gauge.value);
  }
  return [...out.values()];
}

/** Labels built and checked; one value per series: a later duplicate replaces the earlier one. */
function collector(out: Map<string, Series>, opts: SeriesOptions): Emit {
  return (def, base, own, value) => {
    if (def.location && !opts.location) return;
    if (!Number.isFinite(value)) return;
    const labels = buildLabels(def, base, own);
    out.set(seriesKey(def, labels), { def, labels, value });
  };
}

type Emit = (def: MetricDef, base: Labels, own: Labels | undefined, value: number) => void;

function collectVehicle(entry: VehicleEntry, emit: Emit): void {
  const base: Labels = { provider: entry.vehicle.provider, vin: entry.vehicle.vin };

  emitStateSet(metric(VEHICLE_STATE), entry.state, base, emit);
  if (entry.pollState !== undefined) {
    emitStateSet(metric(POLL_STATE), entry.pollState, base, emit);
  }
  if (entry.lastSampleAt !== undefined) emit(metric(LAST_SAMPLE), base, {}, entry.lastSampleAt);
  const info = metric(INFO);
  emit(info, base, Object.fromEntries(info.labels.map((l) => [l, entry.info[l] ?? ""])), 1);

  // The last known values, asleep or not: ev.last_sample.timestamp says how old they are and
  // ev.vehicle.state why nothing newer came. None before the first read or after max_value_age.
  const snapshot = entry.snapshot;
  if (!snapshot) return;
  for (const sample of snapshot.samples) {
    const def = metric(sample.metric);
    if (DERIVED.has(def.name)) throw new Error(`${def.name} is derived, not sampled`);
    if (def.kind !== "gauge") {
      throw new Error(`${def.name} is a ${def.kind}; a numeric sample needs a gauge`);
    }
    emit(def, base, sample.labels, sample.value);
  }
  for (const s of snapshot.states) {
    const def = metric(s.metric);
    if (DERIVED.has(def.name)) throw new Error(`${def.name} is derived, not sampled`);
    if (def.kind !== "stateset") throw new Error(`${def.name} is not a state set`);
    emitStateSet(def, s.state, base, emit, s.labels);
  }
}

function emitStateSet(
  def: MetricDef,
  current: string,
  base: Labels,
  emit: Emit,
  own: Labels = {},
): void {
  const states = def.states ?? [];
  const value = states.includes(current) ? current : "unknown";
  for (const state of states) emit(def, base, { ...own, state }, state === value ? 1 : 0);
}

/** An exporter metric's labels in catalog order, "" for those not given (as series carry them). */
export function fullLabels(def: MetricDef, given: Labels): Labels {
  return buildLabels(def, {}, given);
}

/** Base labels, then the metric's own labels in catalog order; undeclared labels throw. */
function buildLabels(def: MetricDef, base: Labels, own: Labels | undefined): Labels {
  const labels: Labels = def.exporter ? {} : { ...base };
  const given = own ?? {};
  for (const key of Object.keys(given)) {
    if (!def.labels.includes(key)) {
      throw new Error(
        `label "${key}" is not declared for ${def.name} in the catalog (core/catalog.ts)`,
      );
    }
  }
  for (const name of def.labels) labels[name] = given[name] ?? "";
  return labels;
}

function seriesKey(def: MetricDef, labels: Labels): string {
  return `${def.name}|${JSON.stringify(labels)}`;
}
