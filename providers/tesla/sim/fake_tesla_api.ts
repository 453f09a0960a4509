/**
 * A minimal Tesla REST API for the sign-in and token tests: bearer tokens checked by the
 * fake OAuth server, `/api/1/users/region`, `/api/1/products`, Tesla's 401 body for a dead
 * token, and 421 for an account that lives in another region. (The full vehicle simulation
 * lives elsewhere; this one only answers what the auth paths touch.)
 */
const products = await Deno.readTextFile(new URL("../testdata/products.json", import.meta.url));
const expired = await Deno.readTextFile(
  new URL("../testdata/error.401-token-expired.json", import.meta.url),
);

export interface FakeTeslaApiOptions {
  /** Is this access token live? (FakeOAuthServer.isValid) */
  readonly isValid: (token: string) => boolean;
  /** What `/api/1/users/region` answers (the base is read per request). */
  readonly region?: { readonly region: string; readonly base: () => string };
  /** Answer 421 to data calls: the account lives in another region. */
  readonly misdirected?: boolean;
}

export class FakeTeslaApi {
  /** `<status> <path>` per request, in order. */
  readonly requests: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(readonly options: FakeTeslaApiOptions) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      handler: (req) => {
        const res = this.#handle(req);
        this.requests.push(`${res.status} ${new URL(req.url).pathname}`);
        return res;
      },
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  #handle(req: Request): Response {
    const path = new URL(req.url).pathname;
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    if (!this.options.isValid(token)) return text(401, expired);
    if (path === "/api/1/users/region" && this.options.region) {
      const { region, base } = this.options.region;
      return json(200, { response: { region, fleet_api_base_url: base() } });
    }
    if (this.options.misdirected) {
      return json(421, {
        response: null,
        error: "user out of region",
        error_description: "This user is not present in the current region.",
      });
    }
    if (path === "/api/1/products") return text(200, products);
    return json(404, { response: null, error: "not_found", error_description: "" });
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "application/json" } });
}

function json(status: number, body: unknown): Response {
  return text(status, JSON.stringify(body));
}
