/**
 * A simulated Volvo (Connected Vehicle v2, Energy v2, Location v1 and Volvo ID) on loopback,
 * driven by the scripted days of scenario.ts on an injected clock. Unlike the cassette fake
 * (replay/fake_server.ts) it has teeth: every request needs a known `vcc-api-key` and a live
 * bearer token with the endpoint's scopes, each key has Volvo's per-minute (100) and per-day
 * (10,000) limits with Volvo's own answers, and every request is counted per key. Its counters
 * and its log of answers are the benchmark's ground truth.
 *
 * Checks run in the order of Volvo's API gateway (an inference from the answers: the key and
 * quota bodies are the gateway's, the token body the backend's): key → daily quota →
 * per-minute limit → shut-down API versions → bearer token → scopes → the vehicle's data.
 * A request refused for the quota counts toward nothing; one refused by the per-minute limit
 * has already used its share of the day (the day is counted first), as a hammering client
 * would find out.
 */
import type { Clock } from "../../../core/clock.ts";
import type { FakeOAuth } from "../../../replay/fake_oauth.ts";
import { withSerial } from "../../../replay/vin.ts";
import { type EndpointName, ENDPOINTS, VEHICLES_SCOPES, VEHICLES_TEMPLATE } from "../api.ts";
import { fakeVolvoAuth, type FakeVolvoClient } from "./fake_auth.ts";
import { CARS, dayCassette, type VolvoCar } from "./scenario.ts";

export const FAKE_API_KEY = "fake-vcc-api-key";

export interface FakeVolvoOptions {
  readonly clock: Clock;
  /** The account's cars (default: the XC40 BEV day). */
  readonly cars?: readonly VolvoCar[];
  /** Valid `vcc-api-key` values (default: FAKE_API_KEY). */
  readonly apiKeys?: readonly string[];
  readonly client?: FakeVolvoClient;
  readonly accessLifetimeS?: number;
  readonly refreshLifetimeS?: number;
  /** Requests per key in any 60 s (Volvo: 100). */
  readonly perMinute?: number;
  /** Requests per key per UTC day (Volvo: 10,000). */
  readonly perDay?: number;
  readonly hostname?: string;
  readonly port?: number;
}

/** One answer of the vehicle API (the OAuth endpoints are not logged here). */
export interface Answer {
  /** Seconds from the scenario day's start. */
  readonly t: number;
  readonly key: string;
  /** Endpoint name (ENDPOINTS) or `vehicles`; the path when no route matched. */
  readonly endpoint: string;
  readonly vin?: string;
  readonly status: number;
}

/** Requests of one API key. */
export interface KeyUsage {
  readonly total: number;
  /** Requests counted toward the current UTC day's quota. */
  readonly today: number;
  readonly byStatus: Readonly<Record<number, number>>;
}

