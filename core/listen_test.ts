import { freeLoopbackPort } from "./listen.ts";
import { assert } from "./testing.ts";

Deno.test("freeLoopbackPort: a port outside the ephemeral range, free to bind", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const port = freeLoopbackPort();
    assert(port >= 20000 && port < 32768, `port ${port} is in the ephemeral range`);
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    seen.add(port);
  }
  assert(seen.size > 1, "every call gave the same port");
});
