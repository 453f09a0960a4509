/**
 * Sessions, wired: every reading the Readings store records (polled or streamed) goes to its
 * vehicle's detector; each reading's detector state and the sessions it finished are
 * committed to the store together; finished sessions move the Prometheus counters.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Readings } from "../readings.ts";
import { type Snapshot, vehicleKey, type VehicleRef, vinTail } from "../snapshot.ts";
import type { SessionsConfig } from "./config.ts";
import { type Span, type Track, VehicleDetector } from "./detector.ts";
import { keepParked, sessionOf } from "./figures.ts";
import { pointOf } from "./point.ts";
import type { Session } from "./session.ts";
import type { SessionStore } from "./store.ts";
import { pricing } from "./tariff.ts";

export interface TrackerOptions {
  readonly readings: Readings;
  readonly store: SessionStore;
  readonly config: SessionsConfig;
  /** Coordinates and place names are kept only with location enabled. */
  readonly location: boolean;
  readonly clock: Clock;
  readonly log: Logger;
}

const KWH = 3.6e6;
/** Charges whose estimates make the capacity gauge (the median of these). */
const ESTIMATES = 5;

interface Vehicle {
  readonly ref: Pick<VehicleRef, "provider" | "vin">;
  readonly detector: VehicleDetector;
  /** Finished by the reading being handled, committed with it. */
  finished: Session[];
  statedCapacityJ?: number;
}

export class SessionTracker {
  readonly #o: TrackerOptions;
  readonly #vehicles = new Map<string, Vehicle>();
  readonly #stops: (() => void)[] = [];
  readonly #listeners = new Set<(s: Session) => void>();
  readonly #pricing;

