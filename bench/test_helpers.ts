/** Shared by the benchmark tests. */
import { assert, assertEquals, normalizeMarkdownTable } from "../core/testing.ts";

const README = new URL("../README.md", import.meta.url);

/** The README's `<!-- name:begin -->` block carries this table (UPDATE_GOLDEN=1 rewrites it). */
export async function assertReadmeTable(name: string, expected: string): Promise<void> {
  const readme = await Deno.readTextFile(README);
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  assert(a >= 0 && b > a, `README lacks the ${name} markers`);
  if (Deno.env.get("UPDATE_GOLDEN")) {
    const text = readme.slice(0, a + begin.length) + "\n\n" + expected + "\n\n" + readme.slice(b);
    await Deno.writeTextFile(README, text);
    return;
  }
  assertEquals(
    normalizeMarkdownTable(readme.slice(a + begin.length, b)),
    normalizeMarkdownTable(expected),
    `README ${name} table is out of date: run \`deno task test:update\``,
  );
}
