/**
 * OTLP/HTTP protobuf push of the readings store (GreptimeDB or any OTLP backend).
 *
 * One observable instrument per catalog metric, all observed by one batch callback from
 * collectSeries(), so the push carries exactly what /metrics shows. Histograms are synchronous
 * Histogram instruments that record each observation the store reports, aggregated in
 * explicit buckets pinned by a view (GreptimeDB rejects exponential histograms, and an
 * OTEL_* default must not switch them). Attributes are strings only and flags are 0/1
 * gauges: GreptimeDB silently drops boolean attributes.
 */
import type { BatchObservableResult, Histogram, Observable } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { Readings } from "../core/readings.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { metric, type MetricDef } from "../core/catalog.ts";
import { collectSeries, exportedMetrics, fullLabels, type SeriesOptions } from "./series.ts";
import type { OtlpSettings } from "./otlp_settings.ts";

// Loaded only where OTLP is configured (app/exports.ts imports this module when it is): the
// OTel SDK adds about 40 MiB to a one-car exporter (bench fleet, 125 against 84 MiB).
export { type GreptimeDbSettings, type OtlpSettings, otlpSettings } from "./otlp_settings.ts";

/** The URL without user info or query, safe to log. */
function safeUrl(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  u.search = "";
  return u.href;
}

export interface OtlpExportOptions extends SeriesOptions {
  readonly log?: Logger;
  /** Vehicles the push must carry without folding a series (default MAX_VEHICLES). */
  readonly vehicles?: number;
}

/**
 * Vehicles one process pushes without an overflow. The SDK's default limit (2,000 series per
 * metric) folded the rest into one `otel.metric.overflow` point from 200 cars on; a limit costs
 * nothing until it is reached, so it is set far above what one process polls (larger fleets
 * shard). Past it, overflow is counted and logged, never silent.
 */
export const MAX_VEHICLES = 100_000;
/** Values one catalog label takes on one vehicle at most (wheels, doors, lamps, trip kinds). */
const VALUES_PER_LABEL = 32;
/** Series of an exporter metric (no vin): endpoints × statuses, accounts × categories. */
const EXPORTER_SERIES = 100_000;
/** The attribute the SDK puts on the point that folds series past the limit. */
const OVERFLOW_ATTRIBUTE = "otel.metric.overflow";

/**
 * The SDK's cardinality limit for one metric: its series per vehicle from the catalog (one per
 * state, a bound per own label; an info metric has one at a time, a few over a car's life)
 * times the vehicles, plus the slot the SDK keeps for its overflow point. The SDK also counts
 * series seen earlier in the process (a renamed car's old info), hence bounds, not counts.
 */
export function cardinalityLimit(def: MetricDef, vehicles: number): number {
  if (def.exporter) return EXPORTER_SERIES;
  const own = def.labels.filter((l) => l !== "state").length;
  const perVehicle = def.kind === "info"
    ? VALUES_PER_LABEL
    : (def.states?.length ?? 1) * VALUES_PER_LABEL ** own;
  return Math.min(perVehicle * Math.max(1, vehicles) + 1, 2 ** 31 - 1);
}

/** Pushes the readings store over OTLP/HTTP protobuf every settings.intervalMillis. */
export class OtlpExport {
  readonly #provider: MeterProvider;
  readonly #log: Logger;
  #failures = 0;
  #exports = 0;
  #lastError: string | undefined;
  #overflows = 0;
  readonly #capacity: number;
  readonly #readings: Readings;
  readonly #unsubscribe: () => void;

