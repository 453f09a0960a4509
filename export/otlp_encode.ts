/**
 * The OTLP metrics request (opentelemetry-proto `ExportMetricsServiceRequest`), written as
 * protobuf bytes straight from the exports' series.
 *
 * Written here rather than through the OTel SDK: the SDK rebuilt and aggregated every series on
 * each push (0.6–1.4 s holding the event loop at 1,000 cars) and kept a copy of the last push
 * (about 45 MiB), and protobufjs' writer builds an object per field before it writes a byte.
 * Each vehicle's data points are encoded once per change of its entry, with a blank time that
 * a push fills in while copying them, and the request is written in 64 KiB chunks, its
 * lengths summed before the first byte, so a push allocates little and yields between chunks.
 * Field numbers are the official schema's; the tests decode every push with it.
 */
import { metric, type MetricDef } from "../core/catalog.ts";
import type { Readings, VehicleEntry } from "../core/readings.ts";
import type { Slicer } from "./next_task.ts";
import {
  exportedMetrics,
  exporterSeries,
  fullLabels,
  type SeriesOptions,
  vehicleSeries,
} from "./series.ts";

/** Bytes per chunk the request is written in. */
export const CHUNK_BYTES = 64 * 1024;

// Field tags: (field number << 3) | wire type (0 varint, 1 fixed 64-bit, 2 length-delimited).
const REQUEST_RESOURCE_METRICS = 0x0a; // ExportMetricsServiceRequest.resource_metrics = 1
const RM_RESOURCE = 0x0a; // ResourceMetrics.resource = 1
const RM_SCOPE_METRICS = 0x12; // ResourceMetrics.scope_metrics = 2
const RESOURCE_ATTRIBUTES = 0x0a; // Resource.attributes = 1
const SM_SCOPE = 0x0a; // ScopeMetrics.scope = 1
const SM_METRICS = 0x12; // ScopeMetrics.metrics = 2
const SCOPE_NAME = 0x0a; // InstrumentationScope.name = 1
const METRIC_NAME = 0x0a; // Metric.name = 1
const METRIC_DESCRIPTION = 0x12; // Metric.description = 2
const METRIC_UNIT = 0x1a; // Metric.unit = 3
const METRIC_GAUGE = 0x2a; // Metric.gauge = 5
const METRIC_SUM = 0x3a; // Metric.sum = 7
const METRIC_HISTOGRAM = 0x4a; // Metric.histogram = 9
const DATA_POINTS = 0x0a; // Gauge/Sum/Histogram.data_points = 1
const TEMPORALITY = 0x10; // Sum/Histogram.aggregation_temporality = 2
const MONOTONIC = 0x18; // Sum.is_monotonic = 3
const CUMULATIVE = 2; // AGGREGATION_TEMPORALITY_CUMULATIVE
const POINT_START = 0x11; // NumberDataPoint/HistogramDataPoint.start_time_unix_nano = 2
const POINT_TIME = 0x19; // .time_unix_nano = 3
const POINT_DOUBLE = 0x21; // NumberDataPoint.as_double = 4
const POINT_ATTRIBUTES = 0x3a; // NumberDataPoint.attributes = 7
const HIST_COUNT = 0x21; // HistogramDataPoint.count = 4
const HIST_SUM = 0x29; // HistogramDataPoint.sum = 5
const HIST_BUCKETS = 0x32; // HistogramDataPoint.bucket_counts = 6 (packed fixed64)
const HIST_BOUNDS = 0x3a; // HistogramDataPoint.explicit_bounds = 7 (packed double)
const HIST_ATTRIBUTES = 0x4a; // HistogramDataPoint.attributes = 9
const KV_KEY = 0x0a; // KeyValue.key = 1
const KV_VALUE = 0x12; // KeyValue.value = 2
const ANY_STRING = 0x0a; // AnyValue.string_value = 1

const utf8 = new TextEncoder();

