/**
 * Prometheus text exposition of the readings store (served at /metrics), rendered on write.
 *
 * Each vehicle's sample lines are kept ready as bytes, per metric family, rendered again only
 * when its entry changed (a snapshot, a state, a poll state). Each family's lines of every
 * vehicle are kept too, gathered again only when a vehicle's lines in it changed. A scrape's
 * body is made from those pieces: gzipped straight from them, or joined into one buffer for a
 * client that does not accept gzip, yielding every few milliseconds. Either is shared by every
 * scrape that arrives while it is built and by later ones until something in it changes. The
 * exporter's own counters and gauges (a few hundred lines that move with every request) are
 * formatted per build, its histograms from the store's totals (as the OTLP push reads them, so
 * both show every observation since start). The format is prom-client's, byte for byte, as
 * the goldens pin it (HELP, TYPE, samples, a blank line between families); it is written here
 * because prom-client rebuilds and re-hashes every series on each scrape and would keep a
 * second copy of each histogram.
 */
import { type MetricDef, prometheusName } from "../core/catalog.ts";
import type { HistogramEntry, Readings, VehicleEntry } from "../core/readings.ts";
import { vehicleKey } from "../core/snapshot.ts";
import { gzip } from "./gzip.ts";
import { Slicer } from "./next_task.ts";
import { PerVehicle } from "./per_vehicle.ts";
import {
  exportedMetrics,
  exporterSeries,
  fullLabels,
  type Series,
  type SeriesOptions,
  vehicleSeries,
} from "./series.ts";

/** Content type of the Prometheus text format 0.0.4 that exposition() returns. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Longest run of work in one event-loop task before yielding, ms. */
const SLICE_MS = 8;

/** How a scrape wants its body. */
export type Encoding = "identity" | "gzip";

/** One vehicle's sample lines: every family's "\n"-prefixed lines, in exportedMetrics order. */
interface Rendered {
  readonly bytes: Uint8Array;
  /** Family i's lines are bytes[offsets[i] .. offsets[i + 1]]. */
  readonly offsets: Uint32Array;
}

interface Family {
  readonly def: MetricDef;
  readonly name: string;
  /** `# HELP …\n# TYPE …`, as prom-client writes them. */
  readonly header: string;
  readonly headerBytes: Uint8Array;
}

/**
 * One whole exposition, shared by every scrape until something in it changes: each family's
 * bytes, joined or gzipped when a scrape first asks for that encoding. Prometheus asks for
 * gzip, which is compressed from the families themselves: no 7 MB joined copy per build at
 * 1,000 cars for the allocator to hold.
 */
interface Built {
  /** The vehicle generation it was made at. */
  readonly gen: number;
  /** The exporter's own lines it carries (they move with every request and poll). */
  readonly exporter: string;
  /** Each family's own bytes: its header, and for the exporter's families their lines. */
  readonly own: readonly Uint8Array[];
  /** Each vehicle family's lines, every vehicle's in store order. */
  readonly lines: readonly (Uint8Array | undefined)[];
  readonly size: number;
  plain?: Promise<Uint8Array<ArrayBuffer>>;
  gzip?: Promise<Uint8Array>;
}

export class PrometheusExport {
  readonly #readings: Readings;
  readonly #opts: SeriesOptions;
  readonly #families: Family[];
  readonly #index = new Map<string, number>();
  readonly #texts = new PerVehicle((entry, previous?: Rendered) => this.#render(entry, previous));
  #builds = 0;
  #gathered = 0;
  /**
   * Each vehicle family's lines of every vehicle, as of the last build, gathered again only
   * when a vehicle's lines in it changed (flagged in #dirty when rendered) or the vehicles did
   * (#linesOrder): at 1,000 cars gathering all 90,000 pieces took 10–20 ms per build, while a
   * poll changes a few families of a car.
   */
  #lines: (Uint8Array | undefined)[] = [];
  #linesOrder = -1;
  #dirty!: Uint8Array;
  /** The exposition being built: scrapes arriving meanwhile wait for it instead of another. */
  #building?: Promise<Built>;
  #built?: Built;
  readonly #encoder = new TextEncoder();
  /** Where #render encodes a vehicle's lines (grown as needed, kept). */
  #scratch = new Uint8Array(16 * 1024);

