/**
 * THE metric catalog: every metric ev-observer exports is defined here, once.
 *
 * Both exports (OTLP and /metrics) are driven by these definitions. The Prometheus name is
 * derived with the OTLP→Prometheus translation GreptimeDB applies, so one PromQL query works
 * unchanged against Prometheus and against GreptimeDB's PromQL API.
 *
 * Metrics are named for what they measure, not for a vendor, so every vendor with the same
 * data fills the same series. CATALOG is grouped by theme; the exports list metrics in their
 * own fixed order (export/series.ts EXPORT_ORDER).
 */

export type MetricKind = "gauge" | "counter" | "stateset" | "info" | "histogram";

export interface MetricDef {
  /** OTel name, dotted. Snapshots and counters refer to metrics by this name. */
  readonly name: string;
  /** UCUM unit. `{…}` annotations are dimensionless and add no suffix. */
  readonly unit: string;
  readonly kind: MetricKind;
  readonly help: string;
  /** Labels beyond the per-vehicle ones (`provider`, `vin`). */
  readonly labels: readonly string[];
  /** Exporter-level metric: no per-vehicle labels. */
  readonly exporter?: boolean;
  /** For state sets: every possible value, exported as one series each under label `state`. */
  readonly states?: readonly string[];
  /** Only exported when the user enabled location export. */
  readonly location?: boolean;
  /**
   * Sane values [min, max] in the catalog unit, for every gauge. Core drops a sample outside
   * it and counts `ev_parse_errors_total{field=<metric>}` (core/parse.ts `checkRanges`), so no
   * provider can export an absurd value.
   */
  readonly range?: readonly [number, number];
  /**
   * For histograms: explicit bucket upper bounds, in the metric's unit. Explicit on purpose:
   * GreptimeDB stores explicit-bucket histograms but not exponential ones.
   */
  readonly buckets?: readonly number[];
}

/** Labels every vehicle series carries. The VIN is stable; display names change (seed defect 9). */
export const VEHICLE_LABELS = ["provider", "vin"] as const;

/**
 * Sane ranges by unit; a gauge may narrow or widen its own. Wide enough for any car on the
 * road (800 V packs, 1 MW charging, 250 km/h), narrow enough to catch unit mistakes.
 */
const UNIT_RANGES: Record<string, readonly [number, number]> = {
  // A full pack may read a little over 100 % (calibration); more is a unit mistake.
  "1": [0, 1.05],
  m: [0, 2e6],
  "m/s": [0, 120],
  Cel: [-60, 100],
  Pa: [0, 1e6],
  W: [-1e6, 1e6],
  V: [0, 1500],
  A: [0, 1000],
  J: [0, 3.6e9],
  s: [0, 1e6],
  deg: [0, 360],
  "{boolean}": [0, 1],
};
/** Unix seconds, 1970 to 2100. */
const UNIX_TIME: readonly [number, number] = [0, 4_102_444_800];

const g = (
  name: string,
  unit: string,
  help: string,
  labels: string[] = [],
  extra: Partial<MetricDef> = {},
): MetricDef => ({ name, unit, kind: "gauge", help, labels, range: UNIT_RANGES[unit], ...extra });

const bool = (name: string, help: string, labels: string[] = []): MetricDef =>
  g(name, "{boolean}", `${help} (1 = yes, 0 = no).`, labels);

/** `labels` are the state set's own labels (e.g. `wheel`); `state` is always added last. */
const stateset = (
  name: string,
  help: string,
  states: string[],
  labels: string[] = [],
): MetricDef => ({
  name,
  unit: "{state}",
  kind: "stateset",
  help: `${help} One series per state; the current one is 1.`,
  labels: [...labels, "state"],
  states,
});

const counter = (
  name: string,
  unit: string,
  help: string,
  labels: string[],
  exporter = true,
): MetricDef => ({ name, unit, kind: "counter", help, labels, exporter });

