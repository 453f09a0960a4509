/**
 * BMW CarData customer REST API (api-cardata.bmwgroup.com): the calls ev-observer makes, and
 * BMW's error answers (`exveErrorId` codes) as vendor-neutral errors. Every call here counts
 * against the account's 50 a day; the stream (stream.ts) does not.
 */
import { retryAfterSeconds, VendorError } from "../../core/errors.ts";
import type { HttpResponse } from "../../core/http.ts";
import { parseJsonBody } from "../../core/parse.ts";
import type { ProviderContext } from "../../core/source.ts";
import { CarDataError } from "./types.ts";

export const PROVIDER = "bmw";

/** BMW's hosts; an account may point each elsewhere (the simulator). */
export const BMW_HOSTS = {
  auth: "https://customer.bmwgroup.com",
  api: "https://api-cardata.bmwgroup.com",
  stream: "mqtts://customer.streaming-cardata.bmwgroup.com:9000",
} as const;

/** Endpoint templates (the metrics `endpoint` label: no VIN, no container id). */
export const ENDPOINT = {
  mappings: "/customers/vehicles/mappings",
  containers: "/customers/containers",
  basicData: "/customers/vehicles/{vin}/basicData",
  telematicData: "/customers/vehicles/{vin}/telematicData",
} as const;

/** The name of the container ev-observer creates once and reuses. */
export const CONTAINER_NAME = "ev-observer";

export class BmwApi {
  constructor(readonly ctx: ProviderContext) {}

  mappings(): Promise<unknown> {
    return this.#call("GET", ENDPOINT.mappings, ENDPOINT.mappings);
  }

  containers(): Promise<unknown> {
    return this.#call("GET", ENDPOINT.containers, ENDPOINT.containers);
  }

  createContainer(keys: readonly string[]): Promise<unknown> {
    return this.#call("POST", ENDPOINT.containers, ENDPOINT.containers, {
      name: CONTAINER_NAME,
      purpose: "metrics export",
      technicalDescriptors: keys,
    });
  }

  basicData(vin: string): Promise<unknown> {
    return this.#call("GET", vinPath(ENDPOINT.basicData, vin), ENDPOINT.basicData);
  }

  telematicData(vin: string, containerId: string): Promise<unknown> {
    const path = `${vinPath(ENDPOINT.telematicData, vin)}?containerId=${
      encodeURIComponent(containerId)
    }`;
    return this.#call("GET", path, ENDPOINT.telematicData);
  }

  async #call(
    method: "GET" | "POST",
    path: string,
    endpoint: string,
    body?: unknown,
  ): Promise<unknown> {
    const response = await this.ctx.http.send({
      method,
      url: new URL(path, this.ctx.baseUrl),
      endpoint,
      bearer: true,
      // A quota answer must never cost a refresh; only a dead token does.
      tokenRejected: (res) => classify(res, endpoint, this.ctx.clock.now()).kind === "unauthorized",
      headers: {
        "x-version": "v1",
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status < 200 || response.status >= 300) {
      throw classify(response, endpoint, this.ctx.clock.now());
    }
    const report = { provider: PROVIDER, readings: this.ctx.readings, log: this.ctx.log };
    const json = parseJsonBody(report, endpoint, response.text);
    if (json === undefined) {
      throw new VendorError("malformed", `${endpoint}: body is not JSON`, {
        status: response.status,
        endpoint,
      });
    }
    return json;
  }
}

function vinPath(template: string, vin: string): string {
  return template.replace("{vin}", encodeURIComponent(vin));
}

/** Seconds until 00:00 UTC, when BMW's daily call count starts again (as peers observe it). */
export function secondsToUtcMidnight(nowMs: number): number {
  const day = 86_400_000;
  return Math.ceil((Math.floor(nowMs / day + 1) * day - nowMs) / 1000);
}

/** Maps a CarData error answer to a vendor-neutral error, by its `exveErrorId` first. */
export function classify(res: HttpResponse, endpoint: string, nowMs: number): VendorError {
  let id = "";
  let message = "";
  try {
    const body = CarDataError.safeParse(JSON.parse(res.text));
    if (body.success) {
      id = body.data.exveErrorId ?? "";
      message = body.data.exveErrorMsg ?? "";
    }
  } catch { /* not JSON: the status decides */ }
  const opts = { status: res.status, endpoint };
  const detail = `${id || res.status}${message ? ` ${message.slice(0, 120)}` : ""}`;
  // CU-429 arrives as a 403 (not as 429), yet it is the daily quota, never an auth failure.
  if (id === "CU-429" || res.status === 429) {
    return new VendorError(
      "quota",
      "BMW's limit of 50 CarData API calls a day is used up (CU-429); REST calls pause until " +
        "00:00 UTC (the stream is not limited)",
      { ...opts, retryAfterS: secondsToUtcMidnight(nowMs) },
    );
  }
  if (["CU-100", "CU-101", "CU-102"].includes(id) || res.status === 401) {
    return new VendorError("unauthorized", `BMW rejected the access token (${detail})`, opts);
  }
  if (id === "CU-103") {
    return new VendorError(
      "client",
      "the token lacks the CarData scope: subscribe the client id to CarData API in the BMW " +
        "portal, then sign in again",
      opts,
    );
  }
  if (res.status >= 500) {
    // A 503 during maintenance may say how long: waited out instead of the backoff.
    const retryAfterS = retryAfterSeconds(res.headers.get("retry-after"), nowMs);
    return new VendorError("server", `BMW answered ${detail}`, {
      ...opts,
      ...(retryAfterS !== undefined ? { retryAfterS } : {}),
    });
  }
  return new VendorError("client", `BMW answered ${detail}`, opts);
}
