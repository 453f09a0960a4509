/**
 * `deno task bench volvo-day`: the XC40 BEV day (providers/volvo/sim/scenario.ts) on the simulated
 * Volvo (providers/volvo/sim/fake_api.ts), once per strategy, each on its own fake and virtual
 * clock, with the real Volvo provider and HTTP seam:
 *
 * - original_exporter: xaxeu/volvo-vehicle-exporter (`exporter.py` at 68cabb9):
 *   every 300 s the details, odometer, statistics, energy, engine status, warnings, tyres,
 *   diagnostics and location, 9 requests, whatever the car does;
 * - ev_observer: the scheduler with Volvo's pacing (providers/volvo/polling.ts) and the key's
 *   budget (100/min, 10,000/day, 10 % margin), as `deno task poll` runs it.
 *
 * The fake's log of answers is the truth: requests per day, how old the client's energy
 * state was at each second of the charge (p95), and so how many such cars one API key carries
 * within its 10,000 requests a day. A fleet run then puts that many cars on one key for the
 * whole day to show the key holds them.
 */
import { Budget } from "../core/budget.ts";
import { defaultBudgetOf } from "../core/plugin.ts";
import { VirtualClock } from "../core/clock.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { runScheduler } from "../core/scheduler.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "../core/usage.ts";
import type { ProviderContext } from "../core/source.ts";
import { defaultScopes, type EndpointName, VolvoApi } from "../providers/volvo/api.ts";
import {
  carFleet,
  FAKE_API_KEY,
  FakeVolvo,
  type FakeVolvoOptions,
} from "../providers/volvo/sim/fake_api.ts";
import { VOLVO_SCHEDULER } from "../providers/volvo/polling.ts";
import { volvoPlugin } from "../providers/volvo/mod.ts";
import { createVolvoProvider } from "../providers/volvo/provider.ts";
import {
  carModel,
  CARS,
  DAY_LENGTH,
  DAY_START,
  type VolvoCar,
} from "../providers/volvo/sim/scenario.ts";
import { agesEachSecond, dayHttp, p95, runEach } from "./common.ts";

/** Volvo's limits per API key. */
export const REQUESTS_PER_DAY = 10_000;
export const REQUESTS_PER_MINUTE = 100;
export const BEV = CARS[0];

export interface VolvoHarness {
  readonly clock: VirtualClock;
  readonly fake: FakeVolvo;
  readonly ctx: ProviderContext;
  readonly readings: Readings;
  readonly meter: UsageMeter;
  readonly log: Logger;
  readonly endMs: number;
  /** Aborted when a strategy tries to call after the day's end. */
  readonly over: AbortSignal;
  shutdown(): Promise<void>;
}

export interface HarnessOptions {
  /** Talk to the fake in-process instead of over loopback HTTP (same answers, no sockets). */
  readonly inProcess?: boolean;
  readonly cars?: readonly VolvoCar[];
  readonly log?: Logger;
  /** Other limits or keys for the fake (tests). */
  readonly fake?: Partial<FakeVolvoOptions>;
}

export function startVolvoHarness(options: HarnessOptions = {}): VolvoHarness {
  const clock = new VirtualClock(DAY_START * 1000, 0);
  // Tokens outlive the day: token care has its own tests, the benchmark measures polling.
  const fake = new FakeVolvo(
    { clock, cars: options.cars ?? [BEV], accessLifetimeS: 2 * DAY_LENGTH, ...options.fake },
    !options.inProcess,
  );
  const endMs = (DAY_START + DAY_LENGTH) * 1000;
  const readings = new Readings();
  const log = options.log ?? createLogger({ write: () => {} });
  const { http, meter, over } = dayHttp({
    provider: "volvo",
    pricing: COUNT_EVERY_REQUEST,
    clock,
    endMs,
    fetch: options.inProcess ? fake.fetch : fetch,
    readings,
  });
  const token = fake.auth.mint(defaultScopes(true)).access_token as string;
  const ctx: ProviderContext = {
    http: http.withAuth({ token: () => Promise.resolve(token) }),
    readings,
    clock,
    log,
    baseUrl: fake.url,
    location: true,
    account: { provider: "volvo", name: "bench", vehicles: [], vcc_api_key: FAKE_API_KEY },
  };
  return {
    clock,
    fake,
    ctx,
    readings,
    meter,
    log,
    endMs,
    over,
    shutdown: () => fake.shutdown(),
  };
}

