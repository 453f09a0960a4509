/**
 * The Grafana dashboards, as data. `deno task dashboards` writes them to
 * deploy/grafana/dashboards/*.json (provisioned by compose); a test keeps the files in step.
 *
 * PromQL rules, so every query runs on Prometheus and on GreptimeDB's PromQL API alike: catalog
 * names only, no `@` modifier, no negative matching on `__name__`, plain functions.
 */
import { CHARGING_STATES, SHIFT_STATES, VEHICLE_STATES } from "../../core/catalog.ts";
import { type DashboardSpec, lastKnown, type PanelSpec, UNITS_VARIABLE } from "./spec.ts";
import { SESSION_DASHBOARDS } from "./session_dashboards.ts";
import { sqlDashboardJson } from "./sessions_sql_dashboard.ts";
export type { DashboardSpec, PanelSpec, Query } from "./spec.ts";

/** The per-vehicle selector every query carries. */
const V = `vin=~"$vin"`;

/**
 * Charging sessions begun in the range: rises of the "charging" state, from its changes and its
 * values at both ends ((changes + end - start) / 2; 0 at the start when it was not there yet).
 * Not resets() of the energy added: that is a gauge, and a session that starts from 0 after
 * one that ended at 0, or the first one of a new series, resets nothing.
 */
function sessionsStarted(): string {
  const s = `ev_charging_state{${V}, state="charging"}`;
  const end = lastKnown(s);
  return `sum by (vin) ((changes(${s}[$__range]) + ${end} - ((${s} offset $__range) or ` +
    `(${end} * 0))) / 2)`;
}

/**
 * A state set folded into one series per vehicle: the current state's weight (1, 2, …), so a
 * state timeline shows one row with named, coloured states. Every state series is exported
 * together, so the sums match one to one.
 */
function stateCode(metric: string, states: readonly string[]): string {
  return states.map((s, i) => `sum by (vin) (${metric}{${V}, state="${s}"}) * ${i + 1}`)
    .join(" + ");
}

const PALETTE = ["#73bf69", "#8f7fd6", "#f2495c", "#5794f2", "#ff9830", "#fade2a", "#b877d9"];

function stateMappings(
  states: readonly string[],
  colours: Record<string, string>,
): [number, string, string][] {
  return states.map((s, i) => [i + 1, s, colours[s] ?? PALETTE[i % PALETTE.length]]);
}

const GREY = "#8e8e8e";

const socThresholds: [number | null, string][] = [[null, "red"], [0.2, "orange"], [0.4, "green"]];

