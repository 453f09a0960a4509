/**
 * `deno task bench tesla-day`: the reference day on the simulated Tesla, once per strategy,
 * each on its own fake car and virtual clock. The fake's counters are the truth: what it
 * billed, how long the car stayed awake because of the client, and which `vehicle_data`
 * answers the client got (hence how fresh its data was and what it saw happen).
 */
import type { BudgetConfig } from "../core/budget.ts";
import { defaultBudgetOf } from "../core/plugin.ts";
import type { SchedulerConfig } from "../core/scheduler_config.ts";
import { teslaPlugin } from "../providers/tesla/mod.ts";
import { FLEET_MONTHLY_CREDIT_USD, FLEET_PRICES } from "../providers/tesla/pricing.ts";
import type { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { agesEachSecond, p95, round, runEach } from "./common.ts";
import { runDemo } from "./demo.ts";
import { runEvObserver } from "./ev_observer.ts";
import { type Harness, type HarnessOptions, startHarness } from "./harness.ts";
import { runTeslaMate } from "./teslamate.ts";

export interface StrategyResult {
  /** Billable answers, summary calls counted as billed (the cautious reading). */
  readonly billable_requests: number;
  readonly billable_requests_without_summary: number;
  readonly summary_requests: number;
  readonly wake_calls: number;
  readonly awake_minutes_caused: number;
  readonly awake_seconds_caused: number;
  /** The day × 30 at Fleet list prices, before the $10 monthly credit. */
  readonly usd_per_month: number;
  readonly usd_per_month_after_credit: number;
  readonly usd_per_month_without_summary: number;
  readonly data_age_driving_p95_s: number | null;
  readonly data_age_charging_p95_s: number | null;
  readonly drives_detected: number;
  readonly charges_detected: number;
  /** Worst delay between a drive's start and the first answer that shows it (null: missed). */
  readonly drive_start_detection_s: number | null;
  /** Real time the run took (not asserted anywhere: it depends on the machine). */
  readonly wall_ms: number;
}

export interface Strategy {
  readonly name: string;
  readonly label: string;
  run(h: Harness): Promise<void>;
}

const evObserver = (
  name: string,
  label: string,
  config: Partial<SchedulerConfig> = {},
  budget?: BudgetConfig,
) => ({ name, label, run: (h: Harness) => runEvObserver(h, config, budget) });

/** What a Fleet API account that sets no `budget` gets (the plug-in's default). */
export function fleetDefaultBudget(): BudgetConfig | undefined {
  return defaultBudgetOf(teslaPlugin, {
    provider: "tesla",
    name: "bench",
    api: "fleet",
    vehicles: [],
  });
}

const DEFAULT = evObserver("ev_observer", "ev-observer (default)", {}, fleetDefaultBudget());

export const STRATEGIES: readonly Strategy[] = [
  { name: "original_demo", label: "original demo (300 s)", run: runDemo },
  { name: "teslamate", label: "TeslaMate (polling)", run: runTeslaMate },
  DEFAULT,
];

/**
 * The freshness/requests trade-off: the default, then other driving intervals with no budget
 * (what an owner who raises or removes it buys).
 */
export const TRADEOFF: readonly Strategy[] = [
  { ...DEFAULT, label: "default ($10 budget)" },
  ...[15, 30, 60].map((s) =>
    evObserver(`ev_observer_driving_${s}s`, `no budget, driving_s ${s}`, { driving_s: s })
  ),
];

export async function runStrategy(
  strategy: Strategy,
  options: HarnessOptions = {},
): Promise<StrategyResult> {
  const h = startHarness(options);
  const t0 = performance.now();
  try {
    await strategy.run(h);
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

export function measure(fake: FakeTesla, wallMs: number): StrategyResult {
  const { scenario } = fake;
  const billing = fake.billing;
  const billable = billing.data + billing.wakes + billing.commands;
  const usdDay = billing.data * FLEET_PRICES.data + billing.wakes * FLEET_PRICES.wakes +
    billing.commands * FLEET_PRICES.commands;
  const caused = fake.car.account().causedS;
  const served = fake.served;

  const ages = (intervals: readonly { start: number; end: number }[]) =>
    agesEachSecond(served.map((d) => d.t), intervals);
  const firstSeen = (start: number, end: number, seen: (d: typeof served[number]) => boolean) =>
    served.find((d) => d.t >= start && d.t < end && seen(d))?.t;
  const driveSeen = scenario.drives.map((d) =>
    firstSeen(d.start, d.end, (x) => ["D", "N", "R"].includes(x.shift ?? ""))
  );
  const chargeSeen = scenario.charges.map((c) =>
    firstSeen(c.start, c.end, (x) => x.chargingState === "Charging")
  );
  const delays = driveSeen.map((t, i) => t === undefined ? Infinity : t - scenario.drives[i].start);
  const worst = Math.max(...delays);
  return {
    billable_requests: billable,
    billable_requests_without_summary: billable - billing.summary,
    summary_requests: billing.summary,
    wake_calls: fake.car.wakeCalls,
    awake_minutes_caused: round(caused / 60, 1),
    awake_seconds_caused: caused,
    usd_per_month: round(usdDay * 30, 2),
    usd_per_month_after_credit: round(Math.max(0, usdDay * 30 - FLEET_MONTHLY_CREDIT_USD), 2),
    usd_per_month_without_summary: round((usdDay - billing.summary * FLEET_PRICES.data) * 30, 2),
    data_age_driving_p95_s: p95(ages(scenario.drives)),
    data_age_charging_p95_s: p95(ages(scenario.charges)),
    drives_detected: driveSeen.filter((t) => t !== undefined).length,
    charges_detected: chargeSeen.filter((t) => t !== undefined).length,
    drive_start_detection_s: Number.isFinite(worst) ? round(worst, 1) : null,
    wall_ms: Math.round(wallMs),
  };
}

const ROWS: readonly [keyof StrategyResult, string][] = [
  ["billable_requests", "billable requests (summary billed)"],
  ["billable_requests_without_summary", "billable requests (summary free)"],
  ["wake_calls", "wake_up calls"],
  ["awake_minutes_caused", "awake minutes caused"],
  ["usd_per_month", "USD/month (before $10 credit)"],
  ["usd_per_month_after_credit", "USD/month (after credit)"],
  ["usd_per_month_without_summary", "USD/month (summary free)"],
  ["data_age_driving_p95_s", "data age driving p95 (s)"],
  ["data_age_charging_p95_s", "data age charging p95 (s)"],
  ["drives_detected", "drives detected (of 2)"],
  ["charges_detected", "charges detected (of 1)"],
  ["drive_start_detection_s", "drive start detection, worst (s)"],
];

/** A Markdown table: one column per strategy. */
export function table(
  results: Record<string, StrategyResult>,
  strategies: readonly Strategy[],
  rows: readonly [keyof StrategyResult, string][] = ROWS,
): string {
  const shown = strategies.filter((s) => results[s.name]);
  const fmt = (v: unknown) => v === null ? "missed" : String(v);
  return [
    `| metric | ${shown.map((s) => s.label).join(" | ")} |`,
    `|---|${shown.map(() => "---:").join("|")}|`,
    ...rows.map(([key, label]) =>
      `| ${label} | ${shown.map((s) => fmt(results[s.name][key])).join(" | ")} |`
    ),
  ].join("\n");
}

/** The README's trade-off table: what a faster driving interval costs. */
export const TRADEOFF_ROWS: readonly [keyof StrategyResult, string][] = [
  ["billable_requests", "billable requests/day"],
  ["usd_per_month", "USD/month (before credit)"],
  ["drive_start_detection_s", "drive start detection, worst (s)"],
  ["data_age_driving_p95_s", "data age driving p95 (s)"],
  ["data_age_charging_p95_s", "data age charging p95 (s)"],
  ["awake_minutes_caused", "awake minutes caused"],
];
