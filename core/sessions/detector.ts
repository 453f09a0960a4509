/**
 * Drives, charges and parked periods from a stream of readings, per vehicle and
 * vendor-neutral. A drive is what activityOf calls driving (shift state, the drive system
 * running); it ends once the car has stood still for longer than `stopGapS`, so a traffic
 * light or a quick charge on the way does not split it. A charge is what activityOf calls
 * charging; it ends when the car is unplugged, reports complete, drives off, or has paused
 * longer than `chargeGapS` — a car that sleeps or drops off the network while charging gives
 * no reading that says otherwise, so it does not split. Between sessions the car is parked.
 *
 * Times: a session's start and end are the vendor's sample times; gaps are measured on the
 * observer's clock (`now`), since a vendor's sample time can lag behind while values stay
 * unchanged. The whole state is plain JSON so it survives a restart (core/sessions/store.ts).
 */
import type { Point } from "./point.ts";
import type { SessionKind } from "./session.ts";

export interface DetectorSettings {
  readonly stopGapS: number;
  readonly chargeGapS: number;
}

/** Figures gathered while a session runs (all optional: a kind fills only its own). */
export interface Accumulated {
  /** Readings while active. */
  n: number;
  speedMax?: number;
  tempSum: number;
  tempN: number;
  /**
   * Drives first seen under way: the odometer where the start energy was read (the distance
   * before it is known from the last odometer, its energy is not).
   */
  seenAtOdometer?: number;
  /** …and where the parked period before it began (finished with the drive). */
  parkedFrom?: Point;
  /** Drives: energy charges added during a stop, joules (added back to the energy used). */
  addedJ: number;
  powerMax?: number;
  /** Charger power integrated over time, joules. */
  drawnJ: number;
  /** Seconds covered by that integral while charging. */
  chargingS: number;
  /** The vendor counter: last value seen, and the sum of its increments (rebased on resets). */
  counterLast?: number;
  counterSum: number;
  ac: number;
  dc: number;
  /** Energy by 15-minute slot (slot start, Unix s → joules): time-of-use prices. */
  slots: Record<string, number>;
}

export interface OpenSpan {
  readonly kind: "drive" | "charge";
  /** The values the session starts from (the last reading before it when fresh). */
  readonly start: Point;
  /** When it started: the first active reading. */
  readonly startT: number;
  /** The last active reading, and when it was observed. */
  last: Point;
  lastObs: number;
  /** The first reading that was no longer active: the session's end time, once confirmed. */
  pending?: Point;
  /** The latest inactive reading since (odometer and energy settle after the stop). */
  endValues?: Point;
  /**
   * A charge: when a reading said it was over (complete, unplugged), on the observer's clock.
   * It closes `SETTLE_S` later, so a counter report arriving after that reading still counts.
   */
  overObs?: number;
  acc: Accumulated;
}

/** A finished span: what figures.ts turns into a Session. */
export interface Span {
  readonly kind: SessionKind;
  readonly start: Point;
  readonly startT: number;
  readonly end: Point;
  readonly endT: number;
  readonly acc: Accumulated;
}

export interface Track {
  last?: Point;
  /** When `last` was observed (the observer's clock, Unix s). */
  lastObs?: number;
  drive?: OpenSpan;
  charge?: OpenSpan;
  /** Where the current parked period began (the end of the last session). */
  parkedFrom?: Point;
}

/** How old the last reading before a session may be to give its start values. */
const FRESH_S = 1800;
/** Counter movement (J) and state of charge rise that tell of a charge nobody saw. */
const MIN_COUNTER_J = 0.1 * 3.6e6;
const MIN_SOC_RISE = 0.02;
const SLOT_S = 900;
/**
 * How long a charge's figures may still arrive after a reading said it was over: a stream
 * sends each field at its own interval (the energy counter every 5 minutes at the slowest).
 */
const SETTLE_S = 300;

export const emptyAccumulated = (): Accumulated => ({
  n: 0,
  tempSum: 0,
  tempN: 0,
  addedJ: 0,
  drawnJ: 0,
  chargingS: 0,
  counterSum: 0,
  ac: 0,
  dc: 0,
  slots: {},
});

