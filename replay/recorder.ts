/**
 * Records vendor exchanges from the HTTP seam into a cassette. Each exchange is redacted as it
 * arrives (rules: redact.ts), kept in memory, and written by `save` only if the final guard
 * (guard.ts) finds nothing left to hide. Vendor-neutral: it knows HTTP, not Tesla or Volvo.
 *
 * What replay compares (the fake server's matchers): method and path always; the request body
 * fields named in `bodyMatchers` (default `grant_type`, so the token endpoint tells an
 * authorization-code exchange from a refresh); query parameters only when named in
 * `queryMatchers` (default none). Tesla's `vehicle_data?endpoints=` is deliberately not a
 * matcher: the Tesla fake hook applies that filter to the recorded body, so a replay with a
 * different location setting still works (asking for more than was recorded gives absent
 * fields, never wrong ones). Per-run or secret parameters (code, state, verifiers, tokens)
 * must never be matchers, since a replaying client cannot know the recorded values.
 */
import type { Clock } from "../core/clock.ts";
import type { Exchange, Http, HttpResponse } from "../core/http.ts";
import {
  type Cassette,
  CASSETTE_VERSION,
  type CassetteExchange,
  type CassetteMessage,
  saveCassette,
} from "./cassette.ts";
import { assertNoLeaks } from "./guard.ts";
import { type LatLon, parseJsonExact, Redactor } from "./redact.ts";
import { isVinShaped } from "./vin.ts";

export interface RecorderOptions {
  /** The recording's clock; the Http seam must stamp exchanges with the same clock. */
  readonly clock: Clock;
  readonly vendor: string;
  readonly scenario: string;
  /** Keep exact coordinates (off by default: they are moved to a demo place). */
  readonly keepLocation?: boolean;
  readonly demoOrigin?: LatLon;
  /** Secret seed making fake VINs stable across recordings (see Redactor). */
  readonly vinSeed?: string;
  /** Query parameters replay must match (default none; see the file comment). */
  readonly queryMatchers?: readonly string[];
  /** Form or JSON body fields replay must match (default `grant_type`). */
  readonly bodyMatchers?: readonly string[];
  /** Recorded into the cassette's `tool` field. */
  readonly tool?: string;
  readonly description?: string;
}

export interface RecorderStats {
  readonly exchanges: number;
  /** Streamed messages captured. */
  readonly messages: number;
  /** Seconds since the recording started, on the recorder's clock. */
  readonly seconds: number;
  /** Distinct values replaced, by kind, and coordinates moved. */
  readonly redacted: ReturnType<Redactor["counts"]>;
}

/** Response headers worth replaying: the body type and the rate-limit signals. */
const KEPT_HEADER = /^(content-type|retry-after|(x-)?ratelimit-.+)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tolerance when checking that the Http seam and the recorder share a clock. */
const CLOCK_SLACK_MS = 1_000;