export const CHARGING_STATES = [
  "disconnected",
  "starting",
  "charging",
  "stopped",
  "complete",
  "no_power",
  // Volvo Energy v2 `SCHEDULED`, `DISCHARGING` (power drawn from the car), `ERROR`: no existing
  // state means the same. Tesla reports scheduled charging as "stopped" and never the others.
  "scheduled",
  "discharging",
  "error",
  "unknown",
] as const;
export const SHIFT_STATES = ["park", "drive", "neutral", "reverse", "unknown"] as const;
export const VEHICLE_STATES = ["online", "asleep", "offline", "unknown"] as const;
/** ev.poll.state: polling it, letting it sleep (suspended), and the reasons it is not polled. */
export const POLL_STATES = [
  "polling",
  "sleeping",
  "suspended",
  "backing_off",
  "rate_limited",
  "sign_in_needed",
  // A push source delivers the vehicle's readings: nothing is polled.
  "streaming",
  "unknown",
] as const;

export const CATALOG: readonly MetricDef[] = [
  // The vehicle: connectivity, static facts, freshness of its data, odometer
  stateset("ev.vehicle.state", "Connectivity state reported by the vendor.", [...VEHICLE_STATES]),
  {
    name: "ev.vehicle.info",
    unit: "{info}",
    kind: "info",
    help: "Static vehicle facts as labels; the value is always 1.",
    // The facts after software_version come from Volvo's vehicle details; Tesla leaves them empty.
    labels: [
      "name",
      "model",
      "trim",
      "software_version",
      "model_year",
      "fuel_type",
      "gearbox",
      "exterior_color",
      "upholstery",
    ],
  },
  g("ev.last_sample.timestamp", "s", "Vendor timestamp of the newest sample, Unix time.", [], {
    range: UNIX_TIME,
  }),
  g("ev.odometer", "m", "Odometer reading.", [], { range: [0, 1e10] }),

  // Battery and range
  g("ev.battery.level", "1", "State of charge, 0–1."),
  g(
    "ev.battery.usable_level",
    "1",
    "Usable state of charge (excludes energy held back in cold), 0–1.",
  ),
  // A gauge, not an info label: it can be multiplied with the state of charge.
  g("ev.battery.capacity", "J", "Battery capacity as the vendor states it."),
  g(
    "ev.battery.usable_capacity",
    "J",
    "Usable battery capacity, where the vendor states the gross one and the usable one is known.",
  ),
  g("ev.battery.range", "m", "Remaining range by the vendor's estimate kind.", ["estimate"]),
  g("ev.battery.energy_remaining", "J", "Energy left in the pack (newer firmware only)."),
  g("ev.battery.module.temperature", "Cel", "Battery module temperature.", ["bound"]),

  // Charging: cable and supply, power, session, limits, schedule
  stateset("ev.charging.state", "Charging state.", [...CHARGING_STATES]),
  stateset("ev.charging.plug_state", "Charge cable connection.", [
    "connected",
    "disconnected",
    "fault",
    "unknown",
  ]),
  bool("ev.charging.plugged_in", "A charge cable is connected"),
  bool("ev.charging.port_open", "The charge port door is open"),
  stateset("ev.charging.supply_state", "Whether the charging station provides power.", [
    "providing_power",
    "not_activated",
    "no_power",
    "fault",
    "unknown",
  ]),
  stateset("ev.charging.type", "Kind of charging current.", ["ac", "dc", "none", "unknown"]),
  g("ev.charging.power", "W", "Power delivered by the charger."),
  g("ev.charging.voltage", "V", "Charger voltage."),
  g("ev.charging.current", "A", "Actual charging current."),
  g("ev.charging.pilot_current", "A", "Pilot current the charger offers."),
  g("ev.charging.requested_current", "A", "Current the car requests, and its maximum.", ["bound"]),
  g("ev.charging.phases", "{phase}", "Number of AC phases in use.", [], { range: [0, 3] }),
  g("ev.charging.energy_added", "J", "Energy added in the current or last charging session."),
  g("ev.charging.range_added", "m", "Range added in the current or last session.", ["estimate"]),
  g("ev.charging.limit", "1", "Charge limit set by the user, 0–1."),
  g("ev.charging.limit_bound", "1", "Lowest, highest and standard charge limit allowed, 0–1.", [
    "bound",
  ]),
  g("ev.charging.time_to_full", "s", "Estimated time until the charge limit is reached."),
  g("ev.charging.max_range_charges", "{charge}", "Charges to 100 % the car has counted.", [], {
    range: [0, 1e6],
  }),
  g(
    "ev.charging.scheduled_start.timestamp",
    "s",
    "When scheduled charging will start, Unix time.",
    [],
    { range: UNIX_TIME },
  ),
  g("ev.charging.scheduled_departure.timestamp", "s", "Scheduled departure, Unix time.", [], {
    range: UNIX_TIME,
  }),

  // Fuel (plug-in hybrids and combustion cars)
  // Liters: Prometheus has no volume base unit, and liters match the consumption unit below.
  g("ev.fuel.amount", "l", "Fuel in the tank, liters.", [], { range: [0, 2000] }),
  g("ev.fuel.range", "m", "Remaining range on fuel by the vendor's estimate.", [], {
    range: [0, 1e7],
  }),

  // Driving
  g("ev.drive.speed", "m/s", "Vehicle speed; 0 when parked."),
  g("ev.drive.power", "W", "Drive power; negative while regenerating or charging."),
  stateset("ev.drive.shift_state", "Gear selector position.", [...SHIFT_STATES]),
  bool("ev.engine.running", "The engine (on an electric car: the drive system) is running"),

  // Location (exported only with `location: true`)
  g("ev.location.latitude", "deg", "Latitude, WGS84.", [], { location: true, range: [-90, 90] }),
  g("ev.location.longitude", "deg", "Longitude, WGS84.", [], {
    location: true,
    range: [-180, 180],
  }),
  g("ev.location.altitude", "m", "Altitude above sea level.", [], {
    location: true,
    range: [-1000, 10_000],
  }),
  g("ev.location.heading", "deg", "Compass heading.", [], { location: true }),

  // Trips
  g("ev.trip.distance", "m", "Trip meter, by trip kind (manual reset or automatic).", ["trip"], {
    range: [0, 1e9],
  }),
  g("ev.trip.average_speed", "m/s", "Average speed over the trip.", ["trip"]),
  // Consumption in the units drivers read (Wh/km as Tesla and TeslaMate show it; l/100km as
  // on the dashboard). In base units it would be J/m, which the OTLP→Prometheus translation
  // names `…_joules_per_minute` (it reads a per-unit `m` as minute); `kWh` would fail
  // promtool's snake_case lint.
  g(
    "ev.trip.average_energy_consumption",
    "Wh/km",
    "Average electric energy consumption over the trip, Wh per km.",
    ["trip"],
    { range: [-1000, 5000] },
  ),
  g(
    "ev.trip.average_fuel_consumption",
    "l/100km",
    "Average fuel consumption over the trip, liters per 100 km.",
    ["trip"],
    { range: [0, 100] },
  ),

  // Climate
  g("ev.climate.inside.temperature", "Cel", "Cabin temperature."),
  g("ev.climate.outside.temperature", "Cel", "Outside temperature measured by the car."),
  bool("ev.climate.on", "Climate control is on"),

  // Weather at the car (enrich/weather.ts; needs `location: true` and a `weather` source)
  // Not ev.climate.outside.temperature with a `source` label: that one is the car's own
  // sensor, and a label added to it would split every existing query of it in two; a
  // weather model's value at the grid point is a different quantity, so it gets its own name.
  g(
    "ev.weather.temperature",
    "Cel",
    "Air temperature at the vehicle's last position (weather service).",
  ),
  g(
    "ev.weather.humidity",
    "1",
    "Relative humidity at the vehicle's last position (weather service), 0–1.",
  ),
  g(
    "ev.weather.wind.speed",
    "m/s",
    "Wind speed at 10 m at the vehicle's last position (weather service).",
  ),

  // Tires
  g("ev.tire.pressure", "Pa", "Tire pressure.", ["wheel"]),
  bool("ev.tire.warning", "A tire pressure warning is active", ["wheel", "severity"]),
  stateset(
    "ev.tire.pressure_state",
    "Tire pressure warning by wheel (a status; this vendor reports no pressure).",
    ["ok", "low", "very_low", "high", "unknown"],
    ["wheel"],
  ),

  // Body: doors, windows, trunks, locks, who is inside
  bool("ev.door.open", "A door is open", ["door"]),
  bool("ev.window.open", "A window is open or vented", ["window"]),
  bool("ev.trunk.open", "A trunk is open", ["trunk"]),
  bool("ev.locked", "The vehicle is locked"),
  bool("ev.sentry_mode", "Sentry mode is on"),
  bool("ev.user_present", "A user is present in the vehicle"),

  // Service and maintenance warnings
  stateset("ev.service.warning", "Service reminder and what triggered it.", [
    "ok",
    "distance_almost_due",
    "distance_due",
    "distance_overdue",
    "engine_hours_almost_due",
    "engine_hours_due",
    "engine_hours_overdue",
    "maintenance_almost_due",
    "maintenance_due",
    "maintenance_overdue",
    "unknown",
  ]),
  // Negative once a service is overdue.
  g("ev.service.distance_remaining", "m", "Distance left until the next service.", [], {
    range: [-1e8, 1e8],
  }),
  // Vendors count in months or days; a month is 30.436875 days (the mean Gregorian month).
  g("ev.service.time_remaining", "s", "Time left until the next service.", [], {
    range: [-1e9, 1e9],
  }),
  g(
    "ev.service.engine_time_remaining",
    "s",
    "Engine running time left until the next service.",
    [],
    {
      range: [-1e9, 1e9],
    },
  ),
  stateset(
    "ev.fluid.warning",
    "Fluid level warning by fluid (brake, coolant, oil, washer).",
    ["ok", "too_low", "too_high", "service_required", "unknown"],
    ["fluid"],
  ),
  stateset("ev.light.warning", "Lamp failure warning by lamp.", ["ok", "failure", "unknown"], [
    "light",
  ]),

  // Sessions (core/sessions/): totals that rise when a drive, charge or parked period ends,
  // for `increase(…[1d])` per day. Per vehicle, never per session (a session id as a label
  // would grow without bound); the sessions themselves are in SQLite and GreptimeDB.
  counter("ev.drives", "{drive}", "Drives finished.", ["provider", "vin"]),
  counter("ev.drive.distance", "m", "Distance of the finished drives.", ["provider", "vin"]),
  counter("ev.drive.duration", "s", "Time spent on the finished drives.", ["provider", "vin"]),
  counter("ev.drive.energy", "J", "Energy the finished drives took from the pack.", [
    "provider",
    "vin",
  ]),
  counter("ev.charges", "{charge}", "Charges finished, by current (ac, dc, unknown).", [
    "provider",
    "vin",
    "type",
  ]),
  counter("ev.charge.energy_added", "J", "Energy the finished charges put into the pack.", [
    "provider",
    "vin",
    "type",
  ]),
  counter(
    "ev.charge.energy_drawn",
    "J",
    "Energy the finished charges drew from the charger (its power over time).",
    ["provider", "vin", "type"],
  ),
  counter("ev.charge.duration", "s", "Time spent on the finished charges.", [
    "provider",
    "vin",
    "type",
  ]),
  counter(
    "ev.charge.cost",
    "{currency}",
    "What the finished charges cost by the configured tariffs, in the labelled currency.",
    ["provider", "vin", "currency"],
  ),
  counter(
    "ev.parked.energy_lost",
    "J",
    "Energy lost while parked (vampire drain), counted when the parked period ends.",
    ["provider", "vin"],
  ),
  counter("ev.parked.duration", "s", "Time of the parked periods counted above.", [
    "provider",
    "vin",
  ]),
  g(
    "ev.battery.capacity_estimate",
    "J",
    "Usable capacity estimated from recent charges (energy added ÷ state of charge added).",
    ["provider", "vin"],
    { exporter: true },
  ),

  // The exporter's own health: vendor requests, cost and budget, tokens, polling, parsing, exports
  counter("ev.api.requests", "{request}", "Vendor API requests by endpoint template and status.", [
    "provider",
    "endpoint",
    "status",
  ]),
  // HTTP self-metrics (the original Volvo exporter declared this histogram and never observed
  // it). Observed by core/http.ts for every vendor request, by the same labels as
  // ev.api.requests. Buckets from a fast cloud answer to the seam's 30 s timeout.
  {
    name: "ev.api.request.duration",
    unit: "s",
    kind: "histogram",
    help: "Duration of vendor API requests by endpoint template and status.",
    labels: ["provider", "endpoint", "status"],
    exporter: true,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  counter(
    "ev.api.billable_requests",
    "{request}",
    "Requests the vendor bills (Tesla Fleet: every answer below HTTP 500), by billing category.",
    ["provider", "account", "category"],
  ),
  counter(
    "ev.api.cost.usd",
    "{USD}",
    "Estimated vendor cost of those requests at list prices, in US dollars (before credits).",
    ["provider", "account", "category"],
  ),
  g(
    "ev.api.budget.remaining",
    "{request}",
    "Billable requests the scheduler may still make today (UTC) within the account's budget.",
    ["provider", "account"],
    { exporter: true, range: [0, 1e9] },
  ),
  g(
    "ev.token.expiry.timestamp",
    "s",
    "When the account's access token expires, Unix time.",
    ["provider", "account"],
    { exporter: true, range: UNIX_TIME },
  ),
  stateset("ev.poll.state", "What the scheduler is doing with the vehicle.", [...POLL_STATES]),
  // Push sources (Tesla Fleet Telemetry over MQTT): is the broker connection up, and what
  // went wrong with it. Malformed stream values count in ev.parse.errors like polled ones.
  g(
    "ev.stream.connected",
    "{boolean}",
    "The account's stream is connected and subscribed (1 = yes, 0 = no: its cars are polled).",
    ["provider", "account"],
    { exporter: true },
  ),
  // Sharded processes (core/shard.ts): how the fleet is split; absent when unsharded.
  g(
    "ev.shard.vehicles",
    "{vehicle}",
    "Cars of the account this shard (index/count) polls; the shards' sum is the account's cars.",
    ["provider", "account", "shard"],
    { exporter: true, range: [0, 1e6] },
  ),
  counter(
    "ev.stream.errors",
    "{error}",
    "Stream connection faults by kind (unreachable, auth, tls, refused, protocol).",
    ["provider", "account", "kind"],
  ),
  // Every failed poll by kind, so faults that leave no HTTP status (timeouts, resets,
  // malformed bodies) are counted under one name with the log's `kind`.
  counter(
    "ev.poll.errors",
    "{error}",
    "Failed polls by kind (timeout, network, server, rate_limited, quota, malformed, …).",
    ["provider", "kind"],
  ),
  counter("ev.parse.errors", "{error}", "Vendor fields that failed validation.", [
    "provider",
    "field",
  ]),
  // Not ev.parse.errors: that one means our schema rejected a field (alert-worthy); this one
  // counts values the vendor itself reported as unavailable (NOT_SUPPORTED is normal for some cars).
  counter(
    "ev.vendor.value_errors",
    "{error}",
    "Values the vendor answered with an error instead of a value, by field and error code.",
    ["provider", "field", "code"],
  ),
  counter(
    "ev.export.requests",
    "{request}",
    "Pushes to an export backend, by result (ok, error).",
    [
      "backend",
      "result",
    ],
  ),
];

const byName = new Map(CATALOG.map((m) => [m.name, m]));

/** The definition of a metric; throws on an unknown name so typos fail loudly in tests. */
export function metric(name: string): MetricDef {
  const def = byName.get(name);
  if (!def) throw new Error(`metric "${name}" is not in the catalog (core/catalog.ts)`);
  return def;
}

/** Whether `value` lies within the metric's sane range (always true without a range). */
export function inRange(def: MetricDef, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  return !def.range || (value >= def.range[0] && value <= def.range[1]);
}

const UNIT_WORDS: Record<string, string> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "%": "percent",
  "1": "",
};
const PER_UNIT_WORDS: Record<string, string> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

const sanitize = (s: string) => s.split(/[^A-Za-z0-9]+/).filter(Boolean).join("_");

function unitWord(unit: string): string {
  if (unit === "" || /^\{.*\}$/.test(unit)) return "";
  return UNIT_WORDS[unit] ?? sanitize(unit);
}

/**
 * The Prometheus name GreptimeDB gives an OTLP metric (default translation strategy,
 * UnderscoreEscapingWithSuffixes): sanitized name, unit word unless already a token,
 * `per_<word>` for a `/` unit, `_total` for counters, `_ratio` for unit-1 gauges.
 */
export function prometheusName(def: Pick<MetricDef, "name" | "unit" | "kind">): string {
  let name = sanitize(def.name);
  const tokens = new Set(name.split("_"));
  const [main, per] = def.unit.split("/", 2);
  const word = unitWord(main);
  if (word && !tokens.has(word)) name += `_${word}`;
  if (per !== undefined) {
    const perWord = PER_UNIT_WORDS[per] ?? sanitize(per);
    if (perWord && !tokens.has(perWord)) name += `_per_${perWord}`;
  }
  if (def.kind === "counter") name += "_total";
  if (def.kind === "gauge" && def.unit === "1") name += "_ratio";
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return name;
}