/**
 * One vehicle's detector. `finish` turns a finished span into whatever the caller keeps and
 * returns the energy a charge added (joules), so a drive around a charging stop can add it
 * back.
 */
export class VehicleDetector {
  constructor(
    readonly settings: DetectorSettings,
    readonly track: Track,
    private readonly finish: (span: Span) => number | undefined,
  ) {}

  /** A reading observed at `now` (Unix s). */
  observe(p: Point, now: number): void {
    this.expire(now);
    const t = this.track;
    // The reading before, if recent enough to stand for the moment a session began.
    const prev = t.last && t.lastObs !== undefined && now - t.lastObs <= FRESH_S
      ? t.last
      : undefined;
    if (!t.charge && t.last && (!t.drive || t.drive.pending)) this.#unobservedCharge(t.last, p);
    if (t.charge) this.#chargeStep(t.charge, p, now);
    if (t.drive) this.#driveStep(t.drive, p, now);
    if (!t.drive && p.driving) {
      t.drive = this.#open("drive", prev, t.last, p, now);
    }
    if (!t.charge && p.charging && !p.driving) {
      t.charge = this.#open("charge", prev, t.last, p, now);
      t.charge.acc.counterLast = counterBase(t.last, prev, p);
    }
    if (t.charge && p.charging && t.charge.last === p) accumulateCharge(t.charge.acc, p);
    if (!t.drive && !t.charge && !t.parkedFrom) t.parkedFrom = p;
    t.last = p;
    t.lastObs = now;
  }

  /** The vendor says the car is asleep: it is not driving any more. */
  asleep(now: number): void {
    this.expire(now);
    const d = this.track.drive;
    if (d && !d.pending) {
      d.pending = d.last;
      d.endValues = d.last;
    }
  }

  /** Closes what has been inactive for longer than its gap. */
  expire(now: number): void {
    const t = this.track;
    const c = t.charge;
    const settled = c?.overObs !== undefined && now - c.overObs >= SETTLE_S;
    if (c?.pending && (settled || now - c.lastObs > this.settings.chargeGapS)) this.#close(c);
    if (t.drive?.pending && now - t.drive.lastObs > this.settings.stopGapS) this.#close(t.drive);
  }

