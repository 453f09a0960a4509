/**
 * Where each metric of the original Volvo exporter (xaxeu/volvo-vehicle-exporter 68cabb9,
 * exporter.py) went. Every entry names a catalog metric (with labels) or says why it is not
 * exported. A test keeps this honest.
 */
import type { STATISTICS } from "../types.ts";

export interface SeedMetric {
  /** The original Prometheus metric name. */
  readonly seed: string;
  /** Catalog metric (OTel name) and label selector, when exported. */
  readonly metric?: string;
  readonly labels?: Record<string, string>;
  /** Why not exported, when `metric` is absent. */
  readonly reason?: string;
  /** The original's defect this entry fixes, if any. */
  readonly fixes?: string;
}

const SIDES = ["front_left", "front_right", "rear_left", "rear_right"] as const;

/** `volvo_<light>_warning` names of the original, by the lamp label we use. */
const SEED_LIGHTS: Record<string, string> = {
  brake_center: "brake_center",
  brake_left: "brake_left",
  brake_right: "brake_right",
  fog_front: "fog_front",
  fog_rear: "fog_rear",
  pos_front_left: "position_front_left",
  pos_front_right: "position_front_right",
  pos_rear_left: "position_rear_left",
  pos_rear_right: "position_rear_right",
  high_left: "high_beam_left",
  high_right: "high_beam_right",
  low_left: "low_beam_left",
  low_right: "low_beam_right",
  day_left: "daytime_running_left",
  day_right: "daytime_running_right",
  turn_front_left: "turn_front_left",
  turn_front_right: "turn_front_right",
  turn_rear_left: "turn_rear_left",
  turn_rear_right: "turn_rear_right",
  plate_light: "registration_plate",
  side_mark: "side_marker",
  hazard: "hazard",
  reverse: "reverse",
};

/** Statistics keys → catalog metric and labels (the original made one metric per key). */
const STATS: Record<(typeof STATISTICS)[number], [string, Record<string, string>?]> = {
  averageFuelConsumption: ["ev.trip.average_fuel_consumption", { trip: "manual" }],
  averageFuelConsumptionAutomatic: ["ev.trip.average_fuel_consumption", { trip: "automatic" }],
  averageEnergyConsumption: ["ev.trip.average_energy_consumption", { trip: "manual" }],
  averageEnergyConsumptionAutomatic: ["ev.trip.average_energy_consumption", {
    trip: "automatic",
  }],
  averageEnergyConsumptionSinceCharge: ["ev.trip.average_energy_consumption", {
    trip: "since_charge",
  }],
  averageSpeed: ["ev.trip.average_speed", { trip: "manual" }],
  averageSpeedAutomatic: ["ev.trip.average_speed", { trip: "automatic" }],
  tripMeterManual: ["ev.trip.distance", { trip: "manual" }],
  tripMeterAutomatic: ["ev.trip.distance", { trip: "automatic" }],
  distanceToEmptyTank: ["ev.fuel.range"],
  distanceToEmptyBattery: ["ev.battery.range", { estimate: "trip_computer" }],
  tripMeter1: ["ev.trip.distance", { trip: "manual" }],
  tripMeter2: ["ev.trip.distance", { trip: "automatic" }],
  distanceToEmpty: ["ev.fuel.range"],
};

/** Energy v2 fields → catalog metric; the original named them `<key minus Status/Level>`. */
const ENERGY: Record<string, [string, Record<string, string>?]> = {
  batteryChargeLevel: ["ev.battery.level"],
  electricRange: ["ev.battery.range", { estimate: "estimated" }],
  chargerConnectionStatus: ["ev.charging.plug_state"],
  chargingStatus: ["ev.charging.state"],
  chargingType: ["ev.charging.type"],
  chargerPowerStatus: ["ev.charging.supply_state"],
  estimatedChargingTimeToTargetBatteryChargeLevel: ["ev.charging.time_to_full"],
  targetBatteryChargeLevel: ["ev.charging.limit"],
  chargingCurrentLimit: ["ev.charging.requested_current", { bound: "request" }],
  chargingPower: ["ev.charging.power"],
};

const STRINGS_AS_ZERO = "defect 2: enum strings became 0; now a state set";
const NEVER_SET = "defect 3: declared but never set";
const KEY_NAMED = "defect 13: metric names derived from API keys";

