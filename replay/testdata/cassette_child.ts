/**
 * A writer for replay/cassette_crash_test.ts: saves versions 1, 2, 3, … of a large cassette to
 * <path> until it is killed, printing "saved <n>" after each one.
 *
 *   deno run --allow-read=<dir> --allow-write=<dir> cassette_child.ts <path> <exchanges>
 */
import { type Cassette, saveCassette } from "../cassette.ts";

/** Version n: every exchange says n, so a torn or mixed file is easy to spot. */
export function loopCassette(n: number, exchanges: number): Cassette {
  return {
    version: 1,
    vendor: "test",
    scenario: "crash",
    tool: "cassette_child.ts",
    startedAt: 1_773_100_800,
    duration: exchanges,
    sampleAt: 0,
    description: `version ${n}`,
    exchanges: Array.from({ length: exchanges }, (_, i) => ({
      at: i,
      request: { method: "GET" as const, path: `/api/${n}/item/${i}`, query: {} },
      response: { status: 200, headers: {}, json: { n, i, pad: String(n % 10).repeat(256) } },
      note: `version ${n}`,
    })),
  };
}

if (import.meta.main) {
  const [path, count] = Deno.args;
  for (let n = 1;; n++) {
    await saveCassette(path, loopCassette(n, Number(count)));
    console.log(`saved ${n}`);
  }
}
