/** export/http1.ts on its own: the HTTP/1.1 it speaks, the busy refusal, the write timeout. */
import { assert, assertEquals, assertMatch } from "../core/testing.ts";
import { createLogger } from "../core/log.ts";
import { bytesResponse, type Handler, type Http1Options, serveHttp1 } from "./http1.ts";

const silent = createLogger({ write: () => {} });

function serve(handler: Handler, limits: Http1Options["limits"] = {}) {
  return serveHttp1({ hostname: "127.0.0.1", port: 0, handler, limits, log: silent });
}

/** Writes `text` on a new connection and reads until the server closes it (or `ms` pass). */
async function exchange(port: number, text: string, ms = 3000, conn?: Deno.Conn) {
  conn ??= await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text));
  let out = "";
  const buf = new Uint8Array(64 * 1024);
  const deadline = Date.now() + ms;
  let closed = false;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"wait">((r) => (timer = setTimeout(() => r("wait"), deadline - Date.now()))),
    ]);
    clearTimeout(timer);
    if (n === "wait") break;
    if (n === null) {
      closed = true;
      break;
    }
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  try {
    conn.close();
  } catch { /* closed */ }
  return { out, closed };
}

const echo: Handler = (req) => new Response(`${req.method} ${new URL(req.url).pathname}\n`);

Deno.test("keep-alive and pipelined requests are answered in order; Connection: close is honoured", async () => {
  const server = serve(echo);
  try {
    const { out, closed } = await exchange(
      server.addr.port,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert(closed, "closed after the Connection: close request");
    const bodies = out.split("\r\n\r\n").slice(1).map((b) => b.split("\n")[0]);
    assertEquals(bodies.slice(0, 2), ["GET /a", "GET /b"]);
    assertMatch(out, /^HTTP\/1\.1 200 OK\r\n/);
    assertMatch(out, /content-length: 7\r\n/);
    // HTTP/1.0 closes unless asked to keep alive; HEAD gets the head only.
    const old = await exchange(server.addr.port, "HEAD /x HTTP/1.0\r\n\r\n");
    assert(old.closed);
    assertMatch(old.out, /content-length: 8\r\nconnection: close\r\n\r\n$/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("malformed heads get 400, oversized ones 431, a request with a body is answered and closed", async () => {
  const server = serve(echo, { maxHeadBytes: 1024 });
  try {
    const port = server.addr.port;
    for (
      const bad of [
        "GARBAGE\r\n\r\n",
        "GET nothing HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n folded: header\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "TRACE / HTTP/1.1\r\n\r\n",
      ]
    ) {
      const { out, closed } = await exchange(port, bad);
      assertMatch(out, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(bad));
      assert(closed, JSON.stringify(bad));
    }
    const big = await exchange(port, `GET / HTTP/1.1\r\nX: ${"a".repeat(4096)}\r\n\r\n`);
    assertMatch(big.out, /^HTTP\/1\.1 431 /);
    const body = await exchange(port, "POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assertMatch(body.out, /^HTTP\/1\.1 200 OK[^]*connection: close[^]*POST \/p\n$/);
    assert(body.closed);
  } finally {
    await server.shutdown();
  }
});

Deno.test("every slot busy answering: a new connection gets 503 at once; the server recovers", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const server = serve(async (req) => {
    if (new URL(req.url).pathname === "/slow") await gate;
    return new Response("done\n");
  }, { maxConnections: 3 });
  try {
    const port = server.addr.port;
    const slow = [1, 2, 3].map(() =>
      exchange(port, "GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n", 5000)
    );
    while (server.connections() < 3) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // the three heads are read: all busy
    const refused = await exchange(port, "GET /healthz HTTP/1.1\r\n\r\n");
    assertMatch(refused.out, /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*retry-after: 1/);
    assert(refused.closed);
    release();
    for (const r of await Promise.all(slow)) assertMatch(r.out, /done\n$/);
    const after = await exchange(port, "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n");
    assertMatch(after.out, /^HTTP\/1\.1 200 OK/);
  } finally {
    release();
    await server.shutdown();
  }
});

Deno.test("a client that stops reading a large answer is cut off at the write timeout", async () => {
  const big = "x".repeat(32 * 1024 * 1024);
  const server = serve(() => new Response(big), { writeTimeoutMs: 300 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    // Read nothing for a while: the server's write blocks, then gives up.
    await new Promise((r) => setTimeout(r, 1000));
    assertEquals(server.connections(), 0, "the stuck connection was closed");
    conn.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("shutdown closes waiting connections and ends", async () => {
  const server = serve(echo);
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  while (server.connections() < 1) await new Promise((r) => setTimeout(r, 5));
  await server.shutdown();
  await server.finished;
  assertEquals(server.connections(), 0);
  assertEquals(await idle.read(new Uint8Array(8)), null);
  idle.close();
});

Deno.test("TLS: a real client is answered; a client that never completes the handshake loses its slot at the header timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-http1-tls-" });
  try {
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).output();
    assertEquals(made.code, 0);
    const cert = await Deno.readTextFile(`${dir}/server.crt`);
    const server = serveHttp1({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert, key: await Deno.readTextFile(`${dir}/server.key`) },
      handler: echo,
      limits: { headerTimeoutMs: 300 },
      log: silent,
    });
    const client = Deno.createHttpClient({ caCerts: [cert] });
    try {
      const res = await fetch(`https://127.0.0.1:${server.addr.port}/tls`, { client });
      assertEquals([res.status, await res.text()], [200, "GET /tls\n"]);
      // TCP only, no handshake. Deno keeps such a socket until the client goes away (closing a
      // TlsConn before its handshake does not close the socket), but it no longer takes a slot.
      client.close(); // its kept-alive connection goes
      while (server.connections() > 0) await new Promise((r) => setTimeout(r, 5));
      const silentClient = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      while (server.connections() < 1) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 600));
      assertEquals(server.connections(), 0);
      silentClient.close();
    } finally {
      try {
        client.close();
      } catch { /* closed above */ }
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bytesResponse body larger than one write arrives whole, and the connection goes on", async () => {
  const big = new Uint8Array(1_000_003).map((_, i) => i % 251);
  const server = serve((req) =>
    new URL(req.url).pathname === "/big" ? bytesResponse(big, { status: 200 }) : echo(req, {
      remoteAddr: server.addr,
      completed: Promise.resolve(),
    })
  );
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode(
      "GET /big HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    const all = new Uint8Array(await new Response(conn.readable).arrayBuffer());
    const text = new TextDecoder("latin1").decode(all);
    const start = text.indexOf("\r\n\r\n") + 4;
    assertMatch(text.slice(0, start), /content-length: 1000003\r\n/);
    assertEquals(all.subarray(start, start + big.length), big);
    const rest = text.slice(start + big.length);
    assertMatch(
      rest,
      /^HTTP\/1\.1 200 OK\r\n[^]*content-length: 1000003\r\n[^]*\r\n\r\nHTTP\/1\.1 200/,
    );
    assert(rest.endsWith("GET /after\n"), rest.slice(-40));
  } finally {
    await server.shutdown();
  }
});
