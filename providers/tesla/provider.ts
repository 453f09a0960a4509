/** Tesla vendor JSON → Snapshot. Every unit conversion for Tesla happens here, once. */
import { VendorError } from "../../core/errors.ts";
import { newestSampleTime, parseFields, type ParseReport, reportField } from "../../core/parse.ts";
import type {
  Labels,
  Sample,
  Snapshot,
  StateSample,
  VehicleRef,
  VehicleState,
} from "../../core/snapshot.ts";
import * as u from "../../core/units.ts";
import type { Provider, ProviderContext, StateCheck } from "../../core/source.ts";
import { PROVIDER, TeslaApi, type TeslaBaseUrl } from "./api.ts";
import {
  ChargeStateFields,
  ClimateStateFields,
  DATA_ENDPOINTS,
  DriveStateFields,
  LocationFields,
  Summary,
  TopFields,
  VehicleConfigFields,
  VehicleListItem,
  VehicleStateFields,
} from "./types.ts";

/** `base` (Fleet region, see session.ts) replaces the fixed `ctx.baseUrl` when given. */
export function createTeslaProvider(ctx: ProviderContext, base?: TeslaBaseUrl): Provider {
  const api = new TeslaApi(ctx, base);
  const report: ParseReport = { provider: PROVIDER, readings: ctx.readings, log: ctx.log };
  return {
    id: PROVIDER,
    async listVehicles() {
      const products = await api.products();
      if (!Array.isArray(products)) {
        reportField(report, "products.response", "expected a list");
        throw new VendorError("malformed", "products: response is not a list");
      }
      const vehicles: VehicleRef[] = [];
      for (const item of products) {
        if (item === null || typeof item !== "object" || !("vin" in item)) continue; // energy site
        const parsed = VehicleListItem.safeParse(item);
        if (!parsed.success) {
          reportField(report, "products.vehicle", parsed.error.issues[0]?.message ?? "invalid");
          continue;
        }
        const v = parsed.data;
        // `id` can exceed 2^53; the string form is exact.
        const id = v.id_s ?? (v.id !== undefined ? String(v.id) : v.vin);
        vehicles.push({ provider: PROVIDER, id, vin: v.vin, name: v.display_name ?? undefined });
      }
      return vehicles;
    },
    async checkState(vehicle): Promise<StateCheck> {
      const body = Summary.safeParse(await api.summary(vehicle.id));
      if (!body.success) {
        reportField(report, "summary.state", "missing or not a string");
        throw new VendorError("malformed", "summary: no state");
      }
      return { state: vehicleState(body.data.state) };
    },
    async fetch(vehicle) {
      const endpoints = ctx.location ? [...DATA_ENDPOINTS, "location_data"] : [...DATA_ENDPOINTS];
      let body: unknown;
      try {
        body = await api.vehicleData(vehicle.id, endpoints);
      } catch (err) {
        if (err instanceof VendorError && err.kind === "asleep") return undefined;
        throw err;
      }
      return mapVehicleData(vehicle, body, {
        report,
        location: ctx.location,
        now: ctx.clock.now() / 1000,
      });
    },
    async wake(vehicle) {
      await api.wakeUp(vehicle.id);
    },
  };
}

export function vehicleState(state: string): VehicleState {
  return state === "online" || state === "asleep" || state === "offline" ? state : "unknown";
}

const CHARGING: Record<string, string> = {
  Disconnected: "disconnected",
  Starting: "starting",
  Charging: "charging",
  Stopped: "stopped",
  Complete: "complete",
  NoPower: "no_power",
};
const SHIFT: Record<string, string> = { P: "park", D: "drive", N: "neutral", R: "reverse" };
const lookup = (table: Record<string, string>, key: string) =>
  Object.hasOwn(table, key) ? table[key] : undefined;
const WHEELS = { fl: "front_left", fr: "front_right", rl: "rear_left", rr: "rear_right" } as const;

export interface MapOptions {
  readonly report: ParseReport;
  readonly location: boolean;
  /**
   * When the body was read (Unix s): vendor times well after it are refused, and it is the
   * sample time when the body carries no believable timestamp.
   */
  readonly now: number;
}

