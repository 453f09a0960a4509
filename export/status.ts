/**
 * What the status page shows, as JSON-ready data: per vehicle its state, its last known values
 * (state of charge, range, charging, locks and openings, temperatures, odometer, tyres,
 * software), their age, token and API budget (when the poller knows them) and a 24-hour
 * state-of-charge history kept in memory. Values stay in base units (the catalog's); the page
 * (status_page.ts) converts them to the configured units and renders.
 */
import type { Readings } from "../core/readings.ts";
import { activityOf, activityWord } from "../core/activity.ts";
import {
  sampleValue,
  type Snapshot,
  vehicleKey,
  type VehicleRef,
  vinTail,
} from "../core/snapshot.ts";
import type { Session } from "../core/sessions/session.ts";

/** One budget window (today or this month) as the live poller counts it. */
export interface UsageWindow {
  /** Requests sent in the window. */
  readonly requests: number;
  /** Requests the vendor bills (Tesla: every answer below 500). */
  readonly billable?: number;
  /** The configured request budget for the window. */
  readonly limit?: number;
  /** Estimated cost so far, US dollars. */
  readonly costUsd?: number;
  /** The configured money budget for the window, US dollars. */
  readonly budgetUsd?: number;
}

export interface TokenStatus {
  /** e.g. "valid", "expiring", "expired", "missing", "refresh_failed". */
  readonly state: string;
  /** Unix seconds. */
  readonly expiresAt?: number;
}

/** What the live poller knows about a vehicle's account; every part is optional. */
export interface AccountStatus {
  readonly token?: TokenStatus;
  readonly today?: UsageWindow;
  readonly month?: UsageWindow;
  /** The scheduler's state for this vehicle, e.g. "driving", "asleep", "backoff". */
  readonly pollState?: string;
  /** The command that signs the account in again. */
  readonly signIn?: string;
}

export type Units = "metric" | "imperial";

export interface StatusSources {
  /** Current time in ms: the virtual clock in replay, so ages match the replayed day. */
  readonly now: () => number;
  /** Token, budget and poll state; supplied by the live poller, absent in replay. */
  readonly account?: (vehicle: VehicleRef) => AccountStatus | undefined;
  /** Shown under the title, e.g. "replay of tesla/day". */
  readonly mode?: string;
  /** The newest finished drives, charges and parked periods, when sessions are kept. */
  readonly sessions?: { last(n: number): readonly Session[] };
  /** How the page shows lengths, temperatures and pressures (config `units`). */
  readonly units?: Units;
}

/** What the car reported about charging, when it did. */
export interface ChargingStatus {
  readonly powerW?: number;
  readonly timeToFullS?: number;
  /** Energy added in the current (or last) session, joules. */
  readonly energyAddedJ?: number;
  readonly pluggedIn?: boolean;
}

/** Locks and openings: what an owner checks before walking away. */
export interface SecurityStatus {
  readonly locked?: boolean;
  readonly sentry?: boolean;
  /** What is open, e.g. "front_left door", "rear trunk"; empty when all is closed. */
  readonly open: readonly string[];
  /** Whether any door, window or trunk was reported at all. */
  readonly known: boolean;
}

export interface VehicleStatus {
  readonly provider: string;
  readonly name: string;
  /** Last six characters of the VIN: enough to tell cars apart, not to identify one. */
  readonly vinTail: string;
  /** online / asleep / offline / unknown, refined to driving / charging / parked when online. */
  readonly state: string;
  /** The values came from the latest answer; false: last known (asleep, offline, restored). */
  readonly live?: boolean;
  /** What the scheduler does (ev.poll.state): sign_in_needed, rate_limited, backing_off, … */
  readonly pollState?: string;
  readonly soc?: number;
  readonly rangeM?: number;
  readonly chargeLimit?: number;
  readonly speedMs?: number;
  readonly charging?: ChargingStatus;
  readonly security?: SecurityStatus;
  readonly insideC?: number;
  readonly outsideC?: number;
  readonly odometerM?: number;
  /** Tyre pressures in pascals, by wheel (front_left, front_right, rear_left, rear_right). */
  readonly tyresPa?: Readonly<Record<string, number>>;
  readonly softwareVersion?: string;
  /** Unix seconds of the newest sample, and its age in seconds. */
  readonly lastSampleAt?: number;
  readonly ageS?: number;
  /** Requests sent since the exporter started (ev_api_requests_total of the provider). */
  readonly requestsSinceStart: number;
  readonly account?: AccountStatus;
  /** [unix seconds, state of charge 0–1, charging 1 or 0], oldest first, last 24 hours. */
  readonly history: readonly HistoryPoint[];
  /** The newest finished drives and charges, newest first (when sessions are kept). */
  readonly sessions?: readonly SessionLine[];
}

