/** Command-line flags with `--help` and clear errors, for every script. */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parses flags; prints a clear error naming the flag and `--help` on a bad one. */
export function flags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  help: string,
) {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if ((parsed.values as Record<string, unknown>).help) {
      console.log(help.trim());
      Deno.exit(0);
    }
    return parsed;
  } catch (err) {
    console.error(`${(err as Error).message}\nRun with --help to see the options.`);
    Deno.exit(2);
  }
}
