/**
 * The vendor-neutral parts of the mapper fuzz tests (providers/<vendor>/fuzz_test.ts): values a
 * broken or hostile vendor might send, mutations of recorded bodies (fields removed, types
 * swapped, huge numbers, prototype keys, deep nesting), and a seeded runner whose failure names
 * the seed and run count that reproduce it.
 */
import fc from "fast-check";
import { AssertionError } from "../core/testing.ts";

/** Values a broken or hostile vendor might send anywhere. */
export const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "-0",
    "",
    " 77 ",
    "0x4d",
    "77%",
    "null",
    "true",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "Charging",
    "D",
  ),
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 53 + 2,
    1e21,
    -1,
    1e15,
  ),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.nat({ max: 300 }).map(deepNest),
);

function deepNest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { x: v };
  return v;
}

/** What an enum or a number field might hold instead of its value. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  nasty,
  fc.constantFrom("__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "Unknown"),
  fc.double({ min: -1e308, max: 1e308, noNaN: true }),
  fc.constantFrom(1e306, -1e306, 1e300, 123456789, -5000),
);

export type Mutation =
  | { op: "field"; at: number; value: unknown }
  | { op: "delete"; at: number }
  | { op: "set"; at: number; value: unknown }
  | { op: "swap"; at: number }
  | { op: "scale"; at: number; by: number }
  | { op: "proto"; at: number; key: string; value: unknown };

/** Mutations; `field` ones aim at the fields a mapper reads (`value` overrides what they set). */
export function mutation(value: fc.Arbitrary<unknown> = fieldValue): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("field" as const), at: fc.nat(), value }) },
    fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: nasty }),
    fc.record({ op: fc.constant("swap" as const), at: fc.nat() }),
    fc.record({
      op: fc.constant("scale" as const),
      at: fc.nat(),
      by: fc.constantFrom(-1, 100, 1e3, 1e6, 1e300, 1e-300),
    }),
    fc.record({
      op: fc.constant("proto" as const),
      at: fc.nat(),
      key: fc.constantFrom("__proto__", "constructor", "prototype"),
      value: fc.oneof(nasty, fc.constant({ polluted: true, battery_level: 1e9 })),
    }),
  );
}

/** Every (container, key) pair in the tree, the root's included. */
function slots(root: unknown): [Record<string, unknown>, string][] {
  const out: [Record<string, unknown>, string][] = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== "object") return;
    for (const key of Object.keys(node)) {
      out.push([node as Record<string, unknown>, key]);
      walk((node as Record<string, unknown>)[key]);
    }
  };
  walk(root);
  return out;
}

/** An own property even for `__proto__`, as JSON.parse makes it. */
export function put(obj: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy keeping own `__proto__` keys: generated values are shared and must not change. */
export function clone(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(clone);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) put(out, key, clone((v as Record<string, unknown>)[key]));
  return out;
}

function swapType(v: unknown): unknown {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return v === "" ? {} : Number(v);
  if (typeof v === "boolean") return v ? 1 : "false";
  if (v === null || v === undefined) return 0;
  // Array.from, not map: a deleted element leaves a hole map would keep.
  if (Array.isArray(v)) return Object.fromEntries(Array.from(v, (x, i) => [String(i), x]));
  return Object.values(v as object); // an array where an object belongs
}

/**
 * A mutated copy of `seed`. `fields` are the paths (keys from the root, the last one set) that
 * `field` mutations aim at; the other mutations pick any slot of the tree.
 */
export function mutate(
  seed: unknown,
  mutations: readonly Mutation[],
  fields: readonly (readonly string[])[],
): unknown {
  const root = clone(seed);
  for (const m of mutations) {
    if (m.op === "field") {
      if (fields.length === 0) continue;
      const path = fields[m.at % fields.length];
      let obj: unknown = root;
      for (const key of path.slice(0, -1)) {
        obj = obj !== null && typeof obj === "object"
          ? (obj as Record<string, unknown>)[key]
          : undefined;
      }
      if (obj !== null && typeof obj === "object") {
        put(obj as Record<string, unknown>, path.at(-1)!, clone(m.value));
      }
      continue;
    }
    const all = slots(root);
    if (all.length === 0) break;
    const [obj, key] = all[m.at % all.length];
    switch (m.op) {
      case "delete":
        delete obj[key];
        break;
      case "set":
        put(obj, key, clone(m.value));
        break;
      case "swap":
        put(obj, key, swapType(obj[key]));
        break;
      case "scale":
        if (typeof obj[key] === "number") put(obj, key, (obj[key] as number) * m.by);
        break;
      case "proto": {
        const target = obj[key] !== null && typeof obj[key] === "object" ? obj[key] : obj;
        put(target as Record<string, unknown>, m.key, clone(m.value));
      }
    }
  }
  return root;
}

/** Whether a mutation reached Object.prototype. */
export const polluted = () =>
  ({} as Record<string, unknown>).polluted !== undefined ||
  ({} as Record<string, unknown>).battery_level !== undefined;

export interface FuzzRun {
  readonly seed: number;
  readonly runs: number;
}

/** FUZZ_SEED and FUZZ_RUNS from the environment when set, else the given defaults. */
export function fuzzRun(seed: number, runs: number): FuzzRun {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: the defaults
    }
  };
  return { seed: Number(env("FUZZ_SEED") ?? seed), runs: Number(env("FUZZ_RUNS") ?? runs) };
}

/** Runs a property with a fixed seed; a failure names the seed and count that reproduce it. */
export async function check<T>(
  arb: fc.Arbitrary<T>,
  property: (v: T) => void | Promise<void>,
  run: FuzzRun,
): Promise<void> {
  const prop = fc.asyncProperty(arb, async (v) => {
    await property(v);
  });
  try {
    await fc.assert(prop, { seed: run.seed, numRuns: run.runs });
  } catch (err) {
    throw new AssertionError(
      `fuzz failure (FUZZ_SEED=${run.seed} FUZZ_RUNS=${run.runs} reproduces it):\n${
        (err as Error).message
      }`,
    );
  }
}
