/**
 * Volvo REST calls: Connected Vehicle v2, Energy v2 and Location v1 on api.volvocars.com, and
 * the translation of Volvo's error answers into vendor-neutral errors.
 */
import { retryAfterSeconds, VendorError, type VendorErrorKind } from "../../core/errors.ts";
import type { HttpResponse } from "../../core/http.ts";
import { parseJsonBody, reportField } from "../../core/parse.ts";
import type { EndpointPace, ProviderContext } from "../../core/source.ts";
import { DataEnvelope } from "./types.ts";

export const PROVIDER = "volvo";

const CV = "/connected-vehicle/v2/vehicles";

export interface VolvoEndpoint {
  /** Path template; `{vin}` is replaced. The template is also the metrics `endpoint` label. */
  readonly template: string;
  readonly pace: EndpointPace;
  /** Connected Vehicle and Location wrap the body in `data`; Energy v2 does not. */
  readonly wrapped: boolean;
  /** OAuth scopes the endpoint needs besides `openid`, as Volvo's page for it lists them. */
  readonly scopes: readonly string[];
}

const ep = (
  template: string,
  pace: EndpointPace,
  scopes: string[],
  wrapped = true,
): VolvoEndpoint => ({ template, pace, wrapped, scopes });

/** Every endpoint the provider reads, by the name schedulers use in `fetch({endpoints})`. */
export const ENDPOINTS = {
  "details": ep(`${CV}/{vin}`, "static", ["conve:vehicle_relation"]),
  "doors": ep(`${CV}/{vin}/doors`, "use", ["conve:doors_status", "conve:lock_status"]),
  "windows": ep(`${CV}/{vin}/windows`, "use", ["conve:windows_status"]),
  // Engine running is how a drive is seen: read with every parked read, like the Energy state.
  "engine-status": ep(`${CV}/{vin}/engine-status`, "driving", ["conve:engine_status"]),
  "command-accessibility": ep(`${CV}/{vin}/command-accessibility`, "use", [
    "conve:command_accessibility",
  ]),
  "odometer": ep(`${CV}/{vin}/odometer`, "trip", ["conve:odometer_status"]),
  "fuel": ep(`${CV}/{vin}/fuel`, "trip", ["conve:fuel_status", "conve:battery_charge_level"]),
  "statistics": ep(`${CV}/{vin}/statistics`, "slow", ["conve:trip_statistics"]),
  "tyres": ep(`${CV}/{vin}/tyres`, "slow", ["conve:tyre_status"]),
  "warnings": ep(`${CV}/{vin}/warnings`, "slow", ["conve:warnings"]),
  "diagnostics": ep(`${CV}/{vin}/diagnostics`, "slow", ["conve:diagnostics_workshop"]),
  "engine": ep(`${CV}/{vin}/engine`, "slow", ["conve:diagnostics_engine_status"]),
  "brakes": ep(`${CV}/{vin}/brakes`, "slow", ["conve:brake_status"]),
  "energy-state": ep("/energy/v2/vehicles/{vin}/state", "charging", ["energy:state:read"], false),
  "energy-capabilities": ep(
    "/energy/v2/vehicles/{vin}/capabilities",
    "static",
    ["energy:capability:read"],
    false,
  ),
  "location": ep("/location/v1/vehicles/{vin}/location", "trip", ["location:read"]),
} as const satisfies Record<string, VolvoEndpoint>;

export type EndpointName = keyof typeof ENDPOINTS;
export const VEHICLES_TEMPLATE = CV;
export const VEHICLES_SCOPES: readonly string[] = ["conve:vehicle_relation"];

/**
 * The scopes a read-only sign-in asks for: `openid` and what every endpoint needs (no command
 * scope); `location:read` (a restricted scope) only when location is enabled.
 */
export function defaultScopes(location: boolean): string[] {
  const all = new Set(["openid", ...VEHICLES_SCOPES]);
  for (const [name, e] of Object.entries(ENDPOINTS) as [EndpointName, VolvoEndpoint][]) {
    if (name !== "location" || location) e.scopes.forEach((s) => all.add(s));
  }
  return [...all];
}

/** Why a Volvo request failed, beyond the vendor-neutral kind. */
export type VolvoReason =
  | "quota"
  | "rate_limited"
  | "api_key"
  | "token"
  | "forbidden"
  | "market"
  | "unsupported"
  | "gone"
  | "server"
  | "other";

/** A VendorError the scheduler understands, plus the Volvo reason the provider acts on. */
export class VolvoError extends VendorError {
  constructor(
    kind: VendorErrorKind,
    readonly reason: VolvoReason,
    message: string,
    options: { status?: number; retryAfterS?: number; endpoint?: string } = {},
  ) {
    super(kind, message, options);
  }
}

export class VolvoApi {
  constructor(readonly ctx: ProviderContext, readonly apiKey: string) {}

  /** The vehicles of the account. */
  vehicles(): Promise<unknown> {
    return this.get(VEHICLES_TEMPLATE, VEHICLES_TEMPLATE, true);
  }

  /** One endpoint of one vehicle; returns the body without its `data` envelope. */
  read(name: EndpointName, vin: string): Promise<unknown> {
    const { template, wrapped } = ENDPOINTS[name];
    return this.get(template.replace("{vin}", encodeURIComponent(vin)), template, wrapped);
  }

