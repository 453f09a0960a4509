/**
 * Prometheus text exposition of the readings store (served at /metrics). One prom-client
 * Gauge, Counter or Histogram per catalog metric, in a registry of its own: no default process
 * metrics. Histograms record each observation as the store reports it.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { metric, type MetricDef, prometheusName } from "../core/catalog.ts";
import type { Readings } from "../core/readings.ts";
import {
  collectSeries,
  exportedMetrics,
  fullLabels,
  labelNames,
  type SeriesOptions,
} from "./series.ts";

/** Content type of the Prometheus text format 0.0.4 that exposition() returns. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Metric = Gauge<string> | Counter<string> | Histogram<string>;

export class PrometheusExport {
  readonly registry: Registry = new Registry();
  readonly #readings: Readings;
  readonly #opts: SeriesOptions;
  readonly #metrics = new Map<string, Metric>();
  /** Expositions run one at a time so a scrape never sees another one's reset. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The render that has not started yet: scrapes arriving meanwhile share it. */
  #next?: Promise<string>;

  constructor(readings: Readings, opts: SeriesOptions = { location: false }) {
    this.#readings = readings;
    this.#opts = opts;
    for (const def of exportedMetrics(opts)) {
      this.#metrics.set(def.name, create(def, this.registry));
    }
    readings.onObservation((name, labels, value) => {
      const m = this.#metrics.get(name);
      if (m instanceof Histogram) m.observe(fullLabels(metric(name), labels), value);
    });
  }

  /**
   * The text exposition of every series right now. Concurrent scrapes share one render: a
   * scrape that arrives while another renders waits for the next render, which reads the store
   * after it arrived, so it is never served older values; the work stays one render at a time
   * however many clients ask.
   */
  exposition(): Promise<string> {
    if (this.#next) return this.#next;
    const start = () => {
      this.#next = undefined;
      return this.#render();
    };
    const run = this.#queue.then(start, start);
    this.#next = run;
    this.#queue = run.catch(() => {});
    return run;
  }

  #render(): Promise<string> {
    const series = collectSeries(this.#readings, this.#opts);
    // Histograms keep their observations; everything else is rebuilt from the store.
    for (const m of this.#metrics.values()) if (!(m instanceof Histogram)) m.reset();
    for (const s of series) {
      const m = this.#metrics.get(s.def.name);
      if (!m) throw new Error(`${s.def.name} has no Prometheus metric`);
      if (m instanceof Counter) m.inc(s.labels, s.value);
      else if (m instanceof Gauge) m.set(s.labels, s.value);
    }
    return this.registry.metrics();
  }
}

function create(def: MetricDef, registry: Registry): Metric {
  const config = {
    name: prometheusName(def),
    help: def.help,
    labelNames: labelNames(def),
    registers: [registry],
  };
  if (def.kind === "histogram") return new Histogram({ ...config, buckets: [...def.buckets!] });
  return def.kind === "counter" ? new Counter(config) : new Gauge(config);
}
