/**
 * The one HTTP seam: every vendor request goes through `Http.send`. Recording hooks in here,
 * replay points the same code at the fake server, and request metrics are counted here.
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

export type ExchangeObserver = (exchange: Exchange) => void | Promise<void>;

export class Http {
  readonly #observers: ExchangeObserver[] = [];
  constructor(readonly options: HttpOptions) {}

  /** Adds an observer (e.g. the recorder) that sees every exchange after it completes. */
  observe(observer: ExchangeObserver): void {
    this.#observers.push(observer);
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const { provider, readings } = this.options;
    const url = new URL(request.url);
    const fetchImpl = this.options.fetch ?? fetch;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const now = this.options.now ?? Date.now;
    const startedAt = now();
    const t0 = performance.now();
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      const status = timedOut ? "timeout" : "network_error";
      readings?.count("ev.api.requests", { provider, endpoint: request.endpoint, status });
      throw new HttpError(
        timedOut ? "timeout" : "network",
        request.endpoint,
        timedOut
          ? `${request.method} ${request.endpoint}: no answer within ${timeoutMs} ms`
          : `${request.method} ${request.endpoint}: ${(err as Error).message}`,
      );
    }
    const text = await readCapped(response, this.options.maxBodyBytes ?? 4 * 1024 * 1024)
      .catch((err) => {
        readings?.count("ev.api.requests", {
          provider,
          endpoint: request.endpoint,
          status: "too_large",
        });
        throw new HttpError("too_large", request.endpoint, `${request.endpoint}: ${err.message}`);
      });
    readings?.count("ev.api.requests", {
      provider,
      endpoint: request.endpoint,
      status: String(response.status),
    });
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

async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`response body exceeds the ${max}-byte limit`);
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
