/**
 * `deno task bench sessions`: how well drives, charges and parked periods are found and
 * measured. Each scenario's cassette is replayed through the real providers and scheduler
 * (its polling default) on an exact virtual clock into a session tracker; the simulator's
 * own record of the day is the truth.
 */
import { type Clock, VirtualClock } from "../core/clock.ts";
import { SessionsConfig } from "../core/sessions/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { SessionStore } from "../core/sessions/store.ts";
import { SessionTracker } from "../core/sessions/tracker.ts";
import type { Session } from "../core/sessions/session.ts";
import type { Cassette } from "../replay/cassette.ts";
import { mapVehicleData } from "../providers/tesla/provider.ts";
import {
  dayCassette as teslaCassette,
  teslaDay,
  type TeslaScenario,
} from "../providers/tesla/sim/scenario.ts";
import { stressCassette, stressScenario, stressTruth } from "../providers/tesla/sim/stress.ts";
import {
  carModel,
  CARS,
  DAY_LENGTH,
  dayCassette as volvoCassette,
} from "../providers/volvo/sim/scenario.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";
import { round } from "./common.ts";
import { runStreamingDay } from "./tesla_stream.ts";

/** What the simulator knows happened; times in Unix seconds, energy in kWh. */
export interface Truth {
  readonly drives: readonly { start: number; end: number; km: number; kwh: number }[];
  readonly charges: readonly { start: number; end: number; kwh: number }[];
  /** The usable pack the simulation runs. */
  readonly packKwh: number;
  /** Energy the car lost standing (vampire drain) between two times; 0 where not simulated. */
  drainBetween(from: number, to: number): number;
}

export interface BenchScenario {
  readonly name: string;
  cassette(): Cassette;
  truth(): Truth;
  /** The `sessions:` config block, when not the default. */
  readonly config?: Record<string, unknown>;
  /**
   * The car as the exporter last saw it before the cassette begins (it parked the evening
   * before): what a running exporter knows, and a replay starting at midnight does not.
   */
  readonly seen?: () => Record<string, unknown>;
  /**
   * Streamed instead of replayed: the fleet-telemetry emulator publishes the day through a
   * real Mosquitto to the stream consumer, polling as its fallback (bench/tesla_stream.ts).
   */
  readonly streamed?: {
    readonly scenario: () => TeslaScenario;
    /** Virtual seconds per wall second. */
    readonly speed: number;
  };
}

export interface BenchOptions {
  /** Where the streamed scenarios' Mosquitto keeps its files (the system's temp by default). */
  readonly scratch?: string;
}

interface Count {
  readonly truth: number;
  readonly found: number;
  /** Truth sessions no found one overlaps. */
  readonly missed: number;
  /** Truth sessions two or more found ones overlap. */
  readonly split: number;
  /** Found sessions that overlap no truth. */
  readonly invented: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly drives: Count;
  readonly charges: Count;
  readonly distance_error_pct: number | null;
  readonly energy_added_error_pct: number | null;
  readonly energy_used_error_pct: number | null;
  readonly vampire_error_pct: number | null;
  /** Energy lost parked, kWh: what the simulation lost standing over the found periods. */
  readonly vampire_truth_kwh: number;
  readonly vampire_found_kwh: number;
  readonly capacity_error_pct: number | null;
  /** How the energy figures were obtained (vendor, soc). */
  readonly energy_methods: string;
}

const TESLA_START = teslaDay().startedAt;

