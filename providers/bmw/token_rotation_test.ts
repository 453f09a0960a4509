/**
 * BMW tokens across the hours, on a virtual clock (an hour every two seconds) with the real
 * account session: access and ID tokens (an hour each) are refreshed before they expire, each
 * rotated refresh token is on disk before the new access token is sent anywhere, the stream
 * reconnects with each fresh ID token to a real Mosquitto that accepts only the current one
 * (as BMW's broker does), and when the refresh token dies the account says `sign-in needed`
 * and names `deno task auth bmw`.
 */
import { assert, assertEquals, assertStringIncludes } from "../../core/testing.ts";
import { VirtualClock } from "../../core/clock.ts";
import { VendorError } from "../../core/errors.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { pollAccounts } from "../../core/poller.ts";
import { waitFor } from "../../scripts/testing_task.ts";
import { Mosquitto } from "../../replay/mosquitto.ts";
import { bmwTokenStore, TOKEN_PATH } from "./identity.ts";
import { bmwPlugin } from "./mod.ts";
import type { BmwAccountSession } from "./session.ts";
import type { BmwStream } from "./stream.ts";
import { FakeBmw, SIM_CLIENT_ID } from "./sim/fake_bmw.ts";
import { I4_VIN, SIM_GCID } from "./sim/scenario.ts";

const START = Date.UTC(2026, 5, 10, 6);
const HOURS = 6;

Deno.test("BMW tokens over six virtual hours: refreshed before expiry, rotated refresh token saved before use, the stream reconnecting with each fresh ID token; a dead refresh token names `deno task auth bmw`", async () => {
  const clock = new VirtualClock(START, 1800);
  const fake = new FakeBmw({ now: () => clock.now() });
  const dir = await Deno.makeTempDir({ prefix: "bmw-rotation-" });
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const readings = new Readings();
  const store = bmwTokenStore(dir, "home", log);
  const signedIn = fake.signIn();
  const broker = await Mosquitto.start({
    tls: true,
    user: { name: SIM_GCID, password: signedIn.id_token! },
  });
  const stop = new AbortController();
  try {
    await store.save(signedIn);
    await Deno.writeTextFile(`${dir}/ca.pem`, broker.caPem!);

    /** Every refresh the sign-in host answered: when (virtual s), and what it handed out. */
    const rotations: { at: number; expiresIn: number; refresh: string }[] = [];
    /** API requests whose bearer token was not the one on disk when it was sent. */
    const unsaved: string[] = [];
    let apiCalls = 0;
    const http = new Http({
      provider: "bmw",
      readings,
      now: () => clock.now(),
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.pathname !== TOKEN_PATH) {
          apiCalls++;
          const sent = new Headers(init?.headers).get("authorization")?.replace("Bearer ", "");
          if (sent !== (await store.read())?.access_token) unsaved.push(url.pathname);
        }
        return await fetch(input, init);
      },
    });
    http.observe(async ({ request, response }) => {
      if (request.endpoint !== TOKEN_PATH || response.status !== 200) return;
      const body = JSON.parse(response.text);
      rotations.push({
        at: (clock.now() - START) / 1000,
        expiresIn: body.expires_in,
        refresh: body.refresh_token,
      });
      // BMW's broker takes the newest ID token (and no earlier one) from now on.
      await broker.setPassword(SIM_GCID, body.id_token);
    });
    const account = {
      provider: "bmw",
      name: "home",
      vehicles: [I4_VIN],
      client_id: SIM_CLIENT_ID,
      auth_host: fake.url,
      api_base_url: fake.url,
      stream_url: broker.url,
      ca_file: `${dir}/ca.pem`,
    };
    const session = await bmwPlugin.openAccount!({
      account,
      label: "config.yaml accounts[0]",
      stateDir: dir,
      env: {},
      http,
      readings,
      clock,
      log,
      location: false,
    }) as BmwAccountSession;
    const stream = session.stream as BmwStream;
    const running = pollAccounts({
      accounts: [{
        name: "home",
        provider: session.provider,
        vins: [I4_VIN],
        stream,
        config: bmwPlugin.scheduler,
      }],
      readings,
      clock,
      log,
      config: {},
      signal: stop.signal,
    });

    await waitFor(
      `${HOURS} virtual hours`,
      () => Promise.resolve(clock.now() >= START + HOURS * 3600_000 || undefined),
      60,
    );
    // Refreshed about hourly, always before the hour was up: the tokens never lapsed.
    assert(rotations.length >= HOURS - 1, `${rotations.length} refreshes in ${HOURS} h`);
    let expiry = signedIn.expires_at - START / 1000;
    for (const r of rotations) {
      assert(r.at < expiry, `refreshed at ${r.at} s, after the token's expiry at ${expiry} s`);
      expiry = r.at + r.expiresIn;
    }
    assertEquals(new Set(rotations.map((r) => r.refresh)).size, rotations.length, "rotated");
    // The newest refresh token is the one on disk; every API call's token was saved first.
    assertEquals((await store.read())?.refresh_token, rotations.at(-1)!.refresh);
    assert(apiCalls > 0, "the REST seed read ran");
    assertEquals(unsaved, [], "a token was sent before it was saved");
    // One stream connection per ID token, each accepted by a broker that knows only the
    // newest: a stale token would have been refused.
    assert(stream.connects >= rotations.length, `${stream.connects} connections`);
    assert(stream.connected, "the stream is up");
    assert(!/not authori[sz]ed/i.test(broker.log), `the broker refused a token:\n${broker.log}`);
    assertEquals(session.tokenStatus().state, "ok");

    // The refresh token dies (a password reset, or two weeks unused): the next refresh is
    // refused, the account says so and names the fix; the token file stays as it was.
    const before = await Deno.readTextFile(store.path);
    fake.auth.revokeRefresh();
    await waitFor(
      "sign-in needed",
      () => Promise.resolve(session.tokenStatus().state === "sign_in_needed" || undefined),
      60,
    );
    const err = await session.tokens.accessToken().then(() => undefined, (e) => e);
    assert(err instanceof VendorError && err.kind === "sign_in_needed", String(err));
    assertStringIncludes(err.message, "deno task auth bmw");
    assertStringIncludes(session.signInCommand, "deno task auth bmw");
    assert(
      lines.some((l) => l.includes('msg="sign-in needed"') && l.includes("deno task auth bmw")),
      "a log line names the fix",
    );
    assertEquals(await Deno.readTextFile(store.path), before, "the token file is untouched");
    for (const l of lines) {
      for (const r of rotations) assert(!l.includes(r.refresh), "no token in the log");
    }
    stop.abort();
    await running;
  } finally {
    stop.abort();
    await fake.shutdown();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
