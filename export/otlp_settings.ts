/**
 * The OTLP settings: from the standard OTEL_* variables and the config's greptimedb block. Apart
 * from export/otlp.ts so that deciding whether OTLP is on (and the permissions it needs) loads
 * nothing of the export itself.
 */
import { registerSecret } from "../core/log.ts";

export interface OtlpSettings {
  /** Full metrics URL, e.g. http://localhost:4000/v1/otlp/v1/metrics. */
  readonly url: string;
  /** Request headers, names lower-cased. Values may hold credentials: never log them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
  readonly intervalMillis: number;
  readonly compression: "none" | "gzip";
  readonly serviceName: string;
  /** Resource attributes from OTEL_RESOURCE_ATTRIBUTES (service.name is set separately). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
}

export interface GreptimeDbSettings {
  url: string;
  database?: string;
  username?: string;
  password?: string;
}

type Env = Record<string, string | undefined>;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_SERVICE_NAME = "ev-observer";

/**
 * OTLP settings from the standard OTEL_* variables and the config's greptimedb block, or
 * undefined when no endpoint is configured (or OTEL_SDK_DISABLED=true /
 * OTEL_METRICS_EXPORTER=none). Precedence for the URL: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
 * (as is), then OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, then greptimedb.url +
 * /v1/otlp/v1/metrics. Headers: greptimedb ones, then OTEL_EXPORTER_OTLP_HEADERS, then
 * OTEL_EXPORTER_OTLP_METRICS_HEADERS (later wins). Invalid values throw an Error naming the
 * variable (never its value, which may be a secret).
 */
export function otlpSettings(env: Env, greptimedb?: GreptimeDbSettings): OtlpSettings | undefined {
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  if (get("OTEL_SDK_DISABLED")?.toLowerCase() === "true") return undefined;
  if (get("OTEL_METRICS_EXPORTER")?.toLowerCase() === "none") return undefined;

  const metricsEndpoint = get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
  const endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT");
  let url: string | undefined;
  let greptimeUrl: string | undefined;
  if (metricsEndpoint) url = checkUrl("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metricsEndpoint);
  else if (endpoint) {
    url = checkUrl("OTEL_EXPORTER_OTLP_ENDPOINT", `${stripSlash(endpoint)}/v1/metrics`);
  } else if (greptimedb?.url) {
    url = checkUrl("greptimedb.url", `${stripSlash(greptimedb.url)}/v1/otlp/v1/metrics`);
    greptimeUrl = url;
  }
  if (!url) return undefined;

  const headers: Record<string, string> = {};
  if (greptimedb) {
    headers["x-greptime-db-name"] = greptimedb.database || "public";
    // Only with a user: the seed sent "Basic Og==" (empty credentials) to every server.
    if (greptimedb.username) {
      registerSecret(greptimedb.password);
      headers["authorization"] = `Basic ${
        btoa(utf8Binary(`${greptimedb.username}:${greptimedb.password ?? ""}`))
      }`;
    }
  }
  for (const name of ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"]) {
    const raw = get(name);
    if (!raw) continue;
    for (const [k, v] of Object.entries(parseKeyValues(name, raw))) headers[k.toLowerCase()] = v;
  }
  for (const [k, v] of Object.entries(headers)) {
    if (/auth|token|key|secret|password|cookie/i.test(k)) {
      registerSecret(v);
      registerSecret(v.replace(/^\S+\s+/, "")); // the credential without "Basic "/"Bearer "
    }
  }

  // GreptimeDB's OTLP routes decompress request bodies (a tower-http RequestDecompressionLayer
  // on /v1/otlp since v0.9.4), so its pushes are gzipped unless told otherwise; another
  // backend keeps the OTel default, none.
  const compression = get("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION") ??
    get("OTEL_EXPORTER_OTLP_COMPRESSION") ?? (url === greptimeUrl ? "gzip" : "none");
  if (compression !== "none" && compression !== "gzip") {
    throw new Error(`OTEL_EXPORTER_OTLP_COMPRESSION: expected "none" or "gzip"`);
  }

  const resourceAttributes = parseKeyValues(
    "OTEL_RESOURCE_ATTRIBUTES",
    get("OTEL_RESOURCE_ATTRIBUTES") ?? "",
  );
  const serviceName = get("OTEL_SERVICE_NAME") ?? resourceAttributes["service.name"] ??
    DEFAULT_SERVICE_NAME;
  delete resourceAttributes["service.name"];

  return {
    url,
    headers,
    timeoutMillis:
      millis(env, ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]) ??
        DEFAULT_TIMEOUT_MS,
    intervalMillis: millis(env, ["OTEL_METRIC_EXPORT_INTERVAL"]) ?? DEFAULT_INTERVAL_MS,
    compression,
    serviceName,
    resourceAttributes,
  };
}

const stripSlash = (s: string) => s.replace(/\/+$/, "");

function utf8Binary(s: string): string {
  return String.fromCharCode(...new TextEncoder().encode(s));
}

function checkUrl(name: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`${name}: not a valid URL (expected e.g. http://localhost:4000)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`${name}: expected an http:// or https:// URL`);
  }
  return u.href;
}

/** `k=v,k2=v2`, keys and values URL-decoded (W3C baggage style, as the OTel spec says). */
function parseKeyValues(name: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  raw.split(",").forEach((part, i) => {
    if (!part.trim()) return;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`${name}: entry ${i + 1} is not key=value`);
    try {
      const key = decodeURIComponent(part.slice(0, eq).trim());
      if (!key) throw new Error("empty key");
      out[key] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new Error(`${name}: entry ${i + 1} is not valid URL-encoded key=value`);
    }
  });
  return out;
}

function millis(env: Env, names: string[]): number | undefined {
  for (const name of names) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) {
      throw new Error(`${name}: expected a positive number of milliseconds, got "${raw}"`);
    }
    return n;
  }
  return undefined;
}
