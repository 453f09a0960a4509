/**
 * Getting the authorization code back from the browser, two ways:
 *
 * - `startCallbackServer` — a one-shot loopback server for redirect URIs such as
 *   `http://127.0.0.1:8123/callback` (or `http://localhost:…`; port 0 picks a free port). It
 *   binds 127.0.0.1 only, answers exactly one request on the redirect path, checks `state`
 *   (a mismatch shows an error page and rejects), shows a "you can close this tab" page and
 *   closes itself; it also gives up after a timeout.
 * - `parsePastedRedirect` — for redirect URIs a local server cannot receive (Tesla Owner's
 *   `tesla://auth/callback`, a hosted https page) and headless machines: the user pastes the
 *   final address (`…?code=…&state=…`) or only the code.
 *
 * Both return the callback's query parameters, to pass to `OAuthClient.exchangeCode`:
 *
 * ```ts
 * const server = startCallbackServer({ redirectUri: config.redirect_uri });
 * const pending = await oauth.authorizationRequest({ redirectUri: server.redirectUri });
 * console.log(`Open ${pending.url}`);
 * const params = await server.waitForCallback(pending.state, { timeoutMs: 300_000 });
 * // or, without a server:
 * const params = parsePastedRedirect(prompt("Paste the final address:") ?? "", pending.state);
 * const grant = await oauth.exchangeCode(pending, params);
 * ```
 */
import { listenFailure } from "./listen.ts";
import { AuthorizationError, checkAuthorizationResponse } from "./oauth.ts";

export interface CallbackServer {
  /** The redirect URI with the port actually bound (differs from the input for port 0). */
  readonly redirectUri: string;
  readonly port: number;
  /** The address actually bound: always 127.0.0.1. */
  readonly hostname: string;
  /**
   * Resolves with the checked callback parameters of the first request on the redirect path,
   * or rejects with an AuthorizationError (state mismatch, declined, timeout, cancelled).
   * The server is closed either way.
   */
  waitForCallback(
    expectedState: string,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<URLSearchParams>;
  /** Closes the server now (also fine after it closed itself). */
  close(): Promise<void>;
}

/** Starts the server for `redirectUri`, which must be plain http on 127.0.0.1 or localhost. */
export function startCallbackServer(options: { redirectUri: string }): CallbackServer {
  const uri = new URL(options.redirectUri);
  if (uri.protocol !== "http:" || !["127.0.0.1", "localhost"].includes(uri.hostname)) {
    throw new Error(
      `a callback server needs an http://127.0.0.1:<port>/… or http://localhost:<port>/… ` +
        `redirect URI, not ${uri.origin}; paste the final address instead`,
    );
  }
  const path = uri.pathname;
  let expected: string | undefined;
  let settle: ((outcome: { params: URLSearchParams } | { error: Error }) => void) | undefined;
  let served = false;

  const handler = (req: Request): Response => {
    const url = new URL(req.url);
    if (url.pathname !== path) return page(404, "Not found", "This is not the sign-in address.");
    if (req.method !== "GET") return page(405, "Not allowed", "Use the browser.");
    if (served) return page(410, "Already done", "This sign-in is finished.");
    if (expected === undefined || !settle) {
      return page(503, "Not ready", "The sign-in has not started yet; reload in a moment.");
    }
    served = true;
    try {
      const params = checkAuthorizationResponse(url.searchParams, expected);
      settle({ params });
      return page(200, "Signed in", "You can close this tab and return to the terminal.");
    } catch (err) {
      const error = err instanceof AuthorizationError
        ? err
        : new AuthorizationError("unreadable", "unreadable sign-in answer");
      settle({ error });
      return page(400, "Sign-in failed", `${error.message}. Close this tab and start again.`);
    }
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1", // loopback only, whatever the redirect URI says
      port: Number(uri.port || 80),
      onListen: () => {},
      handler,
    });
  } catch (err) {
    const address = `127.0.0.1:${uri.port || 80}`;
    const why = listenFailure(err, {
      address,
      key: "the port of redirect_uri",
      set: (a) => `a redirect_uri on ${a} (registered with your app as well)`,
    });
    throw new Error(why ?? `cannot listen on ${address}: ${(err as Error).message}`);
  }
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= server.shutdown().then(() => server.finished));
  const bound = new URL(uri);
  bound.port = String(server.addr.port);

  const waitForCallback = (
    expectedState: string,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<URLSearchParams> => {
    if (expected !== undefined) throw new Error("waitForCallback may be called once");
    expected = expectedState;
    const timeoutMs = opts.timeoutMs ?? 300_000;
    return new Promise<URLSearchParams>((resolve, reject) => {
      const fail = (reason: "timeout" | "cancelled", message: string) =>
        settle?.({ error: new AuthorizationError(reason, message) });
      const timer = setTimeout(
        () => fail("timeout", `no sign-in answer within ${Math.round(timeoutMs / 1000)} s`),
        timeoutMs,
      );
      const onAbort = () => fail("cancelled", "sign-in cancelled");
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      settle = (outcome) => {
        settle = undefined;
        served = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        // Close after the answer page went out (shutdown waits for it), then report.
        setTimeout(() => {
          close().then(
            () => "params" in outcome ? resolve(outcome.params) : reject(outcome.error),
            reject,
          );
        }, 0);
      };
      if (opts.signal?.aborted) onAbort();
    });
  };
  return {
    redirectUri: bound.href,
    port: server.addr.port,
    hostname: server.addr.hostname,
    close,
    waitForCallback,
  };
}

/**
 * Reads what the user pasted after signing in: the final address (any scheme, e.g.
 * `tesla://auth/callback?code=…&state=…`, query or fragment), a bare `code=…&state=…` query,
 * or only the code. A pasted address must carry the expected `state`; a bare code cannot, and
 * is accepted because PKCE ties it to this sign-in's verifier anyway.
 */
export function parsePastedRedirect(input: string, expectedState: string): URLSearchParams {
  const text = input.trim().replace(/^["'<]+|["'>]+$/g, "");
  if (!text) throw new AuthorizationError("unreadable", "nothing was pasted");
  let params: URLSearchParams | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new AuthorizationError("unreadable", "the pasted address is not a valid URL");
    }
    params = url.searchParams;
    if (!params.has("code") && !params.has("error") && url.hash.length > 1) {
      params = new URLSearchParams(url.hash.slice(1));
    }
  } else if (/^[?#]|(^|&)(code|error)=/.test(text)) {
    params = new URLSearchParams(text.replace(/^[?#]/, ""));
  }
  if (params) return checkAuthorizationResponse(params, expectedState);
  if (/^[A-Za-z0-9._~+/=-]{4,}$/.test(text)) {
    return new URLSearchParams({ code: text, state: expectedState });
  }
  throw new AuthorizationError(
    "unreadable",
    "paste the whole address the browser ended on (it contains ?code=…), or only the code",
  );
}

const STYLE = "font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;line-height:1.5";

function page(status: number, title: string, text: string): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>ev-observer: ${escapeHtml(title)}` +
    `</title><body style="${STYLE}"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`;
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // The address bar holds the code: never send it on as a referrer.
      "referrer-policy": "no-referrer",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-content-type-options": "nosniff",
    },
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
