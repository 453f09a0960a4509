/**
 * A finished (or, while it runs, an open) drive, charge or parked period: one flat record of
 * typed figures, the same in SQLite, in `deno task sessions`, and in GreptimeDB's table.
 * Figures in the units people read (km, kWh, km/h, %, °C); null when unknown.
 */

export type SessionKind = "drive" | "charge" | "parked";

/** How an energy figure was obtained, so a reader knows how far to trust it. */
export type EnergyMethod =
  /** The vendor's energy-remaining (drives, parked) or its per-plug-in counter (charges). */
  | "vendor"
  /** State of charge change × usable capacity (configured, estimated, or the vendor's). */
  | "soc";

export interface Session {
  /** `<kind>-<provider>-<vin>-<start ms>`: stable, so a re-sent session replaces itself. */
  readonly id: string;
  readonly kind: SessionKind;
  readonly provider: string;
  readonly vin: string;
  /** Unix milliseconds. */
  readonly start_ms: number;
  readonly end_ms: number;
  readonly duration_s: number;
  readonly soc_start_pct: number | null;
  readonly soc_end_pct: number | null;
  readonly range_start_km: number | null;
  readonly range_end_km: number | null;
  readonly odometer_start_km: number | null;
  readonly odometer_end_km: number | null;
  readonly distance_km: number | null;
  /** Drives: energy taken from the pack (charges during a stop added back). */
  readonly energy_used_kwh: number | null;
  /** Charges: energy into the pack. */
  readonly energy_added_kwh: number | null;
  /** Charges: energy from the charger (its power integrated over time). */
  readonly energy_drawn_kwh: number | null;
  /** Parked: energy lost standing (vampire drain). */
  readonly energy_lost_kwh: number | null;
  readonly energy_method: EnergyMethod | null;
  /** Usable capacity the `soc` method used, kWh. */
  readonly capacity_kwh: number | null;
  readonly efficiency_wh_per_km: number | null;
  readonly speed_avg_kmh: number | null;
  /** Highest speed among the readings (a poller samples, so the true top may be higher). */
  readonly speed_max_kmh: number | null;
  readonly outside_temp_avg_c: number | null;
  readonly power_max_kw: number | null;
  readonly power_avg_kw: number | null;
  readonly charger_type: "ac" | "dc" | null;
  /** Charges: energy added ÷ state of charge added, on charges long enough to tell. */
  readonly capacity_estimate_kwh: number | null;
  /** Parked: state of charge lost, percentage points. */
  readonly soc_lost_pct: number | null;
  readonly range_lost_km: number | null;
  /** Parked: mean power of the drain, watts. */
  readonly drain_avg_w: number | null;
  readonly cost: number | null;
  readonly currency: string | null;
  /** Configured place names (geofences), only with location enabled. */
  readonly start_place: string | null;
  readonly end_place: string | null;
  /** Coordinates, only with location enabled. */
  readonly start_latitude: number | null;
  readonly start_longitude: number | null;
  readonly end_latitude: number | null;
  readonly end_longitude: number | null;
  /** Readings that fed the session. */
  readonly readings: number;
}

/** Every column in table order (SQLite, CSV, GreptimeDB). */
export const SESSION_COLUMNS = [
  "id",
  "kind",
  "provider",
  "vin",
  "start_ms",
  "end_ms",
  "duration_s",
  "soc_start_pct",
  "soc_end_pct",
  "range_start_km",
  "range_end_km",
  "odometer_start_km",
  "odometer_end_km",
  "distance_km",
  "energy_used_kwh",
  "energy_added_kwh",
  "energy_drawn_kwh",
  "energy_lost_kwh",
  "energy_method",
  "capacity_kwh",
  "efficiency_wh_per_km",
  "speed_avg_kmh",
  "speed_max_kmh",
  "outside_temp_avg_c",
  "power_max_kw",
  "power_avg_kw",
  "charger_type",
  "capacity_estimate_kwh",
  "soc_lost_pct",
  "range_lost_km",
  "drain_avg_w",
  "cost",
  "currency",
  "start_place",
  "end_place",
  "start_latitude",
  "start_longitude",
  "end_latitude",
  "end_longitude",
  "readings",
] as const satisfies readonly (keyof Session)[];

/** Columns holding text; the others are numbers. */
export const TEXT_COLUMNS: ReadonlySet<keyof Session> = new Set([
  "id",
  "kind",
  "provider",
  "vin",
  "energy_method",
  "charger_type",
  "currency",
  "start_place",
  "end_place",
]);