/** The original exporter's nine calls per cycle, in its order. */
const ORIGINAL_ENDPOINTS: readonly EndpointName[] = [
  "details",
  "odometer",
  "statistics",
  "energy-state",
  "engine-status",
  "warnings",
  "tyres",
  "diagnostics",
  "location",
];
const ORIGINAL_INTERVAL_S = 300;

/** Strategy (a): every endpoint every 300 s for every car; a failed call just gives `{}`. */
export async function runOriginal(h: VolvoHarness): Promise<void> {
  const api = new VolvoApi(h.ctx, FAKE_API_KEY);
  const vins = h.fake.cars.map((c) => c.vin);
  while (!h.over.aborted && h.clock.now() < h.endMs) {
    for (const vin of vins) {
      for (const name of ORIGINAL_ENDPOINTS) await api.read(name, vin).catch(() => {});
    }
    await h.clock.sleep(ORIGINAL_INTERVAL_S * 1000);
  }
}

/** Strategy (b): ev-observer's scheduler with Volvo's pacing and the key's budget. */
export async function runEvObserver(h: VolvoHarness): Promise<void> {
  const provider = createVolvoProvider(h.ctx);
  const vehicles = await provider.listVehicles();
  // The budget an account on this key gets by default (its 100/min and 10,000/day).
  const budget = new Budget(defaultBudgetOf(volvoPlugin, h.ctx.account!)!, h.meter);
  budget.register(vehicles.map((v) => v.vin));
  const controller = new AbortController();
  h.over.addEventListener("abort", () => controller.abort(), { once: true });
  await runScheduler({
    targets: vehicles.map((vehicle) => ({ provider, vehicle, budget, account: "bench" })),
    readings: h.readings,
    clock: h.clock,
    log: h.log,
    config: VOLVO_SCHEDULER,
    signal: controller.signal,
    random: () => 0.5,
    onPoll: () => {
      if (h.clock.now() >= h.endMs) controller.abort();
    },
  });
}

export interface StrategyResult {
  /** Every request the key was charged for in the day (all cars). */
  readonly requests: number;
  readonly requests_per_vehicle: number;
  /** Answers 429 (per minute) and 403 (quota): zero for a client that keeps the limits. */
  readonly refused: number;
  /** The most requests the key saw in any 60 s. */
  readonly busiest_minute: number;
  /** Age of the newest energy state the client had, at each second of the charge (worst car). */
  readonly data_age_charging_p95_s: number | null;
  /** Cars one key carries within 10,000 requests a day at this pace. */
  readonly vehicles_per_key: number;
  readonly wall_ms: number;
}

export interface Strategy {
  readonly name: string;
  readonly label: string;
  run(h: VolvoHarness): Promise<void>;
}

export const STRATEGIES: readonly Strategy[] = [
  { name: "original_exporter", label: "original exporter (all every 300 s)", run: runOriginal },
  { name: "ev_observer", label: "ev-observer", run: runEvObserver },
];

export async function runStrategy(
  strategy: Strategy,
  options: HarnessOptions = {},
): Promise<StrategyResult> {
  const h = startVolvoHarness(options);
  const t0 = performance.now();
  try {
    await strategy.run(h);
    if (h.fake.unexpected.length) throw new Error(`unexpected requests: ${h.fake.unexpected}`);
    return measure(h.fake, performance.now() - t0);
  } finally {
    await h.shutdown();
  }
}

export function runBench(
  strategies: readonly Strategy[] = STRATEGIES,
  options: HarnessOptions & { onDone?: (s: Strategy, r: StrategyResult) => void } = {},
): Promise<Record<string, StrategyResult>> {
  return runEach(strategies, (s) => runStrategy(s, options), options.onDone);
}

/** The charges of a car while it is charging (seconds from the day's start). */
function chargingIntervals(car: VolvoCar): { start: number; end: number }[] {
  const m = carModel(car);
  return car.charges.map((c, i) => ({
    start: Math.max(0, c.start),
    end: Math.min(DAY_LENGTH, c.unplug ?? Infinity, m.chargeDone[i]),
  })).filter((x) => x.end > x.start);
}

