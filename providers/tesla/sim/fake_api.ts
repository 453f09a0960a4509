/**
 * A simulated Tesla (Owner/Fleet API and SSO) on loopback, driven by the reference day on an
 * injected clock. Unlike the cassette fake (replay/fake_server.ts) it reacts to the client:
 * the car sleeps or stays awake depending on how it is polled (fake_car.ts), tokens expire
 * and rotate (fake_auth.ts), a daily limit answers 429, and every answer is billed the way
 * Tesla bills (every status below 500,
 * https://developer.tesla.com/docs/fleet-api/billing-and-limits). Its counters are the
 * benchmark's ground truth.
 */
import type { Clock } from "../../../core/clock.ts";
import type { TokenRecord } from "../../../core/tokens.ts";
import type { FakeClient, FakeOAuth } from "../../../replay/fake_oauth.ts";
import { FakeCar } from "./fake_car.ts";
import { fakeTeslaAuth } from "./fake_auth.ts";
import { filterVehicleData } from "./fake.ts";
import { type BillingCategory, teslaPricing } from "../pricing.ts";
import type { TeslaTokenExtra } from "../types.ts";
import { teslaDay, type TeslaScenario } from "./scenario.ts";

export interface FakeTeslaOptions {
  readonly clock: Clock;
  readonly scenario?: TeslaScenario;
  /** Car inactivity before it may sleep, seconds (default 900). */
  readonly idleS?: number;
  /** From `wake_up` to online, seconds (default 20). */
  readonly wakeDelayS?: number;
  readonly accessLifetimeS?: number;
  readonly clients?: readonly FakeClient[];
  /** API requests per UTC day; beyond it 429 with Retry-After until 00:00 UTC. */
  readonly dailyLimit?: number;
  readonly hostname?: string;
  readonly port?: number;
  /** The car's side of Fleet Telemetry configs (what `fleet_telemetry_config_jws` finds). */
  readonly telemetry?: FakeTelemetryOptions;
}

/** Why the car would not take a streaming config, and what it reports. */
export interface FakeTelemetryOptions {
  /** The app's virtual key is on the car (default true). */
  readonly keyPaired?: boolean;
  /** Skipped for this reason: `unsupported_firmware`, `unsupported_hardware`, `max_configs`. */
  readonly skip?: "unsupported_firmware" | "unsupported_hardware" | "max_configs";
  /** The app limit is reached: the GET says `limit_reached` and holds no config. */
  readonly limitReached?: boolean;
  /** What `fleet_telemetry_errors` lists. */
  readonly errors?: readonly Record<string, string>[];
}

/** A Fleet Telemetry config as the car holds it (the claims of the signed token). */
export interface HeldTelemetryConfig {
  readonly hostname: string;
  readonly port: number;
  readonly ca?: string;
  readonly exp?: number;
  readonly alert_types?: readonly string[];
  readonly fields: Readonly<Record<string, { interval_seconds: number; minimum_delta?: number }>>;
}

/** The audience the vehicle-command proxy signs configs for. */
export const TELEMETRY_AUDIENCE = "com.tesla.fleet.TelemetryClient";

export interface Billing {
  /** Billable answers by Tesla category (summary calls are counted in `data`). */
  readonly data: number;
  readonly wakes: number;
  readonly commands: number;
  /** How many of `data` were summary calls (`GET /api/1/vehicles/{id}`), whose billing is unclear. */
  readonly summary: number;
}

/** One `vehicle_data` answer the client received (what it could know, and when). */
export interface ServedData {
  /** Seconds from the scenario start. */
  readonly t: number;
  readonly shift: string | null;
  readonly chargingState: string | null;
}

const ERROR_408 = {
  response: null,
  error: "vehicle unavailable: vehicle is offline or asleep",
  error_description: "",
};

