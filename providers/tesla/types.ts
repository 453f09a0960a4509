/** Tesla vendor JSON, validated field by field (see core/parse.ts). Units are Tesla's. */
import { z } from "zod";
import { optBool, optNum, optStr } from "../../core/parse.ts";

/** Every answer is wrapped in `{response, error?, error_description?}`. */
export const Envelope = z.object({
  response: z.unknown(),
  error: z.string().nullish(),
  error_description: z.string().nullish(),
});

export const VehicleListItem = z.object({
  id_s: z.string().optional(),
  id: z.number().optional(),
  vin: z.string(),
  display_name: z.string().nullish(),
  state: z.string().nullish(),
  in_service: z.boolean().nullish(),
});
export type VehicleListItem = z.infer<typeof VehicleListItem>;

export const Summary = z.object({ state: z.string(), in_service: z.boolean().nullish() });

/** Top level of `vehicle_data.response` besides the sections. */
export const TopFields = {
  vin: z.string(),
  state: z.string(),
  display_name: optStr,
};

/**
 * Every field below may be absent (older firmware, cached data, a section left out): absence
 * is no error, only a present value that fails validation is (core/parse.ts parseFields).
 */
export const ChargeStateFields = {
  battery_level: optNum,
  usable_battery_level: optNum,
  battery_range: optNum,
  est_battery_range: optNum,
  ideal_battery_range: optNum,
  charging_state: optStr,
  charge_port_door_open: optBool,
  charger_power: optNum,
  charger_voltage: optNum,
  charger_actual_current: optNum,
  charger_pilot_current: optNum,
  charger_phases: optNum,
  fast_charger_present: optBool,
  charge_current_request: optNum,
  charge_current_request_max: optNum,
  charge_energy_added: optNum,
  charge_miles_added_rated: optNum,
  charge_miles_added_ideal: optNum,
  charge_limit_soc: optNum,
  charge_limit_soc_min: optNum,
  charge_limit_soc_max: optNum,
  charge_limit_soc_std: optNum,
  time_to_full_charge: optNum,
  max_range_charge_counter: optNum,
  scheduled_charging_start_time: optNum,
  scheduled_departure_time: optNum,
  module_temp_min: optNum,
  module_temp_max: optNum,
  energy_remaining: optNum,
  timestamp: optNum,
};

export const DriveStateFields = {
  speed: optNum,
  power: optNum,
  shift_state: optStr,
  timestamp: optNum,
};

/** Only present when `location_data` was requested (firmware 2023.38+). */
export const LocationFields = {
  latitude: optNum,
  longitude: optNum,
  heading: optNum,
};

export const ClimateStateFields = {
  inside_temp: optNum,
  outside_temp: optNum,
  is_climate_on: optBool,
  timestamp: optNum,
};

export const VehicleStateFields = {
  odometer: optNum,
  car_version: optStr,
  locked: optBool,
  sentry_mode: optBool,
  is_user_present: optBool,
  df: optNum,
  dr: optNum,
  pf: optNum,
  pr: optNum,
  ft: optNum,
  rt: optNum,
  fd_window: optNum,
  fp_window: optNum,
  rd_window: optNum,
  rp_window: optNum,
  tpms_pressure_fl: optNum,
  tpms_pressure_fr: optNum,
  tpms_pressure_rl: optNum,
  tpms_pressure_rr: optNum,
  tpms_soft_warning_fl: optBool,
  tpms_soft_warning_fr: optBool,
  tpms_soft_warning_rl: optBool,
  tpms_soft_warning_rr: optBool,
  tpms_hard_warning_fl: optBool,
  tpms_hard_warning_fr: optBool,
  tpms_hard_warning_rl: optBool,
  tpms_hard_warning_rr: optBool,
  vehicle_name: optStr,
  timestamp: optNum,
};

export const VehicleConfigFields = {
  car_type: optStr,
  trim_badging: optStr,
  exterior_color: optStr,
  /** Right-hand drive: the driver's doors and windows (`df`, `fd_window`…) are on the right. */
  rhd: optBool,
};

/** Sections requested from `vehicle_data`; `location_data` is added only when enabled. */
export const DATA_ENDPOINTS = [
  "charge_state",
  "climate_state",
  "drive_state",
  "vehicle_state",
  "vehicle_config",
] as const;

/** `GET /api/1/users/region` (Fleet API): the account's regional host. */
export const UsersRegion = z.object({
  response: z.object({ region: z.string(), fleet_api_base_url: z.string() }),
});

/** Provider extras in the token file. */
export const TeslaTokenExtra = z.object({
  api: z.enum(["owner", "fleet"]),
  /** Fleet: the account's region and regional host, from `/api/1/users/region`. */
  region: z.string().optional(),
  fleet_api_base_url: z.string().optional(),
  /** Owner: the SSO that issued the tokens, when Tesla sent the user to another region's. */
  auth_host: z.string().optional(),
});
export type TeslaTokenExtra = z.infer<typeof TeslaTokenExtra>;
