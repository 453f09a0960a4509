/** Series of /metrics and of a decoded OTLP push, keyed alike, to compare the two exports. */
import { CATALOG, metric, prometheusName } from "../core/catalog.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

/** Prometheus names of the histogram families (their _bucket/_sum/_count lines are one series). */
const HISTOGRAMS = new Set(CATALOG.filter((d) => d.kind === "histogram").map(prometheusName));
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** `family|labels` of every series on /metrics; a histogram counts once per label set. */
export function exposedSeries(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    let name = m[1];
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k] = v.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    }
    const family = name.replace(HISTOGRAM_SUFFIX, "");
    if (family !== name && HISTOGRAMS.has(family)) {
      if (!name.endsWith("_count")) continue;
      name = family;
      delete labels.le;
    }
    out.push(key(name, labels));
  }
  return out;
}

/** `family|labels` of every data point of a decoded OTLP request. */
export function pushedSeries(request: Obj): string[] {
  const out: string[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const name = prometheusName(metric(m.name));
        for (const p of (m.gauge ?? m.sum ?? m.histogram).dataPoints ?? []) {
          const labels = Object.fromEntries(
            (p.attributes ?? []).map((a: Obj) => [a.key, String(Object.values(a.value)[0])]),
          );
          out.push(key(name, labels));
        }
      }
    }
  }
  return out;
}

function key(name: string, labels: Record<string, string>): string {
  return `${name}|${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1))}`;
}
