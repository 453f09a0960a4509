/**
 * Dashboards on the session counters (core/sessions/): drives, charges, efficiency, battery
 * health and vampire drain, per day with `increase(…[1d])` and over the chosen range with
 * `increase(…[$__range])`. Same PromQL rules as dashboards.ts. The counters rise when a session
 * ends, so a session crossing midnight counts on the day it ended.
 */
import { type DashboardSpec, lastKnown } from "./spec.ts";

const V = `vin=~"$vin"`;
/** A counter's rise per vehicle, summed over its other labels (type, currency). */
const rise = (metric: string, range: string) =>
  `sum by (vin) (increase(${metric}{${V}}[${range}]))`;
const KWH = 3_600_000;

export const drives: DashboardSpec = {
  uid: "ev-drives",
  file: "drives.json",
  title: "EV · Drives",
  description: "Distance, number, time and speed of the finished drives.",
  panels: [
    {
      title: "Distance in range",
      type: "stat",
      w: 6,
      h: 5,
      unit: "lengthkm",
      decimals: 1,
      queries: [{
        expr: `${rise("ev_drive_distance_meters_total", "$__range")} / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Drives in range",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 0,
      queries: [{
        expr: rise("ev_drives_total", "$__range"),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Time driving in range",
      type: "stat",
      w: 6,
      h: 5,
      unit: "s",
      queries: [{
        expr: rise("ev_drive_duration_seconds_total", "$__range"),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Average speed in range",
      type: "stat",
      w: 6,
      h: 5,
      unit: "velocitykmh",
      decimals: 0,
      description: "Distance over time driving (stops inside a drive included).",
      queries: [{
        expr: `${rise("ev_drive_distance_meters_total", "$__range")} / ` +
          `${rise("ev_drive_duration_seconds_total", "$__range")} * 3.6`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Distance per day",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "lengthkm",
      description: "The last 24 hours at each point: drives count when they end.",
      queries: [{
        expr: `${rise("ev_drive_distance_meters_total", "1d")} / 1000`,
        legend: "{{vin}}",
      }],
    },
    {
      title: "Drives per day",
      type: "timeseries",
      w: 12,
      h: 8,
      queries: [{ expr: rise("ev_drives_total", "1d"), legend: "{{vin}}" }],
    },
  ],
};

export const charges: DashboardSpec = {
  uid: "ev-charges",
  file: "charges.json",
  title: "EV · Charges",
  description: "Energy added and drawn, AC and DC, number and cost of the finished charges.",
  panels: [
    {
      title: "Energy added in range",
      type: "stat",
      w: 6,
      h: 5,
      unit: "kwatth",
      decimals: 1,
      queries: [{
        expr: `sum by (vin, type) (increase(ev_charge_energy_added_joules_total{${V}}` +
          `[$__range])) / ${KWH}`,
        legend: "{{type}} {{vin}}",
        instant: true,
      }],
    },
    {
      title: "Charges in range",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 0,
      queries: [{
        expr: `sum by (vin, type) (increase(ev_charges_total{${V}}[$__range]))`,
        legend: "{{type}} {{vin}}",
        instant: true,
      }],
    },
    {
      title: "Cost in range",
      type: "stat",
      w: 6,
      h: 5,
      decimals: 2,
      description: "By the tariffs in the config, in the currency named in the legend.",
      queries: [{
        expr: `sum by (vin, currency) (increase(ev_charge_cost_total{${V}}[$__range]))`,
        legend: "{{currency}} {{vin}}",
        instant: true,
      }],
    },
    {
      title: "Charging efficiency in range",
      type: "stat",
      w: 6,
      h: 5,
      unit: "percentunit",
      decimals: 0,
      description: "Energy into the pack over energy from the charger (where both are known).",
      queries: [{
        expr: `${rise("ev_charge_energy_added_joules_total", "$__range")} / ` +
          `${rise("ev_charge_energy_drawn_joules_total", "$__range")}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Energy added per day",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "kwatth",
      queries: [{
        expr: `sum by (vin, type) (increase(ev_charge_energy_added_joules_total{${V}}[1d])) / ` +
          `${KWH}`,
        legend: "{{type}} {{vin}}",
      }],
    },
    {
      title: "Cost per day",
      type: "timeseries",
      w: 12,
      h: 8,
      decimals: 2,
      queries: [{
        expr: `sum by (vin, currency) (increase(ev_charge_cost_total{${V}}[1d]))`,
        legend: "{{currency}} {{vin}}",
      }],
    },
  ],
};

export const efficiency: DashboardSpec = {
  uid: "ev-efficiency",
  file: "efficiency.json",
  title: "EV · Efficiency",
  description: "Energy per distance of the finished drives, and what a kilometre costs.",
  panels: [
    {
      title: "Consumption in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "suffix: Wh/km",
      decimals: 0,
      description: "Energy the drives took from the pack over their distance (J/m ÷ 3.6).",
      queries: [{
        expr: `${rise("ev_drive_energy_joules_total", "$__range")} / ` +
          `${rise("ev_drive_distance_meters_total", "$__range")} / 3.6`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Cost per 100 km in range",
      type: "stat",
      w: 8,
      h: 5,
      decimals: 2,
      description: "What charging cost over the distance driven, in the tariffs' currency.",
      queries: [{
        expr: `${rise("ev_charge_cost_total", "$__range")} / ` +
          `${rise("ev_drive_distance_meters_total", "$__range")} * 100000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Gross consumption in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "suffix: Wh/km",
      decimals: 0,
      description: "Drives plus what was lost parked, over the distance driven.",
      queries: [{
        expr: `(${rise("ev_drive_energy_joules_total", "$__range")} + ` +
          `${rise("ev_parked_energy_lost_joules_total", "$__range")}) / ` +
          `${rise("ev_drive_distance_meters_total", "$__range")} / 3.6`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Consumption per day",
      type: "timeseries",
      w: 24,
      h: 8,
      unit: "suffix: Wh/km",
      decimals: 0,
      queries: [{
        expr: `${rise("ev_drive_energy_joules_total", "1d")} / ` +
          `${rise("ev_drive_distance_meters_total", "1d")} / 3.6`,
        legend: "{{vin}}",
      }],
    },
  ],
};

export const health: DashboardSpec = {
  uid: "ev-battery-health",
  file: "battery-health.json",
  title: "EV · Battery health",
  description: "Usable capacity estimated from charges, and the vendor's range at 100 %.",
  panels: [
    {
      title: "Usable capacity (estimate)",
      type: "stat",
      w: 8,
      h: 5,
      unit: "kwatth",
      decimals: 1,
      description: "Median over the newest five charges of energy added ÷ state of charge added " +
        "(charges adding at least 10 %, from the vendor's energy counter).",
      queries: [{
        expr: `${lastKnown(`ev_battery_capacity_estimate_joules{${V}}`)} / ${KWH}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Range at 100 % (vendor)",
      type: "stat",
      w: 8,
      h: 5,
      unit: "lengthkm",
      decimals: 0,
      queries: [{
        expr: `${lastKnown(`ev_battery_range_meters{${V}, estimate="rated"}`)} / ` +
          `ignoring(estimate) (${lastKnown(`ev_battery_level_ratio{${V}}`)} > 0.1) / 1000`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Energy added in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "kwatth",
      decimals: 0,
      description: "Divided by the capacity: charge cycles.",
      queries: [{
        expr: `${rise("ev_charge_energy_added_joules_total", "$__range")} / ${KWH}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Usable capacity (estimate) over time",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "kwatth",
      queries: [{ expr: `ev_battery_capacity_estimate_joules{${V}} / ${KWH}`, legend: "{{vin}}" }],
    },
    {
      title: "Range at 100 % over time",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "lengthkm",
      queries: [{
        expr: `ev_battery_range_meters{${V}, estimate="rated"} / ignoring(estimate) ` +
          `(ev_battery_level_ratio{${V}} > 0.1) / 1000`,
        legend: "{{vin}}",
      }],
    },
  ],
};

export const vampire: DashboardSpec = {
  uid: "ev-vampire-drain",
  file: "vampire-drain.json",
  title: "EV · Vampire drain",
  description:
    "Energy lost while parked (parked periods of an hour or more, counted at their end).",
  panels: [
    {
      title: "Lost parked in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "kwatth",
      decimals: 2,
      queries: [{
        expr: `${rise("ev_parked_energy_lost_joules_total", "$__range")} / ${KWH}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Mean drain power in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "watt",
      decimals: 0,
      queries: [{
        expr: `${rise("ev_parked_energy_lost_joules_total", "$__range")} / ` +
          `${rise("ev_parked_duration_seconds_total", "$__range")}`,
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Time parked in range",
      type: "stat",
      w: 8,
      h: 5,
      unit: "s",
      queries: [{
        expr: rise("ev_parked_duration_seconds_total", "$__range"),
        legend: "{{vin}}",
        instant: true,
      }],
    },
    {
      title: "Lost parked per day",
      type: "timeseries",
      w: 24,
      h: 8,
      unit: "kwatth",
      queries: [{
        expr: `${rise("ev_parked_energy_lost_joules_total", "1d")} / ${KWH}`,
        legend: "{{vin}}",
      }],
    },
  ],
};

export const SESSION_DASHBOARDS: readonly DashboardSpec[] = [
  drives,
  charges,
  efficiency,
  health,
  vampire,
];
