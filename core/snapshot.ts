/** The normalized vehicle reading every provider produces and every export consumes. */

export type Labels = Record<string, string>;

export interface VehicleRef {
  /** Provider id, e.g. "tesla". */
  readonly provider: string;
  /** The vendor's id used in API paths (Tesla `id_s`, Volvo VIN). */
  readonly id: string;
  readonly vin: string;
  readonly name?: string;
}

export type VehicleState = "online" | "asleep" | "offline" | "unknown";

/** A numeric sample of a catalog metric (gauge or 0/1 flag). */
export interface Sample {
  readonly metric: string;
  readonly value: number;
  readonly labels?: Labels;
}

/** The current value of a catalog state set. */
export interface StateSample {
  readonly metric: string;
  readonly state: string;
}

export interface Snapshot {
  readonly vehicle: VehicleRef;
  /** The vendor's own sample time, Unix seconds. */
  readonly sampledAt: number;
  readonly state: VehicleState;
  readonly samples: readonly Sample[];
  readonly states: readonly StateSample[];
  /** Labels of `ev_vehicle_info` (static facts). */
  readonly info: Labels;
}