/** Maps a `vehicle_data` response to a snapshot; bad fields are dropped and counted. */
export function mapVehicleData(vehicle: VehicleRef, body: unknown, opts: MapOptions): Snapshot {
  const { report } = opts;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    reportField(report, "vehicle_data.response", "expected an object");
    throw new VendorError("malformed", "vehicle_data: response is not an object");
  }
  const raw = body as Record<string, unknown>;
  const top = parseFields(report, "vehicle_data", raw, TopFields);
  // A section left out (older firmware, cached data) is no error: its metrics are absent.
  const cs = parseFields(report, "charge_state", raw.charge_state, ChargeStateFields);
  const ds = parseFields(report, "drive_state", raw.drive_state, DriveStateFields);
  const cl = parseFields(report, "climate_state", raw.climate_state, ClimateStateFields);
  const vs = parseFields(report, "vehicle_state", raw.vehicle_state, VehicleStateFields);
  const vc = parseFields(report, "vehicle_config", raw.vehicle_config, VehicleConfigFields);
  const loc = opts.location
    ? parseFields(report, "drive_state", raw.drive_state, LocationFields)
    : {};

  const samples: Sample[] = [];
  const add = (metric: string, value: number | null | undefined, labels?: Labels) => {
    if (value === null || value === undefined) return;
    // A finite vendor number can overflow in a unit conversion (1e308 miles → meters).
    if (!Number.isFinite(value)) return reportField(report, metric, "not finite in base units");
    samples.push(labels ? { metric, value, labels } : { metric, value });
  };
  const conv = <T>(v: T | null | undefined, f: (x: T) => number) =>
    v === null || v === undefined ? undefined : f(v);
  const flag = (v: boolean | number | null | undefined) =>
    v === null || v === undefined
      ? undefined
      : (typeof v === "number" ? (v !== 0 ? 1 : 0) : v ? 1 : 0);

  // Battery and range: percent → ratio, miles → meters.
  add("ev.battery.level", conv(cs.battery_level, u.percentToRatio));
  add("ev.battery.usable_level", conv(cs.usable_battery_level, u.percentToRatio));
  add("ev.battery.range", conv(cs.battery_range, u.milesToMeters), { estimate: "rated" });
  add("ev.battery.range", conv(cs.est_battery_range, u.milesToMeters), { estimate: "estimated" });
  add("ev.battery.range", conv(cs.ideal_battery_range, u.milesToMeters), { estimate: "ideal" });
  add("ev.battery.module.temperature", cs.module_temp_min, { bound: "min" });
  add("ev.battery.module.temperature", cs.module_temp_max, { bound: "max" });
  add("ev.battery.energy_remaining", conv(cs.energy_remaining, u.kwhToJoules));
  add("ev.odometer", conv(vs.odometer, u.milesToMeters));

  // Charging: kW → W, kWh → J, hours → s.
  const states: StateSample[] = [];
  if (cs.charging_state !== undefined && cs.charging_state !== null) {
    // Own keys only: "constructor" or "__proto__" from a vendor must not match Object's.
    const state = lookup(CHARGING, cs.charging_state);
    if (!state) reportField(report, "charge_state.charging_state", "unknown value");
    states.push({ metric: "ev.charging.state", state: state ?? "unknown" });
    add("ev.charging.plugged_in", cs.charging_state === "Disconnected" ? 0 : 1);
    // A fast charger is DC; any other charge is AC (TeslaMate reads null phases the same way).
    const current = cs.charging_state === "Disconnected"
      ? "none"
      : cs.fast_charger_present
      ? "dc"
      : state === "charging" || state === "starting"
      ? "ac"
      : undefined;
    if (current) states.push({ metric: "ev.charging.type", state: current });
  }
  add("ev.charging.port_open", flag(cs.charge_port_door_open));
  add("ev.charging.power", conv(cs.charger_power, u.kwToWatts));
  add("ev.charging.voltage", cs.charger_voltage);
  add("ev.charging.current", cs.charger_actual_current);
  add("ev.charging.pilot_current", cs.charger_pilot_current);
  add("ev.charging.requested_current", cs.charge_current_request, { bound: "request" });
  add("ev.charging.requested_current", cs.charge_current_request_max, { bound: "max" });
  add("ev.charging.phases", cs.charger_phases);
  add("ev.charging.energy_added", conv(cs.charge_energy_added, u.kwhToJoules));
  add("ev.charging.range_added", conv(cs.charge_miles_added_rated, u.milesToMeters), {
    estimate: "rated",
  });
  add("ev.charging.range_added", conv(cs.charge_miles_added_ideal, u.milesToMeters), {
    estimate: "ideal",
  });
  add("ev.charging.limit", conv(cs.charge_limit_soc, u.percentToRatio));
  add("ev.charging.limit_bound", conv(cs.charge_limit_soc_min, u.percentToRatio), { bound: "min" });
  add("ev.charging.limit_bound", conv(cs.charge_limit_soc_max, u.percentToRatio), { bound: "max" });
  add("ev.charging.limit_bound", conv(cs.charge_limit_soc_std, u.percentToRatio), {
    bound: "standard",
  });
  add("ev.charging.time_to_full", conv(cs.time_to_full_charge, u.hoursToSeconds));
  add("ev.charging.max_range_charges", cs.max_range_charge_counter);
  add("ev.charging.scheduled_start.timestamp", cs.scheduled_charging_start_time);
  add("ev.charging.scheduled_departure.timestamp", cs.scheduled_departure_time);

  // Driving: mph → m/s (null speed means parked), kW → W.
  if ("speed" in ds) add("ev.drive.speed", conv(ds.speed ?? 0, u.mphToMetersPerSecond));
  add("ev.drive.power", conv(ds.power, u.kwToWatts));
  if ("shift_state" in ds) {
    // null means parked (or asleep), as TeslaMate reads it.
    const shift = ds.shift_state === null || ds.shift_state === undefined
      ? "park"
      : lookup(SHIFT, ds.shift_state);
    if (!shift) reportField(report, "drive_state.shift_state", "unknown value");
    states.push({ metric: "ev.drive.shift_state", state: shift ?? "unknown" });
  }
  add("ev.location.latitude", loc.latitude);
  add("ev.location.longitude", loc.longitude);
  add("ev.location.heading", loc.heading);

  // Climate (°C already).
  add("ev.climate.inside.temperature", cl.inside_temp);
  add("ev.climate.outside.temperature", cl.outside_temp);
  add("ev.climate.on", flag(cl.is_climate_on));

  // Tires: bar (whatever the GUI unit says) → Pa. 0.0 is "no reading" (cached or asleep
  // data), not a flat tyre.
  for (const [suffix, wheel] of Object.entries(WHEELS)) {
    const key = suffix as keyof typeof WHEELS;
    const pressure = vs[`tpms_pressure_${key}`];
    add("ev.tire.pressure", pressure === 0 ? undefined : conv(pressure, u.barToPascals), { wheel });
    add("ev.tire.warning", flag(vs[`tpms_soft_warning_${key}`]), { wheel, severity: "soft" });
    add("ev.tire.warning", flag(vs[`tpms_hard_warning_${key}`]), { wheel, severity: "hard" });
  }

  // Body: 0 = closed, anything else open. Tesla names doors and windows by seat (driver,
  // passenger); the labels name the physical side, which right-hand drive swaps.
  const [driver, passenger] = vc.rhd ? ["right", "left"] : ["left", "right"];
  add("ev.door.open", flag(vs.df), { door: `front_${driver}` });
  add("ev.door.open", flag(vs.pf), { door: `front_${passenger}` });
  add("ev.door.open", flag(vs.dr), { door: `rear_${driver}` });
  add("ev.door.open", flag(vs.pr), { door: `rear_${passenger}` });
  add("ev.window.open", flag(vs.fd_window), { window: `front_${driver}` });
  add("ev.window.open", flag(vs.fp_window), { window: `front_${passenger}` });
  add("ev.window.open", flag(vs.rd_window), { window: `rear_${driver}` });
  add("ev.window.open", flag(vs.rp_window), { window: `rear_${passenger}` });
  add("ev.trunk.open", flag(vs.ft), { trunk: "front" });
  add("ev.trunk.open", flag(vs.rt), { trunk: "rear" });
  add("ev.locked", flag(vs.locked));
  add("ev.sentry_mode", flag(vs.sentry_mode));
  add("ev.user_present", flag(vs.is_user_present));

  // The vehicle's own time: the newest believable section timestamp (epoch ms → s).
  const stamps = ([
    ["charge_state.timestamp", cs.timestamp],
    ["drive_state.timestamp", ds.timestamp],
    ["climate_state.timestamp", cl.timestamp],
    ["vehicle_state.timestamp", vs.timestamp],
  ] as const).flatMap(([field, t]) =>
    typeof t === "number" ? [[field, u.epochMsToSeconds(t)] as const] : []
  );
  if (stamps.length === 0) reportField(report, "vehicle_data.timestamp", "no section timestamp");
  const sampledAt = newestSampleTime(report, stamps, opts.now);

  const info: Labels = {};
  const name = vs.vehicle_name ?? top.display_name ?? vehicle.name;
  if (name) info.name = name;
  if (vc.car_type) info.model = vc.car_type;
  if (vc.trim_badging) info.trim = vc.trim_badging;
  if (vs.car_version) info.software_version = vs.car_version.split(" ")[0];

  return {
    vehicle,
    sampledAt,
    readAt: opts.now,
    state: top.state ? vehicleState(top.state) : "online",
    samples,
    states,
    info,
  };
}