export class Recorder {
  readonly redactor: Redactor;
  readonly #options: RecorderOptions;
  readonly #start: number;
  readonly #exchanges: CassetteExchange[] = [];
  readonly #messages: CassetteMessage[] = [];
  #sampleAt?: number;

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#start = options.clock.now();
    this.redactor = new Redactor({
      keepLocation: options.keepLocation,
      demoOrigin: options.demoOrigin,
      vinSeed: options.vinSeed,
    });
  }

  /** Records every exchange `http` completes from now on. */
  attach(http: Http): void {
    http.observe((exchange) => this.capture(exchange));
  }

  /** A value that must never be written (a configured client secret or API key). */
  registerSecret(value: string, label = "secret"): void {
    this.redactor.secret(value, label);
  }

  /** Marks now as a moment the vehicle is online; `replay --once` will poll there. */
  markSample(): void {
    this.#sampleAt ??= this.#seconds(this.#options.clock.now());
  }

  /** Redacts one exchange and keeps it. */
  capture(exchange: Exchange): void {
    const { request, response, startedAt } = exchange;
    const now = this.#options.clock.now();
    if (startedAt < this.#start - CLOCK_SLACK_MS || startedAt > now + CLOCK_SLACK_MS) {
      throw new Error(
        "recorder: the Http seam stamps exchanges with another clock than the recorder's; " +
          "create the Http with `now: () => clock.now()` using the recorder's clock",
      );
    }
    const r = this.redactor;
    r.learnHeaders(request.headers ?? {});
    r.learnHeaders(response.headers);
    const query: Record<string, string> = {};
    for (const [key, value] of request.url.searchParams) {
      const redacted = r.param(key, value); // learns secrets even when not kept
      if (this.#options.queryMatchers?.includes(key)) query[key] = redacted;
    }
    const fields = request.body === undefined
      ? {}
      : this.#bodyFields(request.body, request.headers);
    const bodyKeys = this.#options.bodyMatchers ?? ["grant_type"];
    const body = Object.fromEntries(Object.entries(fields).filter(([k]) => bodyKeys.includes(k)));
    const headers: Record<string, string> = {};
    for (const [name, value] of response.headers) {
      if (KEPT_HEADER.test(name)) headers[name.toLowerCase()] = r.text(value);
    }
    const recorded: CassetteExchange = {
      at: Math.max(0, this.#seconds(startedAt)),
      request: {
        method: request.method,
        path: r.path(request.url.pathname, request.endpoint),
        query,
        ...(Object.keys(body).length ? { body } : {}),
      },
      response: { status: response.status, headers, ...this.#responseBody(response) },
    };
    // Values learned late in this exchange may sit earlier in it.
    this.#exchanges.push(r.sweep(recorded));
  }

  /**
   * Redacts one streamed MQTT message and keeps it with its arrival time: a VIN in the topic
   * as in a path, an account id there (a UUID: BMW's `<GCID>/<VIN>`) as an id, the payload as
   * a JSON body (kept byte for byte when nothing in it changed, so Go's encoding survives).
   */
  captureMessage(topic: string, payload: string): void {
    const r = this.redactor;
    const segments = topic.split("/");
    const field = segments.at(-1) ?? "";
    const redactedTopic = segments.map((s) =>
      isVinShaped(s) ? r.vin(s) : UUID.test(s) ? String(r.id(s)) : r.text(s)
    ).join("/");
    const parsed = parseJsonExact(payload);
    let redacted = r.text(payload);
    if (parsed.ok) {
      const value = r.json(parsed.value, field);
      redacted = JSON.stringify(value) === JSON.stringify(parsed.value)
        ? payload
        : JSON.stringify(value);
    }
    const at = Math.max(0, this.#seconds(this.#options.clock.now()));
    this.#messages.push(r.sweep({ at, topic: redactedTopic, payload: redacted }));
  }

  stats(): RecorderStats {
    return {
      exchanges: this.#exchanges.length,
      messages: this.#messages.length,
      seconds: this.#seconds(this.#options.clock.now()),
      redacted: this.redactor.counts(),
    };
  }

  /** The cassette so far, with every learned value swept once more (later lessons included). */
  cassette(): Cassette {
    const exchanges = this.#exchanges.map((ex) => this.redactor.sweep(ex));
    const messages = this.#messages.map((m) => this.redactor.sweep(m));
    const last = exchanges.reduce((max, ex) => Math.max(max, ex.at), 0);
    const duration = Math.max(last, this.#seconds(this.#options.clock.now()));
    const counts = this.redactor.counts();
    return {
      version: CASSETTE_VERSION,
      vendor: this.#options.vendor,
      scenario: this.#options.scenario,
      tool: this.#options.tool ?? "ev-observer recorder",
      startedAt: Math.round(this.#start) / 1000,
      duration,
      sampleAt: this.#sampleAt ?? duration,
      description: this.#options.description ??
        `Recorded from the ${this.#options.vendor} API and redacted at record time: ` +
          `${counts.secret} secrets, ${counts.vin} VINs, ${counts.id} ids, ` +
          `${counts.email + counts.phone + counts.name + counts.place} personal values; ` +
          (this.redactor.keepLocation
            ? "coordinates kept as recorded."
            : `${counts.coordinates} coordinates moved to a demo place.`),
      exchanges,
      ...(messages.length ? { messages } : {}),
    };
  }

  /**
   * Writes the cassette (default: `cassette()`) atomically, creating the folder. Refuses, with
   * a LeakError naming exchange and field but not the value, if the guard finds a leak.
   */
  async save(path: string, cassette: Cassette = this.cassette()): Promise<void> {
    assertNoLeaks(cassette, this.redactor, path);
    const dir = path.replace(/[/\\][^/\\]*$/, "");
    const made = dir !== path && dir !== "" && !(await exists(dir));
    if (made) await Deno.mkdir(dir, { recursive: true });
    try {
      await saveCassette(path, cassette);
    } catch (err) {
      // A failed first save leaves no empty scenario folder behind.
      if (made) await Deno.remove(dir).catch(() => {});
      throw err;
    }
  }

  #seconds(ms: number): number {
    return Math.round(ms - this.#start) / 1000;
  }

  /** Request body fields (form or JSON object), redacted; strings as the fake server reads them. */
  #bodyFields(
    body: string,
    headers: Readonly<Record<string, string>> = {},
  ): Record<string, string> {
    const type = Object.entries(headers).find(([k]) => k.toLowerCase() === "content-type")?.[1];
    const parsed = type?.includes("json") || body.trim().startsWith("{")
      ? parseJsonExact(body)
      : { ok: false as const };
    if (parsed.ok && parsed.value !== null && typeof parsed.value === "object") {
      const redacted = this.redactor.json(parsed.value) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(redacted).map((
          [k, v],
        ) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      );
    }
    const fields: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body)) fields[k] = this.redactor.param(k, v);
    return fields;
  }

  /** JSON bodies are stored parsed (readable, diffable); anything else as text. */
  #responseBody(response: HttpResponse): { json?: unknown; text?: string } {
    if (response.text === "") return {};
    const type = response.headers.get("content-type") ?? "";
    const t = response.text.trimStart();
    if (type.includes("json") || (!type && (t.startsWith("{") || t.startsWith("[")))) {
      const parsed = parseJsonExact(response.text);
      if (parsed.ok) return { json: this.redactor.json(parsed.value) };
    }
    return { text: this.redactor.text(response.text) };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
