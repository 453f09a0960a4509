/**
 * A stand-in for Tesla's vehicle-command proxy (`tesla-http-proxy`) in front of the simulated
 * Fleet API, for the `auth tesla --telemetry` tests: HTTPS with its own certificate (a
 * throwaway CA, as an owner's self-signed proxy), and on
 * `POST /api/1/vehicles/fleet_telemetry_config` it signs the `config` as JWT claims
 * (`aud` com.tesla.fleet.TelemetryClient, `iss` the public key) and forwards
 * `{"vins", "token"}` to `fleet_telemetry_config_jws` with the caller's bearer token, passing
 * Tesla's answer back. Tesla's proxy signs with Schnorr over P-256; this one uses ECDSA P-256,
 * which the simulated API does not check. `refuse` makes it answer an error itself.
 */
import { makeCertificates } from "../../../replay/mosquitto.ts";
import { TELEMETRY_AUDIENCE } from "./fake_api.ts";

export interface FakeProxyOptions {
  /** The simulated Fleet API to forward to. */
  readonly upstream: string;
  /** Answer this instead of forwarding (a proxy or Tesla refusing). */
  readonly refuse?: { readonly status: number; readonly body: unknown };
}

export class FakeProxy {
  /** Requests it received, as `METHOD path`. */
  readonly requests: string[] = [];

  private constructor(
    readonly options: FakeProxyOptions,
    readonly caPem: string,
    readonly dir: string,
    readonly server: Deno.HttpServer<Deno.NetAddr>,
  ) {}

  static async start(options: FakeProxyOptions): Promise<FakeProxy> {
    const dir = await Deno.makeTempDir({ prefix: "ev-fake-proxy-" });
    const caPem = await makeCertificates(dir);
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
    const self: { proxy?: FakeProxy } = {};
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: await Deno.readTextFile(`${dir}/server.pem`),
      key: await Deno.readTextFile(`${dir}/server.key`),
      onListen: () => {},
    }, (req) => self.proxy!.#handle(req, keys.privateKey, publicKey));
    self.proxy = new FakeProxy(options, caPem, dir, server);
    return self.proxy;
  }

  /** The proxy's address (its certificate names localhost and 127.0.0.1). */
  get url(): string {
    return `https://localhost:${this.server.addr.port}`;
  }

  async close(): Promise<void> {
    await this.server.shutdown();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async #handle(req: Request, key: CryptoKey, publicKey: Uint8Array): Promise<Response> {
    const url = new URL(req.url);
    this.requests.push(`${req.method} ${url.pathname}`);
    if (this.options.refuse) {
      return Response.json(this.options.refuse.body, { status: this.options.refuse.status });
    }
    if (req.method !== "POST" || url.pathname !== "/api/1/vehicles/fleet_telemetry_config") {
      return Response.json({ response: null, error: "not found", error_description: "" }, {
        status: 404,
      });
    }
    const authorization = req.headers.get("authorization");
    if (!authorization) {
      return Response.json({
        response: null,
        error: "missing authorization header",
        error_description: "",
      }, { status: 401 });
    }
    let body: { vins?: unknown; config?: Record<string, unknown> };
    try {
      body = await req.json();
    } catch {
      return Response.json({ response: null, error: "invalid JSON", error_description: "" }, {
        status: 400,
      });
    }
    if (!body.config || typeof body.config !== "object") {
      return Response.json({ response: null, error: "missing config", error_description: "" }, {
        status: 400,
      });
    }
    const token = await sign(
      { ...body.config, aud: TELEMETRY_AUDIENCE, iss: b64(publicKey) },
      key,
    );
    const res = await fetch(
      new URL("/api/1/vehicles/fleet_telemetry_config_jws", this.options.upstream),
      {
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body: JSON.stringify({ vins: body.vins, token }),
      },
    );
    return new Response(await res.text(), {
      status: res.status,
      headers: { "content-type": "application/json" },
    });
  }
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function sign(claims: Record<string, unknown>, key: CryptoKey): Promise<string> {
  const enc = new TextEncoder();
  const head = b64(enc.encode(JSON.stringify({ alg: "Tesla.SS256", typ: "JWT" })));
  const body = b64(enc.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    enc.encode(`${head}.${body}`),
  );
  return `${head}.${body}.${b64(new Uint8Array(signature))}`;
}