/** Bytes a varint of `n` (0 ≤ n < 2^35) takes. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field (one-byte tag) carrying `len` bytes. */
const fieldSize = (len: number) => 1 + varintSize(len) + len;

/** A growing byte buffer with the protobuf primitives the request needs. */
class Out {
  buf: Uint8Array<ArrayBuffer>;
  view: DataView;
  pos = 0;

  constructor(size = 256) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.room(5);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-delimited field whose content is `b`. */
  field(tag: number, b: Uint8Array): void {
    this.byte(tag);
    this.varint(b.length);
    this.bytes(b);
  }

  /** A length-delimited field's head; `len` content bytes must follow. */
  head(tag: number, len: number): void {
    this.byte(tag);
    this.varint(len);
  }

  double(tag: number, v: number): void {
    this.room(9);
    this.buf[this.pos] = tag;
    this.view.setFloat64(this.pos + 1, v, true);
    this.pos += 9;
  }

  fixed64(tag: number, v: bigint): void {
    this.room(9);
    this.buf[this.pos] = tag;
    this.view.setBigUint64(this.pos + 1, v, true);
    this.pos += 9;
  }

  done(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.pos);
  }
}

/** `KeyValue{key, value: AnyValue{string_value}}`, without its own field head. */
function keyValue(key: string, value: string): Uint8Array {
  const k = utf8.encode(key);
  const v = utf8.encode(value);
  const any = fieldSize(v.length);
  const out = new Out(fieldSize(k.length) + fieldSize(any));
  out.field(KV_KEY, k);
  out.head(KV_VALUE, any);
  out.field(ANY_STRING, v);
  return out.done();
}

/** Encoded KeyValues of common label pairs (keys, states, providers repeat across vehicles). */
const kvCache = new Map<string, Uint8Array>();
const KV_CACHE_MAX = 4096;

/** `local` keeps, for one render, the pairs the shared cache does not (a vehicle's VIN). */
function labelPair(key: string, value: string, local: Map<string, Uint8Array>): Uint8Array {
  const id = `${key}\0${value}`;
  let kv = kvCache.get(id) ?? local.get(id);
  if (kv) return kv;
  kv = keyValue(key, value);
  // Values unique to one vehicle (its VIN, its name) would only fill the cache.
  if (key !== "vin" && kvCache.size < KV_CACHE_MAX) kvCache.set(id, kv);
  else local.set(id, kv);
  return kv;
}

function writeAttributes(
  out: Out,
  tag: number,
  labels: Record<string, string>,
  local: Map<string, Uint8Array>,
): void {
  for (const key in labels) out.field(tag, labelPair(key, labels[key], local));
}

/**
 * One vehicle's gauge data points per metric, encoded, each with a blank time_unix_nano right
 * after its head for the push to fill in. Metric i's points are bytes[offsets[i] ..
 * offsets[i + 1]], in the order of `OtlpLayout.metrics`.
 */
export interface VehiclePoints {
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
}

/** What a push encodes: the metrics, in /metrics order, and the resource it comes from. */
export class OtlpLayout {
  readonly metrics: readonly MetricDef[];
  readonly #opts: SeriesOptions;
  readonly #index = new Map<string, number>();
  /** Each metric's Metric fields before its data (name, description, unit). */
  readonly #heads: Uint8Array[];
  readonly #resource: Uint8Array;
  readonly #scope: Uint8Array;
  /** Where `vehiclePoints` writes a vehicle's points, and each point (kept, grown as needed). */
  readonly #vehicle = new Out(16 * 1024);
  readonly #point = new Out();