// Volvo's answers, word for word as published (providers/volvo/testdata/error.*.json).
const INVALID_KEY = {
  status: 401,
  error: {
    message: "Access denied due to invalid VCC-API-KEY. Make sure to provide a valid key " +
      "for an active application.",
  },
};
const GONE = { error: { message: "GONE", description: "Version 1 is removed." } };
/** Not published as a body: home-assistant/core #179672 quotes the text only. */
const TOO_MANY = "Too Many Requests";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export class FakeVolvo {
  readonly auth: FakeOAuth;
  readonly answers: Answer[] = [];
  /** Requests the fake does not know: tests fail on these. */
  readonly unexpected: string[] = [];
  readonly cars: readonly VolvoCar[];
  readonly #timelines = new Map<string, { at: number; json: unknown }[]>();
  readonly #keys: Set<string>;
  readonly #usage = new Map<string, { total: number; byStatus: Record<number, number> }>();
  readonly #day = new Map<string, { day: number; count: number }>();
  readonly #window = new Map<string, number[]>();
  readonly #start: number;
  readonly #server?: Deno.HttpServer<Deno.NetAddr>;
  #url = "http://fake-volvo.invalid";

  constructor(readonly options: FakeVolvoOptions, listen = true) {
    this.cars = options.cars ?? [CARS[0]];
    this.#keys = new Set(options.apiKeys ?? [FAKE_API_KEY]);
    let start = Infinity;
    for (const car of this.cars) {
      const cassette = dayCassette(car);
      start = Math.min(start, cassette.startedAt);
      for (const ex of cassette.exchanges) {
        if (ex.request.method !== "GET") continue;
        const list = this.#timelines.get(ex.request.path) ?? [];
        list.push({ at: cassette.startedAt + ex.at, json: ex.response.json });
        this.#timelines.set(ex.request.path, list);
      }
    }
    this.#start = start;
    this.auth = fakeVolvoAuth({
      now: () => options.clock.now(),
      client: options.client,
      accessLifetimeS: options.accessLifetimeS,
      refreshLifetimeS: options.refreshLifetimeS,
    });
    if (listen) {
      this.#server = Deno.serve({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 0,
        onListen: () => {},
      }, (req) => this.handle(req));
      this.#url = `http://${this.#server.addr.hostname}:${this.#server.addr.port}`;
    }
  }

  /** Base URL of the API and of Volvo ID (one host plays both). */
  get url(): string {
    return this.#url;
  }

  /** A `fetch` that answers in-process, for callers that want no sockets. */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    this.handle(new Request(input, init));

  shutdown(): Promise<void> {
    return this.#server?.shutdown() ?? Promise.resolve();
  }

  /** Seconds from the scenario day's start, now. */
  t(): number {
    return this.options.clock.now() / 1000 - this.#start;
  }

  /** The key stops working (its application was unpublished or deleted). */
  revokeApiKey(key = FAKE_API_KEY): void {
    this.#keys.delete(key);
  }

  usage(key = FAKE_API_KEY): KeyUsage {
    const u = this.#usage.get(key) ?? { total: 0, byStatus: {} };
    const d = this.#day.get(key);
    const today = d && d.day === this.#today() ? d.count : 0;
    return { total: u.total, today, byStatus: { ...u.byStatus } };
  }

  async handle(req: Request): Promise<Response> {
    return await this.auth.handle(req) ?? this.#api(req, new URL(req.url));
  }

  #api(req: Request, url: URL): Response {
    const route = matchRoute(req.method, url.pathname);
    const key = req.headers.get("vcc-api-key") ?? "";
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.#count(key, status);
      this.answers.push({
        t: this.t(),
        key,
        endpoint: route?.endpoint ?? url.pathname,
        ...(route?.vin ? { vin: route.vin } : {}),
        status,
      });
      return typeof body === "string"
        ? new Response(body, { status, headers: { "content-type": "text/plain", ...headers } })
        : Response.json(body, { status, headers });
    };
    if (!this.#keys.has(key)) return answer(401, INVALID_KEY);
    const quota = this.#spendDay(key);
    if (quota) {
      return answer(403, {
        statusCode: 403,
        message: `Out of call volume quota. Quota will be replenished in ${quota}.`,
      });
    }
    if (!this.#spendMinute(key)) return answer(429, TOO_MANY);
    if (/^\/(connected-vehicle|energy|extended-vehicle)\/v1\//.test(url.pathname)) {
      return answer(410, GONE);
    }
    const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
    const access = this.auth.checkAccess(token);
    if (access.state !== "ok") {
      return answer(401, {
        status: 401,
        operationId: crypto.randomUUID(),
        error: {
          message: "Unauthorized",
          description: "Full authentication is required to access this resource",
        },
      });
    }
    if (!route) {
      this.unexpected.push(`${req.method} ${url.pathname}`);
      return answer(404, { error: { message: "NOT_FOUND", description: "No such resource" } });
    }
    const missing = route.scopes.filter((s) => !access.scopes.has(s));
    if (missing.length > 0) {
      // Extended Vehicle docs: 403 = "scopes missing in the Bearer token"; CV v2's generic body.
      return answer(403, {
        error: { message: "FORBIDDEN", description: `Scopes missing: ${missing.join(" ")}` },
      });
    }
    if (route.endpoint === "vehicles") {
      return answer(200, { data: this.cars.map((c) => ({ vin: c.vin })) });
    }
    const body = this.#bodyAt(url.pathname);
    if (body === undefined) {
      // No such car, or a car without this resource (Energy v2 on a petrol car).
      return answer(
        404,
        route.endpoint.startsWith("energy-")
          ? {
            error: {
              code: "NOT_FOUND",
              message: "Resource is not supported for this vehicle",
            },
          }
          : { error: { message: "NOT_FOUND", description: "Vehicle not found" } },
      );
    }
    return answer(200, body);
  }

  /** The newest body at or before now (the first one before the day starts). */
  #bodyAt(path: string): unknown {
    const list = this.#timelines.get(path);
    if (!list) return undefined;
    const now = this.options.clock.now() / 1000;
    let best = list[0];
    for (const entry of list) if (entry.at <= now) best = entry;
    return best.json;
  }

  #count(key: string, status: number): void {
    const u = this.#usage.get(key) ?? { total: 0, byStatus: {} };
    u.total++;
    u.byStatus[status] = (u.byStatus[status] ?? 0) + 1;
    this.#usage.set(key, u);
  }

  #today(): number {
    return Math.floor(this.options.clock.now() / DAY_MS);
  }

  /** Counts one request toward the day; over the quota, the time until 00:00 UTC (HH:MM:SS). */
  #spendDay(key: string): string | undefined {
    const day = this.#today();
    const entry = this.#day.get(key);
    const d = entry && entry.day === day ? entry : { day, count: 0 };
    this.#day.set(key, d);
    if (d.count >= (this.options.perDay ?? 10_000)) {
      const left = Math.ceil(((day + 1) * DAY_MS - this.options.clock.now()) / 1000);
      const pad = (n: number) => String(n).padStart(2, "0");
      return `${pad(Math.floor(left / 3600))}:${pad(Math.floor(left / 60) % 60)}:${pad(left % 60)}`;
    }
    d.count++;
    return undefined;
  }

  /** "The 101st request will be rejected. You must wait until the first request's age exceeds one minute." */
  #spendMinute(key: string): boolean {
    const now = this.options.clock.now();
    const window = (this.#window.get(key) ?? []).filter((at) => now - at < MINUTE_MS);
    this.#window.set(key, window);
    if (window.length >= (this.options.perMinute ?? 100)) return false;
    window.push(now);
    return true;
  }
}

/** `n` copies of a car with their own VINs (serials 1001…): one account's fleet. */
export function carFleet(car: VolvoCar, n: number): VolvoCar[] {
  return Array.from({ length: n }, (_, i) => {
    const vin = withSerial(car.vin, String(1001 + i).padStart(6, "0"));
    return { ...car, vin, details: { ...car.details, vin } };
  });
}

interface Route {
  readonly endpoint: EndpointName | "vehicles";
  readonly vin?: string;
  readonly scopes: readonly string[];
}

const ROUTES: readonly [RegExp, EndpointName][] = (
  Object.entries(ENDPOINTS) as [EndpointName, { template: string }][]
).map(([name, e]) => [
  new RegExp(`^${e.template.replace("{vin}", "([^/]+)")}$`),
  name,
]);

function matchRoute(method: string, path: string): Route | undefined {
  if (method !== "GET") return undefined;
  if (path === VEHICLES_TEMPLATE) return { endpoint: "vehicles", scopes: VEHICLES_SCOPES };
  for (const [re, name] of ROUTES) {
    const m = re.exec(path);
    if (m) return { endpoint: name, vin: decodeURIComponent(m[1]), scopes: ENDPOINTS[name].scopes };
  }
  return undefined;
}
