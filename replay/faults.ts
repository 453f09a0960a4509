/**
 * Fault injection for the fault suite and the fault benchmark. A `FaultPlan` is a list of rules
 * (which request: method, path pattern, nth occurrence, time window → what fault). Faults an
 * HTTP server can produce are applied by the fake server (`startFakeServer({faults})`); faults
 * below HTTP (DNS failure, refused or reset connections, a socket that never answers) are made
 * real by `faultyFetch`, the `fetch` handed to `Http`, which sends the request where it fails.
 */
import { freeLoopbackPort } from "../core/listen.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";

/** Faults the fake server produces. */
export type ServerFault =
  /** Any status with a body (5xx storms, HTML error pages, 401, 429, quota answers). */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** The server never answers (until the plan is released). */
  | { kind: "hang" }
  /** The real answer, trickled `chunkBytes` every `intervalMs`. */
  | { kind: "slow_body"; chunkBytes?: number; intervalMs?: number }
  /** The real answer cut after `keep` (0–1) of its bytes. */
  | { kind: "truncate"; keep?: number }
  /** The real answer with its JSON syntax broken. */
  | { kind: "malformed" }
  /** The real answer (or `body`) under another content type. */
  | { kind: "content_type"; contentType: string; body?: string }
  /** A streamed body of `bytes` bytes, with or without a Content-Length that says so. */
  | { kind: "huge"; bytes: number; declareLength?: boolean };

/** Faults below HTTP, made real by `faultyFetch`. */
export type ClientFault =
  /** The connection is closed before any answer. */
  | { kind: "reset" }
  /** Headers and a few body bytes, then the connection is closed. */
  | { kind: "reset_body" }
  /** The connection is accepted and never answered. */
  | { kind: "silent" }
  /** The host name does not resolve (a real `.invalid` name, RFC 6761). */
  | { kind: "dns" }
  /** Nothing listens on the port. */
  | { kind: "refused" };

export type Fault = ServerFault | ClientFault;
export type FaultKind = Fault["kind"];

const CLIENT_KINDS = new Set<FaultKind>(["reset", "reset_body", "silent", "dns", "refused"]);

/** Ready-made faults. */
export const faults = {
  status: (status: number, body?: unknown, headers?: Record<string, string>): ServerFault => ({
    kind: "status",
    status,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    headers,
  }),
  /** What a load balancer in front of an API sends: an HTML page, not JSON. */
  htmlError: (status = 502): ServerFault => ({
    kind: "status",
    status,
    body: `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status}` +
      ` Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n`,
    headers: { "content-type": "text/html" },
  }),
  rateLimited: (retryAfterS?: number, body?: unknown): ServerFault =>
    faults.status(
      429,
      body ?? { error: "too many requests" },
      retryAfterS === undefined ? undefined : { "retry-after": String(retryAfterS) },
    ),
};

export interface FaultRule {
  /** Shown in `injected` and logs; defaults to the fault kind. */
  readonly name?: string;
  /** Any method when absent. */
  readonly method?: string;
  /**
   * Path to match: a RegExp, or a string where `*` stands for one path segment and `**` for
   * anything (`/api/1/vehicles/*` matches the summary, `/api/1/vehicles/**` everything below).
   */
  readonly path: string | RegExp;
  /** 1-based occurrences of matching requests (seen on the fault's side) that get the fault. */
  readonly nth?: readonly number[];
  /** Time window in seconds since the plan's origin, [from, until). */
  readonly from?: number;
  readonly until?: number;
  readonly fault: Fault;
}

export interface InjectedFault {
  readonly rule: string;
  readonly kind: FaultKind;
  readonly method: string;
  readonly path: string;
  /** Seconds since the plan's origin. */
  readonly at: number;
}

export interface FaultPlanOptions {
  /** Time source for windows (the replay's virtual clock); wall time when absent. */
  readonly clock?: Clock;
  /** Start of the windows, ms on `clock`; defaults to the moment the plan is made. */
  readonly origin?: number;
  readonly log?: Logger;
}

