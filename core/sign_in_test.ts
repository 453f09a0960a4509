import { VirtualClock } from "./clock.ts";
import { Http } from "./http.ts";
import { createLogger } from "./log.ts";
import { AuthorizationError, OAuthClient } from "./oauth.ts";
import { lineReader, runSignIn, type SignInIO, type SignInPlan } from "./sign_in.ts";
import { assert, assertEquals, assertRejects } from "./testing.ts";
import { FakeOAuthServer, followAuthorize } from "../replay/fake_oauth.ts";
import { recordFromGrant, TokenStore } from "./tokens.ts";

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

Deno.test("lineReader: lines across chunks, CRLF, a last line without newline, then end", async () => {
  const next = lineReader(stream("tesla://auth/cal", "lback?code=1\r\n\nlast"));
  assertEquals(await next(), "tesla://auth/callback?code=1");
  assertEquals(await next(), "");
  assertEquals(await next(), "last");
  assertEquals(await next(), undefined);
  assertEquals(await next(), undefined);
});

/** A plan on the fake server; `redirectUri` decides between paste and callback server. */
async function setup(redirectUri: string) {
  const clock = new VirtualClock(1_800_000_000_000, 0);
  const fake = new FakeOAuthServer({
    clients: [{ clientId: "app", auth: "none" }],
    now: () => clock.now(),
  });
  const log = createLogger({ level: "error", write: () => {} });
  const stateDir = await Deno.makeTempDir({ prefix: "sign-in-test-" });
  const store = new TokenStore<{ via: string }>({ stateDir, provider: "test", account: "a", log });
  const oauth = new OAuthClient({
    http: new Http({ provider: "test" }),
    authorizeUrl: fake.authorizeUrl,
    tokenUrl: fake.tokenUrl,
    clientId: "app",
    clientAuth: "none",
    redirectUri,
    scopes: ["openid", "offline_access"],
    clock,
  });
  const plan: SignInPlan<{ via: string }> = {
    store,
    redirectUri,
    pasteHelp: "Copy the address the browser ended on.",
    authorize: (uri) => oauth.authorizationRequest({ redirectUri: uri }),
    finish: async (pending, params) =>
      recordFromGrant(await oauth.exchangeCode(pending, params), { via: "test" }),
    describe: () => "test",
  };
  const close = async () => {
    await fake.close();
    await Deno.remove(stateDir, { recursive: true });
  };
  return { fake, plan, store, close };
}

/** Scripted user: answers each prompt with the next line produced by `answer`. */
function user(answer: (printed: string[]) => Promise<string | undefined>) {
  const printed: string[] = [];
  const io: SignInIO = { print: (l) => void printed.push(l), readLine: () => answer(printed) };
  return { io, printed };
}

const urlIn = (printed: string[]) => printed.find((l) => l.includes("/authorize?"))!.trim();

Deno.test("runSignIn: loopback redirect, but the browser is elsewhere: the pasted address wins", async () => {
  const w = await setup("http://127.0.0.1:0/cb");
  try {
    const { io } = user(async (printed) => (await followAuthorize(urlIn(printed))).href);
    const record = await runSignIn(w.plan, io);
    assertEquals(record.extra, { via: "test" });
    assertEquals((await w.store.read())?.access_token, record.access_token);
    assertEquals(w.fake.counts.exchanges, 1);
  } finally {
    await w.close();
  }
});

Deno.test("runSignIn: an unreadable paste is asked again; end of input cancels", async () => {
  const w = await setup("tesla://auth/callback");
  try {
    let n = 0;
    const { io, printed } = user(async (p) => {
      n++;
      return n === 1 ? "what?" : (await followAuthorize(urlIn(p))).href;
    });
    await runSignIn(w.plan, io);
    assert(printed.includes("Copy the address the browser ended on."), "help shown");
    assert(printed.some((l) => l.startsWith("That did not work")), "asked again");

    const quiet = user(() => Promise.resolve(undefined));
    const err = await assertRejects(() => runSignIn(w.plan, quiet.io));
    assert(err instanceof AuthorizationError && err.reason === "cancelled");
  } finally {
    await w.close();
  }
});
