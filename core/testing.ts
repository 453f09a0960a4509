/** Test assertions (jsr:@std/assert is unreachable from our machines; node:util compares). */
import { inspect, isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  override name = "AssertionError";
}

const show = (v: unknown) => inspect(v, { depth: 6, breakLength: 100 });

export function assert(condition: unknown, message?: string): asserts condition {
  if (!condition) throw new AssertionError(message ?? "expected a truthy value");
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${message ? message + "\n" : ""}actual:   ${show(actual)}\nexpected: ${show(expected)}`,
    );
  }
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(message ?? `expected a value other than ${show(expected)}`);
  }
}

export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new AssertionError(
      message ?? `expected ${actual} to be within ${tolerance} of ${expected}`,
    );
  }
}

export function assertMatch(actual: string, re: RegExp, message?: string): void {
  if (!re.test(actual)) {
    throw new AssertionError(message ?? `expected ${show(actual)} to match ${re}`);
  }
}

export function assertStringIncludes(actual: string, part: string, message?: string): void {
  if (!actual.includes(part)) {
    throw new AssertionError(message ?? `expected text to include ${JSON.stringify(part)}`);
  }
}

/** Awaits `fn`, asserts it rejects, and returns the error for further checks. */
export async function assertRejects(fn: () => Promise<unknown>, message?: string): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new AssertionError(message ?? "expected a rejection");
}

export function assertThrows(fn: () => unknown, message?: string): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new AssertionError(message ?? "expected an exception");
}

/** A Markdown table's cell contents, without the padding `deno fmt` adds. */
export function normalizeMarkdownTable(table: string): string {
  return table.trim().split("\n").map((l) =>
    l.split("|").map((c) => c.trim().replace(/^:?-+:?$/, "-")).join("|")
  ).join("\n");
}

/**
 * The `<!-- name:begin -->` … `<!-- name:end -->` block of a README carries this table
 * (UPDATE_GOLDEN=1 rewrites it instead).
 */
export async function assertReadmeTable(readme: URL, name: string, expected: string) {
  const text = await Deno.readTextFile(readme);
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  assert(a >= 0 && b > a, `README lacks the ${name} markers`);
  if (Deno.env.get("UPDATE_GOLDEN")) {
    const updated = text.slice(0, a + begin.length) + "\n\n" + expected + "\n\n" + text.slice(b);
    await Deno.writeTextFile(readme, updated);
    return;
  }
  assertEquals(
    normalizeMarkdownTable(text.slice(a + begin.length, b)),
    normalizeMarkdownTable(expected),
    `README ${name} table is out of date: run \`deno task test:update\``,
  );
}
