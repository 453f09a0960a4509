/**
 * Yields to the event loop until its due timers and ready I/O have run: long work (joining an
 * exposition, encoding a push, gzipping it) is cut into slices with it.
 *
 * A timer, not a message through a MessageChannel: once an npm package such as `yaml` is
 * loaded (every ev-observer process loads it), Deno runs message-port tasks back to back ahead
 * of timers, and a 5 ms timer did not fire once during a 500 ms push cut into such slices.
 * A timer costs the loop about 2 ms per slice when nothing else waits.
 */
export function nextTask(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/** Calls `nextTask` when more than `sliceMs` passed since the slice began; for loops. */
export class Slicer {
  #start = performance.now();
  constructor(readonly sliceMs: number) {}

  /** Yields if the slice is used up; resolves at once (no yield) otherwise. */
  async check(): Promise<void> {
    if (performance.now() - this.#start <= this.sliceMs) return;
    await nextTask();
    this.#start = performance.now();
  }
}