export const SEED_METRICS: readonly SeedMetric[] = [
  {
    seed: "volvo_battery_level_percent",
    metric: "ev.battery.level",
    fixes: "defect 1: it held the battery capacity in kWh; the capacity is " +
      "ev_battery_capacity_joules now",
  },
  { seed: "volvo_odometer_km", metric: "ev.odometer" },
  { seed: "volvo_range_km", metric: "ev.battery.range", labels: { estimate: "trip_computer" } },
  { seed: "volvo_charge_state", metric: "ev.charging.state", fixes: "CHARGING → 1, else 0" },
  { seed: "volvo_plug_state", metric: "ev.charging.plug_state" },
  { seed: "volvo_power_status", metric: "ev.charging.supply_state" },
  {
    seed: "volvo_charging_power",
    metric: "ev.charging.power",
    fixes: "an ERROR entry gave 0; now absent and counted",
  },
  { seed: "volvo_lock_state", metric: "ev.locked", fixes: NEVER_SET },
  { seed: "volvo_engine_status", metric: "ev.engine.running" },
  ...Object.entries(SEED_LIGHTS).map(([seed, light]) => ({
    seed: `volvo_${seed}_warning`,
    metric: "ev.light.warning",
    labels: { light },
    fixes: STRINGS_AS_ZERO,
  })),
  ...SIDES.map((wheel) => ({
    seed: `volvo_tyre_${wheel}`,
    metric: "ev.tire.pressure_state",
    labels: { wheel },
    fixes: "UNSPECIFIED and NO_WARNING were both 0; now a state set",
  })),
  { seed: "volvo_service_warning", metric: "ev.service.warning", fixes: STRINGS_AS_ZERO },
  {
    seed: "volvo_service_trigger",
    reason: "its values are undocumented; the service warning state set names the trigger " +
      "(distance, engine hours, maintenance)",
  },
  { seed: "volvo_engine_hours_service", metric: "ev.service.engine_time_remaining" },
  { seed: "volvo_distance_service", metric: "ev.service.distance_remaining" },
  {
    seed: "volvo_washer_fluid_warning",
    metric: "ev.fluid.warning",
    labels: { fluid: "washer" },
    fixes: STRINGS_AS_ZERO,
  },
  {
    seed: "volvo_time_service",
    metric: "ev.service.time_remaining",
    fixes: "a number in months or days by a unit label; now seconds",
  },
  ...SIDES.map((window) => ({
    seed: `volvo_window_${window}`,
    metric: "ev.window.open",
    labels: { window },
    fixes: NEVER_SET,
  })),
  {
    seed: "volvo_sunroof",
    metric: "ev.window.open",
    labels: { window: "sunroof" },
    fixes: NEVER_SET,
  },
  { seed: "volvo_location_latitude", metric: "ev.location.latitude" },
  { seed: "volvo_location_longitude", metric: "ev.location.longitude" },
  { seed: "volvo_location_altitude", metric: "ev.location.altitude" },
  // OpenWeatherMap at the car's position: now the vendor-neutral enrichment (enrich/weather.ts).
  { seed: "weather_temperature_celsius", metric: "ev.weather.temperature" },
  { seed: "weather_humidity_percent", metric: "ev.weather.humidity", fixes: "percent → ratio" },
  ...["feels_like_celsius", "temp_min_celsius", "temp_max_celsius"].map((w) => ({
    seed: `weather_${w}`,
    reason: "a model's derived value or the spread of stations in the area, not the air at the " +
      "car; ev_weather_wind_speed_meters_per_second is exported instead",
  })),
  {
    seed: "weather_pressure_hpa",
    reason: "air pressure says little about the car; not in the weather enrichment",
  },
  ...Object.entries(STATS).map(([key, [metric, labels]]) => ({
    seed: `volvo_stats_${key.toLowerCase()}_value`,
    metric,
    ...(labels ? { labels } : {}),
    fixes: KEY_NAMED,
  })),
  ...Object.entries(ENERGY).map(([key, [metric, labels]]) => ({
    seed: `volvo_energy_${key.replace(/Status|Level/g, "").toLowerCase()}_value`,
    metric,
    ...(labels ? { labels } : {}),
    fixes: KEY_NAMED,
  })),
  { seed: "http_requests_total", metric: "ev.api.requests" },
  {
    seed: "http_request_duration_seconds",
    metric: "ev.api.request.duration",
    fixes: "defect 4: declared but never observed; core/http.ts observes every request",
  },
];
