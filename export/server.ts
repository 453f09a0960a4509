/**
 * The HTTP server: GET /metrics (Prometheus exposition), GET /healthz, GET / (a minimal page).
 * It keeps answering when an exposition fails: that request gets a 500, the next one is tried
 * afresh.
 */
import { createLogger, type Logger } from "../core/log.ts";
import { PROMETHEUS_CONTENT_TYPE, type PrometheusExport } from "./prometheus.ts";

export interface ServerOptions {
  readonly hostname: string;
  /** 0 picks a free port; the returned url carries the real one. */
  readonly port: number;
  readonly prometheus: PrometheusExport;
  /** Status shown on the index page (JSON-serialisable). */
  readonly status?: () => unknown;
  /** Aborting it shuts the server down. */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

export interface RunningServer {
  /** Base URL with the bound port, e.g. http://127.0.0.1:9464/ */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  shutdown(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

export function startServer(opts: ServerOptions): RunningServer {
  const log = (opts.log ?? createLogger()).child({ component: "server" });
  const handler = (req: Request) => handle(req, opts, log);
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    signal: opts.signal,
    onListen: () => {},
    onError: (err) => {
      log.error("request failed", { error: (err as Error)?.message ?? String(err) });
      return new Response("internal error\n", { status: 500, headers: { "content-type": TEXT } });
    },
  }, handler);
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}/`;
  log.info("listening", { url });
  let closed: Promise<void> | undefined;
  return {
    url,
    hostname: addr.hostname,
    port: addr.port,
    shutdown: () => {
      closed ??= opts.signal?.aborted ? server.finished : server.shutdown().then(
        () => server.finished,
      );
      return closed;
    },
  };
}

const ROUTES = new Set(["/", "/metrics", "/healthz"]);

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
        const body = await opts.prometheus.exposition();
        return new Response(body, { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } });
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        log.error("exposition failed", { error: message });
        return text(`exposition failed: ${message}\n`, 500);
      }
    case "/healthz":
      return text("ok\n", 200);
    default:
      return new Response(indexPage(opts, log), {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
  }
}

function text(body: string, status: number): Response {
  return new Response(body, { status, headers: { "content-type": TEXT } });
}

function indexPage(opts: ServerOptions, log: Logger): string {
  let status = "";
  if (opts.status) {
    try {
      status = `<h2>Status</h2>\n<pre>${
        escapeHtml(JSON.stringify(opts.status(), null, 2) ?? "null")
      }</pre>\n`;
    } catch (err) {
      log.warn("status failed", { error: (err as Error)?.message ?? String(err) });
      status = `<p>Status unavailable.</p>\n`;
    }
  }
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ev-observer</title></head>
<body>
<h1>ev-observer</h1>
<ul><li><a href="metrics">/metrics</a> (Prometheus)</li><li><a href="healthz">/healthz</a></li></ul>
${status}</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
