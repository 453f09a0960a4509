/**
 * How the scheduler paces a BMW when its stream is down: 50 REST calls a day (45 after the
 * margin) are about one every half hour, so intervals start there and the budget stretches
 * them further; while the stream is up nothing is polled.
 */
import type { SchedulerConfig } from "../../core/scheduler_config.ts";

export const BMW_SCHEDULER: Partial<SchedulerConfig> = {
  // CarData values change when the car sends them (every few minutes while it drives or
  // charges); faster polling would only spend the day's calls sooner.
  driving_s: 900,
  charging_min_s: 900,
  charging_max_s: 1800,
  online_s: 1800,
  // BMW never reports a car asleep: this is how often a car left to the stream is looked at
  // (no call), so a dead stream hands the car back to REST within five minutes.
  asleep_s: 300,
  // A read never keeps a BMW awake: there is no sleep to protect.
  suspend_s: 1800,
  idle_before_suspend_s: 0,
};
