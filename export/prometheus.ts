/**
 * Prometheus text exposition of the readings store (served at /metrics), rendered on write.
 *
 * Each vehicle's sample lines are kept ready, per metric family, and rendered again only when
 * its entry changed (a snapshot, a state, a poll state): a scrape joins prepared text. Each
 * family's bytes are kept too until a vehicle changes, so scrapes between two polls, however
 * many, share them. The exporter's own counters and gauges (a few hundred lines that move with
 * every request) are formatted per scrape; its histograms are prom-client's, which records
 * each observation as the store reports it. prom-client writes the format the goldens pin
 * (HELP, TYPE, samples, a blank line between families); the vehicle lines follow it byte for
 * byte, written here because prom-client rebuilds and re-hashes every series on each scrape.
 */
import { Histogram, Registry } from "prom-client";
import { metric, type MetricDef, prometheusName } from "../core/catalog.ts";
import type { Readings, VehicleEntry } from "../core/readings.ts";
import { vehicleKey } from "../core/snapshot.ts";
import {
  exportedMetrics,
  exporterSeries,
  fullLabels,
  labelNames,
  type Series,
  type SeriesOptions,
  vehicleSeries,
} from "./series.ts";

/** Content type of the Prometheus text format 0.0.4 that exposition() returns. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Longest run of vehicle renders in one event-loop task before yielding, ms. */
const SLICE_MS = 8;

/** One vehicle's sample lines per family, and what they were rendered from. */
interface VehicleText {
  readonly entry: VehicleEntry;
  from: Pick<VehicleEntry, "snapshot" | "state" | "pollState" | "lastSampleAt" | "info">;
  /** Per family (exportedMetrics order): "\n"-prefixed sample lines, "" for none. */
  lines: string[];
}

interface Family {
  readonly def: MetricDef;
  readonly name: string;
  /** `# HELP …\n# TYPE …`, as prom-client writes them. */
  readonly header: string;
  bytes?: Uint8Array;
  /** The vehicle generation its bytes were joined at. */
  gen: number;
}

export class PrometheusExport {
  /** The histograms (exporter self-metrics), observed as the store reports them. */
  readonly registry: Registry = new Registry();
  readonly #readings: Readings;
  readonly #opts: SeriesOptions;
  readonly #families: Family[];
  readonly #index = new Map<string, number>();
  readonly #texts = new WeakMap<VehicleEntry, VehicleText>();
  /** The vehicles in store order, as of the last refresh. */
  #order: VehicleText[] = [];
  /** Grows when any vehicle's text or the set of vehicles changes. */
  #gen = 0;
  #renders = 0;
  /** Refreshes run one at a time; scrapes arriving before one starts share it. */
  #tail: Promise<void> = Promise.resolve();
  #queued?: Promise<void>;
  readonly #encoder = new TextEncoder();

