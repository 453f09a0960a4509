/**
 * A simulated BMW CarData on loopback: the device-code sign-in with BMW's quirks (over
 * replay/fake_oauth.ts, which issues and rotates the tokens), and the customer REST API with
 * its limit of 50 calls a day per account, answered with `CU-429` in a 403 once spent. The
 * car's values come from a scripted day (scenario.ts) at the injected clock's time.
 *
 * BMW's device flow, as its Swagger documents it: `authorization_pending` and `access_denied`
 * are 403, `slow_down` and `invalid_request` 400, `invalid_client` and `expired_token` 401;
 * token answers carry an ID token and the user's `gcid`.
 */
import { FakeOAuth, refusal, s256 } from "../../../replay/fake_oauth.ts";
import { readForm } from "../../../replay/fake_server.ts";
import { type FaultPlan, withFaults } from "../../../replay/faults.ts";
import type { TokenRecord } from "../../../core/tokens.ts";
import { DEVICE_CODE_PATH, TOKEN_PATH } from "../identity.ts";
import type { BmwTokenExtra } from "../types.ts";
import { type CarEvent, I4_VIN, i4Day, SIM_GCID, stateAt } from "./scenario.ts";

export const SIM_CLIENT_ID = "0c4e6a2b-3f1d-4e5a-8b9c-7d6e5f4a3b21";
const REQUIRED_SCOPES = ["openid", "cardata:api:read", "cardata:streaming:read"];
const DAY_MS = 86_400_000;

export interface FakeBmwOptions {
  /** Server time, ms. */
  readonly now: () => number;
  /** The car's day (default: the i4 day starting at the current UTC day). */
  readonly events?: readonly CarEvent[];
  /** API calls per UTC day (BMW: 50). */
  readonly perDay?: number;
  /** Polling interval the device-code answer asks for, s (BMW's example: 5). */
  readonly intervalS?: number;
  /** The user confirms the code after this many token polls (the browser step, simulated). */
  readonly approveAfterPolls?: number;
  readonly accessLifetimeS?: number;
  readonly hostname?: string;
  /** The car's VIN (default: the i4's), so two accounts can have two cars. */
  readonly vin?: string;
  /** Fault injection on the API (replay/faults.ts); released on shutdown. */
  readonly faults?: FaultPlan;
}

interface DeviceGrant {
  readonly userCode: string;
  readonly challenge: string;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
  polls: number;
  /** The last poll, or when the code was issued. */
  lastPollAt: number;
  decision?: "approved" | "denied";
  used: boolean;
}

