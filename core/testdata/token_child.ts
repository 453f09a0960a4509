/**
 * A second OS process for core/tokens_test.ts.
 *
 *   refresh <state_dir> <token_url> <start_at_ms>  wait until start_at, get a token, print it
 *   write-loop <state_dir>                         save records 1, 2, 3, … until killed
 *   hold-lock <state_dir> <ms>                     hold the account lock for ms
 */
import { realClock } from "../clock.ts";
import { Http } from "../http.ts";
import { createLogger } from "../log.ts";
import { OAuthClient } from "../oauth.ts";
import { TokenManager, type TokenRecord, TokenStore } from "../tokens.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Record n: every field says n, so a torn or mixed file is easy to spot. */
export function loopRecord(n: number): TokenRecord {
  return {
    access_token: `at-${n}-${"a".repeat(40)}`,
    refresh_token: `rt-${n}-${"r".repeat(40)}`,
    expires_at: 2_000_000_000 + n,
    obtained_at: 1_900_000_000 + n,
    token_type: "bearer",
    extra: { n, pad: String(n % 10).repeat(16_384) },
  };
}

if (import.meta.main) {
  const [mode, stateDir, ...rest] = Deno.args;
  const log = createLogger({ level: "warn" });
  const store = new TokenStore({ stateDir, provider: "test", account: "shared", log });
  if (mode === "refresh") {
    const [tokenUrl, startAt] = rest;
    const oauth = new OAuthClient({
      http: new Http({ provider: "test" }),
      authorizeUrl: tokenUrl,
      tokenUrl,
      clientId: "app-id",
      clientAuth: "none",
      redirectUri: "http://127.0.0.1/cb",
      scopes: [],
    });
    const tokens = new TokenManager({
      store,
      refresh: (current) => oauth.refresh(current.refresh_token),
      signInCommand: "deno task auth test --account shared",
      clock: realClock,
      log,
    });
    await tokens.load();
    await sleep(Number(startAt) - Date.now());
    console.log(JSON.stringify({ token: await tokens.accessToken() }));
  } else if (mode === "write-loop") {
    for (let n = 1;; n++) {
      await store.save(loopRecord(n));
      if (n === 1) console.log("ready");
    }
  } else if (mode === "hold-lock") {
    await store.withLock(async () => {
      console.log("locked");
      await sleep(Number(rest[0]));
    });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}
