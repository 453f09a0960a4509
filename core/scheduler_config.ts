/**
 * The scheduler's settings: the config file's `polling` block, a vendor's own pace, and an
 * account's overrides are each a partial of this. Apart from the scheduler so the config and
 * the vendor contract can name it without importing the scheduler.
 */
export interface SchedulerConfig {
  readonly driving_s: number;
  /**
   * A budget stretches driving reads at most to this: the read that sees the car parked then
   * comes while the driver is still in it (a later one would restart its sleep timer).
   */
  readonly driving_max_s: number;
  readonly charging_kwh_per_poll: number;
  readonly charging_min_s: number;
  readonly charging_max_s: number;
  readonly online_s: number;
  readonly asleep_s: number;
  readonly suspended_s: number;
  readonly idle_before_suspend_s: number;
  readonly suspend_s: number;
  readonly confirm_online_s: number;
  readonly backoff_s: number;
  readonly max_backoff_s: number;
  /** Wake a car that has been asleep `wake_after_s` (costs a wake call each time). */
  readonly wake_up: boolean;
  readonly wake_after_s: number;
  /** Providers that read endpoint by endpoint: slow ones (diagnostics…) and static facts. */
  readonly slow_endpoints_s: number;
  readonly static_endpoints_s: number;
  /**
   * Read once more after the estimated end of charge to see "complete" (costs the car a few
   * seconds of its sleep: any read after a charge ends restarts its sleep timer). Off: the
   * last read lands just before the end.
   */
  readonly read_charge_complete: boolean;
  /** …and their "in use" ones (doors, engine) while charging: it cannot drive off plugged in. */
  readonly use_while_charging_s: number;
}

export const DEFAULT_SCHEDULER: SchedulerConfig = {
  driving_s: 30,
  driving_max_s: 60,
  charging_kwh_per_poll: 1,
  charging_min_s: 30,
  charging_max_s: 600,
  online_s: 30,
  asleep_s: 300,
  suspended_s: 180,
  idle_before_suspend_s: 0,
  suspend_s: 21 * 60,
  confirm_online_s: 240,
  backoff_s: 30,
  max_backoff_s: 1800,
  wake_up: false,
  wake_after_s: 12 * 3600,
  read_charge_complete: false,
  slow_endpoints_s: 3600,
  static_endpoints_s: 86400,
  use_while_charging_s: 600,
};
