/** Real and virtual time. Everything that waits or stamps time takes a Clock. */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms` of this clock's time (or earlier if `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => abortableDelay(ms, signal),
};

/**
 * Virtual time that runs `speed` times faster than wall time, starting at `start`.
 * `advance` jumps ahead instantly, which tests use to be exact.
 */
export class VirtualClock implements Clock {
  #virtualAtAnchor: number;
  #wallAnchor = performance.now();
  #offset = 0;

  constructor(start: number, readonly speed = 1) {
    this.#virtualAtAnchor = start;
  }

  now(): number {
    const wall = this.speed === 0 ? 0 : (performance.now() - this.#wallAnchor) * this.speed;
    return Math.round(this.#virtualAtAnchor + wall + this.#offset);
  }

  advance(ms: number): void {
    this.#offset += ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.speed === 0) {
      this.advance(ms);
      return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
    }
    return abortableDelay(ms / this.speed, signal);
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
