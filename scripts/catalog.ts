/** `deno task catalog`: prints the metric catalog as a Markdown table (the README carries it). */
import { catalogMarkdown } from "../core/catalog_doc.ts";
import { flags } from "../app/flags.ts";

/** Prints the catalog (the `ev-observer catalog` entry too). */
export function main(args: string[] = Deno.args): void {
  flags(
    args,
    {},
    `
deno task catalog

Prints every metric ev-observer exports as a Markdown table: Prometheus name (as GreptimeDB
derives it from the OTLP name), OTLP name, unit, kind, labels and description.
`,
  );
  console.log(catalogMarkdown());
}

if (import.meta.main) main();