  constructor(readings: Readings, opts: SeriesOptions = { location: false }) {
    this.#readings = readings;
    this.#opts = opts;
    this.#families = exportedMetrics(opts).map((def, i) => {
      const name = prometheusName(def);
      this.#index.set(def.name, i);
      if (def.kind === "histogram") {
        new Histogram({
          name,
          help: def.help,
          labelNames: labelNames(def),
          buckets: [...def.buckets!],
          registers: [this.registry],
        });
      }
      const type = def.kind === "counter"
        ? "counter"
        : def.kind === "histogram"
        ? "histogram"
        : "gauge";
      return {
        def,
        name,
        header: `# HELP ${name} ${escape(def.help)}\n# TYPE ${name} ${type}`,
        gen: -1,
      };
    });
    readings.onObservation((name, labels, value) => {
      const i = this.#index.get(name);
      if (i === undefined || this.#families[i].def.kind !== "histogram") return;
      (this.registry.getSingleMetric(this.#families[i].name) as Histogram<string>)
        .observe(fullLabels(metric(name), labels), value);
    });
    // Render on write: a new reading is formatted when it arrives, not when it is scraped.
    readings.onSnapshot((s) => {
      const entry = readings.vehicles.get(vehicleKey(s.vehicle));
      try {
        if (entry) this.#text(entry);
      } catch {
        // A reading the export cannot render must not fail the poll that stored it: it stays
        // stale, and the next scrape renders it again and answers 500 with the cause.
      }
    });
  }

  /** Vehicle texts rendered since start (one per changed vehicle, not per scrape). */
  get renders(): number {
    return this.#renders;
  }

  /**
   * The exposition as chunks, one per family: for the HTTP server, which sends them as they
   * come. Vehicle families are joined lazily, each in its own task, and kept for the next
   * scrape until a vehicle changes.
   */
  async stream(): Promise<ReadableStream<Uint8Array>> {
    await this.#refresh();
    const exporter = this.#exporterLines();
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (i === this.#families.length) return controller.close();
        const family = this.#families[i];
        const chunk = await this.#family(family, exporter.get(family.def.name) ?? "", i === 0);
        i++;
        controller.enqueue(i === this.#families.length ? concat(chunk, this.#newline) : chunk);
      },
    });
  }

  /** The whole text exposition of every series right now. */
  async exposition(): Promise<string> {
    return await new Response(await this.stream()).text();
  }

  readonly #newline = new TextEncoder().encode("\n");

  /** Brings every vehicle's text up to date, yielding to the event loop between slices. */
  #refresh(): Promise<void> {
    if (this.#queued) return this.#queued;
    const run = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#refreshNow();
    });
    this.#queued = run;
    this.#tail = run.catch(() => {});
    return run;
  }

  async #refreshNow(): Promise<void> {
    const order: VehicleText[] = [];
    let sliceStart = performance.now();
    for (const entry of [...this.#readings.vehicles.values()]) {
      // A vehicle forgotten while this refresh yielded is not shown.
      if (this.#readings.vehicles.get(vehicleKey(entry.vehicle)) !== entry) continue;
      order.push(this.#text(entry));
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((r) => setTimeout(r, 0));
        sliceStart = performance.now();
      }
    }
    if (order.length !== this.#order.length || order.some((t, i) => t !== this.#order[i])) {
      this.#gen++;
    }
    this.#order = order;
  }

  /** The vehicle's text, rendered again if its entry changed since. */
  #text(entry: VehicleEntry): VehicleText {
    const have = this.#texts.get(entry);
    if (have && !changed(have.from, entry)) return have;
    const lines = this.#families.map(() => "");
    for (const s of vehicleSeries(entry, this.#opts)) {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no Prometheus metric`);
      lines[i] += sampleLine(this.#families[i].name, s);
    }
    const from = {
      snapshot: entry.snapshot,
      state: entry.state,
      pollState: entry.pollState,
      lastSampleAt: entry.lastSampleAt,
      info: entry.info,
    };
    this.#renders++;
    this.#gen++;
    if (have) {
      have.from = from;
      have.lines = lines;
      return have;
    }
    const text = { entry, from, lines };
    this.#texts.set(entry, text);
    return text;
  }

  /** The exporter's counter and gauge lines per metric, as of now. */
  #exporterLines(): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of exporterSeries(this.#readings, this.#opts)) {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no Prometheus metric`);
      out.set(s.def.name, (out.get(s.def.name) ?? "") + sampleLine(this.#families[i].name, s));
    }
    return out;
  }

  async #family(family: Family, exporter: string, first: boolean): Promise<Uint8Array> {
    const sep = first ? "" : "\n\n";
    if (family.def.kind === "histogram") {
      return this.#encoder.encode(sep + await this.registry.getSingleMetricAsString(family.name));
    }
    if (family.def.exporter) return this.#encoder.encode(`${sep}${family.header}${exporter}`);
    if (family.gen !== this.#gen || !family.bytes) {
      const i = this.#families.indexOf(family);
      let text = sep + family.header;
      for (const t of this.#order) text += t.lines[i];
      family.bytes = this.#encoder.encode(text);
      family.gen = this.#gen;
    }
    return family.bytes;
  }
}

function changed(from: VehicleText["from"], entry: VehicleEntry): boolean {
  return from.snapshot !== entry.snapshot || from.state !== entry.state ||
    from.pollState !== entry.pollState || from.lastSampleAt !== entry.lastSampleAt ||
    from.info !== entry.info;
}

/** `\nname{labels} value`, escaped as prom-client escapes. */
function sampleLine(name: string, s: Series): string {
  let labels = "";
  for (const k in s.labels) {
    labels += `${labels ? "," : ""}${k}="${escape(s.labels[k]).replace(/"/g, '\\"')}"`;
  }
  return `\n${name}${labels ? `{${labels}}` : ""} ${s.value}`;
}

function escape(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