const overview: DashboardSpec = {
  uid: "ev-overview",
  file: "overview.json",
  title: "EV · Overview",
  description: "State of charge, range, state and location of every vehicle.",
  panels: [
    {
      title: "State of charge",
      type: "gauge",
      w: 6,
      h: 6,
      unit: "percentunit",
      min: 0,
      max: 1,
      thresholds: socThresholds,
      queries: [{
        expr: lastKnown(`ev_battery_level_ratio{${V}}`),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Range (rated)",
      type: "stat",
      w: 6,
      h: 6,
      unit: "lengthkm",
      decimals: 0,
      queries: [{
        expr: `${lastKnown(`ev_battery_range_meters{${V}, estimate="rated"}`)} / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Charge limit",
      type: "stat",
      w: 4,
      h: 6,
      unit: "percentunit",
      queries: [{
        expr: lastKnown(`ev_charging_limit_ratio{${V}}`),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Odometer",
      type: "stat",
      w: 4,
      h: 6,
      unit: "lengthkm",
      decimals: 0,
      queries: [{
        expr: `${lastKnown(`ev_odometer_meters{${V}}`)} / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Last sample age",
      type: "stat",
      w: 4,
      h: 6,
      unit: "s",
      description: "Time since the vendor's newest sample. Grows while the car sleeps.",
      queries: [{
        expr: `time() - ${lastKnown(`ev_last_sample_timestamp_seconds{${V}}`)}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "State of charge and limit",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "percentunit",
      min: 0,
      max: 1,
      queries: [
        { expr: `ev_battery_level_ratio{${V}}`, legend: "charge {{vin}}" },
        { expr: `ev_charging_limit_ratio{${V}}`, legend: "limit {{vin}}" },
      ],
    },
    {
      title: "Range",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "lengthkm",
      queries: [{
        expr: `ev_battery_range_meters{${V}} / 1000`,
        legend: "{{estimate}} {{vin}}",
      }],
    },
    {
      title: "Vehicle state",
      type: "state-timeline",
      w: 24,
      h: 6,
      description:
        "Connectivity (online, asleep, offline) and what the car did: driving, charging.",
      queries: [
        { expr: stateCode("ev_vehicle_state", VEHICLE_STATES), legend: "state {{vin}}" },
        {
          expr: `sum by (vin) (ev_drive_shift_state{${V}, state=~"drive|reverse|neutral"}) * 10`,
          legend: "driving {{vin}}",
        },
        {
          expr: `sum by (vin) (ev_charging_state{${V}, state=~"charging|starting"}) * 20`,
          legend: "charging {{vin}}",
        },
      ],
      mappings: [
        ...stateMappings(VEHICLE_STATES, {
          online: "#73bf69",
          asleep: "#8f7fd6",
          offline: "#f2495c",
          unknown: GREY,
        }),
        [0, "no", "transparent"],
        [10, "driving", "#5794f2"],
        [20, "charging", "#fade2a"],
      ],
    },
    {
      title: "Location",
      type: "geomap",
      w: 12,
      h: 10,
      description: "The last known position. Only with `location: true` in the config (off by " +
        "default); empty otherwise.",
      queries: [
        { expr: lastKnown(`ev_location_latitude_deg{${V}}`), instant: true, table: true },
        { expr: lastKnown(`ev_location_longitude_deg{${V}}`), instant: true, table: true },
      ],
      extra: {
        transformations: [{ id: "joinByField", options: { byField: "vin", mode: "outer" } }],
        options: {
          view: { id: "fit", lat: 0, lon: 0, zoom: 12 },
          controls: { showZoom: true, mouseWheelZoom: true },
          basemap: { type: "default", name: "Basemap" },
          layers: [{
            type: "markers",
            name: "Vehicles",
            location: { mode: "coords", latitude: "Value #A", longitude: "Value #B" },
            config: {
              style: {
                size: { fixed: 8 },
                color: { fixed: "#5794f2" },
                text: { mode: "field", field: "vin" },
              },
            },
          }],
        },
      },
    },
    {
      title: "Temperatures",
      type: "timeseries",
      w: 12,
      h: 10,
      unit: "celsius",
      queries: [
        { expr: `ev_climate_inside_temperature_celsius{${V}}`, legend: "cabin {{vin}}" },
        { expr: `ev_climate_outside_temperature_celsius{${V}}`, legend: "outside {{vin}}" },
      ],
    },
  ],
};

const charging: DashboardSpec = {
  uid: "ev-charging",
  file: "charging.json",
  title: "EV · Charging",
  description: "Charging state, power curve, energy added and the charge limit.",
  panels: [
    {
      title: "Charging state",
      type: "state-timeline",
      w: 24,
      h: 5,
      queries: [{ expr: stateCode("ev_charging_state", CHARGING_STATES), legend: "{{vin}}" }],
      mappings: stateMappings(CHARGING_STATES, {
        disconnected: GREY,
        starting: "#ff9830",
        charging: "#73bf69",
        stopped: "#f2495c",
        complete: "#5794f2",
        no_power: "#b877d9",
        unknown: GREY,
      }),
    },
    {
      title: "Charging power",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "watt",
      description: "The power curve of each session.",
      queries: [{ expr: `ev_charging_power_watts{${V}}`, legend: "{{vin}}" }],
    },
    {
      title: "Energy added (session)",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "kwatth",
      queries: [{ expr: `ev_charging_energy_added_joules{${V}} / 3600000`, legend: "{{vin}}" }],
    },
    {
      title: "State of charge and limit",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "percentunit",
      min: 0,
      max: 1,
      queries: [
        { expr: `ev_battery_level_ratio{${V}}`, legend: "charge {{vin}}" },
        { expr: `ev_charging_limit_ratio{${V}}`, legend: "limit {{vin}}" },
      ],
    },
    {
      title: "Charger voltage",
      type: "timeseries",
      w: 6,
      h: 8,
      unit: "volt",
      queries: [{ expr: `ev_charging_voltage_volts{${V}}`, legend: "{{vin}}" }],
    },
    {
      title: "Charger current",
      type: "timeseries",
      w: 6,
      h: 8,
      unit: "amp",
      queries: [
        { expr: `ev_charging_current_amperes{${V}}`, legend: "actual {{vin}}" },
        { expr: `ev_charging_pilot_current_amperes{${V}}`, legend: "pilot {{vin}}" },
      ],
    },
    {
      title: "Sessions started",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 0,
      description: "Charging sessions that began in the time range (the car started charging).",
      queries: [{ expr: sessionsStarted(), legend: "{{vin}}", instant: true }],
    },
    {
      title: "Most energy added in a session",
      type: "stat",
      w: 6,
      h: 5,
      unit: "kwatth",
      queries: [{
        expr: `max_over_time(ev_charging_energy_added_joules{${V}}[$__range]) / 3600000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Time to full",
      type: "stat",
      w: 6,
      h: 5,
      unit: "s",
      queries: [{
        expr: lastKnown(`ev_charging_time_to_full_seconds{${V}}`),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Plugged in",
      type: "stat",
      w: 6,
      h: 5,
      queries: [{
        expr: lastKnown(`ev_charging_plugged_in{${V}}`),
        legend: "{{vin}}",
        instant: true,
      }],
      mappings: [[0, "no", GREY], [1, "yes", "#73bf69"]],
    },
  ],
};

const driving: DashboardSpec = {
  uid: "ev-driving",
  file: "driving.json",
  title: "EV · Driving",
  description: "Speed, power, consumption and odometer.",
  panels: [
    {
      title: "Speed",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "velocitykmh",
      queries: [{ expr: `ev_drive_speed_meters_per_second{${V}} * 3.6`, legend: "{{vin}}" }],
    },
    {
      title: "Drive power",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "watt",
      description: "Negative while regenerating.",
      queries: [{ expr: `ev_drive_power_watts{${V}}`, legend: "{{vin}}" }],
    },
    {
      title: "Consumption while moving",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "suffix: Wh/km",
      decimals: 0,
      description:
        "Drive power divided by speed (W per m/s is J/m; / 3.6 gives Wh/km). Only while moving.",
      queries: [{
        expr: `ev_drive_power_watts{${V}} / (ev_drive_speed_meters_per_second{${V}} > 0) / 3.6`,
        legend: "{{vin}}",
      }],
    },
    {
      title: "Gear",
      type: "state-timeline",
      w: 12,
      h: 8,
      queries: [{ expr: stateCode("ev_drive_shift_state", SHIFT_STATES), legend: "{{vin}}" }],
      mappings: stateMappings(SHIFT_STATES, {
        park: GREY,
        drive: "#73bf69",
        neutral: "#fade2a",
        reverse: "#ff9830",
        unknown: GREY,
      }),
    },
    {
      title: "Distance driven",
      type: "stat",
      w: 8,
      h: 5,
      unit: "lengthkm",
      decimals: 1,
      description: "Odometer difference over the time range.",
      queries: [{
        expr: `(max_over_time(ev_odometer_meters{${V}}[$__range]) - min_over_time(` +
          `ev_odometer_meters{${V}}[$__range])) / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Top speed",
      type: "stat",
      w: 8,
      h: 5,
      unit: "velocitykmh",
      decimals: 0,
      queries: [{
        expr: `max_over_time(ev_drive_speed_meters_per_second{${V}}[$__range]) * 3.6`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Odometer",
      type: "stat",
      w: 8,
      h: 5,
      unit: "lengthkm",
      decimals: 0,
      queries: [{
        expr: `${lastKnown(`ev_odometer_meters{${V}}`)} / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
  ],
};

const battery: DashboardSpec = {
  uid: "ev-battery",
  file: "battery-and-tires.json",
  title: "EV · Battery and tires",
  description: "Battery health (range at full charge), module temperatures, tire pressures.",
  panels: [
    {
      title: "Range at full charge",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "lengthkm",
      description:
        "Rated range divided by state of charge: a slow fall over months is battery wear. " +
        "Samples below 10 % charge are left out (rounding makes them noisy).",
      queries: [{
        expr: `ev_battery_range_meters{${V}, estimate="rated"} / ignoring(estimate) ` +
          `(ev_battery_level_ratio{${V}} > 0.1) / 1000`,
        legend: "{{vin}}",
      }],
    },
    {
      title: "Battery module temperature",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "celsius",
      queries: [{
        expr: `ev_battery_module_temperature_celsius{${V}}`,
        legend: "{{bound}} {{vin}}",
      }],
    },
    {
      title: "Tire pressure",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "pressurebar",
      decimals: 2,
      queries: [{ expr: `ev_tire_pressure_Pa{${V}} / 100000`, legend: "{{wheel}} {{vin}}" }],
    },
    {
      title: "Tire warnings",
      type: "stat",
      w: 12,
      h: 8,
      queries: [{
        expr: `max by (vin, wheel) (${lastKnown(`ev_tire_warning{${V}}`)})`,
        legend: "{{wheel}} {{vin}}",
        instant: true,
      }],
      mappings: [[0, "ok", "#73bf69"], [1, "warning", "#f2495c"]],
    },
    {
      title: "Displayed and usable state of charge",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "percentunit",
      description: "The gap is energy the car holds back, e.g. in the cold.",
      queries: [
        { expr: `ev_battery_level_ratio{${V}}`, legend: "displayed {{vin}}" },
        { expr: `ev_battery_usable_level_ratio{${V}}`, legend: "usable {{vin}}" },
      ],
    },
    {
      title: "Energy remaining",
      type: "stat",
      w: 6,
      h: 8,
      unit: "kwatth",
      decimals: 1,
      description: "Newer firmware only.",
      queries: [{
        expr: `${lastKnown(`ev_battery_energy_remaining_joules{${V}}`)} / 3600000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Charges to 100 %",
      type: "stat",
      w: 6,
      h: 8,
      queries: [{
        expr: lastKnown(`ev_charging_max_range_charges{${V}}`),
        legend: "{{vin}}",
        instant: true,
      }],
    },
  ],
};

const exporter: DashboardSpec = {
  uid: "ev-exporter",
  file: "exporter-and-api.json",
  title: "EV · Exporter and API",
  description: "Vendor API requests, errors, budget and cost, tokens and polling.",
  panels: [
    {
      title: "API requests by endpoint and status",
      type: "timeseries",
      w: 24,
      h: 8,
      unit: "reqpm",
      queries: [{
        expr: `sum by (provider, endpoint, status) ` +
          `(rate(ev_api_requests_total[$__rate_interval])) * 60`,
        legend: "{{provider}} {{endpoint}} {{status}}",
      }],
    },
    {
      title: "Requests in range",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 0,
      queries: [{
        expr: `sum by (provider) (increase(ev_api_requests_total[$__range]))`,
        legend: "{{provider}}",
        instant: true,
      }],
    },
    {
      title: "Billable requests, last 24 h",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 0,
      description: "Tesla bills every answer below HTTP 500.",
      queries: [{
        expr: `sum by (provider) (increase(ev_api_billable_requests_total[24h]))`,
        legend: "{{provider}}",
        instant: true,
      }],
    },
    {
      title: "Estimated cost, last 30 days",
      type: "stat",
      w: 6,
      h: 5,
      unit: "currencyUSD",
      decimals: 2,
      queries: [{
        expr: `sum by (provider) (increase(ev_api_cost_usd_total[30d]))`,
        legend: "{{provider}}",
        instant: true,
      }],
    },
    {
      title: "Token expires in",
      type: "stat",
      w: 6,
      h: 5,
      unit: "s",
      thresholds: [[null, "red"], [3600, "orange"], [86400, "green"]],
      queries: [{
        expr: `min by (provider) (${lastKnown("ev_token_expiry_timestamp_seconds")}) - time()`,
        legend: "{{provider}}",
        instant: true,
      }],
    },
    {
      title: "Parse errors",
      type: "timeseries",
      w: 12,
      h: 8,
      decimals: 0,
      description: "Vendor fields that failed validation; one bad field drops one metric.",
      queries: [{
        expr: `sum by (provider, field) (increase(ev_parse_errors_total[$__rate_interval]))`,
        legend: "{{provider}} {{field}}",
      }],
    },
    {
      title: "Requests that did not succeed, in range",
      type: "stat",
      w: 12,
      h: 8,
      decimals: 0,
      description: "Anything but 2xx, by endpoint and status (asleep 408s, 429s, 5xx).",
      queries: [{
        expr: `sum by (provider, endpoint, status) ` +
          `(increase(ev_api_requests_total{status!~"2.."}[$__range]))`,
        legend: "{{provider}} {{endpoint}} {{status}}",
        instant: true,
      }],
    },
    {
      title: "Pushes to export backends",
      type: "timeseries",
      w: 12,
      h: 6,
      decimals: 0,
      description: "OTLP pushes (GreptimeDB) by result; errors mean the backend is down.",
      queries: [{
        expr: `sum by (backend, result) (increase(ev_export_requests_total[$__rate_interval]))`,
        legend: "{{backend}} {{result}}",
      }],
    },
    {
      title: "Poll state",
      type: "state-timeline",
      w: 12,
      h: 6,
      description: "What the scheduler is doing per vehicle.",
      queries: [{ expr: `ev_poll_state{${V}} == 1`, legend: "{{state}} {{vin}}" }],
      mappings: [[1, "active", "#5794f2"]],
    },
    {
      title: "Last sample age",
      type: "stat",
      w: 24,
      h: 5,
      unit: "s",
      queries: [{
        expr: `time() - ${lastKnown(`ev_last_sample_timestamp_seconds{${V}}`)}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [
  overview,
  charging,
  driving,
  battery,
  exporter,
  ...SESSION_DASHBOARDS,
];

const DS = { type: "prometheus", uid: "${datasource}" };

/**
 * Units: a dashboard variable, `$units` (metric 0, imperial 1), switches every length,
 * temperature, pressure and speed panel. Grafana cannot convert units itself, and a provisioned
 * dashboard cannot read ev-observer's config; so each such query comes twice, once converted
 * for each choice and gated by the variable (only one returns data), and a field override per
 * query gives Grafana's own unit (km or mi, °C or °F, …) to the axis and the stat. Each viewer
 * picks theirs; the link `?var-units=1` or a saved default keeps it.
 */
const IMPERIAL: Record<string, { unit: string; convert: (expr: string) => string }> = {
  lengthkm: { unit: "lengthmi", convert: (e) => swapEnd(e, " / 1000", " / 1609.344") },
  velocitykmh: { unit: "velocitymph", convert: (e) => swapEnd(e, " * 3.6", " * 2.236936") },
  pressurebar: { unit: "pressurepsi", convert: (e) => swapEnd(e, " / 100000", " / 6894.757") },
  celsius: { unit: "fahrenheit", convert: (e) => `(${e}) * 1.8 + 32` },
  "suffix: Wh/km": {
    unit: "suffix: Wh/mi",
    convert: (e) => swapEnd(e, " / 3.6", " / 3.6 * 1.609344"),
  },
};

/** `expr` with its final conversion factor replaced; throws when it has another one. */
function swapEnd(expr: string, from: string, to: string): string {
  if (!expr.endsWith(from)) throw new Error(`expected "${expr}" to end with "${from}"`);
  return expr.slice(0, -from.length) + to;
}

/** A query that returns data only while `$units` is `choice` (0 metric, 1 imperial). */
function gated(expr: string, choice: 0 | 1): string {
  return `(${expr}) and on() (vector($units) == ${choice})`;
}

function panelJson(p: PanelSpec, id: number, gridPos: Record<string, number>) {
  const imperial = p.unit ? IMPERIAL[p.unit] : undefined;
  const queries = imperial
    ? [
      ...p.queries.map((q) => ({ ...q, expr: gated(q.expr, 0) })),
      ...p.queries.map((q) => ({ ...q, expr: gated(imperial.convert(q.expr), 1) })),
    ]
    : p.queries;
  const refId = (i: number) => String.fromCharCode(65 + i);
  const mappings = p.mappings?.length
    ? [{
      type: "value",
      options: Object.fromEntries(
        p.mappings.map(([v, text, color], index) => [String(v), { text, color, index }]),
      ),
    }]
    : [];
  const thresholds = p.thresholds ?? [[null, "green"]];
  const custom: Record<string, unknown> = p.type === "timeseries"
    ? { lineWidth: 2, fillOpacity: 10, showPoints: "never", spanNulls: false }
    : p.type === "state-timeline"
    ? { fillOpacity: 80, lineWidth: 0 }
    : {};
  return {
    id,
    type: p.type,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource: DS,
    gridPos,
    targets: queries.map((q, i) => ({
      datasource: DS,
      refId: refId(i),
      expr: q.expr,
      legendFormat: q.legend ?? "__auto",
      range: !q.instant,
      instant: !!q.instant,
      format: q.table ? "table" : "time_series",
    })),
    fieldConfig: {
      defaults: {
        ...(p.unit ? { unit: p.unit } : {}),
        ...(p.min !== undefined ? { min: p.min } : {}),
        ...(p.max !== undefined ? { max: p.max } : {}),
        ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
        mappings,
        thresholds: {
          mode: "absolute",
          steps: thresholds.map(([value, color]) => ({ value, color })),
        },
        color: p.mappings?.length || p.thresholds
          ? { mode: "thresholds" }
          : { mode: "palette-classic" },
        custom,
      },
      overrides: imperial
        ? p.queries.map((_, i) => ({
          matcher: { id: "byFrameRefID", options: refId(p.queries.length + i) },
          properties: [{ id: "unit", value: imperial.unit }],
        }))
        : [],
    },
    options: p.type === "state-timeline"
      ? { showValue: "never", mergeValues: true, rowHeight: 0.8, legend: { showLegend: false } }
      : p.type === "stat"
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value" }
      : p.type === "gauge"
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false } }
      : p.type === "timeseries"
      ? { legend: { displayMode: "list", placement: "bottom", showLegend: true } }
      : {},
    ...(p.extra ?? {}),
  };
}

/** The Grafana JSON of one dashboard (schema of Grafana 11). */
export function dashboardJson(d: DashboardSpec): Record<string, unknown> {
  let x = 0, y = 0, rowH = 0;
  const panels = d.panels.map((p, i) => {
    if (x + p.w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const pos = { x, y, w: p.w, h: p.h };
    x += p.w;
    rowH = Math.max(rowH, p.h);
    return panelJson(p, i + 1, pos);
  });
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ["ev-observer"],
    timezone: "browser",
    editable: false,
    graphTooltip: 1,
    refresh: "1m",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-24h", to: "now" },
    links: [{
      type: "dashboards",
      tags: ["ev-observer"],
      title: "EV dashboards",
      asDropdown: false,
      includeVars: true,
      keepTime: true,
    }],
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: { selected: true, text: "GreptimeDB", value: "greptimedb" },
          hide: 0,
          refresh: 1,
          regex: "",
          options: [],
        },
        {
          name: "vin",
          label: "Vehicle",
          type: "query",
          datasource: DS,
          query: { query: "label_values(ev_vehicle_info, vin)", refId: "vin" },
          definition: "label_values(ev_vehicle_info, vin)",
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: ".*",
          current: { selected: true, text: ["All"], value: ["$__all"] },
          sort: 1,
          hide: 0,
          options: [],
        },
        UNITS_VARIABLE,
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** The SQL dashboard on GreptimeDB's sessions table (sessions_sql_dashboard.ts). */
export const SQL_DASHBOARD_FILE = "sessions-greptimedb.json";

/** File name → JSON text, as written to deploy/grafana/dashboards/. */
export function renderDashboards(): Map<string, string> {
  const text = (json: unknown) => JSON.stringify(json, null, 2) + "\n";
  return new Map([
    ...DASHBOARDS.map((d) => [d.file, text(dashboardJson(d))] as const),
    [SQL_DASHBOARD_FILE, text(sqlDashboardJson())],
  ]);
}
