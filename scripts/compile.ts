/**
 * `deno task compile [--config PATH] [--output FILE]`: builds the one-file `ev-observer`
 * binary with the permissions its config needs baked in (a compiled binary cannot change them
 * later, nor start a narrower copy of itself). Imports no npm code: this process may start Deno.
 */
import { denoFlags, plan, runOptions } from "../app/launch.ts";

const HELP = `
deno task compile [--config PATH] [--output FILE]

Builds ev-observer (default ./ev-observer), one executable for every command, allowed exactly
what its commands need for this config: the hosts of its accounts, OTLP/GreptimeDB, weather
and its listen address, reading the config and state_dir, writing state_dir. Run it with the
environment the binary will have (EV_OBSERVER_STATE_DIR, GREPTIMEDB_URL, OTEL_*): they change
what is needed. A binary started with a config that needs more says what, and to rebuild.
`;

const args = [...Deno.args];
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP.trim());
  Deno.exit(0);
}
let output = "ev-observer";
const at = args.findIndex((a) => a === "--output" || a.startsWith("--output="));
if (at >= 0) {
  const [flag] = args.splice(at, 1);
  output = flag.includes("=") ? flag.slice(flag.indexOf("=") + 1) : args.splice(at, 1)[0] ?? "";
  if (!output) {
    console.error("--output: name the file to write, e.g. --output ev-observer");
    Deno.exit(2);
  }
}
const main = new URL("./main.ts", import.meta.url).pathname;
const flags = denoFlags(await plan("binary", args, main));
console.error(`permissions built in: ${flags.join(" ") || "none"}`);
const [, ...options] = runOptions(); // without "run"
const build = await new Deno.Command("deno", {
  args: ["compile", ...options, ...flags, "--output", output, main],
}).spawn().status;
Deno.exit(build.code);
