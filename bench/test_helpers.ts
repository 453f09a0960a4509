/** Shared by the benchmark tests. */
import { assertReadmeTable as assertReadmeTableIn } from "../core/testing.ts";

const README = new URL("../README.md", import.meta.url);

/** The README's `<!-- name:begin -->` block carries this table (UPDATE_GOLDEN=1 rewrites it). */
export function assertReadmeTable(name: string, expected: string): Promise<void> {
  return assertReadmeTableIn(README, name, expected);
}
