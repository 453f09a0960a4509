import { ConfigError } from "./config.ts";
import { lockPolling } from "./poll_lock.ts";
import { assert, assertRejects, assertStringIncludes } from "./testing.ts";

Deno.test("poll lock: a second holder is refused naming the file, the holder and the fix; free again once released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-poll-lock-" });
  try {
    const first = await lockPolling(`${dir}/shard-0-of-2`, "shard 0/2");
    const err = await assertRejects(() => lockPolling(`${dir}/shard-0-of-2`, "shard 0/2"));
    assert(err instanceof ConfigError, "a user's mistake, reported without a stack trace");
    assertStringIncludes(err.message, `already polling shard 0/2: it holds ${dir}/shard-0-of-2`);
    assertStringIncludes(err.message, `(pid ${Deno.pid} since `);
    assertStringIncludes(err.message, "Stop that process first");
    // Another shard's folder is free meanwhile.
    (await lockPolling(`${dir}/shard-1-of-2`, "shard 1/2")).release();
    first.release();
    (await lockPolling(`${dir}/shard-0-of-2`, "shard 0/2")).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
