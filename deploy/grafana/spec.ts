/** What a dashboard is made of, for the generators (dashboards.ts, session_dashboards.ts). */

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