  constructor(readings: Readings, settings: OtlpSettings, opts: OtlpExportOptions) {
    this.#readings = readings;
    this.#capacity = opts.vehicles ?? MAX_VEHICLES;
    this.#log = (opts.log ?? createLogger()).child({ component: "otlp" });
    const target = safeUrl(settings.url);
    const exporter = new OTLPMetricExporter({
      url: settings.url,
      headers: { ...settings.headers },
      timeoutMillis: settings.timeoutMillis,
      // The SDK types this as its CompressionAlgorithm enum, whose values are these strings.
      compression: settings.compression as never,
    });
    const reader = new PeriodicExportingMetricReader({
      exporter: this.#watch(exporter, target),
      exportIntervalMillis: settings.intervalMillis,
      exportTimeoutMillis: Math.min(settings.intervalMillis, settings.timeoutMillis + 5_000),
    });
    this.#provider = new MeterProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({
          ...settings.resourceAttributes,
          "service.name": settings.serviceName,
        }),
      ),
      readers: [reader],
      // One view per metric: a view's own limit is the only per-instrument one (the reader's
      // is per instrument kind, and a view without one falls back to the SDK's 2,000).
      views: exportedMetrics(opts).map((def) => ({
        instrumentName: def.name,
        aggregationCardinalityLimit: cardinalityLimit(def, this.#capacity),
        ...(def.kind === "histogram"
          ? {
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [...def.buckets!] },
            },
          }
          : {}),
      })),
    });

    const meter = this.#provider.getMeter("ev-observer");
    const instruments = new Map<string, Observable>();
    const histograms = new Map<string, Histogram>();
    for (const def of exportedMetrics(opts)) {
      const options = { unit: def.unit, description: def.help };
      if (def.kind === "histogram") {
        histograms.set(def.name, meter.createHistogram(def.name, options));
        continue;
      }
      instruments.set(
        def.name,
        def.kind === "counter"
          ? meter.createObservableCounter(def.name, options)
          : meter.createObservableGauge(def.name, options),
      );
    }
    meter.addBatchObservableCallback((result: BatchObservableResult) => {
      let series;
      try {
        series = collectSeries(readings, opts);
      } catch (err) {
        this.#log.error("collecting series failed", { error: (err as Error).message });
        return;
      }
      for (const s of series) {
        const instrument = instruments.get(s.def.name);
        if (instrument) result.observe(instrument, s.value, { ...s.labels });
      }
    }, [...instruments.values()]);
    this.#unsubscribe = readings.onObservation((name, labels, value) => {
      histograms.get(name)?.record(value, { ...fullLabels(metric(name), labels) });
    });
    this.#log.info("OTLP export configured", {
      url: target,
      interval_ms: settings.intervalMillis,
      headers: Object.keys(settings.headers).join(",") || undefined,
    });
  }

  /** Exports that failed (backend down, rejected, timed out) since start. */
  get failures(): number {
    return this.#failures;
  }

  /** Exports that the backend accepted since start. */
  get exports(): number {
    return this.#exports;
  }

  /** Metrics pushed with an overflow point (series folded past the limit), summed over pushes. */
  get overflows(): number {
    return this.#overflows;
  }

  /** The last failure's message, if any (no header values). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Collects and exports now; failures are logged and counted, never thrown. */
  async forceFlush(): Promise<void> {
    try {
      await this.#provider.forceFlush();
    } catch (err) {
      this.#failed(err);
    }
  }

  /** Exports a last time, then stops the periodic export. */
  async shutdown(): Promise<void> {
    this.#unsubscribe();
    try {
      await this.#provider.shutdown();
    } catch (err) {
      this.#failed(err);
    }
  }

  /** Wraps the real exporter to see every export's result. */
  #watch(exporter: OTLPMetricExporter, target: string): PushMetricExporter {
    return {
      export: (metrics: ResourceMetrics, done) => {
        this.#checkOverflow(metrics);
        exporter.export(metrics, (result) => {
          // ExportResultCode.SUCCESS is 0.
          if (result.code === 0) {
            this.#exports++;
            this.#readings.count("ev.export.requests", { backend: "otlp", result: "ok" });
          } else this.#failed(result.error, target);
          done(result);
        });
      },
      forceFlush: () => exporter.forceFlush(),
      shutdown: () => exporter.shutdown(),
      // Gauges carry no temporality on the wire; the SDK's cumulative storage would go on
      // pushing a series after it left collectSeries (a vehicle gone from the account, values
      // past max_value_age). Delta storage pushes what is observed now, as /metrics does.
      selectAggregationTemporality: (t) =>
        t === InstrumentType.OBSERVABLE_GAUGE
          ? AggregationTemporality.DELTA
          : exporter.selectAggregationTemporality(t),
    };
  }

  /** Counts and logs the metrics whose series went past their limit into one overflow point. */
  #checkOverflow(metrics: ResourceMetrics): void {
    const overflowed: string[] = [];
    for (const scope of metrics.scopeMetrics) {
      for (const m of scope.metrics) {
        const points = m.dataPoints as readonly { attributes: Record<string, unknown> }[];
        if (points.some((p) => p.attributes[OVERFLOW_ATTRIBUTE] === true)) {
          overflowed.push(m.descriptor.name);
        }
      }
    }
    if (!overflowed.length) return;
    this.#overflows += overflowed.length;
    this.#log.error("OTLP push folded series past the cardinality limit", {
      metrics: overflowed.join(","),
      vehicles: this.#readings.vehicles.size,
      fix: `shard the fleet: at most ${this.#capacity} vehicles per process`,
    });
  }

  #failed(err: unknown, target?: string): void {
    this.#failures++;
    this.#readings.count("ev.export.requests", { backend: "otlp", result: "error" });
    const e = err as { message?: string; code?: number; data?: string } | undefined;
    const message = e?.message || String(err ?? "unknown error");
    this.#lastError = message;
    this.#log.warn("OTLP export failed", {
      url: target,
      error: message,
      status: typeof e?.code === "number" ? e.code : undefined,
      response: typeof e?.data === "string" ? e.data.slice(0, 300) : undefined,
      failures: this.#failures,
    });
  }
}
