/**
 * Web config: a real TLS server with a self-signed certificate made by openssl, a real client
 * that trusts only that certificate, right and wrong credentials, and promtool's verdict on
 * the same files.
 */
import bcrypt from "bcryptjs";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../core/testing.ts";
import { PrometheusExport } from "./prometheus.ts";
import { fixtureReadings } from "./test_helpers.ts";
import { loadWebConfig, parseWebConfig, REALM, WebConfigError } from "./web_config.ts";

const PASSWORD = "correct horse battery staple";
/** Cost 4: the cheapest bcrypt, so the test stays fast; the format is the same. */
const HASH = bcrypt.hashSync(PASSWORD, 4);

async function run(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** A directory with a self-signed certificate for 127.0.0.1 and localhost. */
async function certDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ev-web-config-" });
  const r = await run("openssl", [
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
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    // A server certificate, not a CA: rustls refuses a CA certificate as the server's own.
    "-addext",
    "basicConstraints=critical,CA:FALSE",
  ], dir);
  assertEquals(r.code, 0, r.text);
  return dir;
}

const promtool = (file: string) => run("promtool", ["check", "web-config", file]);

const auth = (user: string, password: string) => ({
  authorization: `Basic ${btoa(`${user}:${password}`)}`,
});

Deno.test("TLS + basic auth: a real client, right and wrong credentials, cached checks", async () => {
  const dir = await certDir();
  try {
    const file = `${dir}/web.yml`;
    await Deno.writeTextFile(
      file,
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n` +
        `basic_auth_users:\n  prometheus: ${HASH}\n` +
        `http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`,
    );
    const check = await promtool(file);
    assertEquals(check.code, 0, `promtool rejects the file: ${check.text}`);

    let now = 1_000_000;
    const web = await loadWebConfig(file, { cacheMs: 60_000, now: () => now });
    assert(web.tls && web.basicAuth);
    const prometheus = new PrometheusExport(fixtureReadings());
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {}, ...web.serveOptions() },
      web.guard(async () => new Response(await prometheus.exposition())),
    );
    const url = `https://127.0.0.1:${server.addr.port}/metrics`;
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${dir}/server.crt`)],
    });
    const get = async (headers: Record<string, string> = {}) => {
      const res = await fetch(url, { headers, client });
      return { res, text: await res.text() };
    };
    try {
      const missing = await get();
      assertEquals(missing.res.status, 401);
      assertEquals(missing.res.headers.get("www-authenticate"), `Basic realm="${REALM}"`);
      assertEquals(missing.res.headers.get("x-content-type-options"), "nosniff");
      assert(!missing.text.includes("ev_"), "no metrics without credentials");

      for (
        const headers of [
          auth("prometheus", "wrong"),
          auth("prometheus", `${PASSWORD} `),
          auth("nobody", PASSWORD),
          auth("", ""),
          { authorization: "Basic !!!not-base64" },
          { authorization: `Basic ${btoa("no-colon")}` },
          { authorization: `Bearer ${PASSWORD}` },
        ]
      ) {
        const denied = await get(headers);
        assertEquals(denied.res.status, 401, JSON.stringify(headers));
        assertEquals(denied.res.headers.get("www-authenticate"), `Basic realm="${REALM}"`);
      }

      const checksBefore = web.bcryptChecks;
      const ok = await get(auth("prometheus", PASSWORD));
      assertEquals(ok.res.status, 200);
      assertStringIncludes(ok.text, "ev_battery_level_ratio{");
      assertEquals(ok.res.headers.get("x-content-type-options"), "nosniff");
      now += 15_000; // the next scrape
      assertEquals((await get(auth("prometheus", PASSWORD))).res.status, 200);
      assertEquals(web.bcryptChecks, checksBefore + 1, "the second scrape reused the check");
      assertEquals((await get(auth("prometheus", "wrong"))).res.status, 401, "no cache for bad");
      now += 60_000;
      assertEquals((await get(auth("prometheus", PASSWORD))).res.status, 200);
      assertEquals(web.bcryptChecks, checksBefore + 3, "checked again after the cache expired");

      // The certificate is what the client trusts; plain HTTP and an untrusting client fail.
      await assertRejects(() => fetch(url.replace("https:", "http:")).then((r) => r.text()));
      await assertRejects(() => fetch(url, { headers: auth("prometheus", PASSWORD) }));
    } finally {
      client.close();
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("web config: promtool and ev-observer agree; errors name the key and the fix", async () => {
  const dir = await certDir();
  try {
    const cases: [string, string, RegExp][] = [
      ["basic_auth_users:\n  alice: notahash\n", "basic_auth_users.alice", /htpasswd -nBC 10/],
      [
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n",
        "tls_server_config.cert_file",
        /cannot read .*nope\.crt/,
      ],
      ["tls_server_config:\n  cert_file: server.crt\n", "tls_server_config.key_file", /./],
      ["listen: 1\n", "(top level)", /unknown key listen/],
      [
        "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
        "tls_server_config.cert_file",
        /not a PEM certificate/,
      ],
    ];
    for (const [text, key, hint] of cases) {
      const file = `${dir}/bad.yml`;
      await Deno.writeTextFile(file, text);
      const err = await assertRejects(() => loadWebConfig(file));
      assert(err instanceof WebConfigError, String(err));
      assertStringIncludes(err.message, key);
      assertStringIncludes(err.message, file);
      assert(hint.test(err.message), `${err.message} should match ${hint}`);
      assert((await promtool(file)).code !== 0, `promtool accepts ${JSON.stringify(text)}`);
    }

    // Valid for promtool, but ev-observer cannot honour them: refused, not ignored.
    const refused: [string, RegExp][] = [
      ["client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n", /client/],
      ["min_version: TLS13\n", /only TLS12/],
      ["cipher_suites: [TLS_AES_128_GCM_SHA256]\n", /cipher_suites is not supported/],
    ];
    for (const [extra, hint] of refused) {
      const text =
        `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  ${extra}`;
      const err = await assertRejects(() => parseWebConfig(text, `${dir}/web.yml`));
      assert(err instanceof WebConfigError && hint.test(err.message), err.message);
    }
    const colon = await assertRejects(() =>
      parseWebConfig(`basic_auth_users:\n  "a:b": ${HASH}\n`, "web.yml")
    );
    assertStringIncludes(colon.message, "basic_auth_users.a:b: a user name must be non-empty");
    const yaml = await assertRejects(() => parseWebConfig("basic_auth_users: [\n", "web.yml"));
    assertStringIncludes(yaml.message, "not valid YAML");
    // A syntax error names line, column and key, never the line (the hash is a secret).
    const leak = await assertRejects(() =>
      parseWebConfig(`basic_auth_users:\n  alice: ${HASH}: oops\n`, "web.yml")
    );
    assertStringIncludes(leak.message, "web.yml: not valid YAML at line 2, column");
    assertStringIncludes(leak.message, "in key basic_auth_users.alice");
    assert(!leak.message.includes(HASH.slice(0, 12)), leak.message);
    const typo = await assertRejects(() =>
      parseWebConfig("tls_server_config:\n  cert_fil: a.crt\n  key_file: a.key\n", "web.yml")
    );
    assertStringIncludes(
      typo.message,
      "tls_server_config: unknown key cert_fil — did you mean cert_file?",
    );

    // An empty file is valid (like exporter-toolkit's): no TLS, no auth.
    const empty = await parseWebConfig("", "web.yml");
    assert(!empty.tls && !empty.basicAuth);
    assertEquals(empty.serveOptions(), {});
    assertEquals(await empty.authorize(new Request("http://x/metrics")), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
