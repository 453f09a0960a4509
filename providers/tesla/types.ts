/** Tesla vendor JSON, validated field by field (see core/parse.ts). Units are Tesla's. */
import { z } from "zod";
import { bool, num, optBool, optNum, optStr, str } from "../../core/parse.ts";

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

export const ChargeStateFields = {
  battery_level: num,
  usable_battery_level: num,
  battery_range: num,
  est_battery_range: num,
  ideal_battery_range: num,
  charging_state: str,
  charge_port_door_open: bool,
  charger_power: num,
  charger_voltage: num,
  charger_actual_current: num,
  charger_pilot_current: num,
  charger_phases: num,
  fast_charger_present: optBool,
  charge_current_request: num,
  charge_current_request_max: num,
  charge_energy_added: num,
  charge_miles_added_rated: num,
  charge_miles_added_ideal: num,
  charge_limit_soc: num,
  charge_limit_soc_min: num,
  charge_limit_soc_max: num,
  charge_limit_soc_std: num,
  time_to_full_charge: num,
  max_range_charge_counter: optNum,
  scheduled_charging_start_time: optNum,
  scheduled_departure_time: optNum,
  module_temp_min: optNum,
  module_temp_max: optNum,
  energy_remaining: optNum,
  timestamp: num,
};

export const DriveStateFields = {
  speed: num,
  power: num,
  shift_state: str,
  timestamp: num,
};

/** Only present when `location_data` was requested (firmware 2023.38+). */
export const LocationFields = {
  latitude: num,
  longitude: num,
  heading: num,
};

export const ClimateStateFields = {
  inside_temp: num,
  outside_temp: num,
  is_climate_on: bool,
  timestamp: optNum,
};

export const VehicleStateFields = {
  odometer: num,
  car_version: str,
  locked: bool,
  sentry_mode: optBool,
  is_user_present: optBool,
  df: num,
  dr: num,
  pf: num,
  pr: num,
  ft: num,
  rt: num,
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
