/**
 * The house rules, checked on the imports themselves: no import cycle among the non-test
 * files, and no import from a lower layer up to a higher one. A file may import its own room
 * and any room of a lower layer, nothing else. See CONTRIBUTING.md for what each room is for.
 */
import { assertEquals } from "../core/testing.ts";
import { projectRoot } from "./testing_task.ts";

/** Rooms from the bottom up; rooms of one layer may not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ["core"],
  ["export", "replay", "enrich", "deploy", "providers/<vendor>"],
  ["providers/registry", "providers/<vendor>/sim"],
  ["providers/sims"],
  ["app"],
  ["bench"],
  ["scripts"],
];

/** The room of a file (a path relative to the root), or undefined outside the house. */
export function roomOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] === "providers") {
    if (path === "providers/mod.ts") return "providers/registry";
    if (path === "providers/sims.ts") return "providers/sims";
    if (parts.length < 3) return undefined;
    return parts[2] === "sim" ? `providers/${parts[1]}/sim` : `providers/${parts[1]}`;
  }
  return parts.length > 1 ? parts[0] : undefined;
}

function layerOf(room: string): number {
  const generic = room.replace(/^providers\/(?!registry$|sims$)[^/]+/, "providers/<vendor>");
  return LAYERS.findIndex((layer) => layer.includes(generic));
}

const isTest = (path: string) =>
  /_test\.ts$/.test(path) || path.split("/").includes("testdata") || path === "core/testing.ts";

/** Relative TypeScript imports of a source text (static, re-exports and literal dynamic). */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']+)["']/gms,
    /^\s*import\s*["'](\.[^"']+)["']/gm,
    /\bimport\(\s*["'](\.[^"']+)["']/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found.filter((s) => s.endsWith(".ts"));
}

async function sourceFiles(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(projectRoot + dir)) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.name.startsWith(".") || ["fixtures", "node_modules"].includes(entry.name)) continue;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** Import edges between non-test files, by path relative to the root. */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await sourceFiles()) {
    if (isTest(file)) continue;
    const text = await Deno.readTextFile(projectRoot + file);
    const base = new URL(file, "file:///");
    graph.set(file, importsOf(text).map((s) => new URL(s, base).pathname.slice(1)));
  }
  return graph;
}

/** Every import that runs up or sideways between layers, as "from -> to (why)". */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const room = roomOf(from);
    if (room === undefined) continue;
    for (const to of targets) {
      const target = roomOf(to);
      if (target === undefined || target === room) continue;
      const [a, b] = [layerOf(room), layerOf(target)];
      const vendor = (r: string) => /^providers\/(?!registry$|sims$)([^/]+)/.exec(r)?.[1];
      const otherVendor = vendor(room) && vendor(target) && vendor(room) !== vendor(target);
      if (a < 0 || b < 0) out.push(`${from} -> ${to} (a room the rules do not place)`);
      else if (b >= a || otherVendor) {
        out.push(`${from} -> ${to} (${room} may not import ${target})`);
      }
    }
  }
  return out;
}

/** Each import cycle once, as its files in order. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") found.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

Deno.test("architecture: the rules catch an upward import and a cycle", () => {
  const bad = new Map([
    ["core/a.ts", ["providers/tesla/api.ts"]],
    ["providers/tesla/api.ts", ["core/a.ts", "providers/tesla/sim/fake.ts"]],
    ["providers/tesla/sim/fake.ts", ["replay/cassette.ts", "providers/volvo/api.ts"]],
    ["export/x.ts", ["replay/cassette.ts"]],
  ]);
  assertEquals(layerViolations(bad), [
    "core/a.ts -> providers/tesla/api.ts (core may not import providers/tesla)",
    "providers/tesla/api.ts -> providers/tesla/sim/fake.ts " +
    "(providers/tesla may not import providers/tesla/sim)",
    "providers/tesla/sim/fake.ts -> providers/volvo/api.ts " +
    "(providers/tesla/sim may not import providers/volvo)",
    "export/x.ts -> replay/cassette.ts (export may not import replay)",
  ]);
  assertEquals(cycles(bad), [["core/a.ts", "providers/tesla/api.ts"]]);
  assertEquals(
    importsOf(
      `import type { A } from "./a.ts";\nimport "../b.ts";\n` +
        `export { c } from "./c.ts";\nconst d = () => import("./d.ts");\nimport x from "npm:x";`,
    ),
    [
      "./a.ts",
      "./c.ts",
      "../b.ts",
      "./d.ts",
    ],
  );
});

Deno.test("architecture: no import cycle and no upward import among the non-test files", async () => {
  const graph = await importGraph();
  assertEquals(cycles(graph), [], "import cycles");
  assertEquals(layerViolations(graph), [], "imports against the layers");
});
