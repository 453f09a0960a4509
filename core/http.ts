/**
 * The one HTTP seam: every vendor request goes through `Http.send`. Recording hooks in here,
 * replay points the same code at the fake server, request metrics are counted here, and the
 * account's access token is attached here (with one refresh and retry when the API rejects
 * it), so vendor code keeps only its own quirks.
 */
import type { Readings } from "./readings.ts";

export interface HttpRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly url: string | URL;
  readonly headers?: Record<string, string>;
  /** Sent as-is; objects are JSON-encoded by the caller. */
  readonly body?: string;
  /** Endpoint template for metrics and logs, with ids replaced (e.g. `/api/1/vehicles/{id}`). */
  readonly endpoint: string;
  /** The vendor's billing category (Tesla: data, wakes, commands), for the usage meter. */
  readonly category?: string;
  /** Send the account's access token (`HttpAuth`) as `authorization: Bearer …`. */
  readonly bearer?: boolean;
  /**
   * Whether a 401 answer means the access token died, so a refreshed one may succeed (default:
   * every 401). A vendor whose 401 can also mean "sign in again" or "bad API key" says no.
   */
  readonly tokenRejected?: (response: HttpResponse) => boolean;
}

/** An account's access token, as the token manager (or a static token) provides it. */
export interface HttpAuth {
  /** A valid access token (refreshed ahead of its expiry by the token manager). */
  token(): Promise<string>;
  /** The API rejected `rejected`: a fresh token for one retry. Absent for a static token. */
  refresh?(rejected: string): Promise<string>;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly url: URL;
}

/** One finished request and its answer, as an observer (the recorder) sees it. */
export interface Exchange {
  readonly request: HttpRequest & { readonly url: URL };
  readonly response: HttpResponse;
  readonly startedAt: number;
  readonly durationMs: number;
}

export type HttpErrorKind = "network" | "timeout" | "too_large";