  constructor(resource: Readonly<Record<string, string>>, opts: SeriesOptions) {
    this.#opts = opts;
    this.metrics = exportedMetrics(opts);
    this.metrics.forEach((def, i) => this.#index.set(def.name, i));
    this.#heads = this.metrics.map((def) => {
      const out = new Out();
      out.field(METRIC_NAME, utf8.encode(def.name));
      out.field(METRIC_DESCRIPTION, utf8.encode(def.help));
      out.field(METRIC_UNIT, utf8.encode(def.unit));
      return out.done();
    });
    const res = new Out();
    for (const [k, v] of Object.entries(resource)) res.field(RESOURCE_ATTRIBUTES, keyValue(k, v));
    this.#resource = res.done();
    const scope = new Out();
    scope.field(SCOPE_NAME, utf8.encode("ev-observer"));
    this.#scope = scope.done();
  }

  /** A vehicle's data points, from its series as /metrics shows them. */
  vehiclePoints(entry: VehicleEntry): VehiclePoints {
    const series = vehicleSeries(entry, this.#opts).map((s) => {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no OTLP metric`);
      return { i, s };
    }).sort((a, b) => a.i - b.i);
    // Written into two reused buffers and copied out once: a buffer per metric (and per
    // label of the vehicle's own) was hundreds of ArrayBuffers per render for the collector.
    const out = this.#vehicle;
    const one = this.#point;
    const pairs = new Map<string, Uint8Array>();
    const offsets = new Uint32Array(this.metrics.length + 1);
    out.pos = 0;
    let next = 0;
    for (const { i, s } of series) {
      while (next <= i) offsets[next++] = out.pos;
      one.pos = 0;
      one.fixed64(POINT_TIME, 0n);
      one.double(POINT_DOUBLE, s.value);
      writeAttributes(one, POINT_ATTRIBUTES, s.labels, pairs);
      out.head(DATA_POINTS, one.pos);
      out.bytes(one.buf.subarray(0, one.pos));
    }
    while (next <= this.metrics.length) offsets[next++] = out.pos;
    return { bytes: out.done(), offsets };
  }

  /**
   * The whole request, in chunks of about CHUNK_BYTES: the vehicles' points (as `vehiclePoints`
   * made them) and the exporter's own counters, gauges and histograms as of now. Points carry
   * `now`; counters and histograms count from `start` (both ms since the epoch). Yields to the
   * event loop through `slicer` between vehicles.
   */
  async *request(
    readings: Readings,
    vehicles: readonly VehiclePoints[],
    now: number,
    start: number,
    slicer: Slicer,
  ): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const nowNs = BigInt(Math.round(now)) * 1_000_000n;
    const time = new Uint8Array(8);
    new DataView(time.buffer).setBigUint64(0, nowNs, true);
    const own = this.#exporterData(readings, nowNs, BigInt(Math.round(start)) * 1_000_000n);

    // Every length first: a length-delimited field's size precedes its content.
    const dataLen = this.metrics.map((def, i) => {
      if (def.exporter) return own[i]?.length ?? 0;
      let n = 0;
      for (const v of vehicles) n += v.offsets[i + 1] - v.offsets[i];
      return n;
    });
    const metricLen = dataLen.map((n, i) => n && this.#heads[i].length + fieldSize(n));
    let scopeMetrics = fieldSize(this.#scope.length);
    for (const n of metricLen) if (n) scopeMetrics += fieldSize(n);
    const resourceMetrics = fieldSize(this.#resource.length) + fieldSize(scopeMetrics);

    const out = new Out(CHUNK_BYTES + 1024);
    out.head(REQUEST_RESOURCE_METRICS, resourceMetrics);
    out.field(RM_RESOURCE, this.#resource);
    out.head(RM_SCOPE_METRICS, scopeMetrics);
    out.field(SM_SCOPE, this.#scope);
    for (const [i, def] of this.metrics.entries()) {
      if (!metricLen[i]) continue;
      out.head(SM_METRICS, metricLen[i]);
      out.bytes(this.#heads[i]);
      out.head(dataTag(def), dataLen[i]);
      if (def.exporter) {
        out.bytes(own[i]!);
        continue;
      }
      for (const v of vehicles) {
        const from = v.offsets[i];
        const to = v.offsets[i + 1];
        if (to === from) continue;
        if (out.pos + (to - from) > CHUNK_BYTES && out.pos > 0) {
          yield out.done();
          out.pos = 0;
          await slicer.check();
        }
        const at = out.pos;
        out.bytes(v.bytes.subarray(from, to));
        fillTimes(out.buf, at, out.pos, time);
      }
    }
    if (out.pos) yield out.done();
  }

  /** The exporter's own metrics' data (points and, for sums, their kind), by metric index. */
  #exporterData(readings: Readings, timeNs: bigint, start: bigint): (Uint8Array | undefined)[] {
    const outs = new Map<number, Out>();
    const point = new Out();
    const pairs = new Map<string, Uint8Array>();
    for (const s of exporterSeries(readings, this.#opts)) {
      const i = this.#index.get(s.def.name);
      if (i === undefined) throw new Error(`${s.def.name} has no OTLP metric`);
      point.pos = 0;
      if (s.def.kind === "counter") point.fixed64(POINT_START, start);
      point.fixed64(POINT_TIME, timeNs);
      point.double(POINT_DOUBLE, s.value);
      writeAttributes(point, POINT_ATTRIBUTES, s.labels, pairs);
      const out = outs.get(i) ?? new Out();
      out.head(DATA_POINTS, point.pos);
      out.bytes(point.buf.subarray(0, point.pos));
      outs.set(i, out);
    }
    for (const h of readings.histograms.values()) {
      const i = this.#index.get(h.metric);
      if (i === undefined) throw new Error(`${h.metric} has no OTLP metric`);
      const def = this.metrics[i];
      const bounds = def.buckets ?? [];
      point.pos = 0;
      point.fixed64(POINT_START, start);
      point.fixed64(POINT_TIME, timeNs);
      point.fixed64(HIST_COUNT, BigInt(h.count));
      point.double(HIST_SUM, h.sum);
      point.head(HIST_BUCKETS, h.counts.length * 8);
      for (const c of h.counts) {
        point.room(8);
        point.view.setBigUint64(point.pos, BigInt(c), true);
        point.pos += 8;
      }
      point.head(HIST_BOUNDS, bounds.length * 8);
      for (const b of bounds) {
        point.room(8);
        point.view.setFloat64(point.pos, b, true);
        point.pos += 8;
      }
      writeAttributes(point, HIST_ATTRIBUTES, fullLabels(metric(h.metric), h.labels), pairs);
      const out = outs.get(i) ?? new Out();
      out.head(DATA_POINTS, point.pos);
      out.bytes(point.buf.subarray(0, point.pos));
      outs.set(i, out);
    }
    return this.metrics.map((def, i) => {
      const out = outs.get(i);
      if (!out) return undefined;
      // Sums and histograms say how their points aggregate after the points.
      if (def.kind === "counter") {
        out.byte(TEMPORALITY);
        out.varint(CUMULATIVE);
        out.byte(MONOTONIC);
        out.varint(1);
      } else if (def.kind === "histogram") {
        out.byte(TEMPORALITY);
        out.varint(CUMULATIVE);
      }
      return out.done();
    });
  }
}

function dataTag(def: MetricDef): number {
  return def.kind === "counter"
    ? METRIC_SUM
    : def.kind === "histogram"
    ? METRIC_HISTOGRAM
    : METRIC_GAUGE;
}

/**
 * Writes `time` into the blank time_unix_nano of each data point in buf[from .. to]: a point is
 * its head (tag, length) and then, as vehiclePoints wrote it, the time field first.
 */
function fillTimes(buf: Uint8Array, from: number, to: number, time: Uint8Array): void {
  let p = from;
  while (p < to) {
    p++; // the data_points tag
    let len = 0;
    let shift = 1;
    while (buf[p] & 0x80) {
      len += (buf[p++] & 0x7f) * shift;
      shift *= 128;
    }
    len += buf[p++] * shift;
    buf.set(time, p + 1);
    p += len;
  }
}