/** A finished drive or charge as the page lists it. */
export interface SessionLine {
  readonly kind: "drive" | "charge";
  /** ac or dc (charges). */
  readonly type?: string;
  /** Unix seconds. */
  readonly endS: number;
  readonly durationS: number;
  readonly km?: number;
  /** Energy used (drives) or added (charges). */
  readonly kwh?: number;
  readonly whPerKm?: number;
  /** State of charge at start and end, 0–1. */
  readonly socStart?: number;
  readonly socEnd?: number;
  /** e.g. "7.80 EUR". */
  readonly cost?: string;
}

/** Drives and charges shown per vehicle. */
const SESSION_LINES = 5;

function sessionLine(s: Session): SessionLine {
  const opt = <T>(v: T | null) => v === null ? undefined : v;
  return {
    kind: s.kind as "drive" | "charge",
    type: opt(s.charger_type),
    endS: s.end_ms / 1000,
    durationS: s.duration_s,
    km: opt(s.distance_km),
    kwh: opt(s.kind === "drive" ? s.energy_used_kwh : s.energy_added_kwh),
    whPerKm: opt(s.efficiency_wh_per_km),
    socStart: s.soc_start_pct === null ? undefined : s.soc_start_pct / 100,
    socEnd: s.soc_end_pct === null ? undefined : s.soc_end_pct / 100,
    cost: s.cost === null ? undefined : `${s.cost.toFixed(2)} ${s.currency ?? ""}`.trim(),
  };
}

export type HistoryPoint = readonly [number, number, number];

export interface StatusModel {
  /** Unix seconds the model was made at (the clock's time). */
  readonly now: number;
  readonly mode?: string;
  /** Metric when absent. */
  readonly units?: Units;
  readonly vehicles: readonly VehicleStatus[];
}

const DAY_S = 86_400;

/**
 * Bounded in-memory history per vehicle, fed by Readings.onSnapshot: at most one point per
 * `stepS` seconds and only the last 24 hours, so memory stays under `DAY_S / stepS` points a
 * vehicle however long the exporter runs.
 */
export class StatusHistory {
  readonly #points = new Map<string, [number, number, number][]>();
  readonly #stepS: number;
  readonly #stop: () => void;

  constructor(readings: Readings, stepS = 60) {
    this.#stepS = stepS;
    // Values already there (restored from the last run) are the chart's first points.
    for (const entry of readings.vehicles.values()) if (entry.snapshot) this.add(entry.snapshot);
    this.#stop = readings.onSnapshot((s) => this.add(s));
  }