  /**
   * A session begins at `p`. Its start values are those of the fresh reading before it when
   * the car was idle then (the first active reading is already some way in); a drive's
   * odometer is the last one before it however old, as a parked car does not move.
   */
  #open(
    kind: "drive" | "charge",
    fresh: Point | undefined,
    last: Point | undefined,
    p: Point,
    now: number,
  ): OpenSpan {
    const idle = fresh !== undefined && !fresh.driving && !fresh.charging;
    let start: Point = idle ? { ...fresh, t: p.t } : p;
    if (
      kind === "drive" && !idle && last?.odometer !== undefined && !last.driving &&
      (p.odometer === undefined || last.odometer <= p.odometer)
    ) start = { ...start, odometer: last.odometer };
    const acc = emptyAccumulated();
    // Seen under way: its energy at the start is the first reading's, further down the road.
    const underWay = kind === "drive" && !idle && start.odometer !== p.odometer;
    if (underWay) {
      acc.seenAtOdometer = p.odometer;
      // The parked period before ends where the drive began, known once its rate is.
      if (this.track.parkedFrom && !this.track.drive && !this.track.charge) {
        acc.parkedFrom = this.track.parkedFrom;
      }
      this.track.parkedFrom = undefined;
    } else {
      this.#finishParked(start, p.t);
    }
    const span: OpenSpan = { kind, start, startT: p.t, last: p, lastObs: now, acc };
    if (kind === "drive") accumulateDrive(span.acc, p);
    return span;
  }

  /**
   * A charge no reading showed (the poller let the car sleep, or it was out of reach): the
   * vendor's per-plug-in counter moved, or, without one, the state of charge rose by more
   * than drift. Recorded between the two readings, with no reading of its own (TeslaMate's
   * "charged while offline").
   */
  #unobservedCharge(last: Point, p: Point): void {
    if (p.charging || last.charging || p.t <= last.t) return;
    let added: number | undefined;
    if (p.added !== undefined && last.added !== undefined) {
      if (p.added === last.added || p.added === 0) return;
      // A charge the car called complete adds nothing more while it stays plugged in: a
      // counter moving on without the state of charge rising is its last report arriving
      // late (a stream sends each field at its own interval), not a charge of its own.
      const risen = p.soc !== undefined && last.soc !== undefined &&
        p.soc - last.soc >= MIN_SOC_RISE;
      const tail = last.chargeState === "complete" && p.plugged !== false && p.added > last.added;
      if (tail && !risen) return;
      const fresh = last.plugged === false || p.added < last.added;
      const rise = fresh ? p.added : p.added - last.added;
      if (rise > MIN_COUNTER_J) added = rise;
    } else if (p.soc !== undefined && last.soc !== undefined && p.soc - last.soc >= MIN_SOC_RISE) {
      added = 0; // the figures use the state of charge
    }
    if (added === undefined) return;
    const acc = emptyAccumulated();
    acc.counterSum = added;
    if (added > 0) addSlot(acc, (last.t + p.t) / 2, added, "counter");
    const span: OpenSpan = {
      kind: "charge",
      start: last,
      startT: last.t,
      last,
      lastObs: 0,
      pending: p,
      endValues: p,
      acc,
    };
    this.#finishParked(last, last.t);
    this.#close(span);
  }

  /** The parked period ends where a session begins (if the car was parked). */
  #finishParked(end: Point, endT: number): void {
    const t = this.track;
    if (t.parkedFrom && !t.drive && !t.charge) {
      this.finish({
        kind: "parked",
        start: t.parkedFrom,
        startT: t.parkedFrom.t,
        end,
        endT,
        acc: emptyAccumulated(),
      });
    }
    t.parkedFrom = undefined;
  }

  #driveStep(d: OpenSpan, p: Point, now: number): void {
    if (p.driving) {
      if (d.pending && now - d.lastObs > this.settings.stopGapS) {
        this.#close(d);
        return;
      }
      d.pending = undefined;
      d.endValues = undefined;
      d.last = p;
      d.lastObs = now;
      accumulateDrive(d.acc, p);
      return;
    }
    if (!d.pending) {
      // Back after a silence longer than the gap: it ended by the last driving reading.
      d.pending = now - d.lastObs > this.settings.stopGapS ? { ...p, t: d.last.t } : p;
      d.endValues = p;
      return;
    }
    // Settled values while it stands, until a charge starts adding energy.
    if (!p.charging && !this.track.charge) d.endValues = p;
  }

  #chargeStep(c: OpenSpan, p: Point, now: number): void {
    // Charging again after it was over (plugged in again): a new charge.
    if (p.charging && c.overObs !== undefined) return this.#close(c);
    if (p.charging && !p.driving) {
      integratePower(c.acc, c.pending ?? c.last, p);
      c.pending = undefined;
      c.endValues = undefined;
      c.last = p;
      c.lastObs = now;
      return;
    }
    const over = p.driving || p.plugged === false || p.chargeState === "complete" ||
      p.chargeState === "disconnected";
    if (!c.pending) {
      // Back after a silence longer than the gap: it ended by the last charging reading.
      const silent = now - c.lastObs > this.settings.chargeGapS;
      if (!p.driving) {
        if (!silent) integratePower(c.acc, c.last, p);
        countAdded(c.acc, p);
      }
      c.pending = p.driving ? c.last : silent ? { ...p, t: c.last.t } : p;
      c.endValues = p.driving ? c.last : p;
    } else if (!p.driving) {
      countAdded(c.acc, p);
      c.endValues = p;
    }
    if (over && !p.driving) c.overObs ??= now;
    const settled = c.overObs !== undefined && now - c.overObs >= SETTLE_S;
    if (p.driving || settled || now - c.lastObs > this.settings.chargeGapS) this.#close(c);
  }

  #close(span: OpenSpan): void {
    const t = this.track;
    const pending = span.pending ?? span.last;
    const end: Point = { ...(span.endValues ?? pending), t: pending.t };
    const before = span.acc.parkedFrom;
    if (before) {
      span.acc.parkedFrom = undefined;
      this.finish({
        kind: "parked",
        start: before,
        startT: before.t,
        end: backAtStart(span.start, span.acc, end),
        endT: span.startT,
        acc: emptyAccumulated(),
      });
    }
    const added = this.finish({
      kind: span.kind,
      start: span.start,
      startT: span.startT,
      end,
      endT: pending.t,
      acc: span.acc,
    });
    if (span.kind === "charge") {
      t.charge = undefined;
      if (t.drive && added) t.drive.acc.addedJ += added;
    } else {
      t.drive = undefined;
    }
    if (!t.drive && !t.charge) t.parkedFrom = end;
  }
}

