/**
 * What a dashboard is made of, for the generators (dashboards.ts, session_dashboards.ts), and
 * the PromQL they share.
 */

export interface Query {
  readonly expr: string;
  readonly legend?: string;
  /** Instant query (stat panels over the whole range, map). */
  readonly instant?: boolean;
  readonly table?: boolean;
}

export interface PanelSpec {
  readonly title: string;
  readonly type: "stat" | "timeseries" | "state-timeline" | "geomap" | "gauge";
  readonly queries: readonly Query[];
  readonly w: number;
  readonly h: number;
  readonly unit?: string;
  readonly description?: string;
  readonly min?: number;
  readonly max?: number;
  readonly decimals?: number;
  /** Value → text and colour (state timelines). */
  readonly mappings?: readonly (readonly [number, string, string])[];
  readonly thresholds?: readonly (readonly [number | null, string])[];
  readonly extra?: Record<string, unknown>;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly file: string;
  readonly title: string;
  readonly description: string;
  readonly panels: readonly PanelSpec[];
}

/**
 * The last known value of a series within the dashboard's range, for stat panels and the map:
 * an instant query over the whole range, so a value sampled hours ago (the car asleep, the
 * exporter restarted) still shows, where a plain query looks back 5 minutes only.
 */
export function lastKnown(selector: string): string {
  return `last_over_time(${selector}[$__range])`;
}

/** The `$units` dashboard variable: metric 0, imperial 1 (dashboards.ts says how it is used). */
export const UNITS_VARIABLE = {
  name: "units",
  label: "Units",
  type: "custom",
  query: "metric : 0,imperial : 1",
  current: { selected: true, text: "metric", value: "0" },
  options: [
    { selected: true, text: "metric", value: "0" },
    { selected: false, text: "imperial", value: "1" },
  ],
  hide: 0,
};
