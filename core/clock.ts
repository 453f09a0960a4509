/** Real and virtual time. Everything that waits or stamps time takes a Clock. */

/**
 * The longest single wait, a day: every clock caps its sleeps here, so no value (a config
 * interval, a vendor's Retry-After, a quota countdown, a bug's NaN) can turn into a timer
 * that `setTimeout` clamps to 1 ms (anything above 2^31−1 ms, 24.8 days) and fires at once.
 * A loop that wanted longer wakes after a day and plans again.
 */
export const MAX_WAIT_MS = 86_400_000;

/** A wait as every clock takes it: at least 0, at most MAX_WAIT_MS; NaN counts as the most. */
export function cappedWait(ms: number): number {
  return Number.isNaN(ms) ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, ms));
}

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
      this.advance(cappedWait(ms));
      return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
    }
    return abortableDelay(cappedWait(ms) / this.speed, signal);
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, cappedWait(ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Discrete-event time for several independent loops (the scheduler's per-vehicle loops):
 * sleeps wait until `run` moves time to their deadline, and time moves only once every loop is
 * asleep, so each loop's schedule is exact however long its real I/O took.
 */
export class StepClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: { at: number; seq: number; wake: () => void }[] = [];
  #changed?: () => void;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper = {
        at: this.#now + cappedWait(ms),
        seq: this.#seq++,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
      this.#changed?.();
    });
  }

  /**
   * Waits until `loops` sleeps are pending, wakes the earliest (moving time to its deadline),
   * and repeats until the next deadline lies beyond `until`; time then stands at `until`.
   */
  async run(until: number, loops: number): Promise<void> {
    for (;;) {
      while (this.#sleepers.length < loops) {
        await new Promise<void>((resolve) => (this.#changed = resolve));
      }
      this.#changed = undefined;
      this.#sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#sleepers[0];
      if (next.at > until) {
        this.#now = Math.max(this.#now, until);
        return;
      }
      this.#sleepers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.wake();
    }
  }
}

/** A loop that waits on a clock; on an instant virtual clock it waits its turn. */
export interface Participant {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** The loop is done (or hands over to others who joined first). */
  leave(): void;
}

interface Waiter {
  readonly at: number;
  readonly resolve: () => void;
}

/**
 * Several loops on one speed-0 VirtualClock would each jump the clock on every sleep, so time
 * would run as the sum of all their waits. Joined loops instead advance it together: time
 * moves, to the earliest wake-up, only once every joined loop is waiting. A loop busy with a
 * request holds the clock still.
 */
class Lockstep {
  #running = 0;
  #waiting: Waiter[] = [];
  #scheduled = false;
  constructor(readonly clock: VirtualClock) {}

  join(): Participant {
    this.#running++;
    let left = false;
    return {
      sleep: (ms, signal) => this.#sleep(ms, signal),
      leave: () => {
        if (left) return;
        left = true;
        this.#running--;
        this.#release();
      },
    };
  }

  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        at: this.clock.now() + cappedWait(ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((w) => w !== waiter);
        this.#running++;
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#running--;
      this.#release();
    });
  }

  /** Decided on a later task, so loops started in the same turn have all joined by then. */
  #release(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.#releaseNow();
    }, 0);
  }

  #releaseNow(): void {
    if (this.#running > 0 || this.#waiting.length === 0) return;
    const next = Math.min(...this.#waiting.map((w) => w.at));
    if (next > this.clock.now()) this.clock.advance(next - this.clock.now());
    const due = this.#waiting.filter((w) => w.at <= next);
    this.#waiting = this.#waiting.filter((w) => w.at > next);
    this.#running += due.length;
    for (const w of due) w.resolve();
  }
}

const locksteps = new WeakMap<VirtualClock, Lockstep>();

/** Joins the loops waiting on `clock` (in lockstep on an instant virtual clock). */
export function participate(clock: Clock): Participant {
  if (!(clock instanceof VirtualClock) || clock.speed !== 0) {
    return { sleep: (ms, signal) => clock.sleep(ms, signal), leave: () => {} };
  }
  let lockstep = locksteps.get(clock);
  if (!lockstep) locksteps.set(clock, lockstep = new Lockstep(clock));
  return lockstep.join();
}
