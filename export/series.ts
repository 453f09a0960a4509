/**
 * The one place that turns the readings store into series. Both exports (Prometheus /metrics
 * and OTLP push) call collectSeries(), so they always carry the same metrics, labels and values.
 */
import { CATALOG, metric, type MetricDef, VEHICLE_LABELS } from "../core/catalog.ts";
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
 * The label names every series of a metric carries, in order: `provider`, `vin` for vehicle
 * metrics, then the catalog labels (for a state set this includes `state`).
 */
export function labelNames(def: MetricDef): string[] {
  return def.exporter ? [...def.labels] : [...VEHICLE_LABELS, ...def.labels];
}

/**
 * The order both exports list metrics in: the order they joined the catalog. It is kept here,
 * apart from the catalog's own order, so regrouping the catalog never reorders /metrics (the
 * replay goldens compare it byte for byte). A new metric goes at the end.
 */
export const EXPORT_ORDER: readonly string[] = [
  "ev.battery.level",
  "ev.battery.usable_level",
  "ev.battery.range",
  "ev.battery.module.temperature",
  "ev.battery.energy_remaining",
  "ev.odometer",
  "ev.charging.state",
  "ev.charging.plugged_in",
  "ev.charging.port_open",
  "ev.charging.power",
  "ev.charging.voltage",
  "ev.charging.current",
  "ev.charging.pilot_current",
  "ev.charging.requested_current",
  "ev.charging.phases",
  "ev.charging.energy_added",
  "ev.charging.range_added",
  "ev.charging.limit",
  "ev.charging.limit_bound",
  "ev.charging.time_to_full",
  "ev.charging.max_range_charges",
  "ev.charging.scheduled_start.timestamp",
  "ev.charging.scheduled_departure.timestamp",
  "ev.drive.speed",
  "ev.drive.power",
  "ev.drive.shift_state",
  "ev.location.heading",
  "ev.location.latitude",
  "ev.location.longitude",
  "ev.climate.inside.temperature",
  "ev.climate.outside.temperature",
  "ev.climate.on",
  "ev.tire.pressure",
  "ev.tire.warning",
  "ev.door.open",
  "ev.window.open",
  "ev.trunk.open",
  "ev.locked",
  "ev.sentry_mode",
  "ev.user_present",
  "ev.vehicle.state",
  "ev.last_sample.timestamp",
  "ev.vehicle.info",
  "ev.parse.errors",
  "ev.api.requests",
  "ev.export.requests",
  "ev.battery.capacity",
  "ev.charging.plug_state",
  "ev.charging.supply_state",
  "ev.charging.type",
  "ev.fuel.amount",
  "ev.fuel.range",
  "ev.engine.running",
  "ev.location.altitude",
  "ev.trip.distance",
  "ev.trip.average_speed",
  "ev.trip.average_energy_consumption",
  "ev.trip.average_fuel_consumption",
  "ev.tire.pressure_state",
  "ev.light.warning",
  "ev.fluid.warning",
  "ev.service.warning",
  "ev.service.distance_remaining",
  "ev.service.time_remaining",
  "ev.service.engine_time_remaining",
  "ev.vendor.value_errors",
  "ev.poll.errors",
  "ev.api.billable_requests",
  "ev.api.cost.usd",
  "ev.api.budget.remaining",
  "ev.token.expiry.timestamp",
  "ev.poll.state",
  "ev.weather.temperature",
  "ev.weather.humidity",
  "ev.weather.wind.speed",
  "ev.api.request.duration",
];
const EXPORT_RANK = new Map(EXPORT_ORDER.map((name, i) => [name, i]));
const exportRank = (def: MetricDef) => EXPORT_RANK.get(def.name) ?? EXPORT_ORDER.length;

/** The catalog metrics an export publishes with these options, in EXPORT_ORDER. */
export function exportedMetrics(opts: SeriesOptions = { location: false }): MetricDef[] {
  return CATALOG.filter((def) => opts.location || !def.location)
    .sort((a, b) => exportRank(a) - exportRank(b));
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
  const out = new Map<string, Series>();
  const emit = (def: MetricDef, base: Labels, own: Labels | undefined, value: number) => {
    if (def.location && !opts.location) return;
    if (!Number.isFinite(value)) return;
    const labels = buildLabels(def, base, own);
    // One value per series: a later duplicate replaces the earlier one.
    out.set(seriesKey(def, labels), { def, labels, value });
  };

  for (const entry of readings.vehicles.values()) collectVehicle(entry, emit);

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

  const snapshot = entry.snapshot;
  if (!snapshot) return; // asleep/offline: no stale values
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
