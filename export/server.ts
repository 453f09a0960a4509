/**
 * The HTTP server: GET /metrics (Prometheus exposition), GET /healthz, GET / (the status page)
 * and GET /status.json (the data the page refreshes itself from).
 * It keeps answering when an exposition fails: that request gets a 500, the next one is tried
 * afresh. Connections are served by export/http1.ts, not Deno.serve: it has the header and
 * idle timeouts and the connection cap Deno.serve lacks, and survives running out of file
 * descriptors.
 */
import { createLogger, type Logger } from "../core/log.ts";
import { bytesResponse, type ConnectionLimits, serveHttp1 } from "./http1.ts";
import { type Encoding, PROMETHEUS_CONTENT_TYPE, type PrometheusExport } from "./prometheus.ts";
import type { StatusModel } from "./status.ts";
import { statusPage } from "./status_page.ts";
import type { WebConfig } from "./web_config.ts";

export interface ServerOptions {
  readonly hostname: string;
  /** 0 picks a free port; the returned url carries the real one. */
  readonly port: number;
  readonly prometheus: PrometheusExport;
  /** What the status page shows; without it the page lists no vehicles. */
  readonly status?: () => StatusModel;
  /** Aborting it shuts the server down. */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** TLS and basic auth (exporter-toolkit web config); `/healthz` stays open for probes. */
  readonly web?: WebConfig;
  /** Timeouts and the connection cap over export/http1.ts DEFAULT_LIMITS. */
  readonly limits?: Partial<ConnectionLimits>;
}

export interface RunningServer {
  /** Base URL with the bound port, e.g. http://127.0.0.1:9464/ */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  shutdown(): Promise<void>;
  /** Connections open now. */
  connections(): number;
}

const TEXT = "text/plain; charset=utf-8";

export function startServer(opts: ServerOptions): RunningServer {
  const log = (opts.log ?? createLogger()).child({ component: "server" });
  const open = (req: Request) => handle(req, opts, log);
  const guarded = opts.web?.guard(open);
  const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
    guarded && new URL(req.url).pathname !== "/healthz" ? guarded(req, info) : open(req);
  const tls = opts.web?.serveOptions();
  const server = serveHttp1({
    hostname: opts.hostname,
    port: opts.port,
    tls: tls && "cert" in tls ? tls : undefined,
    limits: opts.limits,
    signal: opts.signal,
    log,
    handler,
    onError: (err) => {
      log.error("request failed", { error: (err as Error)?.message ?? String(err) });
      return new Response("internal error\n", { status: 500, headers: { "content-type": TEXT } });
    },
  });
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const scheme = opts.web?.tls ? "https" : "http";
  const url = `${scheme}://${host}:${addr.port}/`;
  log.info("listening", { url });
  let closed: Promise<void> | undefined;
  return {
    url,
    hostname: addr.hostname,
    port: addr.port,
    shutdown: () => {
      closed ??= server.shutdown().then(() => server.finished);
      return closed;
    },
    connections: () => server.connections(),
  };
}

const ROUTES = new Set(["/", "/metrics", "/healthz", "/status.json"]);

async function handle(req: Request, opts: ServerOptions, log: Logger): Promise<Response> {
  const { pathname } = new URL(req.url);
  if (!ROUTES.has(pathname)) return text("not found\n", 404);
  if (req.method !== "GET") {
    return new Response("method not allowed\n", {
      status: 405,
      headers: { "content-type": TEXT, allow: "GET" },
    });
  }
  switch (pathname) {
    case "/metrics":
      try {
        const encoding: Encoding = acceptsGzip(req.headers.get("accept-encoding"))
          ? "gzip"
          : "identity";
        return bytesResponse(await opts.prometheus.body(encoding), {
          headers: {
            "content-type": PROMETHEUS_CONTENT_TYPE,
            ...(encoding === "gzip" ? { "content-encoding": "gzip" } : {}),
            vary: "accept-encoding",
          },
        });
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        log.error("exposition failed", { error: message });
        return text(`exposition failed: ${message}\n`, 500);
      }
    case "/healthz":
      return text("ok\n", 200);
    case "/status.json":
      return new Response(JSON.stringify(status(opts, log)), {
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    default:
      return new Response(statusPage(status(opts, log)), {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      });
  }
}

/** Whether an Accept-Encoding header allows gzip (listed without q=0, or `*`). */
export function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "*") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return !q || Number(q.slice(2)) > 0;
  });
}

/** The status model; a failing status source shows an empty page rather than an error. */
function status(opts: ServerOptions, log: Logger): StatusModel {
  try {
    if (opts.status) return opts.status();
  } catch (err) {
    log.warn("status failed", { error: (err as Error)?.message ?? String(err) });
  }
  return { now: Date.now() / 1000, vehicles: [] };
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": TEXT } });
}
