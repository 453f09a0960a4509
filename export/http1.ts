/**
 * The exporter's HTTP/1.1 connection handling, over `Deno.listen` / `Deno.listenTls`: what
 * `Deno.serve` cannot be told. Deno.serve has no header or idle timeout and no connection cap,
 * and its accept loop dies on EMFILE, so a few hundred idle or half-sent connections either
 * stay open forever or end the process. Here:
 *
 * - a request head must arrive within `headerTimeoutMs` (from the connection's start, or from
 *   its first byte on a kept-alive connection), else the connection is closed (slowloris);
 * - a kept-alive connection with no request is closed after `idleTimeoutMs`;
 * - sending a response must finish within `writeTimeoutMs` (a client that stops reading);
 * - at most `maxConnections` are open: a new one first closes the connection that has waited
 *   longest for a request (so a flood of idle sockets never locks out a probe of /healthz),
 *   and is refused with 503 only when every slot is busy answering;
 * - when the process runs out of file descriptors, accepting closes the longest-waiting
 *   connection and tries again instead of dying.
 *
 * It speaks the part of HTTP/1.1 a metrics endpoint needs: GET and HEAD without bodies,
 * keep-alive, pipelining (in order); a request with a body is answered, then the connection
 * closed. Responses are buffered (expositions are a few MB at most) with a Content-Length, and
 * written in chunks of WRITE_CHUNK, so twenty scrapes of 7 MB take turns with a probe of
 * /healthz rather than each holding the loop for one large write. A body made with
 * `bytesResponse` is sent from its bytes as they are: the exposition that concurrent scrapes
 * share is not copied per request.
 */
import type { Fields, Logger } from "../core/log.ts";

export interface ConnectionLimits {
  /** Open connections at most; beyond, the longest-waiting one is closed (or the new refused). */
  readonly maxConnections: number;
  /** A request head (request line and headers) must arrive within this, ms. */
  readonly headerTimeoutMs: number;
  /** A kept-alive connection waiting for its next request is closed after this, ms. */
  readonly idleTimeoutMs: number;
  /** Sending one response must finish within this, ms. */
  readonly writeTimeoutMs: number;
  /** A request head larger than this is refused with 431, bytes. */
  readonly maxHeadBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  // Far below a typical 1,024 descriptors, far above what Prometheus, Grafana and a few
  // browsers need.
  maxConnections: 256,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  writeTimeoutMs: 30_000,
  maxHeadBytes: 16 * 1024,
};

export type Handler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

export interface Http1Options {
  readonly hostname: string;
  readonly port: number;
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly limits?: Partial<ConnectionLimits>;
  readonly handler: Handler;
  /** The answer when the handler throws. */
  readonly onError?: (error: unknown) => Response | Promise<Response>;
  readonly signal?: AbortSignal;
  readonly log: Logger;
}

export interface Http1Server {
  readonly addr: Deno.NetAddr;
  /** Settles once the listener is closed and every connection has ended. */
  readonly finished: Promise<void>;
  /** Stops accepting, closes waiting connections, lets answers in progress finish. */
  shutdown(): Promise<void>;
  /** Connections open now. */
  connections(): number;
}

const encoder = new TextEncoder();
/** Bytes per write of a response body. */
const WRITE_CHUNK = 64 * 1024;
const prepared = new WeakMap<Response, Uint8Array>();

/** A response sent from these bytes without copying them (they must not change meanwhile). */
export function bytesResponse(body: Uint8Array, init: ResponseInit = {}): Response {
  const response = new Response(null, init);
  prepared.set(response, body);
  return response;
}
const latin1 = new TextDecoder("latin1");
const CRLFCRLF = [13, 10, 13, 10];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;

/** One accepted connection, as the cap sees it. */
interface Slot {
  readonly conn: Deno.Conn;
  /** Waiting for (the rest of) a request head: may be closed to make room. */
  waiting: boolean;
  /** performance.now() when it started waiting. */
  since: number;
  closed: boolean;
  close(): void;
}