  add(snapshot: Snapshot): void {
    const key = vehicleKey(snapshot.vehicle);
    const soc = sampleValue(snapshot, "ev.battery.level");
    if (soc === undefined) return;
    const t = snapshot.sampledAt;
    const charging = activityOf(snapshot).charging ? 1 : 0;
    let points = this.#points.get(key);
    // Time went backwards (a replay starting over): the old day no longer applies.
    if (!points || (points.length && t < points[points.length - 1][0])) {
      points = [];
      this.#points.set(key, points);
    }
    const last = points[points.length - 1];
    if (last && Math.floor(last[0] / this.#stepS) === Math.floor(t / this.#stepS)) {
      // Same time slot as the previous point: keep the newest value in that slot.
      points[points.length - 1] = [t, soc, charging];
    } else {
      points.push([t, soc, charging]);
    }
    while (points.length && points[0][0] < t - DAY_S) points.shift();
  }

  points(vehicle: VehicleRef, now: number): [number, number, number][] {
    return (this.#points.get(vehicleKey(vehicle)) ?? []).filter(([t]) =>
      t >= now - DAY_S && t <= now
    );
  }

  /** Number of points held, all vehicles (for tests of the bound). */
  size(): number {
    let n = 0;
    for (const p of this.#points.values()) n += p.length;
    return n;
  }

  close(): void {
    this.#stop();
  }
}

/** Builds the model the page and /status.json show. */
export function statusModel(
  readings: Readings,
  history: StatusHistory,
  sources: StatusSources,
): StatusModel {
  const now = sources.now() / 1000;
  const vehicles: VehicleStatus[] = [];
  const recent = (sources.sessions?.last(200) ?? []).filter((s) => s.kind !== "parked");
  for (const entry of readings.vehicles.values()) {
    const v = entry.vehicle;
    const snapshot = entry.snapshot;
    const value = (name: string, labels?: Record<string, string>) =>
      snapshot?.samples.find((x) =>
        x.metric === name &&
        (!labels || Object.entries(labels).every(([k, val]) => x.labels?.[k] === val))
      )?.value;
    const flag = (name: string) => {
      const x = value(name);
      return x === undefined ? undefined : x === 1;
    };
    const range = ["rated", "estimated", "ideal"].map((e) =>
      value("ev.battery.range", { estimate: e })
    ).find((x) => x !== undefined);
    /** Series of a 0/1 metric by its own label, e.g. doors by `door`. */
    const opened = (name: string, label: string) =>
      (snapshot?.samples ?? []).filter((x) => x.metric === name).map((x) => ({
        open: x.value === 1,
        what: `${x.labels?.[label] ?? ""} ${label}`.trim(),
      }));
    const openings = [
      ...opened("ev.door.open", "door"),
      ...opened("ev.window.open", "window"),
      ...opened("ev.trunk.open", "trunk"),
    ];
    const tyresPa: Record<string, number> = {};
    for (const x of snapshot?.samples ?? []) {
      if (x.metric === "ev.tire.pressure" && x.labels?.wheel) tyresPa[x.labels.wheel] = x.value;
    }
    let requests = 0;
    for (const c of readings.counters.values()) {
      if (c.metric === "ev.api.requests" && c.labels.provider === v.provider) requests += c.value;
    }
    const name = entry.info.name ?? v.name ?? v.provider;
    vehicles.push({
      provider: v.provider,
      name,
      vinTail: vinTail(v.vin),
      // What it does, from values of its latest answer only: last night's charge is not now.
      state: entry.state === "online" && entry.live && snapshot
        ? activityWord(snapshot)
        : entry.state,
      live: entry.live && !!snapshot,
      pollState: entry.pollState,
      soc: value("ev.battery.level"),
      rangeM: range,
      chargeLimit: value("ev.charging.limit"),
      speedMs: value("ev.drive.speed"),
      charging: {
        powerW: value("ev.charging.power"),
        timeToFullS: value("ev.charging.time_to_full"),
        energyAddedJ: value("ev.charging.energy_added"),
        pluggedIn: flag("ev.charging.plugged_in"),
      },
      security: {
        locked: flag("ev.locked"),
        sentry: flag("ev.sentry_mode"),
        open: openings.filter((o) => o.open).map((o) => o.what),
        known: openings.length > 0,
      },
      insideC: value("ev.climate.inside.temperature"),
      outsideC: value("ev.climate.outside.temperature"),
      odometerM: value("ev.odometer"),
      tyresPa,
      softwareVersion: entry.info.software_version || undefined,
      lastSampleAt: entry.lastSampleAt,
      ageS: entry.lastSampleAt === undefined
        ? undefined
        : Math.max(0, Math.round(now - entry.lastSampleAt)),
      requestsSinceStart: requests,
      account: sources.account?.(v),
      history: history.points(v, now),
      sessions: sources.sessions
        ? recent.filter((s) => s.provider === v.provider && s.vin === v.vin)
          .slice(-SESSION_LINES).reverse().map(sessionLine)
        : undefined,
    });
  }
  vehicles.sort((a, b) => a.name.localeCompare(b.name) || a.vinTail.localeCompare(b.vinTail));
  return { now, mode: sources.mode, units: sources.units ?? "metric", vehicles };
}
