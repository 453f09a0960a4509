/**
 * A vendor's simulated sign-in host behind a gate on its token endpoint, for the refresh crash
 * tests: the first token request is held (before the host processes it, or after, with its
 * answer kept back) until the test has killed the client; every other request passes.
 */
export type Hold = "before" | "after" | "none";

export class TokenGate<F> {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** Refresh tokens the host handed out in token answers. */
  readonly issued: string[] = [];
  #reached!: () => void;
  /** Settles when a token request reached the gate (and, holding "after", was processed). */
  readonly reached = new Promise<void>((r) => (this.#reached = r));
  #held = false;
  #open!: () => void;
  readonly #opened = new Promise<void>((r) => (this.#open = r));
  #answered!: () => void;
  /** Settles when a token answer left the server. */
  readonly answered = new Promise<void>((r) => (this.#answered = r));

  /** `upstream` answers as the simulated host; `closeFake` stops it. */
  constructor(
    readonly fake: F,
    readonly hold: Hold,
    tokenPath: string,
    upstream: (req: Request) => Response | Promise<Response>,
    readonly closeFake: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      onError: () => new Response("gone", { status: 499 }),
    }, async (req) => {
      if (new URL(req.url).pathname !== tokenPath || this.#held) return await upstream(req);
      this.#held = true;
      if (hold === "before") {
        this.#reached();
        await this.#opened;
        // The client died before its request was processed: as if it had never been sent.
        return new Response("client gone", { status: 499 });
      }
      const res = await upstream(req);
      const text = await res.text();
      const body = JSON.parse(text);
      if (body.refresh_token) this.issued.push(body.refresh_token);
      if (hold === "after") {
        this.#reached();
        await this.#opened;
      }
      queueMicrotask(() => this.#answered());
      return new Response(text, { status: res.status, headers: res.headers });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Lets the held request go on; only the first token request is ever held. */
  open(): void {
    this.#open();
  }

  async close(): Promise<void> {
    this.#open();
    await this.#server.shutdown();
    await this.closeFake();
  }
}