/**
 * A drive first seen under way: its energy and state of charge where it began, from the rest
 * of the drive's rate over the distance not seen (charges on the way added back).
 */
function backAtStart(start: Point, acc: Accumulated, end: Point): Point {
  const seen = diffOf(end.odometer, acc.seenAtOdometer);
  const unseen = diffOf(acc.seenAtOdometer, start.odometer);
  if (seen === undefined || unseen === undefined || seen <= 0) return start;
  const back = (from?: number, to?: number, added = 0) =>
    from === undefined || to === undefined ? from : from + (from - to + added) * unseen / seen;
  const addedSoc = start.energy && start.soc ? acc.addedJ * start.soc / start.energy : 0;
  return {
    ...start,
    energy: back(start.energy, end.energy, acc.addedJ),
    soc: back(start.soc, end.soc, addedSoc),
  };
}

const diffOf = (a?: number, b?: number) => a === undefined || b === undefined ? undefined : a - b;

/**
 * Where the vendor's per-plug-in counter starts: 0 when the car was last seen unplugged (the
 * counter restarts at plug-in), its value just before charging when that is fresh, else the
 * first value seen (what came before was not observed).
 */
function counterBase(
  last: Point | undefined,
  fresh: Point | undefined,
  p: Point,
): number | undefined {
  if (last?.plugged === false && p.added !== undefined) return 0;
  if (fresh && fresh.plugged && !fresh.charging) return fresh.added ?? p.added;
  return p.added;
}

function accumulateDrive(acc: Accumulated, p: Point): void {
  acc.n++;
  if (p.speed !== undefined) acc.speedMax = Math.max(acc.speedMax ?? 0, p.speed);
  if (p.outside !== undefined) {
    acc.tempSum += p.outside;
    acc.tempN++;
  }
}

function accumulateCharge(acc: Accumulated, p: Point): void {
  acc.n++;
  if (p.power !== undefined) acc.powerMax = Math.max(acc.powerMax ?? 0, p.power);
  if (p.current === "ac") acc.ac++;
  if (p.current === "dc") acc.dc++;
  if (p.outside !== undefined) {
    acc.tempSum += p.outside;
    acc.tempN++;
  }
  countAdded(acc, p);
}

/** Adds the counter's increase since the last value; a drop means it restarted from 0. */
function countAdded(acc: Accumulated, p: Point): void {
  if (p.added === undefined) return;
  const last = acc.counterLast;
  const rise = last === undefined ? 0 : p.added >= last ? p.added - last : p.added;
  acc.counterSum += rise;
  acc.counterLast = p.added;
  if (rise > 0) addSlot(acc, p.t, rise, "counter");
}

/** The charger's power between two readings, trapezoidal; only from a charging reading. */
function integratePower(acc: Accumulated, a: Point, b: Point): void {
  if (!a.charging || a.power === undefined || b.t <= a.t) return;
  const dt = b.t - a.t;
  const bPower = b.charging ? b.power ?? a.power : 0;
  const joules = ((a.power + bPower) / 2) * dt;
  acc.drawnJ += joules;
  acc.chargingS += dt;
  addSlot(acc, (a.t + b.t) / 2, joules, "power");
}

function addSlot(acc: Accumulated, t: number, joules: number, basis: "power" | "counter"): void {
  const key = `${basis}:${Math.floor(t / SLOT_S) * SLOT_S}`;
  acc.slots[key] = (acc.slots[key] ?? 0) + joules;
}