export function measure(fake: FakeVolvo, wallMs: number): StrategyResult {
  const answers = fake.answers;
  const requests = answers.length;
  const vehicles = fake.cars.length;
  let worst: number | null = null;
  for (const car of fake.cars) {
    const served = answers.filter((a) =>
      a.vin === car.vin && a.endpoint === "energy-state" && a.status === 200
    ).map((a) => a.t);
    const p = p95(agesEachSecond(served, chargingIntervals(car)));
    if (p !== null && (worst === null || p > worst)) worst = p;
  }
  const perVehicle = requests / vehicles;
  return {
    requests,
    requests_per_vehicle: Math.round(perVehicle),
    refused: answers.filter((a) => a.status === 429 || a.status === 403).length,
    busiest_minute: busiestMinute(answers.map((a) => a.t)),
    data_age_charging_p95_s: worst,
    vehicles_per_key: Math.floor(REQUESTS_PER_DAY / perVehicle),
    wall_ms: Math.round(wallMs),
  };
}

function busiestMinute(times: readonly number[]): number {
  let most = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[j] <= times[i] - 60) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** ev-observer with `vehicles_per_key` of the BEV on one key for the whole day. */
export async function runFleet(
  n: number,
  options: HarnessOptions = {},
): Promise<StrategyResult> {
  return await runStrategy(STRATEGIES[1], { ...options, cars: carFleet(BEV, n) });
}

/** Cars on one key in the curve: from one car to past the 25 the key is meant to carry. */
export const CURVE_VEHICLES: readonly number[] = [1, 5, 10, 15, 20, 25, 30];

export interface CurvePoint {
  readonly vehicles: number;
  readonly requests: number;
  readonly refused: number;
  readonly data_age_charging_p95_s: number | null;
  readonly busiest_minute: number;
}

/**
 * The key's day with more and more cars on it (all the BEV: they drive and charge at the same
 * time, the hardest case for a shared key).
 */
export async function runCurve(
  options: HarnessOptions & {
    counts?: readonly number[];
    onPoint?: (p: CurvePoint, wallMs: number) => void;
  } = {},
): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const vehicles of options.counts ?? CURVE_VEHICLES) {
    const r = await runFleet(vehicles, options);
    const point = {
      vehicles,
      requests: r.requests,
      refused: r.refused,
      data_age_charging_p95_s: r.data_age_charging_p95_s,
      busiest_minute: r.busiest_minute,
    };
    options.onPoint?.(point, r.wall_ms);
    points.push(point);
  }
  return points;
}

/** The curve as a Markdown table, one row per number of cars. */
export function curveTable(points: readonly CurvePoint[]): string {
  const fmt = (v: number | null) => v === null ? "n/a" : String(v);
  return [
    "| cars on one key | requests per day | refused (429 / 403) | data age while charging, p95 (s) | busiest minute |",
    "|---:|---:|---:|---:|---:|",
    ...points.map((p) =>
      `| ${p.vehicles} | ${p.requests} | ${p.refused} | ${
        fmt(p.data_age_charging_p95_s)
      } | ${p.busiest_minute} |`
    ),
  ].join("\n");
}

const ROWS: readonly [keyof StrategyResult, string][] = [
  ["requests", "requests per day"],
  ["data_age_charging_p95_s", "data age while charging, p95 (s)"],
  ["vehicles_per_key", "such cars per API key (10,000/day)"],
  ["busiest_minute", "busiest minute (requests)"],
  ["refused", "refused (429 / 403)"],
];

/** The fleet run: the key's day, not a per-car figure. */
export const FLEET_ROWS = ROWS.filter(([key]) => key !== "vehicles_per_key");

/** A Markdown table: one column per strategy (or fleet run). */
export function table(
  results: Record<string, StrategyResult>,
  labels: Readonly<Record<string, string>>,
  rows: readonly [keyof StrategyResult, string][] = ROWS,
): string {
  const shown = Object.keys(labels).filter((k) => results[k]);
  const fmt = (v: unknown) => v === null ? "n/a" : String(v);
  return [
    `| metric | ${shown.map((k) => labels[k]).join(" | ")} |`,
    `|---|${shown.map(() => "---:").join("|")}|`,
    ...rows.map(([key, label]) =>
      `| ${label} | ${shown.map((k) => fmt(results[k][key])).join(" | ")} |`
    ),
  ].join("\n");
}

export const LABELS: Readonly<Record<string, string>> = Object.fromEntries(
  STRATEGIES.map((s) => [s.name, s.label]),
);
