/**
 * A strict config block: an unknown key is an error naming the closest known key and the fix.
 * Shared by core/config.ts and the blocks other core rooms own (core/sessions/config.ts).
 */
import { z } from "zod";
import { closestKey } from "./closest_key.ts";

/**
 * An object whose keys are all known. An unknown key is an error naming the closest known
 * one, here or in a block listed in `elsewhere` (dotted: `polling.wake_up`, to be moved).
 * The message has one line per unknown key, in the order of the issue's `keys`.
 */
export function block<T extends z.ZodRawShape>(shape: T, elsewhere: readonly string[] = []) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => unknownKey(key, known, elsewhere)).join("\n")
        : undefined,
  });
}

/** The message for an unknown key: the closest known key and the fix. */
export function unknownKey(
  key: string,
  known: readonly string[],
  elsewhere: readonly string[],
): string {
  const near = closestKey(key, known) ?? closestKey(key, elsewhere);
  if (near === undefined) {
    return `unknown key — remove it, or fix its spelling (known here: ${known.join(", ")}; ` +
      "see config.example.yaml)";
  }
  if (near.includes(".")) {
    const [parent] = near.split(".");
    return `unknown key here — did you mean ${near}? Move it under ${parent}: ` +
      "(see config.example.yaml)";
  }
  return `unknown key — did you mean ${near}? Fix the spelling (see config.example.yaml)`;
}

/** `parent.key` for each key of a block, for another block's `elsewhere`. */
export function keysUnder(parent: string, shape: z.ZodRawShape): string[] {
  return Object.keys(shape).map((key) => `${parent}.${key}`);
}
