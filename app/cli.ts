/** What every command-line entry point shares: a clean fatal error, and shutdown on a signal. */
import { ConfigError } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
export { flags } from "./flags.ts";

/** Reports a fatal start-up error (config, cassette) without a stack trace and exits. */
export function fail(err: unknown, log?: Logger): never {
  const message = err instanceof Error ? err.message : String(err);
  if (log && !(err instanceof ConfigError)) log.error(message);
  else console.error(message);
  Deno.exit(err instanceof ConfigError ? 2 : 1);
}

/** Aborts `controller` on SIGINT/SIGTERM so the script can flush and exit cleanly. */
export function onShutdownSignal(controller: AbortController, log: Logger): void {
  const handler = () => {
    if (controller.signal.aborted) Deno.exit(130);
    log.info("shutting down (flushing exports)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", handler);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", handler);
}
