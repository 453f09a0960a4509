/**
 * What an export keeps ready per vehicle (its /metrics lines, its OTLP data points), made again
 * only when the vehicle's entry changed: a new reading, state, poll state or info. Exports
 * make it when a reading arrives and bring the rest up to date before they serve or push, so
 * a scrape or a push joins prepared bytes instead of collecting every vehicle anew.
 */
import type { Readings, VehicleEntry } from "../core/readings.ts";
import { vehicleKey } from "../core/snapshot.ts";
import { nextTask, Slicer } from "./next_task.ts";

/** Longest run of making outputs in one event-loop task, ms. */
const SLICE_MS = 8;

/** What a vehicle's output is made from: its entry's fields, replaced (never mutated). */
type Source = Pick<VehicleEntry, "snapshot" | "state" | "pollState" | "lastSampleAt" | "info">;

function sourceOf(entry: VehicleEntry): Source {
  const { snapshot, state, pollState, lastSampleAt, info } = entry;
  return { snapshot, state, pollState, lastSampleAt, info };
}

function changedSince(from: Source, entry: VehicleEntry): boolean {
  return from.snapshot !== entry.snapshot || from.state !== entry.state ||
    from.pollState !== entry.pollState || from.lastSampleAt !== entry.lastSampleAt ||
    from.info !== entry.info;
}

interface Kept<T> {
  from: Source;
  value: T;
}

export class PerVehicle<T> {
  readonly #make: (entry: VehicleEntry, previous?: T) => T;
  readonly #kept = new WeakMap<VehicleEntry, Kept<T>>();
  #order: Kept<T>[] = [];
  #version = 0;
  #orderVersion = 0;
  #made = 0;
  readonly #due = new Set<VehicleEntry>();
  #draining = false;

  /** `make` gets the vehicle's previous output, if any, to tell what changed. */
  constructor(make: (entry: VehicleEntry, previous?: T) => T) {
    this.#make = make;
  }

  /** Grows whenever a vehicle's output is made again or the set of vehicles changes. */
  get version(): number {
    return this.#version;
  }

  /** Grows whenever the set or order of vehicles changes. */
  get orderVersion(): number {
    return this.#orderVersion;
  }

  /** Outputs made since start (one per changed vehicle, not per scrape or push). */
  get made(): number {
    return this.#made;
  }

  /** The vehicle's output, made again if its entry changed since. Throws what `make` throws. */
  get(entry: VehicleEntry): T {
    const have = this.#kept.get(entry);
    if (have && !changedSince(have.from, entry)) return have.value;
    const from = sourceOf(entry);
    const value = this.#make(entry, have?.value);
    this.#made++;
    this.#version++;
    if (have) {
      have.from = from;
      have.value = value;
    } else this.#kept.set(entry, { from, value });
    return value;
  }

  /**
   * Makes the vehicle's output soon, in a task of its own, a slice at a time: a fetch round
   * completes hundreds of polls in one turn of the event loop, and making each one's output
   * there held the loop for 50 ms at 1,000 cars. A failure is left for the next `all` to
   * throw (to the scrape, not to the poll that stored the reading).
   */
  soon(entry: VehicleEntry): void {
    this.#due.add(entry);
    if (this.#draining) return;
    this.#draining = true;
    nextTask().then(() => this.#drain());
  }

  async #drain(): Promise<void> {
    const slicer = new Slicer(SLICE_MS);
    for (const entry of this.#due) {
      this.#due.delete(entry);
      try {
        this.get(entry);
      } catch { /* thrown again by all() */ }
      await slicer.check();
    }
    this.#draining = false;
  }

  /**
   * Every vehicle's output, in store order, each up to date; yields to the event loop between
   * slices. A vehicle forgotten while this yielded is left out.
   */
  async all(readings: Readings, slicer: Slicer): Promise<T[]> {
    const order: Kept<T>[] = [];
    for (const entry of [...readings.vehicles.values()]) {
      if (readings.vehicles.get(vehicleKey(entry.vehicle)) !== entry) continue;
      this.get(entry);
      order.push(this.#kept.get(entry)!);
      await slicer.check();
    }
    if (order.length !== this.#order.length || order.some((k, i) => k !== this.#order[i])) {
      this.#version++;
      this.#orderVersion++;
    }
    this.#order = order;
    return order.map((k) => k.value);
  }
}
