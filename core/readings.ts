/**
 * What the exports read: the last known snapshot per vehicle and the exporter's own counters.
 * Both exports observe this one store, so /metrics and OTLP always agree.
 *
 * Values stay at their last known value while a vehicle sleeps, is offline or rate-limited;
 * its sample time says how old they are. They go only when the vehicle leaves the account or
 * the config (`forget`), or outlive `max_value_age` (`expireValues`).
 */
import { inRange, metric } from "./catalog.ts";
import {
  type Labels,
  mergeSnapshot,
  type Snapshot,
  vehicleKey,
  type VehicleRef,
  type VehicleState,
} from "./snapshot.ts";

/**
 * The scheduler's view of a vehicle (core/scheduler.ts), kept with its values so that a
 * restart resumes it: a car known asleep is not treated as a car never seen. Unix seconds.
 */
export interface ScheduleView {
  /** The planner's mode: asleep, waking, online, driving, charging, suspended. */
  readonly mode: string;
  readonly asleepSince?: number;
  readonly onlineSince?: number;
  /** The last time it was driving, charging or kept awake (user inside, climate, sentry). */
  readonly busyAt?: number;
  readonly suspendUntil?: number;
}

export interface VehicleEntry {
  readonly vehicle: VehicleRef;
  state: VehicleState;
  /** The last known values (asleep or not); absent before the first read or once expired. */
  snapshot?: Snapshot;
  /**
   * The values came from the vehicle's latest answer: false once it answered with a state
   * only (asleep, offline, woken since) or when they were restored from disk.
   */
  live: boolean;
  /** Vendor time of the newest sample we ever had, Unix seconds. */
  lastSampleAt?: number;
  info: Labels;
  /** What the scheduler is doing with this vehicle (ev.poll.state); unset until it polls. */
  pollState?: string;
  schedule?: ScheduleView;
  /** The config account that polls it (the scheduler sets it). */
  account?: string;
}

export interface CounterEntry {
  readonly metric: string;
  readonly labels: Labels;
  value: number;
}

const counterKey = (name: string, labels: Labels) =>
  `${name}|${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",")}`;

/** An exporter-level gauge (budget left, token expiry): the latest value wins. */
export interface GaugeEntry {
  readonly metric: string;
  readonly labels: Labels;
  value: number;
}

