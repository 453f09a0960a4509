/**
 * The reference day as a car that reacts to its API client: when it sleeps depends on the
 * scenario *and* on how the client polls. This is the benchmark's ground truth.
 *
 * The model:
 * - The scenario's online segments force the car awake: drives, charging, the user waking it
 *   from the app, the MCU's "fake online" blips. Its asleep/offline segments only *allow* sleep.
 * - The car has an inactivity timer of `idleS` (default 15 min). Its own activity restarts it
 *   (driving, charging, a user inside, climate or preconditioning on, sentry mode: read from
 *   the scenario's own vehicle data), and so does every `vehicle_data` call it answers. The
 *   summary call (`GET /api/1/vehicles/{id}`) does not touch it.
 * - Where sleep is allowed, the car falls asleep once the timer has run out.
 * - `wake_up` brings an allowed-asleep car online after `wakeDelayS`, timer restarted.
 *
 * Awake time is split in two: "needed" (the car would have been awake with no client at all)
 * and "caused" (awake only because of the client's calls). All times are seconds from the
 * scenario's start; the car keeps no clock of its own.
 */
import type { TeslaScenario, VehicleState } from "./scenario.ts";

export interface FakeCarOptions {
  readonly scenario: TeslaScenario;
  /** Inactivity before the car may sleep, seconds (default 900). */
  readonly idleS?: number;
  /** From `wake_up` to online, seconds (default 20). */
  readonly wakeDelayS?: number;
}

export interface AwakeAccount {
  /** Seconds the car was awake. */
  readonly awakeS: number;
  /** Seconds it would have been awake without any client. */
  readonly neededS: number;
  /** Seconds it was awake only because of the client (calls or wake_up). */
  readonly causedS: number;
}

type Json = Record<string, unknown>;

export class FakeCar {
  readonly scenario: TeslaScenario;
  readonly idleS: number;
  readonly wakeDelayS: number;
  /** Awake windows the client caused, [from, until), in call order. */
  readonly #kept: [number, number][] = [];
  readonly #naturalEnd = new Map<number, number>();
  #wakes = 0;

  constructor(options: FakeCarOptions) {
    this.scenario = options.scenario;
    this.idleS = options.idleS ?? 900;
    this.wakeDelayS = options.wakeDelayS ?? 20;
  }

  get wakeCalls(): number {
    return this.#wakes;
  }

  /** What the summary reports at t. */
  stateAt(t: number): VehicleState {
    if (this.#awake(t)) return "online";
    return this.scenario.stateAt(t) === "offline" ? "offline" : "asleep";
  }

  /** A `vehicle_data` call at t: the body (state forced online) or undefined (408). */
  vehicleData(t: number): Json | undefined {
    if (!this.#awake(t)) return undefined;
    this.#keep(t, t + this.idleS);
    return { ...this.scenario.vehicleDataAt(t), state: "online" };
  }

  /** A `wake_up` call at t; the state right after it (still asleep while waking). */
  wakeUp(t: number): VehicleState {
    this.#wakes++;
    if (this.#awake(t)) this.#keep(t, t + this.idleS);
    else if (this.scenario.stateAt(t) !== "offline") {
      this.#keep(t + this.wakeDelayS, t + this.wakeDelayS + this.idleS);
    }
    return this.stateAt(t);
  }

  /** Awake time over [0, until), sampled each second. */
  account(until: number = this.scenario.duration): AwakeAccount {
    let awakeS = 0;
    let neededS = 0;
    for (let t = 0; t < until; t++) {
      const needed = this.#needed(t);
      const awake = needed || this.#keptAt(t);
      if (awake) awakeS++;
      if (needed) neededS++;
    }
    return { awakeS, neededS, causedS: awakeS - neededS };
  }

  #awake(t: number): boolean {
    return this.#needed(t) || this.#keptAt(t);
  }

  /** Awake with no client: forced by the scenario, or its own timer still running. */
  #needed(t: number): boolean {
    if (this.scenario.stateAt(t) === "online") return true;
    const seg = this.#segmentStart(t);
    return t < this.#naturalEndOf(seg);
  }

  #keptAt(t: number): boolean {
    return this.#kept.some(([from, until]) => t >= from && t < until);
  }

  #keep(from: number, until: number): void {
    const last = this.#kept[this.#kept.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], until);
    else this.#kept.push([from, until]);
  }

  #segmentStart(t: number): number {
    const i = Math.floor(t);
    return this.scenario.segments.find((s) => i >= s.start && i < s.end)?.start ??
      this.scenario.segments[this.scenario.segments.length - 1].start;
  }

  /** When the car falls asleep in the segment starting at `start` if nobody calls it. */
  #naturalEndOf(start: number): number {
    let end = this.#naturalEnd.get(start);
    if (end === undefined) {
      end = start;
      // Only activity in the last idleS seconds before the segment can keep the timer running.
      for (let t = start - 1; t >= Math.max(0, start - this.idleS); t--) {
        if (this.scenario.stateAt(t) !== "online") break;
        if (active(this.scenario.vehicleDataAt(t))) {
          end = Math.max(start, t + 1 + this.idleS);
          break;
        }
      }
      this.#naturalEnd.set(start, end);
    }
    return end;
  }
}

/** The car is busy by itself (TeslaMate's `can_fall_asleep` blockers, plus drive and charge). */
export function active(data: Json): boolean {
  const ds = (data.drive_state ?? {}) as Json;
  const cs = (data.charge_state ?? {}) as Json;
  const cl = (data.climate_state ?? {}) as Json;
  const vs = (data.vehicle_state ?? {}) as Json;
  return ["D", "N", "R"].includes(String(ds.shift_state)) ||
    cs.charging_state === "Charging" || cs.charging_state === "Starting" ||
    vs.is_user_present === true || vs.sentry_mode === true ||
    cl.is_climate_on === true || cl.is_preconditioning === true;
}
