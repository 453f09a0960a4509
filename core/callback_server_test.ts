import { parsePastedRedirect, startCallbackServer } from "./callback_server.ts";
import { Http } from "./http.ts";
import { AuthorizationError, OAuthClient } from "./oauth.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./testing.ts";
import { FakeOAuthServer, followAuthorize } from "../replay/fake_oauth.ts";

async function get(url: string | URL): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** True when nothing accepts connections at `url` any more. */
async function refused(url: string): Promise<boolean> {
  try {
    await (await fetch(url)).body?.cancel();
    return false;
  } catch {
    return true;
  }
}

Deno.test("callback server: full sign-in on loopback, one request, then closed", async () => {
  const fake = new FakeOAuthServer({ clients: [{ clientId: "app-id", auth: "none" }] });
  const server = startCallbackServer({ redirectUri: "http://localhost:0/callback" });
  try {
    assertEquals(server.hostname, "127.0.0.1", "loopback only, even for localhost");
    assert(server.port > 0);
    assertEquals(server.redirectUri, `http://localhost:${server.port}/callback`);
    const oauth = new OAuthClient({
      http: new Http({ provider: "test" }),
      authorizeUrl: fake.authorizeUrl,
      tokenUrl: fake.tokenUrl,
      clientId: "app-id",
      clientAuth: "none",
      redirectUri: "http://127.0.0.1:1/unused",
      scopes: ["openid", "offline_access"],
    });
    const pending = await oauth.authorizationRequest({ redirectUri: server.redirectUri });
    const waiting = server.waitForCallback(pending.state, { timeoutMs: 5_000 });
    const callback = await followAuthorize(pending.url); // the browser
    callback.hostname = "127.0.0.1"; // fetch's localhost may try ::1 first
    const favicon = await get(`http://127.0.0.1:${server.port}/favicon.ico`);
    assertEquals(favicon.status, 404, "other paths do not consume the one answer");
    const page = await get(callback);
    assertEquals(page.status, 200);
    assertStringIncludes(page.text, "You can close this tab");
    assertEquals(page.headers.get("referrer-policy"), "no-referrer");
    assertEquals(page.headers.get("cache-control"), "no-store");
    const params = await waiting;
    const grant = await oauth.exchangeCode(pending, params);
    assert(fake.isValid(grant.access_token));
    assert(await refused(callback.href), "closed after the one answer");
  } finally {
    await server.close();
    await fake.close();
  }
});

Deno.test("callback server: state mismatch shows an error page and rejects", async () => {
  const server = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  try {
    const waiting = server.waitForCallback("expected-state");
    const rejected = assertRejects(() => waiting);
    const page = await get(`http://127.0.0.1:${server.port}/cb?code=abc123&state=forged`);
    assertEquals(page.status, 400);
    assertStringIncludes(page.text, "state mismatch");
    const err = await rejected;
    assert(err instanceof AuthorizationError);
    assertEquals(err.reason, "state_mismatch");
    assert(await refused(`http://127.0.0.1:${server.port}/cb?code=abc123&state=expected-state`));
  } finally {
    await server.close();
  }
});

Deno.test("callback server: denied consent and timeout reject; bad redirect URIs refused", async () => {
  const denied = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  const waiting = assertRejects(() => denied.waitForCallback("st"));
  const page = await get(`http://127.0.0.1:${denied.port}/cb?error=access_denied&state=st`);
  assertEquals(page.status, 400);
  assertStringIncludes(page.text, "access_denied");
  assertEquals(((await waiting) as AuthorizationError).reason, "denied");

  const idle = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  const err = await assertRejects(() => idle.waitForCallback("st", { timeoutMs: 30 }));
  assertEquals((err as AuthorizationError).reason, "timeout");
  assert(await refused(`http://127.0.0.1:${idle.port}/cb`));

  const cancel = new AbortController();
  const aborted = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  const pendingAbort = assertRejects(() =>
    aborted.waitForCallback("st", { signal: cancel.signal })
  );
  cancel.abort();
  assertEquals(((await pendingAbort) as AuthorizationError).reason, "cancelled");

  for (const uri of ["https://127.0.0.1:0/cb", "http://0.0.0.0:0/cb", "http://example.com/cb"]) {
    assertThrows(() => startCallbackServer({ redirectUri: uri }), uri);
  }
  const busy = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  try {
    const e = assertThrows(() =>
      startCallbackServer({ redirectUri: `http://127.0.0.1:${busy.port}/cb` })
    );
    assertStringIncludes(
      e.message,
      `cannot listen on 127.0.0.1:${busy.port} (the port of redirect_uri): another program ` +
        `already uses port ${busy.port}`,
    );
    assertStringIncludes(e.message, "stop it, or choose a free port");
  } finally {
    await busy.close();
  }
});

Deno.test("callback server: not reachable on a non-loopback address", async () => {
  const external = Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.")
  );
  if (!external) return; // no other address on this machine: nothing to prove
  // Control: a server on all interfaces is reachable there, so "refused" below means something.
  const open = Deno.serve(
    { hostname: "0.0.0.0", port: 0, onListen: () => {} },
    () => new Response("open"),
  );
  const server = startCallbackServer({ redirectUri: "http://127.0.0.1:0/cb" });
  try {
    assertEquals((await get(`http://${external.address}:${open.addr.port}/`)).text, "open");
    assert(await refused(`http://${external.address}:${server.port}/cb`));
  } finally {
    await server.close();
    await open.shutdown();
  }
});

Deno.test("parsePastedRedirect: full URLs, query, bare code; state checked", () => {
  const st = "state-123";
  const code = (input: string) => parsePastedRedirect(input, st).get("code");
  assertEquals(code(`tesla://auth/callback?code=c0de&state=${st}&issuer=x`), "c0de");
  assertEquals(code(`  "https://app.example/callback?code=c0de&state=${st}"\n`), "c0de");
  assertEquals(code(`https://app.example/callback#code=c0de&state=${st}`), "c0de");
  assertEquals(code(`?code=c0de&state=${st}`), "c0de");
  assertEquals(code(`code=c0de&state=${st}`), "c0de");
  assertEquals(code("NA_5f0c1e2d3b4a"), "NA_5f0c1e2d3b4a", "only the code");
  assertEquals(parsePastedRedirect("NA_5f0c1e2d3b4a", st).get("state"), st);
  const reason = (input: string) =>
    (assertThrows(() => parsePastedRedirect(input, st)) as AuthorizationError).reason;
  assertEquals(reason("tesla://auth/callback?code=c0de&state=other"), "state_mismatch");
  assertEquals(reason("tesla://auth/callback?code=c0de"), "missing_state");
  assertEquals(reason("tesla://auth/callback"), "missing_state");
  assertEquals(reason(`tesla://auth/callback?error=login_cancelled&state=${st}`), "denied");
  assertEquals(reason(`https://app.example/cb?state=${st}`), "missing_code");
  assertEquals(reason(""), "unreadable");
  assertEquals(reason("I could not find it"), "unreadable");
});
