/**
 * Yields to the event loop for one turn: timers, sockets and other requests run before the
 * caller goes on. Long work (joining a 7 MB exposition, gzipping it) is cut into slices with
 * it. setTimeout(0) would do the same but is clamped to milliseconds per call once nested,
 * which a few hundred slices turn into visible latency; a message through a channel is not.
 */
export function nextTask(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<void>((resolve) => {
    port2.onmessage = () => {
      // Closed at once: an open port would keep the process (and a test's op check) waiting.
      port1.close();
      port2.close();
      resolve();
    };
    port1.postMessage(null);
  });
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