export const SCENARIOS: readonly BenchScenario[] = [
  {
    name: "tesla/day",
    cassette: () => teslaCassette(),
    truth: () => {
      const day = teslaDay();
      return {
        drives: day.drives.map((d) => ({
          start: TESLA_START + d.start,
          end: TESLA_START + d.end,
          km: d.distanceKm,
          kwh: d.energyKWh,
        })),
        charges: day.charges.map((c) => ({
          start: TESLA_START + c.start,
          end: TESLA_START + c.end,
          kwh: c.energyAddedKWh,
        })),
        packKwh: 78,
        drainBetween: () => 0,
      };
    },
    seen: () => teslaDay().vehicleDataAt(0),
  },
  {
    name: "tesla/day, cold start",
    cassette: () => teslaCassette(),
    truth: () => SCENARIOS[0].truth(),
  },
  {
    name: "tesla/day, streamed",
    cassette: () => teslaCassette(),
    truth: () => SCENARIOS[0].truth(),
    streamed: { scenario: teslaDay, speed: 600 },
  },
  ...["xc40-bev-day", "xc90-phev-day"].map((name) => volvoScenario(name)),
  {
    name: "tesla/stress",
    cassette: () => stressCassette(),
    truth: () => {
      const t = stressTruth();
      return {
        drives: t.drives.map((d) => ({
          start: TESLA_START + d.start,
          end: TESLA_START + d.end,
          km: d.distanceKm,
          kwh: d.energyKWh,
        })),
        charges: t.charges.map((c) => ({
          start: TESLA_START + c.start,
          end: TESLA_START + c.end,
          kwh: c.addedKWh,
        })),
        packKwh: t.packKWh,
        drainBetween: (a, b) => t.drainBetween(a - TESLA_START, b - TESLA_START),
      };
    },
  },
  {
    name: "tesla/stress, streamed",
    cassette: () => stressCassette(),
    truth: () => SCENARIOS.find((s) => s.name === "tesla/stress")!.truth(),
    // Five days: faster than the reference day's 600 (virtual seconds per second).
    streamed: { scenario: stressScenario, speed: 2400 },
  },
];

function volvoScenario(scenario: string): BenchScenario {
  const car = CARS.find((c) => c.scenario === scenario)!;
  return {
    name: `volvo/${scenario}`,
    cassette: () => volvoCassette(car),
    truth: () => {
      const m = carModel(car);
      const b = car.battery!;
      const start = volvoCassette(car).startedAt;
      const kwh = (soc: number) => soc / 100 * b.capacityKWh;
      return {
        drives: car.drives.map((d) => ({
          start: start + d.start,
          end: start + d.end,
          km: d.km,
          kwh: d.km * (1 - d.fuelShare) * b.kWhPer100km / 100,
        })),
        // Charges that charged within the day (a car plugged in full overnight does not).
        charges: car.charges.flatMap((c, i) => {
          const done = m.chargeDone[i];
          if (done <= Math.max(0, c.start) || c.start >= DAY_LENGTH) return [];
          return [{
            start: start + c.start,
            end: start + done,
            kwh: kwh(m.socAt(done) - m.socAt(Math.max(0, c.start))),
          }];
        }),
        packKwh: b.capacityKWh,
        drainBetween: () => 0,
      };
    },
  };
}

function watch(s: BenchScenario, readings: Readings, clock: Clock) {
  const store = SessionStore.open(":memory:");
  const tracker = new SessionTracker({
    readings,
    store,
    config: SessionsConfig.parse(s.config ?? {}),
    location: false,
    clock,
    log: createLogger({ write: () => {} }),
  });
  return {
    found: () => {
      tracker.tick();
      return store.list();
    },
    close: () => {
      tracker.close();
      store.close();
    },
  };
}

/** Streams the reference day into a session tracker; the sessions it found. */
async function findStreamedSessions(s: BenchScenario, options: BenchOptions) {
  let watched: ReturnType<typeof watch> | undefined;
  try {
    await runStreamingDay({
      scenario: s.streamed!.scenario(),
      speed: s.streamed!.speed,
      scratch: options.scratch,
      attach: (readings, clock) => watched = watch(s, readings, clock),
    });
    return watched!.found();
  } finally {
    watched?.close();
  }
}

