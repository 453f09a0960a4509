/**
 * OTLP/HTTP protobuf push of the readings store (GreptimeDB or any OTLP backend).
 *
 * Every push carries what /metrics shows, one data point per series: vehicle metrics as
 * gauges (a state set one point per state, flags 0/1), the exporter's counters as cumulative
 * monotonic sums and its request durations as cumulative explicit-bucket histograms
 * (GreptimeDB rejects exponential ones), all counted from when this export started. Attributes
 * are strings only: GreptimeDB silently drops boolean attributes. Nothing caps the number of
 * series, so nothing is folded at any fleet size.
 *
 * On failure it behaves as the OTel SDK's exporter did: a failed push is dropped, not queued
 * (gauges carry current values and counters running totals, so the next push loses nothing);
 * 429, 502, 503, 504 and network errors are retried with backoff, or after Retry-After, at most
 * 5 times and only within the push's timeout; a tick is skipped while a push is still open.
 */
import { realClock } from "../core/clock.ts";
import { retryAfterSeconds } from "../core/errors.ts";
import { networkDetail } from "../core/http.ts";
import type { Readings } from "../core/readings.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { gzip } from "./gzip.ts";
import { Slicer } from "./next_task.ts";
import { OtlpLayout, type VehiclePoints } from "./otlp_encode.ts";
import { PerVehicle } from "./per_vehicle.ts";
import type { SeriesOptions } from "./series.ts";
import type { OtlpSettings } from "./otlp_settings.ts";

export { type GreptimeDbSettings, type OtlpSettings, otlpSettings } from "./otlp_settings.ts";

/** Longest run of encoding in one event-loop task before yielding, ms. */
const SLICE_MS = 8;
/** Retries of one push after its first attempt. */
const MAX_RETRIES = 5;
const RETRYABLE = new Set([429, 502, 503, 504]);
/** Backoff before retry n (from 0): 1 s × 1.5ⁿ, at most 5 s, ±20 % jitter. */
const backoff = (n: number) => Math.min(5_000, 1_000 * 1.5 ** n) * (0.8 + 0.4 * Math.random());
/** Response bytes kept for a failure's log line. */
const RESPONSE_EXCERPT = 300;

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
}

/** A push that did not reach the backend, with what the log should say. */
class PushError extends Error {
  constructor(message: string, readonly status?: number, readonly response?: string) {
    super(message);
  }
}

/** Pushes the readings store over OTLP/HTTP protobuf every settings.intervalMillis. */
export class OtlpExport {
  readonly #readings: Readings;
  readonly #settings: OtlpSettings;
  readonly #log: Logger;
  readonly #target: string;
  readonly #layout: OtlpLayout;
  readonly #points: PerVehicle<VehiclePoints>;
  readonly #start = Date.now();
  readonly #timer: ReturnType<typeof setInterval>;
  #running?: Promise<void>;
  #stopped = false;
  #failures = 0;
  #exports = 0;
  #lastError: string | undefined;

  constructor(readings: Readings, settings: OtlpSettings, opts: OtlpExportOptions) {
    this.#readings = readings;
    this.#settings = settings;
    this.#log = (opts.log ?? createLogger()).child({ component: "otlp" });
    this.#target = safeUrl(settings.url);
    this.#layout = new OtlpLayout(
      { ...settings.resourceAttributes, "service.name": settings.serviceName },
      opts,
    );
    this.#points = new PerVehicle((entry) => this.#layout.vehiclePoints(entry));
    this.#timer = setInterval(() => {
      // A push still open (a slow backend) keeps the next tick from piling a second one on.
      if (!this.#running) this.#run();
    }, settings.intervalMillis);
    // As the SDK's reader: the push alone does not keep the process alive.
    Deno.unrefTimer(this.#timer as unknown as number);
    this.#log.info("OTLP export configured", {
      url: this.#target,
      interval_ms: settings.intervalMillis,
      compression: settings.compression,
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

  /** The last failure's message, if any (no header values). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Vehicles' data points encoded since start (one per changed vehicle, not per push). */
  get encodes(): number {
    return this.#points.made;
  }

  /** Collects and exports now, after a push still open; failures are logged and counted. */
  async forceFlush(): Promise<void> {
    while (this.#running) await this.#running;
    await this.#run();
  }

  /** Stops the periodic export, then exports a last time. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.forceFlush();
  }

  #run(): Promise<void> {
    const running = this.#push().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #push(): Promise<void> {
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await this.#encode();
    } catch (err) {
      this.#failed(new PushError(`encoding the push failed: ${(err as Error).message}`));
      return;
    }
    try {
      await this.#send(body);
      this.#exports++;
      this.#readings.count("ev.export.requests", { backend: "otlp", result: "ok" });
    } catch (err) {
      this.#failed(err);
    }
  }

  /** The request's bytes, gzipped if configured; yields to the event loop while it works. */
  async #encode(): Promise<Uint8Array<ArrayBuffer>> {
    const slicer = new Slicer(SLICE_MS);
    const vehicles = await this.#points.all(this.#readings, slicer);
    const chunks = this.#layout.request(this.#readings, vehicles, Date.now(), this.#start, slicer);
    if (this.#settings.compression === "gzip") return await gzip(chunks);
    const parts = [];
    for await (const chunk of chunks) parts.push(chunk);
    return new Uint8Array(await new Blob(parts).arrayBuffer());
  }

  /** POSTs the body, retrying what may pass later within the timeout; throws a PushError. */
  async #send(body: Uint8Array<ArrayBuffer>): Promise<void> {
    const deadline = Date.now() + this.#settings.timeoutMillis;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#settings.timeoutMillis);
    try {
      await this.#attempts(body, deadline, timeout.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  async #attempts(body: Uint8Array<ArrayBuffer>, deadline: number, signal: AbortSignal) {
    const headers: Record<string, string> = {
      ...this.#settings.headers,
      "content-type": "application/x-protobuf",
      ...(this.#settings.compression === "gzip" ? { "content-encoding": "gzip" } : {}),
    };
    for (let attempt = 0;; attempt++) {
      let failure: PushError;
      let wait: number | undefined;
      try {
        const res = await fetch(this.#settings.url, { method: "POST", headers, body, signal });
        const text = await res.text();
        if (res.ok) return;
        failure = new PushError(
          `HTTP ${res.status} ${res.statusText}`.trim(),
          res.status,
          text.slice(0, RESPONSE_EXCERPT),
        );
        if (!RETRYABLE.has(res.status)) throw failure;
        const after = retryAfterSeconds(res.headers.get("retry-after"), Date.now());
        if (after !== undefined) wait = after * 1000;
      } catch (err) {
        if (err instanceof PushError) throw err;
        if (signal.aborted) throw new PushError("Request timed out");
        failure = new PushError(networkDetail(err));
      }
      wait ??= backoff(attempt);
      if (attempt >= MAX_RETRIES || Date.now() + wait >= deadline) throw failure;
      await realClock.sleep(wait, signal).catch(() => {
        throw new PushError("Request timed out");
      });
    }
  }

  #failed(err: unknown): void {
    this.#failures++;
    this.#readings.count("ev.export.requests", { backend: "otlp", result: "error" });
    const e = err instanceof PushError ? err : new PushError(String(err));
    this.#lastError = e.message;
    this.#log.warn("OTLP export failed", {
      url: this.#target,
      error: e.message,
      status: e.status,
      response: e.response || undefined,
      failures: this.#failures,
    });
  }
}
