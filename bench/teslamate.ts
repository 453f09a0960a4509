/**
 * Strategy (b): TeslaMate's polling as its code and FAQ describe it, without the
 * streaming API (a Fleet-only setup has none, and the fake has no stream). A model of
 * teslamate-org/teslamate `lib/teslamate/vehicles/vehicle.ex`, not a port:
 * - fetch: where the car should be reachable (online, driving, charging) `vehicle_data`
 *   directly, falling back to the summary on a 408; elsewhere (start, asleep, offline,
 *   suspended) the summary first and `vehicle_data` only if it says online.
 * - asleep/offline: the wait starts at the default interval (15 s) and doubles to the asleep
 *   cap (30 s).
 * - driving every 2.5 s; charging every round(250 / kW) s within [5, 20] (5 s without power).
 * - online and idle (`try_to_suspend`): user present 15 s, sentry mode or preconditioning
 *   30 s, otherwise 15 s, until the car has been idle `suspend_after_idle_min` (15 min) since
 *   it was last in use; then "suspended" for `suspend_min` (21 min), one fetch, again.
 *   (POLLING_ONLINE_INTERVAL is not modelled: where TeslaMate uses it is not documented.)
 * - errors: 10 s driving, 15 s charging, 20 s online, else 30 s; 429 waits Retry-After.
 */
import { VendorError } from "../core/errors.ts";
import { TeslaApi } from "../providers/tesla/api.ts";
import type { Harness } from "./harness.ts";

const DRIVING_S = 2.5;
const DEFAULT_S = 15;
const ASLEEP_CAP_S = 30;
const SUSPEND_AFTER_IDLE_S = 15 * 60;
const SUSPEND_S = 21 * 60;
/** TeslaMate's `endpoints=` (`lib/tesla_api/vehicle.ex`). */
const ENDPOINTS = [
  "charge_state",
  "climate_state",
  "closures_state",
  "drive_state",
  "gui_settings",
  "location_data",
  "vehicle_config",
  "vehicle_state",
  "vehicle_data_combo",
];

type State = "start" | "asleep" | "offline" | "online" | "driving" | "charging" | "suspended";
type Json = Record<string, Record<string, unknown> | undefined>;

/** TeslaMate's `determince_interval`. */
export function chargingInterval(kw: unknown): number {
  const n = typeof kw === "number" ? kw : 0;
  return n <= 0 ? 5 : Math.max(5, Math.min(20, Math.round(250 / n)));
}

export async function runTeslaMate(h: Harness): Promise<void> {
  const api = new TeslaApi(h.ctx);
  const products = await api.products() as { id_s: string }[];
  const id = products[0].id_s;
  const now = () => h.clock.now() / 1000;
  let state: State = "start";
  let asleepWait = DEFAULT_S;
  let lastUsed = now();

  /** One fetch: the vehicle when online, else its summary state. */
  const fetchOnce = async (): Promise<Json | string> => {
    const reachable = state === "online" || state === "driving" || state === "charging";
    if (reachable) {
      try {
        return await api.vehicleData(id, ENDPOINTS) as Json;
      } catch (err) {
        if (!(err instanceof VendorError && err.kind === "asleep")) throw err;
        return String((await api.summary(id) as { state: string }).state);
      }
    }
    const summary = String((await api.summary(id) as { state: string }).state);
    if (summary !== "online") return summary;
    return await api.vehicleData(id, ENDPOINTS) as Json;
  };

  /** `try_to_suspend`: the wait before the next fetch while parked and awake. */
  const tryToSuspend = (v: Json): number => {
    const vs = v.vehicle_state ?? {};
    const cl = v.climate_state ?? {};
    const suspend = now() - lastUsed >= SUSPEND_AFTER_IDLE_S;
    if (vs.is_user_present === true) {
      lastUsed = now();
      return 15;
    }
    if (cl.is_preconditioning === true || vs.sentry_mode === true) {
      lastUsed = now();
      return 30;
    }
    const open = ["df", "pf", "dr", "pr", "ft", "rt"].some((k) => Number(vs[k] ?? 0) > 0);
    if (open) {
      lastUsed = now();
      return 15;
    }
    if (suspend) {
      state = "suspended";
      return SUSPEND_S;
    }
    return DEFAULT_S;
  };

  /** The `{:update, …}` handlers: next wait in seconds. */
  const update = (result: Json | string): number => {
    if (typeof result === "string") {
      const sleepy = result === "offline" ? "offline" : "asleep";
      if (state === "asleep" || state === "offline") {
        if (state !== sleepy) {
          state = "start";
          return DEFAULT_S;
        }
        const wait = asleepWait;
        asleepWait = Math.min(asleepWait * 2, ASLEEP_CAP_S);
        return wait;
      }
      if (state === "start" || state === "suspended") {
        state = sleepy;
        asleepWait = Math.min(DEFAULT_S * 2, ASLEEP_CAP_S);
        return DEFAULT_S;
      }
      state = "start"; // online, driving or charging saw it asleep
      return DEFAULT_S;
    }
    const ds = result.drive_state ?? {};
    const cs = result.charge_state ?? {};
    const driving = ["D", "N", "R"].includes(String(ds.shift_state));
    const charging = cs.charging_state === "Starting" || cs.charging_state === "Charging";
    if (state === "asleep" || state === "offline" || state === "start") {
      lastUsed = now();
      state = "online";
    }
    if (driving) {
      state = "driving";
      lastUsed = now();
      return DRIVING_S;
    }
    if (charging) {
      state = "charging";
      lastUsed = now();
      return chargingInterval(cs.charger_power);
    }
    if (state === "driving" || state === "charging") state = "online"; // ended: :start → :online
    return tryToSuspend(result);
  };

  const errorWait = () =>
    state === "driving" ? 10 : state === "charging" ? 15 : state === "online" ? 20 : 30;

  while (!h.over.aborted) {
    let wait: number;
    try {
      wait = update(await fetchOnce());
    } catch (err) {
      if (h.over.aborted) return;
      wait = err instanceof VendorError && err.kind === "rate_limited"
        ? err.retryAfterS ?? 300
        : errorWait();
    }
    await h.clock.sleep(wait * 1000);
  }
}
