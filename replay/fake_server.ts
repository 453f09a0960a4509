/**
 * A vendor API played from cassettes on loopback. A request at virtual time t gets the newest
 * matching exchange recorded at or before t, so any polling strategy sees the car as it was.
 * An unexpected request is answered 599 and remembered: replay and tests fail on it (VCR :none).
 */
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import type { PushSource } from "../core/source.ts";
import type { Cassette, CassetteExchange } from "./cassette.ts";
import { type FaultPlan, withFaults } from "./faults.ts";

/** Vendor behaviour the cassette cannot express (e.g. Tesla's `endpoints=` filter). */
export interface FakeHook {
  /** Adjusts a JSON body before it is sent. */
  transformJson?(request: FakeRequest, exchange: CassetteExchange, json: unknown): unknown;
}

/** A vendor's simulator as replay and the fixture generator see it. */
export interface VendorSim {
  /** The provider id ("tesla", "volvo"). */
  readonly id: string;
  /** Vendor behaviour for the fake server in replay. */
  readonly fakeHook?: FakeHook;
  /** Account settings replay hands the provider (placeholder secrets). */
  readonly replayAccount?: Readonly<Record<string, string>>;
  /** The scripted cassettes this vendor's simulator generates, by path under fixtures/. */
  readonly cassettes?: () => Readonly<Record<string, Cassette>>;
  /**
   * The vendor's real stream consumer, pointed at the broker replay plays a cassette's
   * messages into (its topics name the account and cars as recorded).
   */
  readonly replayStream?: (options: ReplayStreamOptions) => ReplayStream;
}

/** What replay hands a simulator to open its consumer on the replay broker. */
export interface ReplayStreamOptions {
  readonly brokerUrl: string;
  readonly cassette: Cassette;
  /** The replay account's name (metrics labels). */
  readonly account: string;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly location: boolean;
}

/** A consumer that says when it is subscribed (replay publishes only then). */
export interface ReplayStream extends PushSource {
  readonly connected: boolean;
}

export interface FakeRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly form: Record<string, string>;
}

export interface FakeServerOptions {
  readonly cassette: Cassette;
  readonly clock: Clock;
  readonly hook?: FakeHook;
  readonly log?: Logger;
  readonly hostname?: string;
  readonly port?: number;
  /** Fault injection (replay/faults.ts); released on shutdown. */
  readonly faults?: FaultPlan;
}

export interface FakeServer {
  readonly url: string;
  /** Requests no exchange matched ("METHOD /path"). */
  readonly unmatched: string[];
  /** Requests answered, by "METHOD /path". */
  readonly served: Map<string, number>;
  shutdown(): Promise<void>;
}

export const UNMATCHED_STATUS = 599;

export function startFakeServer(options: FakeServerOptions): FakeServer {
  const { cassette, clock, hook, log } = options;
  const unmatched: string[] = [];
  const served = new Map<string, number>();
  const byRoute = new Map<string, CassetteExchange[]>();
  for (const ex of cassette.exchanges) {
    const key = `${ex.request.method} ${ex.request.path}`;
    const list = byRoute.get(key) ?? [];
    list.push(ex);
    byRoute.set(key, list);
  }
  for (const list of byRoute.values()) list.sort((a, b) => a.at - b.at);

  const server = Deno.serve(
    {
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      onListen: () => {},
    },
    withFaults(options.faults, async (req) => {
      const url = new URL(req.url);
      const form = await readForm(req);
      const request: FakeRequest = { method: req.method, url, headers: req.headers, form };
      const route = `${req.method} ${url.pathname}`;
      const t = clock.now() / 1000 - cassette.startedAt;
      const exchange = pick(byRoute.get(route) ?? [], request, t);
      if (!exchange) {
        unmatched.push(route);
        log?.error("fake server: no recorded exchange matches this request", { route });
        return Response.json(
          { error: "unexpected request: no exchange in the cassette matches", route },
          { status: UNMATCHED_STATUS },
        );
      }
      served.set(route, (served.get(route) ?? 0) + 1);
      const { status, headers, json, text } = exchange.response;
      if (json !== undefined) {
        const body = hook?.transformJson ? hook.transformJson(request, exchange, json) : json;
        return new Response(JSON.stringify(body), {
          status,
          headers: { "content-type": "application/json", ...headers },
        });
      }
      return new Response(text ?? "", { status, headers });
    }),
  );
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    unmatched,
    served,
    shutdown: () => {
      options.faults?.release();
      return server.shutdown();
    },
  };
}

/** Newest exchange at or before t whose listed query/body fields match; else the earliest. */
function pick(list: CassetteExchange[], req: FakeRequest, t: number) {
  const matching = list.filter((ex) => matches(ex, req));
  if (matching.length === 0) return undefined;
  let best = matching[0];
  for (const ex of matching) if (ex.at <= t) best = ex;
  return best;
}

function matches(ex: CassetteExchange, req: FakeRequest): boolean {
  for (const [k, v] of Object.entries(ex.request.query)) {
    if (req.url.searchParams.get(k) !== v) return false;
  }
  for (const [k, v] of Object.entries(ex.request.body ?? {})) {
    if (req.form[k] !== v) return false;
  }
  return true;
}

/** A request body as flat fields: form-encoded or JSON (fake servers match and read these). */
export async function readForm(req: Request): Promise<Record<string, string>> {
  if (req.method === "GET" || req.method === "HEAD") return {};
  const text = await req.text();
  if (!text) return {};
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const obj = JSON.parse(text);
      return Object.fromEntries(
        Object.entries(obj ?? {}).map((
          [k, v],
        ) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      );
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
