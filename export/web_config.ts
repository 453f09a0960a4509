/**
 * Optional TLS and basic auth for `/metrics` and `/`, configured like every Prometheus exporter:
 * an exporter-toolkit web config file (the `--web.config.file` format, checked by `promtool
 * check web-config`):
 *
 * ```yaml
 * tls_server_config:
 *   cert_file: server.crt      # relative paths are relative to this file
 *   key_file: server.key
 * basic_auth_users:
 *   prometheus: $2y$10$…       # bcrypt, e.g. `htpasswd -nBC 10 prometheus`
 * http_server_config:
 *   headers: { Strict-Transport-Security: max-age=31536000 }
 * ```
 *
 * Wiring (export/server.ts):
 *
 * ```ts
 * const web = await loadWebConfig(path);
 * serveHttp1({ hostname, port, tls: web.serveOptions(), handler: web.guard(handler), log });
 * ```
 *
 * Settings Deno's TLS cannot honour (client certificates, cipher and version choices) are
 * refused with an error rather than ignored, so nobody believes they are protected when they
 * are not.
 */
import bcrypt from "bcryptjs";
import { createHash } from "node:crypto";
import { z } from "zod";
import { closestKey } from "../core/closest_key.ts";
import { parseYamlText, YamlSyntaxError } from "../core/yaml_text.ts";

export class WebConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebConfigError";
  }
}

const BCRYPT = /^\$2[abxy]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const unsupported = (what: string) =>
  z.any().refine(() => false, `${what} is not supported by ev-observer; remove it`);

const TlsServerConfig = z.object({
  cert_file: z.string().min(1, "give the certificate file (PEM)"),
  key_file: z.string().min(1, "give the private key file (PEM)"),
  // Deno's TLS (rustls) offers TLS 1.2 and 1.3 with its own safe ciphers.
  min_version: z.literal("TLS12", "only TLS12 (the default) is supported").optional(),
  client_auth_type: z.literal(
    "NoClientCert",
    "client certificates are not supported by ev-observer",
  ).optional(),
  prefer_server_cipher_suites: z.boolean().optional(),
  max_version: unsupported("max_version").optional(),
  client_ca_file: unsupported("client_ca_file (client certificates)").optional(),
  client_allowed_sans: unsupported("client_allowed_sans (client certificates)").optional(),
  cipher_suites: unsupported("cipher_suites").optional(),
  curve_preferences: unsupported("curve_preferences").optional(),
}).strict();

const HttpServerConfig = z.object({
  /** Accepted for compatibility; the server speaks HTTP/1.1 only (export/http1.ts). */
  http2: z.boolean().optional(),
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, "not a header name"), z.string())
    .optional(),
}).strict();

const WebConfigFile = z.object({
  tls_server_config: TlsServerConfig.optional(),
  http_server_config: HttpServerConfig.optional(),
  basic_auth_users: z.record(
    z.string(),
    z.string().regex(
      BCRYPT,
      "not a bcrypt hash — make one with `htpasswd -nBC 10 USER` and paste the part after ':'",
    ),
  ).superRefine((users, ctx) => {
    for (const user of Object.keys(users)) {
      if (user === "" || user.includes(":")) {
        const message = "a user name must be non-empty without ':' (basic auth splits there)";
        ctx.addIssue({ code: "custom", path: [user], message });
      }
    }
  }).optional(),
}).strict();

/** The blocks' keys, for "did you mean": by the block's name ("" is the top level). */
const KNOWN_KEYS: Record<string, z.ZodObject | undefined> = {
  "": WebConfigFile,
  tls_server_config: TlsServerConfig,
  http_server_config: HttpServerConfig,
};

export interface WebConfigOptions {
  /** How long a successful check is remembered, ms (default 60 s: a 15 s scrape reuses it). */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/** TLS fields for `Deno.serve` (empty without `tls_server_config`). */
export type TlsServeOptions = { cert: string; key: string } | Record<never, never>;

type Handler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

export const REALM = "ev-observer";
const CACHE_MAX = 64;

export class WebConfig {
  readonly #tls?: { cert: string; key: string };
  readonly #users: Map<string, string>;
  readonly #headers: Record<string, string>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  /** sha256(user, password) → until when it is known good. */
  readonly #cache = new Map<string, number>();
  #dummyHash?: Promise<string>;
  /** bcrypt comparisons made (tests check the cache with it). */
  bcryptChecks = 0;

  constructor(
    parts: {
      tls?: { cert: string; key: string };
      users?: Record<string, string>;
      headers?: Record<string, string>;
    },
    options: WebConfigOptions = {},
  ) {
    this.#tls = parts.tls;
    this.#users = new Map(Object.entries(parts.users ?? {}));
    this.#headers = parts.headers ?? {};
    this.#cacheMs = options.cacheMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get tls(): boolean {
    return this.#tls !== undefined;
  }