/** Rules plus their counters; shared by the fake server and `faultyFetch`. */
export class FaultPlan {
  readonly rules: readonly FaultRule[];
  readonly injected: InjectedFault[] = [];
  readonly #seen: number[];
  readonly #patterns: RegExp[];
  readonly #now: () => number;
  readonly #origin: number;
  readonly #log?: Logger;
  readonly #cleanups: (() => void)[] = [];
  #release!: () => void;
  /** Settles when the plan is released: hung answers end, fault sockets close. */
  readonly released: Promise<void> = new Promise((resolve) => (this.#release = resolve));
  #isReleased = false;

  constructor(rules: readonly FaultRule[], options: FaultPlanOptions = {}) {
    this.rules = rules;
    this.#seen = rules.map(() => 0);
    this.#patterns = rules.map((r) => typeof r.path === "string" ? globToRegExp(r.path) : r.path);
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : Date.now;
    this.#origin = options.origin ?? this.#now();
    this.#log = options.log;
  }

  /**
   * The fault for this request on this side, if any. Every rule of that side counts every
   * request it matches, whether or not an earlier rule fired.
   */
  pick(side: "server" | "client", method: string, path: string): Fault | undefined {
    const at = (this.#now() - this.#origin) / 1000;
    let chosen: { rule: FaultRule; fault: Fault } | undefined;
    this.rules.forEach((rule, i) => {
      if (CLIENT_KINDS.has(rule.fault.kind) !== (side === "client")) return;
      if (rule.method && rule.method !== method) return;
      if (!this.#patterns[i].test(path)) return;
      const n = ++this.#seen[i];
      if (rule.nth && !rule.nth.includes(n)) return;
      if (rule.from !== undefined && at < rule.from) return;
      if (rule.until !== undefined && at >= rule.until) return;
      chosen ??= { rule, fault: rule.fault };
    });
    if (!chosen) return undefined;
    const name = chosen.rule.name ?? chosen.fault.kind;
    this.injected.push({ rule: name, kind: chosen.fault.kind, method, path, at });
    // No path: it may carry a vehicle id or VIN.
    this.#log?.debug("fault injected", { rule: name, kind: chosen.fault.kind, method });
    return chosen.fault;
  }

  /** Ends every hang and closes fault sockets (the fake server calls this on shutdown). */
  release(): void {
    if (this.#isReleased) return;
    this.#isReleased = true;
    this.#release();
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }

  /** Registers cleanup work for `release`. */
  onRelease(cleanup: () => void): void {
    if (this.#isReleased) cleanup();
    else this.#cleanups.push(cleanup);
  }
}

function globToRegExp(glob: string): RegExp {
  const parts = glob.split("**").map((part) =>
    part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]+")
  );
  return new RegExp(`^${parts.join(".*")}$`);
}

const encoder = new TextEncoder();

type Handler = (req: Request) => Promise<Response>;

/** Wraps a fake server's handler: requests a server rule picks get their fault. */
export function withFaults(plan: FaultPlan | undefined, next: Handler): Handler {
  if (!plan) return next;
  return async (req) => {
    const fault = plan.pick("server", req.method, new URL(req.url).pathname);
    if (!fault || CLIENT_KINDS.has(fault.kind)) return next(req);
    return await serverFault(fault as ServerFault, plan, () => next(req));
  };
}

async function serverFault(
  fault: ServerFault,
  plan: FaultPlan,
  real: () => Promise<Response>,
): Promise<Response> {
  switch (fault.kind) {
    case "status":
      return new Response(fault.body ?? JSON.stringify({ error: `injected ${fault.status}` }), {
        status: fault.status,
        headers: { "content-type": "application/json", ...fault.headers },
      });
    case "hang":
      // Deno.serve waits for open handlers on shutdown, so a hang must end on release.
      await plan.released;
      return new Response("released\n", { status: 503 });
    case "slow_body": {
      const res = await real();
      const bytes = new Uint8Array(await res.arrayBuffer());
      return new Response(trickle(bytes, fault.chunkBytes ?? 16, fault.intervalMs ?? 50, plan), {
        status: res.status,
        headers: res.headers,
      });
    }
    case "truncate": {
      const res = await real();
      const bytes = new Uint8Array(await res.arrayBuffer());
      return new Response(bytes.slice(0, Math.floor(bytes.length * (fault.keep ?? 0.5))), {
        status: res.status,
        headers: res.headers,
      });
    }
    case "malformed": {
      const res = await real();
      const text = await res.text();
      // Drop the first colon: still looks like JSON, no longer parses.
      const broken = text.includes('":') ? text.replace('":', '" ') : `{${text}`;
      return new Response(broken, { status: res.status, headers: res.headers });
    }
    case "content_type": {
      const res = await real();
      const headers = new Headers(res.headers);
      headers.set("content-type", fault.contentType);
      return new Response(fault.body ?? await res.arrayBuffer(), { status: res.status, headers });
    }
    case "huge": {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.declareLength) headers["content-length"] = String(fault.bytes);
      return new Response(filler(fault.bytes, plan), { status: 200, headers });
    }
  }
}

/** The bytes in small pieces with pauses; stops when the client goes away or on release. */
function trickle(
  bytes: Uint8Array,
  chunk: number,
  intervalMs: number,
  plan: FaultPlan,
): ReadableStream<Uint8Array> {
  let offset = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let released = false;
  plan.onRelease(() => {
    released = true;
    clearTimeout(timer);
    wake?.();
  });
  return new ReadableStream({
    pull(controller) {
      if (released || offset >= bytes.length) return controller.close();
      return new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(() => {
          controller.enqueue(bytes.slice(offset, offset + chunk));
          offset += chunk;
          resolve();
        }, intervalMs);
      });
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}

/** `{"response":"xxxx…` streamed in 64 KiB pieces up to `total` bytes, never all in memory. */
function filler(total: number, plan: FaultPlan): ReadableStream<Uint8Array> {
  const piece = encoder.encode("x".repeat(64 * 1024));
  let sent = 0;
  let released = false;
  plan.onRelease(() => (released = true));
  return new ReadableStream({
    pull(controller) {
      if (released || sent >= total) return controller.close();
      const body = sent === 0 ? piece.slice() : piece;
      if (sent === 0) body.set(encoder.encode('{"response":"'));
      const part = body.subarray(0, Math.min(body.length, total - sent));
      sent += part.length;
      controller.enqueue(part.slice());
    },
  });
}

/** A `.invalid` name never resolves (RFC 6761), so the lookup fails for real and fast. */
export const UNRESOLVABLE_HOST = "ev-observer-fault.invalid";

/**
 * A `fetch` for `Http({fetch})` that makes client-side faults real: DNS failures go to an
 * unresolvable host, refused connections to a closed port, and resets / silent sockets to a
 * raw TCP listener that misbehaves on purpose. Other requests pass to `inner` untouched.
 */
export function faultyFetch(plan: FaultPlan, inner: typeof fetch = fetch): typeof fetch {
  let raw: RawFaultListener | undefined;
  let closedPort: number | undefined;
  return (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? request?.method ?? "GET";
    const fault = plan.pick("client", method, url.pathname);
    if (!fault) return inner(input, init);
    const target = new URL(url);
    switch (fault.kind as ClientFault["kind"]) {
      case "dns":
        target.hostname = UNRESOLVABLE_HOST;
        break;
      case "refused":
        closedPort ??= freeLoopbackPort();
        target.hostname = "127.0.0.1";
        target.port = String(closedPort);
        break;
      default:
        raw ??= startRawFaultListener(plan);
        target.hostname = "127.0.0.1";
        target.port = String(raw.port);
        target.pathname = `/${fault.kind}${url.pathname}`;
    }
    return inner(target, { ...init, method });
  };
}

interface RawFaultListener {
  readonly port: number;
}

/** A TCP listener that reads one request and then resets, cuts the body, or stays silent. */
function startRawFaultListener(plan: FaultPlan): RawFaultListener {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const close = (conn: Deno.Conn) => {
    if (open.delete(conn)) {
      try {
        conn.close();
      } catch { /* already closed by the peer */ }
    }
  };
  plan.onRelease(() => {
    listener.close();
    for (const conn of [...open]) close(conn);
  });
  (async () => {
    try {
      for await (const conn of listener) {
        open.add(conn);
        serveRaw(conn, plan).catch(() => {}).finally(() => close(conn));
      }
    } catch { /* listener closed */ }
  })();
  return { port: (listener.addr as Deno.NetAddr).port };
}

async function serveRaw(conn: Deno.Conn, plan: FaultPlan): Promise<void> {
  const head = await readHead(conn);
  const mode = /^[A-Z]+ \/([a-z_]+)/.exec(head)?.[1];
  if (mode === "reset_body") {
    await conn.write(encoder.encode(
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n" +
        '{"response":{"charge_state":{',
    ));
  } else if (mode === "silent") {
    await plan.released;
  }
  // "reset" and everything else: close without a word.
}

async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  while (!text.includes("\r\n\r\n") && text.length < buf.length) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}