/** Replays one scenario (or streams it) into a session tracker; the sessions it found. */
export async function findSessions(
  s: BenchScenario,
  options: BenchOptions = {},
): Promise<Session[]> {
  if (s.streamed) return await findStreamedSessions(s, options);
  const cassette = s.cassette();
  const clock = new VirtualClock(cassette.startedAt * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const watched = watch(s, readings, clock);
  const session = await startReplay({
    cassettes: [cassette],
    clock,
    readings,
    log,
    location: false,
  });
  try {
    if (s.seen) {
      const vehicle = session.targets[0].vehicle;
      const report = { provider: vehicle.provider, readings: new Readings(), log };
      const body = s.seen();
      readings.record(mapVehicleData(vehicle, body, { report, location: false, now: 0 }));
    }
    await playUntil(session, {
      clock,
      readings,
      log,
      origin: cassette.startedAt,
      at: cassette.duration - 1,
    });
    return watched.found();
  } finally {
    watched.close();
    await session.shutdown();
  }
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  a.start <= b.end && b.start <= a.end;

function count(truth: readonly { start: number; end: number }[], found: readonly Session[]) {
  const spans = found.map((f) => ({ start: f.start_ms / 1000, end: f.end_ms / 1000 }));
  const hits = truth.map((t) => spans.filter((f) => overlaps(t, f)).length);
  return {
    truth: truth.length,
    found: found.length,
    missed: hits.filter((h) => h === 0).length,
    split: hits.filter((h) => h > 1).length,
    invented: spans.filter((f) => !truth.some((t) => overlaps(t, f))).length,
  };
}

const sum = (xs: readonly (number | null)[]) => xs.reduce<number>((a, x) => a + (x ?? 0), 0);
const errorPct = (found: number, truth: number) =>
  truth > 0 ? round((found - truth) / truth * 100, 2) : null;

export function measure(s: BenchScenario, sessions: readonly Session[]): ScenarioResult {
  const truth = s.truth();
  const drives = sessions.filter((x) => x.kind === "drive");
  const charges = sessions.filter((x) => x.kind === "charge");
  const parked = sessions.filter((x) => x.kind === "parked");
  const vampireTruth = sum(
    parked.map((p) => truth.drainBetween(p.start_ms / 1000, p.end_ms / 1000)),
  );
  const vampireFound = sum(parked.map((p) => p.energy_lost_kwh));
  const estimates = charges.map((c) => c.capacity_estimate_kwh).filter((x) => x !== null);
  const sorted = [...estimates].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  // The median, as the capacity gauge reports it.
  const capacity = !sorted.length
    ? undefined
    : sorted.length % 2
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
  const methods = new Set(sessions.map((x) => x.energy_method).filter((m) => m !== null));
  return {
    name: s.name,
    drives: count(truth.drives, drives),
    charges: count(truth.charges, charges),
    distance_error_pct: errorPct(
      sum(drives.map((d) => d.distance_km)),
      sum(truth.drives.map((d) => d.km)),
    ),
    energy_added_error_pct: errorPct(
      sum(charges.map((c) => c.energy_added_kwh)),
      sum(truth.charges.map((c) => c.kwh)),
    ),
    energy_used_error_pct: errorPct(
      sum(drives.map((d) => d.energy_used_kwh)),
      sum(truth.drives.map((d) => d.kwh)),
    ),
    // Under 0.1 kWh lost there is nothing to measure a share of.
    vampire_error_pct: vampireTruth >= 0.1 ? errorPct(vampireFound, vampireTruth) : null,
    vampire_truth_kwh: round(vampireTruth, 3),
    vampire_found_kwh: round(vampireFound, 3),
    capacity_error_pct: capacity === undefined ? null : errorPct(capacity, truth.packKwh),
    energy_methods: [...methods].sort().join(",") || "none",
  };
}

export async function runSessionsBench(
  scenarios: readonly BenchScenario[] = SCENARIOS,
  onDone?: (r: ScenarioResult) => void,
  options: BenchOptions = {},
): Promise<{ scenarios: ScenarioResult[] }> {
  const out: ScenarioResult[] = [];
  for (const s of scenarios) {
    const r = measure(s, await findSessions(s, options));
    onDone?.(r);
    out.push(r);
  }
  return { scenarios: out };
}

/** The README's table: one row per scenario. */
export function sessionsTable(results: readonly ScenarioResult[]): string {
  const pct = (v: number | null) => v === null ? "–" : `${v > 0 ? "+" : ""}${v.toFixed(2)} %`;
  const found = (c: Count) =>
    `${c.found} of ${c.truth}` +
    (c.missed || c.split || c.invented
      ? ` (${
        [
          c.missed && `${c.missed} missed`,
          c.split && `${c.split} split`,
          c.invented && `${c.invented} invented`,
        ].filter(Boolean).join(", ")
      })`
      : "");
  return [
    "| scenario | drives | charges | distance | energy used | energy added | vampire drain | capacity | energy from |",
    "|---|---|---|---:|---:|---:|---:|---:|---|",
    ...results.map((r) =>
      `| ${r.name} | ${found(r.drives)} | ${found(r.charges)} | ${pct(r.distance_error_pct)} | ${
        pct(r.energy_used_error_pct)
      } | ${pct(r.energy_added_error_pct)} | ${
        r.vampire_error_pct === null
          ? `${r.vampire_found_kwh} kWh (true ${r.vampire_truth_kwh})`
          : pct(r.vampire_error_pct)
      } | ${pct(r.capacity_error_pct)} | ${r.energy_methods} |`
    ),
  ].join("\n");
}
