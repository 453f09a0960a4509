/**
 * The OTel SDK is loaded only when OTLP is configured: no entry point imports it statically
 * (app/exports.ts and scripts/replay.ts import export/otlp.ts when settings exist), so an
 * exporter without OTLP never pays its memory.
 */
import { assertEquals } from "../core/testing.ts";

/** npm packages reachable from `root` through static imports only. */
async function staticNpm(root: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(root, import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
    }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const npm = new Set<string>();
  const stack = [...graph.roots];
  while (stack.length) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      const to = dep.code?.specifier;
      if (!to || dep.isDynamic) continue;
      if (to.startsWith("npm:")) npm.add(to);
      else stack.push(to);
    }
  }
  return [...npm].sort();
}

for (const entry of ["../scripts/poll.ts", "../scripts/replay.ts", "../app/exports.ts"]) {
  Deno.test(`${entry.slice(3)} does not import the OTel SDK statically`, async () => {
    const otel = (await staticNpm(entry)).filter((s) => s.startsWith("npm:@opentelemetry/"));
    assertEquals(otel, []);
  });
}