export function serveHttp1(options: Http1Options): Http1Server {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { log } = options;
  const listener = options.tls
    ? Deno.listenTls({ hostname: options.hostname, port: options.port, ...options.tls })
    : Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const origin = `${options.tls ? "https" : "http"}://${host}:${addr.port}`;
  const slots = new Set<Slot>();
  const running = new Set<Promise<void>>();
  let closing = false;
  let lastWarning = -Infinity;

  /** Closes the connection that has waited longest for a request; false when none waits. */
  const evictOldestWaiting = (): boolean => {
    let oldest: Slot | undefined;
    for (const s of slots) if (s.waiting && (!oldest || s.since < oldest.since)) oldest = s;
    oldest?.close();
    return oldest !== undefined;
  };
  const warn = (msg: string, fields: Fields) => {
    // At most one line a minute: a flood must not flood the log too.
    if (performance.now() - lastWarning < 60_000) return;
    lastWarning = performance.now();
    log.warn(msg, fields);
  };

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) return;
        // Out of file descriptors (EMFILE), or a connection reset before accept: make room
        // and go on; the pending connection waits in the kernel's backlog meanwhile.
        warn("cannot accept a connection; closing the longest-waiting one", {
          error: (err as Error).message,
          open: slots.size,
        });
        const freed = evictOldestWaiting();
        await new Promise((r) => setTimeout(r, freed ? 5 : 100));
        continue;
      }
      if (closing) {
        conn.close();
        return;
      }
      if (slots.size >= limits.maxConnections && !evictOldestWaiting()) {
        warn("connection refused: every connection is busy answering", { open: slots.size });
        refuse(conn);
        continue;
      }
      const done = serveConnection(conn).finally(() => running.delete(done));
      running.add(done);
    }
  })();

  /** 503 to a connection beyond the cap, without waiting for it. */
  function refuse(conn: Deno.Conn) {
    const body = "server busy\n";
    const head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n" +
      `content-length: ${body.length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n`;
    const timer = setTimeout(() => closeQuietly(conn), 1000);
    conn.write(encoder.encode(head + body)).catch(() => {}).finally(() => {
      clearTimeout(timer);
      closeQuietly(conn);
    });
  }

  async function serveConnection(conn: Deno.Conn): Promise<void> {
    const slot: Slot = {
      conn,
      waiting: true,
      since: performance.now(),
      closed: false,
      close() {
        if (slot.closed) return;
        slot.closed = true;
        closeQuietly(conn);
      },
    };
    slots.add(slot);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    let buffered: Uint8Array<ArrayBuffer> = new Uint8Array(0);
    let fresh = true;
    try {
      while (!slot.closed && !closing) {
        slot.waiting = true;
        slot.since = performance.now();
        const head = await readHead(slot, buffered, fresh);
        fresh = false;
        if (!head) return;
        buffered = head.rest;
        slot.waiting = false;
        const parsed = parseHead(head.bytes);
        if (typeof parsed === "number") {
          await send(slot, plain(parsed), false, false);
          return;
        }
        // A body is never read: answer, then close rather than parse what follows it.
        const keepAlive = parsed.keepAlive && !parsed.hasBody && !closing;
        let request: Request;
        try {
          request = new Request(origin + parsed.path, {
            method: parsed.method,
            headers: parsed.headers,
          });
        } catch {
          // A method fetch forbids (CONNECT, TRACE) or a target that is no URL path.
          await send(slot, plain(400), false, false);
          return;
        }
        let completed!: () => void;
        const info = { remoteAddr, completed: new Promise<void>((r) => (completed = r)) };
        let response: Response;
        try {
          response = await options.handler(request, info);
        } catch (err) {
          response = await answerError(err);
        }
        const sent = await send(slot, response, keepAlive, parsed.method === "HEAD");
        completed();
        if (!sent || !keepAlive) return;
      }
    } finally {
      slot.close();
      slots.delete(slot);
    }
  }

  async function answerError(err: unknown): Promise<Response> {
    try {
      if (options.onError) return await options.onError(err);
    } catch { /* the fallback below */ }
    return plain(500);
  }

  /**
   * Reads until a whole request head is buffered: its bytes and what follows it. undefined when
   * the connection ended, timed out (a 408 goes to a half-sent head) or sent too large a head.
   */
  async function readHead(
    slot: Slot,
    start: Uint8Array<ArrayBuffer>,
    fresh: boolean,
  ): Promise<{ bytes: Uint8Array; rest: Uint8Array<ArrayBuffer> } | undefined> {
    let buf = start;
    // A new connection must send its head within the header timeout; a kept-alive one may
    // idle first, then has the header timeout from its first byte.
    let deadline = performance.now() +
      (fresh || buf.length ? limits.headerTimeoutMs : limits.idleTimeoutMs);
    const chunk = new Uint8Array(16 * 1024);
    for (;;) {
      const end = indexOfHeadEnd(buf);
      if (end >= 0 && end <= limits.maxHeadBytes) {
        return { bytes: buf.subarray(0, end), rest: buf.slice(end + 4) };
      }
      if (end > limits.maxHeadBytes || buf.length > limits.maxHeadBytes) {
        await send(slot, plain(431), false, false);
        return undefined;
      }
      const n = await readBefore(slot, chunk, deadline);
      if (n === "timeout") {
        if (buf.length) await send(slot, plain(408), false, false);
        return undefined;
      }
      if (n === null) return undefined;
      if (buf.length === 0 && !fresh) deadline = performance.now() + limits.headerTimeoutMs;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
    }
  }

  /** One read that gives up at `deadline`; null at the end of the stream or on an error. */
  async function readBefore(
    slot: Slot,
    chunk: Uint8Array,
    deadline: number,
  ): Promise<number | null | "timeout"> {
    const ms = deadline - performance.now();
    if (ms <= 0) return "timeout";
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve("timeout");
      }, ms);
    });
    try {
      const n = await Promise.race([slot.conn.read(chunk), expired]);
      return timedOut ? "timeout" : n;
    } catch {
      return timedOut ? "timeout" : null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes a response within the write timeout; false when the connection is gone. */
  async function send(
    slot: Slot,
    response: Response,
    keepAlive: boolean,
    headOnly: boolean,
  ): Promise<boolean> {
    if (slot.closed) return false;
    let body: Uint8Array;
    try {
      body = prepared.get(response) ?? new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      log.error("response body failed", { error: (err as Error)?.message ?? String(err) });
      response = plain(500);
      body = new Uint8Array(await response.arrayBuffer());
      keepAlive = false;
    }
    const lines = [`HTTP/1.1 ${response.status} ${response.statusText || reason(response.status)}`];
    for (const [name, value] of response.headers) {
      if (name === "content-length" || name === "connection" || name === "transfer-encoding") {
        continue;
      }
      lines.push(`${name}: ${value}`);
    }
    const noBody = headOnly || response.status === 204 || response.status === 304;
    if (response.status !== 204 && response.status !== 304) {
      lines.push(`content-length: ${body.length}`);
    }
    lines.push(
      keepAlive
        ? `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(limits.idleTimeoutMs / 1000)}`
        : "connection: close",
    );
    const head = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
    // A small answer goes in one write; a large body after its head, a chunk per write.
    const parts = noBody
      ? [head]
      : body.length <= WRITE_CHUNK
      ? [concat(head, body)]
      : [head, body];
    const timer = setTimeout(() => slot.close(), limits.writeTimeoutMs);
    try {
      for (const out of parts) {
        for (let off = 0; off < out.length;) {
          off += await slot.conn.write(out.subarray(off, off + WRITE_CHUNK));
        }
      }
      return true;
    } catch {
      slot.close();
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  let finished: Promise<void> | undefined;
  const shutdown = () => {
    finished ??= (async () => {
      closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      await accepting;
      for (const s of slots) if (s.waiting) s.close();
      await Promise.all(running);
    })();
    return finished;
  };
  if (options.signal?.aborted) shutdown();
  options.signal?.addEventListener("abort", () => shutdown(), { once: true });
  let settle!: () => void;
  const done = new Promise<void>((r) => (settle = r));
  accepting.then(() => shutdown().then(settle));

  return { addr, finished: done, shutdown, connections: () => slots.size };
}

interface Head {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  readonly keepAlive: boolean;
  readonly hasBody: boolean;
}

/** A request head, or the status to refuse it with. */
function parseHead(bytes: Uint8Array): Head | number {
  const lines = latin1.decode(bytes).split("\r\n");
  const line = REQUEST_LINE.exec(lines[0]);
  if (!line) return 400;
  const [, method, target, minor] = line;
  let path: string;
  if (target.startsWith("/")) path = target;
  else if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      path = url.pathname + url.search;
    } catch {
      return 400;
    }
  } else return 400;
  const headers = new Headers();
  for (const raw of lines.slice(1)) {
    const colon = raw.indexOf(":");
    // No folded lines, no space before the colon (request smuggling).
    if (colon <= 0 || !TOKEN.test(raw.slice(0, colon))) return 400;
    try {
      headers.append(raw.slice(0, colon), raw.slice(colon + 1).trim());
    } catch {
      return 400;
    }
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = minor === "1"
    ? !connection.includes("close")
    : connection.includes("keep-alive");
  const length = headers.get("content-length");
  if (length !== null && !/^\d+$/.test(length.trim())) return 400;
  const hasBody = headers.has("transfer-encoding") || (length !== null && Number(length) > 0);
  return { method, path, headers, keepAlive, hasBody };
}

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (
      buf[i] === CRLFCRLF[0] && buf[i + 1] === CRLFCRLF[1] && buf[i + 2] === CRLFCRLF[2] &&
      buf[i + 3] === CRLFCRLF[3]
    ) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function reason(status: number): string {
  return REASONS[status] ?? "Status";
}

function plain(status: number): Response {
  return new Response(`${reason(status).toLowerCase()}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function closeQuietly(conn: Deno.Conn) {
  try {
    conn.close();
  } catch { /* already closed */ }
}