  constructor(readings: Readings, opts: SeriesOptions = { location: false }) {
    this.#readings = readings;
    this.#opts = opts;
    this.#families = exportedMetrics(opts).map((def, i) => {
      const name = prometheusName(def);
      this.#index.set(def.name, i);
      const type = def.kind === "counter"
        ? "counter"
        : def.kind === "histogram"
        ? "histogram"
        : "gauge";
      const header = `# HELP ${name} ${escape(def.help)}\n# TYPE ${name} ${type}`;
      return { def, name, header, headerBytes: this.#encoder.encode(header) };
    });
    this.#dirty = new Uint8Array(this.#families.length);
    // Render on write: a new reading is formatted soon after it arrives, not when scraped.
    readings.onSnapshot((s) => {
      const entry = readings.vehicles.get(vehicleKey(s.vehicle));
      if (entry) this.#texts.soon(entry);
    });
  }

  /** Vehicle texts rendered since start (one per changed vehicle, not per scrape). */
  get renders(): number {
    return this.#texts.made;
  }

  /** Vehicle families gathered since start (only those that changed, per build). */
  get gathered(): number {
    return this.#gathered;
  }

  /** Whole expositions built since start (scrapes that overlap or see no change share one). */
  get builds(): number {
    return this.#builds;
  }

  /**
   * The exposition's bytes, gzipped if asked. Scrapes arriving while one is being built share
   * it; a scrape after it shares it too as long as nothing in it changed. Building and
   * gzipping yield to the event loop every few milliseconds, so probes and timers keep time
   * under any number of scrapes.
   */
  async body(encoding: Encoding = "identity"): Promise<Uint8Array> {
    this.#building ??= this.#build().finally(() => (this.#building = undefined));
    const built = await this.#building;
    if (encoding === "identity") {
      return await (built.plain ??= join(this.#parts(built), built.size));
    }
    return await (built.gzip ??= gzip(this.#parts(built)));
  }

  /** The whole text exposition of every series right now. */
  async exposition(): Promise<string> {
    return new TextDecoder().decode(await this.body());
  }

  async #build(): Promise<Built> {
    // The vehicles' bytes as of now: a reading arriving while this build yields replaces a
    // vehicle's bytes, never changes them, and waits for the next build.
    const rows = await this.#texts.all(this.#readings, new Slicer(SLICE_MS));
    const gen = this.#texts.version;
    const exporter = this.#exporterLines();
    const all = [...exporter.values()].join("\0");
    if (this.#built?.gen === gen && this.#built.exporter === all) return this.#built;
    const own = this.#families.map((family) =>
      family.def.kind === "histogram" || family.def.exporter
        ? this.#encoder.encode(`${family.header}${exporter.get(family.def.name)}`)
        : family.headerBytes
    );
    // Synchronously after `rows`: a family flagged from here on is gathered by the next build.
    if (this.#texts.orderVersion !== this.#linesOrder) {
      this.#lines = [];
      this.#linesOrder = this.#texts.orderVersion;
    }
    const dirty = this.#dirty.slice();
    this.#dirty.fill(0);
    const lines = this.#lines;
    const slicer = new Slicer(SLICE_MS);
    for (const [i, family] of this.#families.entries()) {
      if (family.def.kind === "histogram" || family.def.exporter) continue;
      if (lines[i] && !dirty[i]) continue;
      lines[i] = gather(rows, i);
      this.#gathered++;
      await slicer.check();
    }
    let size = FAMILY_SEPARATOR.length * (own.length - 1) + NEWLINE.length;
    for (const [i, b] of own.entries()) size += b.length + (lines[i]?.length ?? 0);
    this.#builds++;
    this.#built = { gen, exporter: all, own, lines: [...lines], size };
    return this.#built;
  }

  /** The exposition's bytes in order: families grouped as the text format requires. */
  *#parts({ own, lines }: Built): Generator<Uint8Array> {
    for (const [i, header] of own.entries()) {
      if (i > 0) yield FAMILY_SEPARATOR;
      yield header;
      if (lines[i]) yield lines[i];
    }
    yield NEWLINE;
  }

  /** One vehicle's lines, encoded; the families whose lines differ from `previous` flagged. */
  #render(entry: VehicleEntry, previous?: Rendered): Rendered {
    const lines = this.#families.map(() => "");
    for (const s of vehicleSeries(entry, this.#opts)) {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no Prometheus metric`);
      lines[i] += sampleLine(this.#families[i].name, s);
    }
    // Encoded into one reused buffer, then copied out once: a buffer per family was 90
    // ArrayBuffers per render for the collector to find.
    const offsets = new Uint32Array(lines.length + 1);
    let at = 0;
    for (const [i, l] of lines.entries()) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (this.#scratch.length < at + 3 * l.length) {
        const grown = new Uint8Array(Math.max(2 * this.#scratch.length, at + 3 * l.length));
        grown.set(this.#scratch.subarray(0, at));
        this.#scratch = grown;
      }
      at += this.#encoder.encodeInto(l, this.#scratch.subarray(at)).written;
      offsets[i + 1] = at;
    }
    const bytes = this.#scratch.slice(0, at);
    for (let i = 0; i < lines.length; i++) {
      if (!previous || !same(bytes, offsets, previous.bytes, previous.offsets, i)) {
        this.#dirty[i] = 1;
      }
    }
    return { bytes, offsets };
  }

  /** The exporter's lines per metric as of now: counters and gauges, then the histograms. */
  #exporterLines(): Map<string, string> {
    const out = new Map<string, string>();
    for (const family of this.#families) {
      if (family.def.exporter && family.def.kind !== "histogram") out.set(family.def.name, "");
    }
    for (const s of exporterSeries(this.#readings, this.#opts)) {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no Prometheus metric`);
      out.set(s.def.name, out.get(s.def.name) + sampleLine(this.#families[i].name, s));
    }
    for (const family of this.#families) {
      if (family.def.kind === "histogram") out.set(family.def.name, "");
    }
    for (const h of this.#readings.histograms.values()) {
      const i = this.#index.get(h.metric);
      if (i === undefined) throw new Error(`${h.metric} has no Prometheus metric`);
      out.set(h.metric, out.get(h.metric) + histogramLines(this.#families[i], h));
    }
    return out;
  }
}

const FAMILY_SEPARATOR = new TextEncoder().encode("\n\n");
const NEWLINE = new TextEncoder().encode("\n");

/** A histogram's `_bucket` lines (cumulative, `le` first), `_sum` and `_count`. */
function histogramLines(family: Family, h: HistogramEntry): string {
  const labels = fullLabels(family.def, h.labels);
  const bounds = family.def.buckets ?? [];
  let out = "";
  let below = 0;
  h.counts.forEach((count, i) => {
    below += count;
    const le = i < bounds.length ? String(bounds[i]) : "+Inf";
    out += sampleLine(`${family.name}_bucket`, { labels: { le, ...labels }, value: below });
  });
  out += sampleLine(`${family.name}_sum`, { labels, value: h.sum });
  return out + sampleLine(`${family.name}_count`, { labels, value: h.count });
}

/** `\nname{labels} value`, escaped as prom-client escapes. */
function sampleLine(name: string, s: Pick<Series, "labels" | "value">): string {
  let labels = "";
  for (const k in s.labels) {
    labels += `${labels ? "," : ""}${k}="${escape(s.labels[k]).replace(/"/g, '\\"')}"`;
  }
  return `\n${name}${labels ? `{${labels}}` : ""} ${s.value}`;
}

function escape(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Family i's lines of every row, in order. */
function gather(rows: readonly Rendered[], i: number): Uint8Array {
  let size = 0;
  for (const { offsets } of rows) size += offsets[i + 1] - offsets[i];
  const out = new Uint8Array(size);
  let at = 0;
  for (const { bytes, offsets } of rows) {
    if (offsets[i + 1] === offsets[i]) continue;
    out.set(bytes.subarray(offsets[i], offsets[i + 1]), at);
    at += offsets[i + 1] - offsets[i];
  }
  return out;
}

/** Whether family i's lines are the same bytes in a and b. */
function same(
  a: Uint8Array,
  aAt: Uint32Array,
  b: Uint8Array,
  bAt: Uint32Array,
  i: number,
): boolean {
  const n = aAt[i + 1] - aAt[i];
  if (n !== bAt[i + 1] - bAt[i]) return false;
  for (let k = 0; k < n; k++) if (a[aAt[i] + k] !== b[bAt[i] + k]) return false;
  return true;
}

/** `size` bytes of parts in one buffer, copied a slice at a time. */
async function join(parts: Iterable<Uint8Array>, size: number): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(size);
  const slicer = new Slicer(SLICE_MS);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
    await slicer.check();
  }
  return out;
}