  constructor(options: TrackerOptions) {
    this.#o = options;
    this.#pricing = pricing(options.config);
    const { readings, store } = options;
    for (const [key, track] of store.loadTracks()) {
      const [provider, ...rest] = key.split("/");
      this.#vehicle({ provider, vin: rest.join("/") }, track);
    }
    this.#seedCounters();
    this.#stops.push(
      readings.onSnapshot((s) => this.observe(s)),
      readings.onState((v, state) => {
        if (state === "asleep") this.#step(v, (d, now) => d.asleep(now));
      }),
    );
  }

  /** Called with every session as it is stored (after the commit). */
  onSession(listener: (s: Session) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  observe(snapshot: Snapshot): void {
    const point = pointOf(snapshot);
    this.#step(snapshot.vehicle, (d, now) => d.observe(point, now), point.capacity);
  }

  /** Closes what has been idle past its gap (the wiring calls this now and then). */
  tick(): void {
    for (const v of this.#vehicles.values()) this.#step(v.ref, (d, now) => d.expire(now));
  }

  /** The vehicle's open drive or charge, if any (the status page). */
  open(vehicle: Pick<VehicleRef, "provider" | "vin">): Track | undefined {
    return this.#vehicles.get(vehicleKey(vehicle))?.detector.track;
  }

  close(): void {
    for (const stop of this.#stops) stop();
  }

  #step(
    ref: Pick<VehicleRef, "provider" | "vin">,
    f: (d: VehicleDetector, now: number) => void,
    statedCapacityJ?: number,
  ): void {
    const v = this.#vehicle(ref);
    if (statedCapacityJ !== undefined) v.statedCapacityJ = statedCapacityJ;
    const nowMs = this.#o.clock.now();
    const before = JSON.stringify(v.detector.track);
    f(v.detector, nowMs / 1000);
    const finished = v.finished;
    v.finished = [];
    if (!finished.length && JSON.stringify(v.detector.track) === before) return;
    let stored: Session[];
    try {
      stored = this.#o.store.commit(vehicleKey(ref), v.detector.track, finished, nowMs);
    } catch (err) {
      // The reading is lost to the sessions (the next one carries on); the exporter lives on.
      this.#o.log.error("cannot store sessions", { error: (err as Error).message });
      return;
    }
    for (const s of stored) {
      this.#count(s);
      this.#o.log.info(`${s.kind} ended`, summary(s));
      for (const l of this.#listeners) l(s);
    }
  }

  #vehicle(ref: Pick<VehicleRef, "provider" | "vin">, track: Track = {}): Vehicle {
    const key = vehicleKey(ref);
    let v = this.#vehicles.get(key);
    if (v) return v;
    const c = this.#o.config;
    const settings = { stopGapS: c.stop_gap_s, chargeGapS: c.charge_gap_s };
    const vehicle: Vehicle = {
      ref: { provider: ref.provider, vin: ref.vin },
      finished: [],
      detector: new VehicleDetector(settings, track, (span) => this.#finish(vehicle, span)),
    };
    v = vehicle;
    this.#vehicles.set(key, v);
    this.#zeroCounters(v.ref);
    return v;
  }

  /** Figures of a finished span; returns the energy a charge added (for a drive around it). */
  #finish(v: Vehicle, span: Span): number | undefined {
    const c = this.#o.config;
    if (span.kind === "parked" && !keepParked(span, c.parked_min_s)) return undefined;
    const { provider, vin } = v.ref;
    const session = sessionOf(span, {
      provider,
      vin,
      capacityJ: this.capacityJ(v.ref, v.statedCapacityJ),
      location: this.#o.location,
      places: c.places,
      pricing: this.#pricing,
      pricePerKwh: this.#o.store.pricePerKwh(provider, vin),
      capacityMinSocAdded: c.capacity_min_soc_added,
    });
    v.finished.push(session);
    return session.energy_added_kwh === null ? undefined : session.energy_added_kwh * KWH;
  }

  /**
   * Usable capacity for the state-of-charge method, joules: the configured one, else the
   * median of the newest estimates, else what the vendor states.
   */
  capacityJ(ref: Pick<VehicleRef, "provider" | "vin">, stated?: number): number | undefined {
    const configured = this.#o.config.vehicles.find((x) => x.vin === ref.vin)?.usable_kwh;
    if (configured !== undefined) return configured * KWH;
    const estimate = median(this.#o.store.capacityEstimates(ref.provider, ref.vin, ESTIMATES));
    return estimate !== undefined ? estimate * KWH : stated;
  }

  /** Series exist from the first reading, so increase() counts the first session too. */
  #zeroCounters(ref: Pick<VehicleRef, "provider" | "vin">): void {
    const r = this.#o.readings;
    const labels = { provider: ref.provider, vin: ref.vin };
    for (const name of ["ev.drives", "ev.drive.distance", "ev.drive.duration", "ev.drive.energy"]) {
      r.count(name, labels, 0);
    }
    r.count("ev.parked.energy_lost", labels, 0);
    r.count("ev.parked.duration", labels, 0);
    for (const type of ["ac", "dc"]) {
      for (
        const name of [
          "ev.charges",
          "ev.charge.energy_added",
          "ev.charge.energy_drawn",
          "ev.charge.duration",
        ]
      ) r.count(name, { ...labels, type }, 0);
    }
    const currency = this.#o.config.currency;
    if (currency) r.count("ev.charge.cost", { ...labels, currency }, 0);
    this.#capacityGauge(ref);
  }

  /** Lifetime totals from the store: a restart resumes the counters where they were. */
  #seedCounters(): void {
    const r = this.#o.readings;
    for (const t of this.#o.store.totals()) {
      const labels = { provider: t.provider, vin: t.vin };
      this.#vehicle(labels);
      if (t.kind === "drive") {
        r.count("ev.drives", labels, t.count);
        r.count("ev.drive.distance", labels, t.distance_km * 1000);
        r.count("ev.drive.duration", labels, t.duration_s);
        r.count("ev.drive.energy", labels, t.energy_used_kwh * KWH);
      } else if (t.kind === "charge") {
        const typed = { ...labels, type: t.charger_type ?? "unknown" };
        r.count("ev.charges", typed, t.count);
        r.count("ev.charge.energy_added", typed, t.energy_added_kwh * KWH);
        r.count("ev.charge.energy_drawn", typed, t.energy_drawn_kwh * KWH);
        r.count("ev.charge.duration", typed, t.duration_s);
        if (t.currency) r.count("ev.charge.cost", { ...labels, currency: t.currency }, t.cost);
      } else {
        r.count("ev.parked.energy_lost", labels, t.energy_lost_kwh * KWH);
        r.count("ev.parked.duration", labels, t.duration_s);
      }
    }
  }

  #count(s: Session): void {
    const r = this.#o.readings;
    const labels = { provider: s.provider, vin: s.vin };
    const positive = (x: number | null) => x !== null && x > 0 ? x : 0;
    if (s.kind === "drive") {
      r.count("ev.drives", labels);
      r.count("ev.drive.distance", labels, positive(s.distance_km) * 1000);
      r.count("ev.drive.duration", labels, s.duration_s);
      r.count("ev.drive.energy", labels, positive(s.energy_used_kwh) * KWH);
    } else if (s.kind === "charge") {
      const typed = { ...labels, type: s.charger_type ?? "unknown" };
      r.count("ev.charges", typed);
      r.count("ev.charge.energy_added", typed, positive(s.energy_added_kwh) * KWH);
      r.count("ev.charge.energy_drawn", typed, positive(s.energy_drawn_kwh) * KWH);
      r.count("ev.charge.duration", typed, s.duration_s);
      if (s.cost !== null && s.currency) {
        r.count("ev.charge.cost", { ...labels, currency: s.currency }, s.cost);
      }
      this.#capacityGauge(labels);
    } else {
      r.count("ev.parked.energy_lost", labels, positive(s.energy_lost_kwh) * KWH);
      r.count("ev.parked.duration", labels, s.duration_s);
    }
  }

  #capacityGauge(ref: Pick<VehicleRef, "provider" | "vin">): void {
    const estimate = median(this.#o.store.capacityEstimates(ref.provider, ref.vin, ESTIMATES));
    if (estimate === undefined) return;
    this.#o.readings.setGauge(
      "ev.battery.capacity_estimate",
      { provider: ref.provider, vin: ref.vin },
      estimate * KWH,
    );
  }
}

function median(xs: readonly number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A log line's fields: the figures, never the VIN (its last six) nor coordinates. */
function summary(s: Session): Record<string, string | number | undefined> {
  const fields: Record<string, string | number | undefined> = {
    provider: s.provider,
    vehicle: vinTail(s.vin),
    minutes: Math.round(s.duration_s / 60),
  };
  const put = (k: string, v: number | string | null) => {
    if (v !== null) fields[k] = v;
  };
  put("km", s.distance_km === null ? null : Math.round(s.distance_km * 10) / 10);
  put("kwh_used", s.energy_used_kwh === null ? null : Math.round(s.energy_used_kwh * 100) / 100);
  put("kwh_added", s.energy_added_kwh === null ? null : Math.round(s.energy_added_kwh * 100) / 100);
  put("soc_lost_pct", s.soc_lost_pct);
  put("wh_per_km", s.efficiency_wh_per_km);
  put("type", s.charger_type);
  put("cost", s.cost === null ? null : `${s.cost} ${s.currency ?? ""}`.trim());
  return fields;
}
