/**
 * Strategy (c): ev-observer's own scheduler and Tesla provider, with the given config and, when
 * given, the account's budget.
 */
import { Budget, type BudgetConfig } from "../core/budget.ts";
import { runScheduler } from "../core/scheduler.ts";
import type { SchedulerConfig } from "../core/scheduler_config.ts";
import { createTeslaProvider } from "../providers/tesla/provider.ts";
import type { Harness } from "./harness.ts";

export async function runEvObserver(
  h: Harness,
  config: Partial<SchedulerConfig> = {},
  budgetConfig?: BudgetConfig,
): Promise<void> {
  const provider = createTeslaProvider(h.ctx);
  const vehicles = await provider.listVehicles();
  const budget = budgetConfig ? new Budget(budgetConfig, h.meter, vehicles.length) : undefined;
  const controller = new AbortController();
  h.over.addEventListener("abort", () => controller.abort(), { once: true });
  await runScheduler({
    targets: vehicles.map((vehicle) => ({ provider, vehicle, account: "bench", budget })),
    readings: h.readings,
    clock: h.clock,
    log: h.log,
    config,
    signal: controller.signal,
    random: () => 0.5,
    onPoll: () => {
      if (h.clock.now() >= h.endMs) controller.abort();
    },
  });
}