  async get(path: string, endpoint: string, wrapped: boolean): Promise<unknown> {
    const response = await this.#send(path, endpoint);
    if (response.status < 200 || response.status >= 300) {
      throw classify(response, endpoint, this.ctx.clock.now());
    }
    const report = { provider: PROVIDER, readings: this.ctx.readings, log: this.ctx.log };
    const body = parseJsonBody(report, endpoint, response.text);
    const malformed = (what: string) =>
      new VolvoError("malformed", "other", `${endpoint}: ${what}`, {
        status: response.status,
        endpoint,
      });
    if (body === undefined) throw malformed("body is not JSON");
    if (!wrapped) return body;
    const env = DataEnvelope.safeParse(body);
    if (!env.success || env.data.data === undefined || env.data.data === null) {
      reportField(report, `${endpoint}.data`, "missing envelope");
      throw malformed('no "data" in the body');
    }
    return env.data.data;
  }

  #send(path: string, endpoint: string) {
    return this.ctx.http.send({
      method: "GET",
      url: new URL(path, this.ctx.baseUrl),
      endpoint,
      bearer: true,
      // An invalid API key is a 401 too, but no new token fixes it.
      tokenRejected: (res) => classify(res, endpoint, this.ctx.clock.now()).reason === "token",
      headers: { "vcc-api-key": this.apiKey, accept: "application/json" },
    });
  }
}

/** `HH:MM:SS` from the quota answer, in seconds. */
const QUOTA = /Out of call volume quota.*?replenished in (\d+):(\d{2}):(\d{2})/i;
/** When the quota answer carries no countdown: an hour, then the next try tells more. */
const QUOTA_FALLBACK_S = 3600;
/** Volvo documents no Retry-After; its window is one minute. */
const RATE_WINDOW_S = 60;
/** An invalid key or a shut-down API does not heal by itself: try again hourly / daily. */
const API_KEY_BACKOFF_S = 3600;
const GONE_BACKOFF_S = 86_400;

/** The API a path belongs to, for messages ("Connected Vehicle API v1"). */
export function apiName(path: string): string {
  const m = /^\/([a-z-]+)\/v(\d+)\b/.exec(path);
  if (!m) return `the API at ${path}`;
  const name = m[1].split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
  return `${name} API v${m[2]}`;
}

/** Every message text in one of Volvo's three error envelopes (or the raw text). */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text);
    const e = body?.error;
    const parts = [
      body?.message,
      typeof e === "string" ? e : e?.message,
      e?.description,
      e?.code,
      body?.error_description,
    ];
    return parts.filter((p) => typeof p === "string" && p).join(": ");
  } catch {
    return text.slice(0, 200);
  }
}

/** Maps a Volvo error answer (status and message text) to a vendor-neutral error. */
export function classify(res: HttpResponse, endpoint: string, nowMs: number): VolvoError {
  const detail = errorText(res.text);
  const status = res.status;
  const opts = { status, endpoint };
  const header = retryAfterSeconds(res.headers.get("retry-after"), nowMs);
  const quota = QUOTA.exec(detail);
  switch (true) {
    // The quota answer is a 403, but not an auth failure: never ask for a new sign-in on it.
    case /Out of call volume quota/i.test(detail): {
      const retryAfterS = quota
        ? Number(quota[1]) * 3600 + Number(quota[2]) * 60 + Number(quota[3])
        : QUOTA_FALLBACK_S;
      return new VolvoError(
        "quota",
        "quota",
        `the daily call quota of this Volvo API key is used up; it refills in ${
          quota ? `${quota[1]}:${quota[2]}:${quota[3]}` : "an unknown time"
        }`,
        { ...opts, retryAfterS },
      );
    }
    case status === 429:
      return new VolvoError(
        "rate_limited",
        "rate_limited",
        "Volvo's per-minute request limit was reached",
        { ...opts, retryAfterS: header ?? RATE_WINDOW_S },
      );
    case status === 401 && /VCC-API-KEY/i.test(detail):
      return new VolvoError(
        "client",
        "api_key",
        "Volvo rejected the API key (vcc_api_key): it is invalid, or its application is not " +
          "published yet (unpublished keys work only with test tokens)",
        { ...opts, retryAfterS: API_KEY_BACKOFF_S },
      );
    case status === 401:
      return new VolvoError("unauthorized", "token", "Volvo rejected the access token", opts);
    case status === 410 || /\bGONE\b/.test(detail) || /Version \d+ is removed/i.test(detail):
      return new VolvoError(
        "client",
        "gone",
        `Volvo has shut down ${apiName(new URL(res.url).pathname)} (${
          detail || status
        }); this endpoint can no longer be used`,
        { ...opts, retryAfterS: GONE_BACKOFF_S },
      );
    case status === 403:
      return new VolvoError(
        "client",
        "forbidden",
        `Volvo denied access${detail ? ` (${detail})` : ""}; the sign-in may lack a scope`,
        opts,
      );
    case status === 404 && /allowed markets/i.test(detail):
      return new VolvoError(
        "client",
        "market",
        "this vehicle is outside Volvo's allowed markets (the API serves cars of the " +
          "Europe/Middle East/Africa region only)",
        { ...opts, retryAfterS: GONE_BACKOFF_S },
      );
    case status === 404:
      return new VolvoError(
        "client",
        "unsupported",
        `${endpoint} is not available for this vehicle${detail ? ` (${detail})` : ""}`,
        opts,
      );
    case status >= 500:
      return new VolvoError("server", "server", `Volvo answered ${status}`, {
        ...opts,
        retryAfterS: header,
      });
    default:
      return new VolvoError(
        "client",
        "other",
        `Volvo answered ${status}${detail ? ` (${detail})` : ""}`,
        opts,
      );
  }
}