export class FakeTesla {
  readonly car: FakeCar;
  readonly auth: FakeOAuth;
  readonly scenario: TeslaScenario;
  /** Answers by "METHOD /template status", e.g. "GET /api/1/vehicles/{id} 200". */
  readonly answers = new Map<string, number>();
  readonly served: ServedData[] = [];
  /** Requests the fake does not know: tests fail on these. */
  readonly unexpected: string[] = [];
  readonly #billing = { data: 0, wakes: 0, commands: 0, summary: 0 };
  readonly #daily = new Map<number, number>();
  /** The config sent to the car (seconds from the start), and whether the car took it. */
  #telemetry?: { config: HeldTelemetryConfig; sentAt: number; adoptedAt?: number };
  readonly #server?: Deno.HttpServer<Deno.NetAddr>;
  #url = "http://fake-tesla.invalid";

  constructor(readonly options: FakeTeslaOptions, listen = true) {
    this.scenario = options.scenario ?? teslaDay();
    this.car = new FakeCar({
      scenario: this.scenario,
      idleS: options.idleS,
      wakeDelayS: options.wakeDelayS,
    });
    if (listen) {
      this.#server = Deno.serve({
        hostname: options.hostname ?? "127.0.0.1",
        port: options.port ?? 0,
        onListen: () => {},
      }, (req) => this.handle(req));
      this.#url = `http://${this.#server.addr.hostname}:${this.#server.addr.port}`;
    }
    this.auth = fakeTeslaAuth({
      now: () => options.clock.now(),
      clients: options.clients,
      accessLifetimeS: options.accessLifetimeS,
      issuer: `${this.#url}/oauth2/v3`,
    });
  }

  /** Base URL of the API and of the SSO (one host plays both). */
  get url(): string {
    return this.#url;
  }

  get billing(): Billing {
    return { ...this.#billing };
  }

  /** A `fetch` that answers in-process, for callers that want no sockets. */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    this.handle(new Request(input, init));

  /**
   * What `deno task auth tesla` (Owner API) stores after signing in here, as of `clock` (the
   * fake's own by default; a process reading the token on the real clock needs that one).
   */
  signIn(clock: Clock = this.options.clock): TokenRecord<TeslaTokenExtra> {
    const grant = this.auth.mint();
    const nowS = Math.floor(clock.now() / 1000);
    return {
      access_token: grant.access_token,
      refresh_token: grant.refresh_token,
      expires_at: nowS + grant.expires_in,
      obtained_at: nowS,
      token_type: "Bearer",
      extra: { api: "owner" },
    };
  }

  shutdown(): Promise<void> {
    return this.#server?.shutdown() ?? Promise.resolve();
  }

  /**
   * The streaming config the car uses at t, once it has connected since it was sent (a car
   * takes a new config at its next connection); undefined before.
   */
  telemetryConfig(t = this.t()): HeldTelemetryConfig | undefined {
    const held = this.#telemetry;
    if (!held || this.options.telemetry?.limitReached || t < held.sentAt) return undefined;
    if (held.adoptedAt === undefined && this.car.stateAt(t) === "online") held.adoptedAt = t;
    return held.adoptedAt !== undefined && t >= held.adoptedAt ? held.config : undefined;
  }

  /** Seconds from the scenario start, now. */
  t(): number {
    return this.options.clock.now() / 1000 - this.scenario.startedAt;
  }

  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const sso = await this.auth.handle(req);
    if (sso) return sso;
    if (url.pathname.startsWith("/api/1/")) return await this.#api(req, url);
    return this.#unexpected(req, url);
  }

  async #api(req: Request, url: URL): Promise<Response> {
    const route = matchRoute(req.method, url.pathname);
    if (!route) return this.#unexpected(req, url);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.#bill(route, status);
      return Response.json(body, { status, headers });
    };
    const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
    const access = this.auth.checkAccess(token).state;
    if (access === "expired") {
      return answer(401, { response: null, error: "token expired (401)", error_description: "" });
    }
    if (access === "unknown") {
      return answer(401, {
        response: null,
        error: "unauthorized",
        error_description: "fake: unknown access token",
      });
    }
    const limited = this.#countDaily();
    if (limited) return answer(429, limited.body, limited.headers);

    const t = this.t();
    if (route.id !== undefined && !this.#isDemoVehicle(route.id)) {
      return answer(404, { response: null, error: "not_found", error_description: "" });
    }
    switch (route.template) {
      case "/api/1/products":
        return answer(200, { response: [this.#product(t)], count: 1 });
      case "/api/1/vehicles":
        return answer(200, { response: [this.#summary(t)], count: 1 });
      case "/api/1/users/region":
        return answer(200, { response: { region: "eu", fleet_api_base_url: this.url } });
      case "/api/1/vehicles/{id}":
        return answer(200, { response: this.#summary(t) });
      case "/api/1/vehicles/{id}/wake_up": {
        this.car.wakeUp(t);
        return answer(200, { response: this.#summary(t) });
      }
      case "/api/1/vehicles/{id}/vehicle_data": {
        const data = this.car.vehicleData(t);
        if (!data) return answer(408, ERROR_408);
        const ds = data.drive_state as Record<string, unknown>;
        const cs = data.charge_state as Record<string, unknown>;
        this.served.push({
          t,
          shift: (ds.shift_state as string | null) ?? null,
          chargingState: (cs.charging_state as string | null) ?? null,
        });
        return answer(200, {
          response: filterVehicleData(data, url.searchParams.get("endpoints")),
        });
      }
      case "/api/1/vehicles/fleet_telemetry_config_jws":
        return answer(...this.#takeConfig(await req.text(), t));
      case "/api/1/vehicles/{id}/fleet_telemetry_config": {
        if (req.method === "DELETE") {
          const had = this.#telemetry !== undefined;
          this.#telemetry = undefined;
          return answer(200, { response: { updated_vehicles: had ? 1 : 0 } });
        }
        return answer(200, { response: this.#heldConfig(t) });
      }
      case "/api/1/vehicles/{id}/fleet_telemetry_errors":
        return answer(200, {
          response: { fleet_telemetry_errors: this.options.telemetry?.errors ?? [] },
        });
    }
    return this.#unexpected(req, url);
  }

  /**
   * `fleet_telemetry_config_jws` (what the vehicle-command proxy forwards): `{vins, token}`,
   * the token a JWS whose claims are the config. Tesla's answer shape, skips included
   * (https://developer.tesla.com/docs/fleet-api/endpoints/vehicle-endpoints); the signature is
   * not checked here, and the 400 body for a malformed token is the fake's own.
   */
  #takeConfig(text: string, t: number): [number, unknown] {
    const bad = (why: string) =>
      [400, { response: null, error: "invalid_request", error_description: why }] as [
        number,
        unknown,
      ];
    let body: { vins?: unknown; token?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      return bad("body is not JSON");
    }
    const vins = Array.isArray(body.vins) ? body.vins.map(String) : [];
    if (!vins.length || typeof body.token !== "string") return bad("vins and token required");
    const claims = jwsClaims(body.token);
    if (!claims || claims.aud !== TELEMETRY_AUDIENCE) return bad("token is not a signed config");
    const { aud: _aud, iss: _iss, ...config } = claims;
    if (typeof config.hostname !== "string" || !config.fields) return bad("config incomplete");
    const skipped: Record<string, string[]> = {
      missing_key: [],
      unsupported_hardware: [],
      unsupported_firmware: [],
      max_configs: [],
    };
    let updated = 0;
    for (const vin of vins) {
      const o = this.options.telemetry ?? {};
      if (vin !== this.scenario.vin) continue; // not this account's car: Tesla ignores it
      if (o.keyPaired === false) skipped.missing_key.push(vin);
      else if (o.skip) skipped[o.skip].push(vin);
      else {
        this.#telemetry = {
          config: { port: 443, ...config } as HeldTelemetryConfig,
          sentAt: t,
        };
        updated++;
      }
    }
    return [200, { response: { updated_vehicles: updated, skipped_vehicles: skipped } }];
  }

  /** `GET …/fleet_telemetry_config`: the target config, `synced`, the key and the limit. */
  #heldConfig(t: number): Record<string, unknown> {
    const o = this.options.telemetry ?? {};
    const synced = this.telemetryConfig(t) !== undefined;
    const held = o.limitReached ? undefined : this.#telemetry?.config;
    const config = held
      ? {
        hostname: held.hostname,
        port: held.port,
        ...(held.ca ? { ca: held.ca } : {}),
        ...(held.exp ? { exp: held.exp } : {}),
        prefer_typed: true,
        fields: held.fields,
      }
      : null;
    return {
      synced,
      config,
      alert_types: held?.alert_types ?? [],
      limit_reached: o.limitReached === true,
      key_paired: o.keyPaired !== false,
    };
  }

  #summary(t: number): Record<string, unknown> {
    return { ...this.scenario.summaryAt(t), state: this.car.stateAt(t) };
  }

  #product(t: number): Record<string, unknown> {
    return { ...this.scenario.productAt(t), state: this.car.stateAt(t) };
  }

  #isDemoVehicle(id: string): boolean {
    return id === this.scenario.idS || id === this.scenario.vin;
  }

  /** Tesla bills every answer below 500, 401, 408 and 429 included. */
  #bill(route: Route, status: number): void {
    const key = `${route.method} ${route.template} ${status}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    if (!teslaPricing.billed(status)) return;
    const category: BillingCategory = route.template.endsWith("/wake_up") ? "wakes" : "data";
    this.#billing[category]++;
    if (route.template === "/api/1/vehicles/{id}") this.#billing.summary++;
  }

  /** The day's request count; over the limit, the 429 answer until 00:00 UTC. */
  #countDaily(): { body: unknown; headers: Record<string, string> } | undefined {
    const now = this.options.clock.now();
    const day = Math.floor(now / 86_400_000);
    const count = (this.#daily.get(day) ?? 0) + 1;
    this.#daily.set(day, count);
    const limit = this.options.dailyLimit;
    if (limit === undefined || count <= limit) return undefined;
    const reset = Math.ceil(((day + 1) * 86_400_000 - now) / 1000);
    return {
      // Tesla has published no 429 body: this one is the fake's own.
      body: { response: null, error: "rate limited", error_description: "daily limit reached" },
      headers: {
        "retry-after": String(reset),
        "ratelimit-limit": String(limit),
        "ratelimit-remaining": "0",
        "ratelimit-reset": String(reset),
      },
    };
  }

  #unexpected(req: Request, url: URL): Response {
    this.unexpected.push(`${req.method} ${url.pathname}`);
    return Response.json({ error: "fake Tesla: unexpected request" }, { status: 404 });
  }
}

interface Route {
  readonly method: string;
  readonly template: string;
  readonly id?: string;
}

const ROUTES: readonly [string, RegExp, string][] = [
  ["GET", /^\/api\/1\/products$/, "/api/1/products"],
  ["GET", /^\/api\/1\/vehicles$/, "/api/1/vehicles"],
  ["GET", /^\/api\/1\/users\/region$/, "/api/1/users/region"],
  ["GET", /^\/api\/1\/vehicles\/([^/]+)$/, "/api/1/vehicles/{id}"],
  ["GET", /^\/api\/1\/vehicles\/([^/]+)\/vehicle_data$/, "/api/1/vehicles/{id}/vehicle_data"],
  ["POST", /^\/api\/1\/vehicles\/([^/]+)\/wake_up$/, "/api/1/vehicles/{id}/wake_up"],
  [
    "POST",
    /^\/api\/1\/vehicles\/fleet_telemetry_config_jws$/,
    "/api/1/vehicles/fleet_telemetry_config_jws",
  ],
  [
    "GET",
    /^\/api\/1\/vehicles\/([^/]+)\/fleet_telemetry_config$/,
    "/api/1/vehicles/{id}/fleet_telemetry_config",
  ],
  [
    "DELETE",
    /^\/api\/1\/vehicles\/([^/]+)\/fleet_telemetry_config$/,
    "/api/1/vehicles/{id}/fleet_telemetry_config",
  ],
  [
    "GET",
    /^\/api\/1\/vehicles\/([^/]+)\/fleet_telemetry_errors$/,
    "/api/1/vehicles/{id}/fleet_telemetry_errors",
  ],
];

/** The claims of a compact JWS (not verified); undefined when it is not one. */
function jwsClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(b64 + "=".repeat((4 - b64.length % 4) % 4)));
    return claims && typeof claims === "object" ? claims : undefined;
  } catch {
    return undefined;
  }
}

function matchRoute(method: string, path: string): Route | undefined {
  for (const [m, re, template] of ROUTES) {
    const match = re.exec(path);
    if (match && m === method) {
      return { method, template, id: match[1] && decodeURIComponent(match[1]) };
    }
  }
  return undefined;
}
