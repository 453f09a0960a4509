/** The normalized vehicle reading every provider produces and every export consumes. */
import { inRange, metric } from "./catalog.ts";

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

/** The one key of a vehicle in every store and map: provider and VIN. */
export function vehicleKey(vehicle: Pick<VehicleRef, "provider" | "vin">): string {
  return `${vehicle.provider}/${vehicle.vin}`;
}

/**
 * How logs and the status page name a vehicle: the VIN's last six characters (its serial
 * number), enough to tell one owner's cars apart without publishing the VIN.
 */
export function vinTail(vin: string): string {
  return vin.slice(-6);
}

/** A VIN in free text (ISO 3779: 17 characters, no I, O or Q). */
const VIN_IN_TEXT = /\b[A-HJ-NPR-Z0-9]{17}\b/g;

/** `text` (a vendor's or backend's answer) with every VIN in it shortened to `…` and its tail. */
export function vinTails(text: string): string {
  return text.replace(VIN_IN_TEXT, (vin) => `…${vinTail(vin)}`);
}

/** A numeric sample of a catalog metric (gauge or 0/1 flag). */
export interface Sample {
  readonly metric: string;
  readonly value: number;
  readonly labels?: Labels;
  /** The vendor endpoint it was read from; partial snapshots replace values by source. */
  readonly source?: string;
}

/** The current value of a catalog state set. */
export interface StateSample {
  readonly metric: string;
  readonly state: string;
  /** The state set's own labels besides `state` (e.g. `wheel`), as the catalog declares. */
  readonly labels?: Labels;
  readonly source?: string;
}

export interface Snapshot {
  readonly vehicle: VehicleRef;
  /** The vendor's own sample time, Unix seconds. */
  readonly sampledAt: number;
  /**
   * When the values were read, on this machine's clock (Unix s). A vendor time well after it
   * cannot be true (core/parse.ts checkRanges refuses it).
   */
  readonly readAt?: number;
  readonly state: VehicleState;
  readonly samples: readonly Sample[];
  readonly states: readonly StateSample[];
  /** Labels of `ev_vehicle_info` (static facts). */
  readonly info: Labels;
  /**
   * Set when only some vendor endpoints were read (a vendor polled endpoint by endpoint at
   * different rates). Values whose `source` is listed replace the stored ones from that source;
   * values from other sources are kept. `state: "unknown"` then means "not read this time".
   */
  readonly partial?: { readonly sources: readonly string[] };
}

/** The value of a catalog metric in a snapshot (the first series when it has labels). */
export function sampleValue(snapshot: Snapshot, metric: string): number | undefined {
  return snapshot.samples.find((s) => s.metric === metric)?.value;
}

/** The current state of a catalog state set in a snapshot. */
export function stateValue(snapshot: Snapshot, metric: string): string | undefined {
  return snapshot.states.find((s) => s.metric === metric)?.state;
}

/**
 * The stored snapshot after `next` arrived. A full snapshot replaces everything (Tesla); a
 * partial one replaces only the values of the sources it read, including values those sources
 * no longer yield (a dropped field must not linger).
 */
export function mergeSnapshot(prev: Snapshot | undefined, next: Snapshot): Snapshot {
  if (!next.partial || !prev) return next;
  const read = new Set(next.partial.sources);
  const kept = <T extends { readonly source?: string }>(xs: readonly T[]) =>
    xs.filter((x) => x.source === undefined || !read.has(x.source));
  // The newest time of what is stored; an absurd stored time must not outlive the next read.
  const prevTime = inRange(metric("ev.last_sample.timestamp"), prev.sampledAt);
  return {
    vehicle: next.vehicle,
    sampledAt: prevTime ? Math.max(prev.sampledAt, next.sampledAt) : next.sampledAt,
    ...(next.readAt === undefined ? {} : { readAt: next.readAt }),
    state: next.state === "unknown" ? prev.state : next.state,
    // Kept values first: when the same series comes twice, the exports keep the later one.
    samples: [...kept(prev.samples), ...next.samples],
    states: [...kept(prev.states), ...next.states],
    info: { ...prev.info, ...next.info },
    partial: {
      sources: [...new Set([...(prev.partial?.sources ?? []), ...next.partial.sources])],
    },
  };
}