  get basicAuth(): boolean {
    return this.#users.size > 0;
  }

  /** Spread into `Deno.serve` options. */
  serveOptions(): TlsServeOptions {
    return this.#tls ? { cert: this.#tls.cert, key: this.#tls.key } : {};
  }

  /**
   * undefined when the request may pass; otherwise the 401 to send. Unknown users cost a
   * bcrypt comparison too, so timing does not tell which user names exist.
   */
  async authorize(request: Request): Promise<Response | undefined> {
    if (this.#users.size === 0) return undefined;
    const credentials = parseBasic(request.headers.get("authorization"));
    if (credentials && await this.#check(credentials.user, credentials.password)) return undefined;
    return new Response("unauthorized\n", {
      status: 401,
      headers: {
        "www-authenticate": `Basic realm="${REALM}"`,
        "content-type": "text/plain; charset=utf-8",
        ...this.#headers,
      },
    });
  }

  /** Wraps a handler: basic auth first, then the configured response headers. */
  guard(handler: Handler): Handler {
    return async (request, info) => {
      const denied = await this.authorize(request);
      if (denied) return denied;
      return this.#withHeaders(await handler(request, info));
    };
  }

  #withHeaders(response: Response): Response {
    const entries = Object.entries(this.#headers);
    if (entries.length === 0) return response;
    try {
      for (const [name, value] of entries) response.headers.set(name, value);
      return response;
    } catch {
      // Immutable headers (e.g. Response.redirect): set them on a copy.
      const copy = new Response(response.body, response);
      for (const [name, value] of entries) copy.headers.set(name, value);
      return copy;
    }
  }

  #dummy(): Promise<string> {
    const cost = Number(/^\$2[abxy]?\$(\d\d)\$/.exec(this.#users.values().next().value!)?.[1]);
    this.#dummyHash ??= bcrypt.hash(crypto.randomUUID(), cost);
    return this.#dummyHash;
  }

  async #check(user: string, password: string): Promise<boolean> {
    const key = createHash("sha256").update(user).update("\0").update(password).digest("hex");
    const now = this.#now();
    const until = this.#cache.get(key);
    if (until !== undefined && until > now) return true;
    this.#cache.delete(key);
    const hash = this.#users.get(user);
    this.bcryptChecks++;
    // Same work for a user that does not exist: a hash of the same cost, made once.
    const ok = await bcrypt.compare(password, hash ?? await this.#dummy()) && hash !== undefined;
    if (ok) {
      if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, now + this.#cacheMs);
    }
    return ok;
  }
}

function parseBasic(header: string | null): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!m) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** Parses web config text; `path` names the file in errors and anchors relative paths. */
export async function parseWebConfig(
  text: string,
  path: string,
  options: WebConfigOptions = {},
): Promise<WebConfig> {
  let raw: unknown;
  try {
    raw = text.trim() ? parseYamlText(text) : {};
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    throw new WebConfigError(`${path}: not valid YAML ${err.message}`);
  }
  const parsed = WebConfigFile.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) => {
      const key = i.path.join(".") || "(top level)";
      if (i.code !== "unrecognized_keys") return [`  ${key}: ${i.message}`];
      const known = Object.keys(KNOWN_KEYS[String(i.path[0] ?? "")]?.shape ?? {});
      return i.keys.map((k) => {
        const near = closestKey(k, known);
        const fix = near ? `did you mean ${near}?` : `known here: ${known.join(", ")}`;
        return `  ${key}: unknown key ${k} — ${fix} (exporter-toolkit web config format)`;
      });
    });
    throw new WebConfigError(`web config ${path} is invalid:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  let tls: { cert: string; key: string } | undefined;
  if (config.tls_server_config) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "./";
    const read = async (key: "cert_file" | "key_file", pem: RegExp) => {
      const file = config.tls_server_config![key];
      const full = file.startsWith("/") ? file : dir + file;
      let content: string;
      try {
        content = await Deno.readTextFile(full);
      } catch (err) {
        throw new WebConfigError(
          `web config ${path}: tls_server_config.${key}: cannot read ${full}: ${
            (err as Error).message
          }`,
        );
      }
      if (!pem.test(content)) {
        throw new WebConfigError(
          `web config ${path}: tls_server_config.${key}: ${full} is not a PEM ${
            key === "cert_file" ? "certificate" : "private key"
          }`,
        );
      }
      return content;
    };
    tls = {
      cert: await read("cert_file", /-----BEGIN CERTIFICATE-----/),
      key: await read("key_file", /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
    };
  }
  return new WebConfig({
    tls,
    users: config.basic_auth_users,
    headers: config.http_server_config?.headers,
  }, options);
}

/** Reads and validates a web config file. */
export async function loadWebConfig(path: string, options?: WebConfigOptions): Promise<WebConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new WebConfigError(`cannot read web config ${path}: ${(err as Error).message}`);
  }
  return parseWebConfig(text, path, options);
}
