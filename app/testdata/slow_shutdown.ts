/** A child for cli_test.ts: on a stop signal it takes a while to save, then writes `saved`. */
import { onShutdownSignal } from "../cli.ts";
import { createLogger } from "../../core/log.ts";

const [out] = Deno.args;
const controller = new AbortController();
onShutdownSignal(controller, createLogger({ write: (line) => console.error(line) }));
console.log("ready");
await new Promise((resolve) => controller.signal.addEventListener("abort", resolve));
// A save that takes long enough for a forwarded copy of the signal to arrive meanwhile.
await new Promise((resolve) => setTimeout(resolve, 600));
await Deno.writeTextFile(out, "saved");
Deno.exit(0);