export class HttpError extends Error {
  constructor(
    readonly kind: HttpErrorKind,
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface HttpOptions {
  readonly provider: string;
  readonly readings?: Readings;
  /** Defaults to the global fetch; tests and replay may substitute. */
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Vendor bodies larger than this are refused rather than buffered (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /** Wall-clock source for exchange timestamps; replay passes its virtual clock. */
  readonly now?: () => number;
}

/**
 * Requests in flight to one host at once; the rest wait their turn, in order. Cars polled on
 * the same pace come due together: 1,000 charging cars sent 1,000 requests at once, and their
 * answers, all in memory together, grew the exporter's heap by about 40 MiB (bench fleet). A
 * vendor's rate limits prefer a queue too.
 */
const HOST_CONCURRENCY = 16;

/**
 * The connections vendor requests go over. fetch's own pool keeps every connection it ever
 * opened to a host idle for reuse: a poll round of 1,000 cars on one API host left 1,006
 * sockets open, past the usual limit of 1,024 file descriptors. As many as may be in flight
 * stay idle for the next round. Made when the module loads: it lives as long as the process,
 * outside any one test's resource accounting.
 */
const vendorClient = Deno.createHttpClient({ poolMaxIdlePerHost: HOST_CONCURRENCY });

const hostQueues = new Map<string, { active: number; waiting: (() => void)[] }>();

/** Waits for a turn to send to `host`; the returned function ends it. */
async function turn(host: string): Promise<() => void> {
  let queue = hostQueues.get(host);
  if (!queue) hostQueues.set(host, queue = { active: 0, waiting: [] });
  const q = queue;
  if (q.active < HOST_CONCURRENCY) q.active++;
  else await new Promise<void>((resolve) => q.waiting.push(resolve));
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    const next = q.waiting.shift();
    if (next) return next(); // the turn passes on: active stays the same
    if (--q.active === 0) hostQueues.delete(host);
  };
}

export type ExchangeObserver = (exchange: Exchange) => void | Promise<void>;

export class Http {
  readonly #observers: ExchangeObserver[];
  constructor(
    readonly options: HttpOptions,
    readonly auth?: HttpAuth,
    observers: ExchangeObserver[] = [],
  ) {
    this.#observers = observers;
  }

  /** The same seam (options, observers such as the recorder) sending this account's token. */
  withAuth(auth: HttpAuth): Http {
    return new Http(this.options, auth, this.#observers);
  }

  /**
   * Counts one outcome and observes its duration, by endpoint template (no VIN; a query string
   * is dropped) and status.
   */
  #done(request: HttpRequest, status: string, t0: number): void {
    const { provider, readings } = this.options;
    const labels = { provider, endpoint: request.endpoint.split("?")[0], status };
    readings?.count("ev.api.requests", labels);
    readings?.observe("ev.api.request.duration", labels, (performance.now() - t0) / 1000);
  }

  /** Counts a request that got no usable answer and makes its error. */
  #fail(request: HttpRequest, failure: Failure, t0: number): HttpError {
    this.#done(request, failure.status, t0);
    return new HttpError(
      failure.kind,
      request.endpoint,
      `${request.method} ${request.endpoint}: ${failure.detail}`,
    );
  }

  /** Adds an observer (e.g. the recorder) that sees every exchange after it completes. */
  observe(observer: ExchangeObserver): void {
    this.#observers.push(observer);
  }

  /**
   * Sends the request; with `bearer`, attaches the access token, and on a 401 that means the
   * token died, refreshes it once and sends again (a token can die before its stated expiry).
   */
  async send(request: HttpRequest): Promise<HttpResponse> {
    if (!request.bearer) return await this.#send(request);
    if (!this.auth) throw new Error(`${request.endpoint}: no access token for this account`);
    const token = await this.auth.token();
    const response = await this.#send(withBearer(request, token));
    const rejected = response.status === 401 &&
      (request.tokenRejected?.(response) ?? true);
    if (!rejected || !this.auth.refresh) return response;
    return await this.#send(withBearer(request, await this.auth.refresh(token)));
  }

  async #send(request: HttpRequest): Promise<HttpResponse> {
    const url = new URL(request.url);
    const fetchImpl = this.options.fetch ?? fetch;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const now = this.options.now ?? Date.now;
    const done = await turn(url.host);
    // Timed from the turn: waiting in the queue is not the vendor's slowness.
    const startedAt = now();
    const t0 = performance.now();
    let response: Response;
    let text: string;
    try {
      try {
        response = await fetchImpl(url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "manual",
          client: vendorClient,
        });
      } catch (err) {
        throw this.#fail(request, classifyFetchError(err, timeoutMs), t0);
      }
      const maxBytes = this.options.maxBodyBytes ?? 4 * 1024 * 1024;
      try {
        text = await readCapped(response, maxBytes);
      } catch (err) {
        // The timeout and a dropped connection can strike while the body streams in as well.
        throw this.#fail(request, classifyFetchError(err, timeoutMs), t0);
      }
    } finally {
      done();
    }
    this.#done(request, String(response.status), t0);
    const result: HttpResponse = { status: response.status, headers: response.headers, text, url };
    const exchange: Exchange = {
      request: { ...request, url },
      response: result,
      startedAt,
      durationMs: performance.now() - t0,
    };
    for (const observer of this.#observers) await observer(exchange);
    return result;
  }
}

function withBearer(request: HttpRequest, token: string): HttpRequest {
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
}

/** What went wrong, for the counter's `status` label and a message without the URL. */
interface Failure {
  readonly kind: HttpErrorKind;
  readonly status: "timeout" | "network_error" | "too_large";
  readonly detail: string;
}

class TooLarge extends Error {}

function classifyFetchError(err: unknown, timeoutMs: number): Failure {
  if (err instanceof TooLarge) {
    return { kind: "too_large", status: "too_large", detail: err.message };
  }
  if (err instanceof DOMException && err.name === "TimeoutError") {
    return { kind: "timeout", status: "timeout", detail: `no answer within ${timeoutMs} ms` };
  }
  return { kind: "network", status: "network_error", detail: networkDetail(err) };
}

/**
 * Deno says only "fetch failed" and puts the reason (DNS, refused, reset) in `cause`, after
 * the full URL; the URL may carry a vehicle id or VIN, so it is cut out.
 */
export function networkDetail(err: unknown): string {
  const e = err as Error | undefined;
  const cause = (e?.cause as Error | undefined)?.message;
  const text = cause ? `${e?.message}: ${cause}` : e?.message ?? String(err);
  return text.replace(/ for url \([^)]*\)/g, "").replace(/https?:\/\/\S+/g, "<url>");
}

async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return "";
  const declared = Number(response.headers.get("content-length"));
  if (declared > max) {
    // Refused up front: no need to download what we will not keep.
    await response.body.cancel();
    throw new TooLarge(`response body of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLarge(`response body exceeds the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
