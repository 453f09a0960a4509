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
 * A second signal this soon after the first is the same stop arriving twice (a process group
 * signalled while the launcher, `deno task`, `timeout` or systemd forwards it too), not an impatient user.
 */
const SAME_STOP_MS = 5_000;

/** Set in a launched work stage: its launcher going away (even by kill -9) stops it too. */
let parentWatch = false;

/**
 * Makes onShutdownSignal also stop the process when its parent, the launcher, is gone
 * (reparented: a new parent pid), so a killed launcher never leaves the work running,
 * holding the port and the pipes.
 */
export function stopWithParent(): void {
  parentWatch = true;
}

/**
 * Aborts `controller` on SIGINT/SIGTERM so the script can flush, save and exit cleanly. A
 * signal repeated later than SAME_STOP_MS forces the exit (130).
 */
export function onShutdownSignal(
  controller: AbortController,
  log: Logger,
  now: () => number = Date.now,
): void {
  let first = 0;
  const handler = () => {
    if (controller.signal.aborted) {
      if (now() - first < SAME_STOP_MS) return;
      log.warn("stopping at once (signal repeated)");
      Deno.exit(130);
    }
    first = now();
    log.info("shutting down (flushing exports)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", handler);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", handler);
  if (parentWatch) {
    const parent = Deno.ppid;
    const timer = setInterval(() => {
      if (Deno.ppid === parent) return;
      clearInterval(timer);
      log.warn("the launcher is gone: stopping");
      handler();
    }, 500);
    Deno.unrefTimer(timer);
    controller.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  }
}
