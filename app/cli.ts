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

/**
 * Aborts `controller` on SIGINT/SIGTERM so the script can flush and exit cleanly; a second
 * signal a second or more later exits at once. Closer repeats are one stop delivered twice
 * (to the process group and forwarded by the launcher, app/launch.ts) and are ignored.
 */
export function onShutdownSignal(controller: AbortController, log: Logger): void {
  let first = 0;
  const handler = () => {
    if (controller.signal.aborted && Date.now() - first < 1000) return;
    if (controller.signal.aborted) Deno.exit(130);
    first = Date.now();
    log.info("shutting down (flushing exports)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", handler);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", handler);
}