export class FakeBmw {
  readonly auth: FakeOAuth;
  /** API calls per status, and those counted toward the current UTC day. */
  readonly calls = {
    total: 0,
    today: 0,
    quotaRefused: 0,
    byEndpoint: {} as Record<string, number>,
  };
  /** Every API answer: when (ms) and its status. */
  readonly answers: { at: number; status: number }[] = [];
  /** Every device-code token poll's `error` (or "ok"), in order. */
  readonly polls: string[] = [];
  readonly containers: { containerId: string; name: string; technicalDescriptors: string[] }[] = [];
  readonly #o: FakeBmwOptions;
  readonly #events: readonly CarEvent[];
  readonly #devices = new Map<string, DeviceGrant>();
  #day = -1;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(options: FakeBmwOptions) {
    this.#o = options;
    this.#events = options.events ??
      i4Day(Math.floor(options.now() / DAY_MS) * DAY_MS);
    this.auth = new FakeOAuth({
      clients: [{ clientId: SIM_CLIENT_ID, auth: "none" }],
      now: options.now,
      quirks: {
        tokenPath: TOKEN_PATH,
        accessLifetimeS: options.accessLifetimeS ?? 3600,
        refreshLifetimeS: 1_209_600,
        idToken: "random",
        tokenPrefix: (kind) => `bmw-${kind}-`,
        errors: {
          client_unknown: refusal(401, "invalid_client", "unknown client"),
        },
      },
    });
    this.#server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: 0,
      onListen: () => {},
      handler: withFaults(options.faults, (req) => this.#handle(req)),
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * The tokens `deno task auth bmw` stores after a sign-in, minted now: API, stream and ID
   * token, with the account's GCID.
   */
  signIn(): TokenRecord<BmwTokenExtra> {
    const grant = this.auth.mint(["openid", "cardata:api:read", "cardata:streaming:read"]);
    const nowS = Math.floor(this.#o.now() / 1000);
    return {
      access_token: grant.access_token,
      refresh_token: grant.refresh_token,
      id_token: grant.id_token!,
      expires_at: nowS + grant.expires_in,
      obtained_at: nowS,
      token_type: "Bearer",
      extra: { gcid: SIM_GCID },
    };
  }

  /** The user confirms (or declines) a code in the browser. */
  decide(userCode: string, decision: "approved" | "denied"): void {
    for (const d of this.#devices.values()) if (d.userCode === userCode) d.decision = decision;
  }

  shutdown(): Promise<void> {
    this.#o.faults?.release();
    return this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === DEVICE_CODE_PATH) {
      return this.#deviceCode(await readForm(req));
    }
    if (req.method === "POST" && url.pathname === TOKEN_PATH) {
      const form = await readForm(req.clone());
      if (form.grant_type === "urn:ietf:params:oauth:grant-type:device_code") {
        return await this.#deviceToken(form);
      }
      return (await this.auth.handle(req))!;
    }
    if (req.method === "GET" && url.pathname === "/verify") {
      this.decide(url.searchParams.get("user_code") ?? "", "approved");
      return new Response("confirmed");
    }
    return this.#api(req, url);
  }

  #deviceCode(form: Record<string, string>): Response {
    if (form.client_id !== SIM_CLIENT_ID) return oauthError(401, "invalid_client");
    const scopes = (form.scope ?? "").split(" ");
    if (
      form.response_type !== "device_code" || form.code_challenge_method !== "S256" ||
      !/^[A-Za-z0-9_-]{43}$/.test(form.code_challenge ?? "") ||
      !REQUIRED_SCOPES.every((s) => scopes.includes(s))
    ) return oauthError(400, "invalid_request");
    const deviceCode = `bmw-dc-${crypto.randomUUID()}`;
    const userCode = crypto.randomUUID().slice(0, 8).toUpperCase();
    this.#devices.set(deviceCode, {
      userCode,
      challenge: form.code_challenge,
      scopes,
      expiresAt: this.#o.now() + 300_000,
      lastPollAt: this.#o.now(),
      polls: 0,
      used: false,
    });
    return Response.json({
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${this.url}/verify`,
      verification_uri_complete: `${this.url}/verify?user_code=${userCode}`,
      interval: this.#o.intervalS ?? 5,
      expires_in: 300,
    });
  }

  async #deviceToken(form: Record<string, string>): Promise<Response> {
    const answer = (status: number, error: string) => {
      this.polls.push(error);
      return oauthError(status, error);
    };
    if (form.client_id !== SIM_CLIENT_ID) return answer(401, "invalid_client");
    const d = this.#devices.get(form.device_code ?? "");
    if (!d || d.used) return answer(400, "invalid_request");
    const now = this.#o.now();
    if (now >= d.expiresAt) return answer(401, "expired_token");
    const tooSoon = now - d.lastPollAt < (this.#o.intervalS ?? 5) * 1000;
    d.lastPollAt = now;
    d.polls++;
    if (tooSoon) return answer(400, "slow_down");
    if (d.decision === undefined && d.polls > (this.#o.approveAfterPolls ?? Infinity)) {
      d.decision = "approved";
    }
    if (d.decision === "denied") return answer(403, "access_denied");
    if (d.decision !== "approved") return answer(403, "authorization_pending");
    if (await s256(form.code_verifier ?? "") !== d.challenge) return answer(400, "invalid_request");
    d.used = true;
    this.polls.push("ok");
    return Response.json({
      ...this.auth.mint(d.scopes),
      scope: d.scopes.join(" "),
      gcid: SIM_GCID,
    });
  }

  #api(req: Request, url: URL): Response {
    const res = this.#answer(req, url);
    this.answers.push({ at: this.#o.now(), status: res.status });
    return res;
  }

  /** The customer API: bearer token, then the day's count, then the data. */
  #answer(req: Request, url: URL): Response {
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "");
    const access = this.auth.checkAccess(token);
    if (access.state !== "ok") {
      return carDataError(401, access.state === "expired" ? "CU-102" : "CU-101", "token");
    }
    if (req.headers.get("x-version") !== "v1") return carDataError(400, "CU-400", "x-version");
    this.#roll();
    this.calls.total++;
    if (this.calls.today >= (this.#o.perDay ?? 50)) {
      this.calls.quotaRefused++;
      return carDataError(403, "CU-429", "API rate limit reached");
    }
    this.calls.today++;
    const path = url.pathname;
    const vin = this.#o.vin ?? I4_VIN;
    const endpoint = path.replace(vin, "{vin}");
    this.calls.byEndpoint[endpoint] = (this.calls.byEndpoint[endpoint] ?? 0) + 1;
    if (path === "/customers/vehicles/mappings") {
      return Response.json([{
        vin,
        mappedSince: "2025-01-01T00:00:00Z",
        mappingType: "PRIMARY",
      }]);
    }
    if (path === "/customers/containers" && req.method === "GET") {
      return Response.json({
        containers: this.containers.map((c) => ({ ...c, purpose: "x", state: "ACTIVE" })),
      });
    }
    if (path === "/customers/containers" && req.method === "POST") {
      if (this.containers.length >= 10) return carDataError(403, "CU-124", "container limit");
      const c = {
        containerId: crypto.randomUUID().replaceAll("-", "").slice(0, 13),
        name: "ev-observer",
        technicalDescriptors: [],
      };
      this.containers.push(c);
      return Response.json({ ...c, state: "ACTIVE" }, { status: 201 });
    }
    if (endpoint === "/customers/vehicles/{vin}/basicData") {
      return Response.json({ brand: "BMW", modelName: "i4 eDrive40", driveTrain: "BEV" });
    }
    if (endpoint === "/customers/vehicles/{vin}/telematicData") {
      const id = url.searchParams.get("containerId");
      if (!this.containers.some((c) => c.containerId === id)) {
        return carDataError(403, "CU-105", "no permission for containerId");
      }
      const telematicData: Record<string, unknown> = {};
      for (const [key, e] of stateAt(this.#events, this.#o.now())) {
        telematicData[key] = {
          value: e.value,
          unit: e.unit ?? null,
          timestamp: new Date(e.at).toISOString(),
        };
      }
      return Response.json({ telematicData });
    }
    return carDataError(404, "CU-400", "not found");
  }

  #roll(): void {
    const day = Math.floor(this.#o.now() / DAY_MS);
    if (day === this.#day) return;
    this.#day = day;
    this.calls.today = 0;
  }
}

function oauthError(status: number, error: string): Response {
  return Response.json({ error, error_description: error.replace(/_/g, " ") }, { status });
}

function carDataError(status: number, id: string, message: string): Response {
  return Response.json({
    exveErrorId: id,
    exveErrorMsg: message,
    exveErrorRef: crypto.randomUUID(),
    exveNote: "",
  }, { status });
}