/** One histogram series: counts per bucket (the last one is +Inf), not cumulative. */
export interface HistogramEntry {
  readonly metric: string;
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Readings {
  readonly vehicles = new Map<string, VehicleEntry>();
  readonly counters = new Map<string, CounterEntry>();
  readonly gauges = new Map<string, GaugeEntry>();
  readonly histograms = new Map<string, HistogramEntry>();
  readonly #listeners = new Set<(s: Snapshot) => void>();
  readonly #stateListeners = new Set<(vehicle: VehicleRef, state: VehicleState) => void>();
  #version = 0;

  /**
   * Grows whenever what a restart should know changes (values, states, the scheduler's
   * view): the persisted state is saved when it moved.
   */
  get version(): number {
    return this.#version;
  }

  /**
   * A snapshot arrived: a full one replaces the previous one, a partial one is merged into it
   * (see mergeSnapshot). Returns what is stored now.
   */
  record(snapshot: Snapshot): Snapshot {
    const entry = this.#entry(snapshot.vehicle);
    const stored = mergeSnapshot(entry.snapshot, snapshot);
    entry.state = stored.state;
    entry.snapshot = stored;
    entry.live = true;
    this.#version++;
    // An absurd vendor time (reported by checkRanges) must not become the freshness.
    if (inRange(metric("ev.last_sample.timestamp"), stored.sampledAt)) {
      entry.lastSampleAt = stored.sampledAt;
    }
    entry.info = { ...entry.info, ...stored.info };
    for (const l of this.#listeners) l(stored);
    return stored;
  }

  /**
   * The vehicle answered with a state only (asleep, offline, or online before a read): its
   * values stay at their last known value, no longer live unless it stayed online.
   */
  setState(vehicle: VehicleRef, state: VehicleState): void {
    const entry = this.#entry(vehicle);
    if (state !== "online" || entry.state !== "online") entry.live = false;
    if (entry.state !== state) this.#version++;
    entry.state = state;
    for (const l of this.#stateListeners) l(vehicle, state);
  }

  /** Called with every state-only answer (setState), as onSnapshot is with readings. */
  onState(listener: (vehicle: VehicleRef, state: VehicleState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** The vehicle left its account or the config: every series of it goes. */
  forget(vehicle: Pick<VehicleRef, "provider" | "vin">): boolean {
    const gone = this.vehicles.delete(vehicleKey(vehicle));
    if (gone) this.#version++;
    return gone;
  }

  /**
   * Drops the values of vehicles whose newest sample is older than `before` (Unix seconds;
   * `max_value_age`), keeping their state, info and sample time. Returns those it dropped.
   */
  expireValues(before: number): VehicleEntry[] {
    const dropped: VehicleEntry[] = [];
    for (const entry of this.vehicles.values()) {
      if (!entry.snapshot || entry.lastSampleAt === undefined) continue;
      if (entry.lastSampleAt >= before) continue;
      entry.snapshot = undefined;
      entry.live = false;
      dropped.push(entry);
    }
    if (dropped.length) this.#version++;
    return dropped;
  }

  /**
   * Puts back a vehicle as a previous run left it (core/last_known.ts), before anything
   * polls; the values are not live until the vehicle answers again.
   */
  restore(saved: Omit<VehicleEntry, "live">): void {
    this.vehicles.set(vehicleKey(saved.vehicle), { ...saved, live: false });
    this.#version++;
  }

  /** The scheduler's view after a poll, and the account polling the vehicle. */
  setSchedule(vehicle: VehicleRef, view: ScheduleView, account?: string): void {
    const entry = this.#entry(vehicle);
    const same = JSON.stringify(entry.schedule) === JSON.stringify(view) &&
      entry.account === account;
    entry.schedule = view;
    entry.account = account;
    if (!same) this.#version++;
  }

  /** Adds to a catalog counter; unknown names throw so a typo cannot create a new metric. */
  count(name: string, labels: Labels, by = 1): void {
    if (metric(name).kind !== "counter") throw new Error(`${name} is not a counter`);
    const key = counterKey(name, labels);
    const entry = this.counters.get(key) ?? { metric: name, labels: { ...labels }, value: 0 };
    entry.value += by;
    this.counters.set(key, entry);
  }

  /** Sets an exporter-level catalog gauge (not a vehicle sample); unknown names throw. */
  setGauge(name: string, labels: Labels, value: number): void {
    const def = metric(name);
    if (def.kind !== "gauge" || !def.exporter) {
      throw new Error(`${name} is not an exporter-level gauge`);
    }
    const key = counterKey(name, labels);
    const entry = this.gauges.get(key) ?? { metric: name, labels: { ...labels }, value };
    entry.value = value;
    this.gauges.set(key, entry);
  }

  gaugeValue(name: string, labels: Labels): number | undefined {
    return this.gauges.get(counterKey(name, labels))?.value;
  }

  /** The scheduler's state for a vehicle (exported as ev.poll.state). */
  setPollState(vehicle: VehicleRef, state: string): void {
    this.#entry(vehicle).pollState = state;
  }

  /**
   * One observation of a catalog histogram (a request duration), added to its totals since
   * start, which both exports read.
   */
  observe(name: string, labels: Labels, value: number): void {
    const def = metric(name);
    if (def.kind !== "histogram") throw new Error(`${name} is not a histogram`);
    const undeclared = Object.keys(labels).filter((k) => !def.labels.includes(k));
    if (undeclared.length) throw new Error(`${name}: undeclared label ${undeclared.join(", ")}`);
    const bounds = def.buckets ?? [];
    const key = counterKey(name, labels);
    const entry = this.histograms.get(key) ??
      {
        metric: name,
        labels: { ...labels },
        counts: bounds.map(() => 0).concat(0),
        sum: 0,
        count: 0,
      };
    const i = bounds.findIndex((b) => value <= b);
    entry.counts[i < 0 ? bounds.length : i]++;
    entry.sum += value;
    entry.count++;
    this.histograms.set(key, entry);
  }

  counterValue(name: string, labels: Labels): number {
    return this.counters.get(counterKey(name, labels))?.value ?? 0;
  }

  onSnapshot(listener: (s: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #entry(vehicle: VehicleRef): VehicleEntry {
    const key = vehicleKey(vehicle);
    let entry = this.vehicles.get(key);
    if (!entry) {
      entry = { vehicle, state: "unknown", info: {}, live: false };
      this.vehicles.set(key, entry);
    }
    return entry;
  }
}
