/**
 * How the scheduler paces a Volvo (its endpoints carry their pace in api.ts). Volvo's cloud
 * answers whether the car sleeps or not and reading never wakes it, so there is no sleep to
 * protect: the limits are the key's quota and how fast the values change. Energy values move
 * in five-minute steps while a car drives or charges, trip values (odometer, location) once
 * at the end of a trip.
 */
import type { SchedulerConfig } from "../../core/scheduler_config.ts";

export const VOLVO_SCHEDULER: Partial<SchedulerConfig> = {
  // Engine running: every 2 min (Home Assistant reads engine status and energy every 2 min).
  driving_s: 120,
  // …and a budget may stretch that to 10 min: no read keeps a Volvo awake.
  driving_max_s: 600,
  // Charging: every 2 min, whatever the power, so the state of charge is never more than a
  // couple of minutes behind the cloud's.
  charging_min_s: 120,
  charging_max_s: 120,
  // …and right after its estimated end, to show "done": a read never keeps a Volvo awake.
  read_charge_complete: true,
  // Parked: a read every 15 min (checks in between cost nothing: Volvo needs no check call).
  suspend_s: 900,
  idle_before_suspend_s: 0,
  // Doors, windows and engine status while plugged in: every 10 min.
  use_while_charging_s: 600,
  // Statistics, diagnostics, tyres, warnings, engine and brake fluid: hourly.
  slow_endpoints_s: 3600,
};
