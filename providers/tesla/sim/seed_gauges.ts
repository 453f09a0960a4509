/**
 * Where each of the 37 gauges of the original GreptimeDB Tesla demo went. Every entry names a
 * catalog metric (with labels) or says why it is not exported. A test keeps this honest.
 */
export interface SeedGauge {
  /** The demo's GreptimeDB table name. */
  readonly seed: string;
  /** Catalog metric (OTel name) and label selector, when exported. */
  readonly metric?: string;
  readonly labels?: Record<string, string>;
  /** Why not exported, when `metric` is absent. */
  readonly reason?: string;
}

const TS = "an epoch timestamp exported as a value; it is the sample time instead " +
  "(`ev_last_sample_timestamp_seconds`)";

export const SEED_GAUGES: readonly SeedGauge[] = [
  { seed: "ChargeState_battery_level", metric: "ev.battery.level" },
  { seed: "ChargeState_charge_energy_added", metric: "ev.charging.energy_added" },
  {
    seed: "ChargeState_charge_miles_added_ideal",
    metric: "ev.charging.range_added",
    labels: { estimate: "ideal" },
  },
  {
    seed: "ChargeState_charge_miles_added_rated",
    metric: "ev.charging.range_added",
    labels: { estimate: "rated" },
  },
  { seed: "ChargeState_charger_voltage", metric: "ev.charging.voltage" },
  { seed: "ChargeState_charger_power", metric: "ev.charging.power" },
  {
    seed: "ChargeState_charge_rate",
    reason: "its unit follows the car's GUI setting (mi/h or km/h of range), so the number " +
      "alone is ambiguous; charging power and range added carry the same information",
  },
  { seed: "ChargeState_charger_actual_current", metric: "ev.charging.current" },
  { seed: "ChargeState_timestamp", reason: TS },
  {
    seed: "ChargeState_battery_range",
    metric: "ev.battery.range",
    labels: { estimate: "rated" },
  },
  {
    seed: "ChargeState_charge_amps",
    reason: "the user's charge-current setting; it equals charge_current_request, exported " +
      'as `ev_charging_requested_current_amperes{bound="request"}`',
  },
  {
    seed: "ChargeState_charge_current_request",
    metric: "ev.charging.requested_current",
    labels: { bound: "request" },
  },
  {
    seed: "ChargeState_charge_current_request_max",
    metric: "ev.charging.requested_current",
    labels: { bound: "max" },
  },
  { seed: "ChargeState_usable_battery_level", metric: "ev.battery.usable_level" },
  { seed: "ChargeState_charge_limit_soc", metric: "ev.charging.limit" },
  {
    seed: "ChargeState_charge_limit_soc_max",
    metric: "ev.charging.limit_bound",
    labels: { bound: "max" },
  },
  {
    seed: "ChargeState_charge_limit_soc_min",
    metric: "ev.charging.limit_bound",
    labels: { bound: "min" },
  },
  {
    seed: "ChargeState_charge_limit_soc_std",
    metric: "ev.charging.limit_bound",
    labels: { bound: "standard" },
  },
  { seed: "ChargeState_charger_phases", metric: "ev.charging.phases" },
  { seed: "ChargeState_charger_pilot_current", metric: "ev.charging.pilot_current" },
  {
    seed: "ChargeState_est_battery_range",
    metric: "ev.battery.range",
    labels: { estimate: "estimated" },
  },
  {
    seed: "ChargeState_ideal_battery_range",
    metric: "ev.battery.range",
    labels: { estimate: "ideal" },
  },
  { seed: "ChargeState_max_range_charge_counter", metric: "ev.charging.max_range_charges" },
  {
    seed: "ChargeState_minutes_to_full_charge",
    reason: "the same estimate as time_to_full_charge in coarser units; exported once as " +
      "`ev_charging_time_to_full_seconds`",
  },
  {
    seed: "ChargeState_scheduled_charging_start_time",
    metric: "ev.charging.scheduled_start.timestamp",
  },
  {
    seed: "ChargeState_scheduled_departure_time",
    metric: "ev.charging.scheduled_departure.timestamp",
  },
  { seed: "ChargeState_time_to_full_charge", metric: "ev.charging.time_to_full" },
  { seed: "DriveState_speed", metric: "ev.drive.speed" },
  { seed: "DriveState_gps_as_of", reason: TS },
  { seed: "DriveState_heading", metric: "ev.location.heading" },
  { seed: "DriveState_latitude", metric: "ev.location.latitude" },
  { seed: "DriveState_longitude", metric: "ev.location.longitude" },
  {
    seed: "DriveState_native_latitude",
    reason: "the same WGS84 position as latitude (native_type is wgs); exported once",
  },
  {
    seed: "DriveState_native_longitude",
    reason: "the same WGS84 position as longitude (native_type is wgs); exported once",
  },
  {
    seed: "DriveState_native_location_supported",
    reason: "a capability flag of the API, not a measurement of the car",
  },
  { seed: "DriveState_power", metric: "ev.drive.power" },
  { seed: "DriveState_timestamp", reason: TS },
];
