/**
 * kill -9 during a BMW token refresh against the simulated BMW sign-in host, whose refresh
 * tokens are single use (each refresh rotates it). A child process starts like `deno task poll`
 * with an expired access token, so its first call refreshes; the test holds the host's answer
 * and kills the child at three moments:
 *
 * - before the host processed the request: the old refresh token is still good, so the next
 *   start refreshes with it and works;
 * - after the host rotated, before the answer arrived: the new tokens existed only in that
 *   answer and the old refresh token is spent. Nothing can save that sign-in; the next start
 *   says so (state sign_in_needed, a message naming `deno task auth bmw`) and leaves the file
 *   as it was; a new sign-in then resumes without a restart;
 * - at a random moment after the answer: the new tokens are written before any use, so the
 *   file holds either the new complete record (the next start works without another refresh)
 *   or the old one (then as above).
 */
import { assert, assertEquals, assertStringIncludes } from "../../core/testing.ts";
import { VendorError } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import { bmwTokenStore, TOKEN_PATH } from "./identity.ts";
import { FakeBmw } from "./sim/fake_bmw.ts";
import { SIM_GCID } from "./sim/scenario.ts";
import { openHome } from "./testdata/refresh_child.ts";
import { type Hold, TokenGate } from "../../core/testdata/token_gate.ts";

const CHILD = new URL("./testdata/refresh_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const quiet = createLogger({ write: () => {} });

/** The simulated BMW sign-in host behind a gate on its token endpoint. */
function gatedBmw(hold: Hold): TokenGate<FakeBmw> {
  const fake = new FakeBmw({ now: () => Date.now() });
  const upstream = (req: Request) => {
    const url = new URL(req.url);
    return fetch(fake.url + url.pathname + url.search, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
  };
  return new TokenGate(fake, hold, TOKEN_PATH, upstream, () => fake.shutdown());
}

interface Outcome {
  readonly file: "old" | "new";
  readonly next: "works" | "sign_in_needed";
  /** Refreshes the next start spent. */
  readonly refreshes: number;
}

async function crash(hold: Hold): Promise<Outcome> {
  const bmw = gatedBmw(hold);
  const stateDir = await Deno.makeTempDir({ prefix: "ev-bmw-refresh-crash-" });
  try {
    const store = bmwTokenStore(stateDir, "home", quiet);
    const minted = bmw.fake.auth.mint(["openid", "cardata:api:read", "cardata:streaming:read"]);
    const now = Math.floor(Date.now() / 1000);
    // Expired on our side: the first call refreshes.
    const old = {
      access_token: minted.access_token,
      refresh_token: minted.refresh_token,
      id_token: minted.id_token!,
      expires_at: now - 60,
      obtained_at: now - 60 - minted.expires_in,
      token_type: "Bearer",
      extra: { gcid: SIM_GCID },
    };
    await store.save(old);

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${CONFIG}`,
        `--allow-read=${stateDir}`,
        `--allow-write=${stateDir}`,
        "--allow-net=127.0.0.1",
        CHILD,
        stateDir,
        bmw.url,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (hold === "none") {
      await bmw.answered;
      await new Promise((r) => setTimeout(r, Math.random() * 30));
    } else await bmw.reached;
    child.kill("SIGKILL");
    assertEquals((await child.status).signal, "SIGKILL");
    bmw.open();

    // One complete version, never a torn one; mode 0600.
    const raw = JSON.parse(await Deno.readTextFile(store.path));
    const file = raw.refresh_token === old.refresh_token ? "old" : "new";
    if (file === "new") assertEquals(raw.refresh_token, bmw.issued[0]);
    assertEquals((await Deno.stat(store.path)).mode! & 0o777, 0o600);

    // The next start, in this process: as `deno task poll` opens the account.
    const before = bmw.fake.auth.counts.refreshes;
    const session = await openHome(stateDir, bmw.url, quiet);
    let next: Outcome["next"] = "works";
    try {
      assertEquals((await session.provider.listVehicles()).length, 1);
      assertEquals(session.tokenStatus().state, "ok");
    } catch (err) {
      assert(err instanceof VendorError && err.kind === "sign_in_needed", String(err));
      assertStringIncludes(err.message, "deno task auth bmw --account home");
      assertEquals(session.tokenStatus().state, "sign_in_needed");
      assertEquals((await store.read())?.refresh_token, old.refresh_token, "file untouched");
      next = "sign_in_needed";
      // What `deno task auth bmw` then writes is picked up without a restart.
      const again = bmw.fake.auth.mint(["openid", "cardata:api:read", "cardata:streaming:read"]);
      await store.save({
        ...old,
        access_token: again.access_token,
        refresh_token: again.refresh_token,
        id_token: again.id_token!,
        expires_at: now + again.expires_in,
        obtained_at: now,
      });
      assertEquals((await session.provider.listVehicles()).length, 1);
      assertEquals(session.tokenStatus().state, "ok");
    }
    return { file, next, refreshes: bmw.fake.auth.counts.refreshes - before };
  } finally {
    await bmw.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

Deno.test("BMW, kill -9 before the host processed the refresh: the old refresh token still works", async () => {
  assertEquals(await crash("before"), { file: "old", next: "works", refreshes: 1 });
});

Deno.test("BMW, kill -9 after the host rotated, before the answer arrived: sign-in needed, naming deno task auth bmw, file intact", async () => {
  assertEquals(await crash("after"), { file: "old", next: "sign_in_needed", refreshes: 0 });
});

Deno.test("BMW, kill -9 after the answer: the new tokens were saved before use (next start works) or the sign-in is needed", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const outcome = await crash("none");
    const ok = (outcome.file === "new" && outcome.next === "works" && outcome.refreshes === 0) ||
      (outcome.file === "old" && outcome.next === "sign_in_needed");
    assert(ok, JSON.stringify(outcome));
    seen.add(outcome.file);
  }
  assert(seen.has("new"), "at least one kill came after the save");
});
