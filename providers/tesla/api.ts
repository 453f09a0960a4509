/** Tesla REST calls (Owner and Fleet API share these paths and shapes). */
import { retryAfterSeconds, VendorError } from "../../core/errors.ts";
import type { HttpResponse } from "../../core/http.ts";
import { parseJsonBody, reportField } from "../../core/parse.ts";
import type { ProviderContext } from "../../core/source.ts";
import { Envelope } from "./types.ts";

export const PROVIDER = "tesla";

/** Where an account's REST API lives (Fleet: per region; see region.ts). */
export interface TeslaBaseUrl {
  current(): Promise<string>;
  /** `rejected` answered 421 (the account lives in another region): the host to use now. */
  misdirected(rejected: string): Promise<string>;
}

export class TeslaApi {
  /** `base` overrides `ctx.baseUrl` for live Fleet accounts. */
  constructor(readonly ctx: ProviderContext, readonly base?: TeslaBaseUrl) {}

  /** Products list (works on Owner and Fleet API); vehicles are the entries with a VIN. */
  products(): Promise<unknown> {
    return this.get("/api/1/products", "/api/1/products");
  }

  /** Summary with `state`; does not wake the car or reset its sleep timer. */
  summary(id: string): Promise<unknown> {
    return this.get(`/api/1/vehicles/${encodeURIComponent(id)}`, "/api/1/vehicles/{id}");
  }

  vehicleData(id: string, endpoints: readonly string[]): Promise<unknown> {
    const q = new URLSearchParams({ endpoints: endpoints.join(";") });
    return this.get(
      `/api/1/vehicles/${encodeURIComponent(id)}/vehicle_data?${q}`,
      "/api/1/vehicles/{id}/vehicle_data",
    );
  }

  /** Wakes the car (billed as a wake); it answers before the car is up. */
  wakeUp(id: string): Promise<unknown> {
    const path = `/api/1/vehicles/${encodeURIComponent(id)}/wake_up`;
    return this.#call("POST", path, "/api/1/vehicles/{id}/wake_up", "wakes");
  }

  get(pathAndQuery: string, endpoint: string): Promise<unknown> {
    return this.#call("GET", pathAndQuery, endpoint, "data");
  }

  async #call(
    method: "GET" | "POST",
    pathAndQuery: string,
    endpoint: string,
    category: string,
  ): Promise<unknown> {
    const send = (base: string) =>
      this.ctx.http.send({
        method,
        url: new URL(pathAndQuery, base),
        endpoint,
        // The Fleet API bills data, wakes and commands at different prices.
        category,
        bearer: true,
        // `login_required` is a 401 too, but no refreshed token fixes it.
        tokenRejected: (res) =>
          classify(res, endpoint, this.ctx.clock.now()).kind === "unauthorized",
        headers: { "content-type": "application/json", accept: "application/json" },
      });
    let base = this.base ? await this.base.current() : this.ctx.baseUrl;
    let res = await send(base);
    if (res.status === 421 && this.base) {
      base = await this.base.misdirected(base);
      res = await send(base);
    }
    return this.unwrap(res, endpoint);
  }

  /** Returns the envelope's `response`, or throws a VendorError the scheduler understands. */
  unwrap(res: HttpResponse, endpoint: string): unknown {
    const report = { provider: PROVIDER, readings: this.ctx.readings, log: this.ctx.log };
    if (res.status >= 200 && res.status < 300) {
      const body = parseJsonBody(report, endpoint, res.text);
      if (body === undefined) {
        throw new VendorError("malformed", `${endpoint}: body is not JSON`, {
          status: res.status,
          endpoint,
        });
      }
      const env = Envelope.safeParse(body);
      if (!env.success || env.data.response === undefined || env.data.response === null) {
        reportField(report, `${endpoint}.response`, "missing envelope");
        throw new VendorError("malformed", `${endpoint}: no "response" in the body`, {
          status: res.status,
          endpoint,
        });
      }
      return env.data.response;
    }
    throw classify(res, endpoint, this.ctx.clock.now());
  }
}

/** Maps a Tesla error answer (HTTP status and the body's `error` key) to a vendor-neutral error. */
export function classify(res: HttpResponse, endpoint: string, nowMs: number): VendorError {
  let key = "";
  try {
    const body = JSON.parse(res.text);
    key = String(body?.error ?? "");
  } catch { /* non-JSON error page: the status decides */ }
  const opts = { status: res.status, endpoint };
  const retryAfterS = retryAfterSeconds(res.headers.get("retry-after"), nowMs);
  switch (true) {
    case res.status === 408 || key.startsWith("vehicle unavailable"):
      return new VendorError("asleep", "vehicle is asleep or offline", opts);
    case res.status === 401 && key === "login_required":
      return new VendorError("sign_in_needed", "Tesla asks for a new sign-in", opts);
    case res.status === 401:
      return new VendorError("unauthorized", "access token rejected", opts);
    case res.status === 429:
      // TeslaMate waits 300 s when the header is missing.
      return new VendorError("rate_limited", "rate limited by Tesla", {
        ...opts,
        retryAfterS: retryAfterS ?? 300,
      });
    case res.status === 403 && key.includes("EXCEEDED_LIMIT"):
      return new VendorError("quota", "Fleet API billing limit reached", {
        ...opts,
        retryAfterS: retryAfterS ?? 900,
      });
    case res.status >= 500:
      return new VendorError("server", `Tesla answered ${res.status}`, { ...opts, retryAfterS });
    default:
      return new VendorError(
        "client",
        `Tesla answered ${res.status}${key ? ` (${key})` : ""}`,
        opts,
      );
  }
}
