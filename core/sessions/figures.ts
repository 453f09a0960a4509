/**
 * A finished span's figures: distance, energy (and how it was obtained), efficiency, speeds,
 * power, cost, places. Pure: the caller supplies the usable capacity, places and prices.
 */
import type { Span } from "./detector.ts";
import type { Point } from "./point.ts";
import type { EnergyMethod, Session } from "./session.ts";
import { placeAt, type PricedPlace, type Pricing } from "./tariff.ts";

export interface FigureContext {
  readonly provider: string;
  readonly vin: string;
  /** Usable capacity for the state-of-charge method, joules (undefined: unknown). */
  readonly capacityJ?: number;
  /** Coordinates and place names are kept only with location enabled. */
  readonly location: boolean;
  readonly places: readonly PricedPlace[];
  readonly pricing?: Pricing;
  /** The vehicle's mean price per kWh so far (cost of the energy a drive used). */
  readonly pricePerKwh?: number;
  /** Charges adding less state of charge than this do not estimate the capacity. */
  readonly capacityMinSocAdded: number;
}

const KWH = 3.6e6;
const round = (x: number | undefined | null, digits = 3): number | null =>
  x === undefined || x === null || !Number.isFinite(x)
    ? null
    : Math.round(x * 10 ** digits) / 10 ** digits;
const pct = (soc: number | undefined) => round(soc === undefined ? undefined : soc * 100, 2);
const km = (m: number | undefined) => round(m === undefined ? undefined : m / 1000, 3);
const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a - b;

/** Energy between two points: the vendor's energy left when both have it, else SoC × capacity. */
export function energyBetween(
  from: Point,
  to: Point,
  capacityJ: number | undefined,
): { joules?: number; method?: EnergyMethod } {
  const e = diff(from.energy, to.energy);
  if (e !== undefined) return { joules: e, method: "vendor" };
  const soc = diff(from.soc, to.soc);
  if (soc !== undefined && capacityJ !== undefined) {
    return { joules: soc * capacityJ, method: "soc" };
  }
  return {};
}

export function sessionOf(span: Span, ctx: FigureContext): Session {
  const { start, end, acc } = span;
  const durationS = Math.max(0, span.endT - span.startT);
  const place = (p: Point) => ctx.location ? placeAt(ctx.places, p)?.name ?? null : null;
  const coord = (v: number | undefined) => ctx.location ? round(v, 6) : null;
  const base = {
    id: `${span.kind}-${ctx.provider}-${ctx.vin}-${Math.round(span.startT * 1000)}`,
    kind: span.kind,
    provider: ctx.provider,
    vin: ctx.vin,
    start_ms: Math.round(span.startT * 1000),
    end_ms: Math.round(span.endT * 1000),
    duration_s: Math.round(durationS),
    soc_start_pct: pct(start.soc),
    soc_end_pct: pct(end.soc),
    range_start_km: km(start.range),
    range_end_km: km(end.range),
    odometer_start_km: km(start.odometer),
    odometer_end_km: km(end.odometer),
    distance_km: null,
    energy_used_kwh: null,
    energy_added_kwh: null,
    energy_drawn_kwh: null,
    energy_lost_kwh: null,
    energy_method: null,
    capacity_kwh: null,
    efficiency_wh_per_km: null,
    speed_avg_kmh: null,
    speed_max_kmh: null,
    outside_temp_avg_c: acc.tempN ? round(acc.tempSum / acc.tempN, 1) : null,
    power_max_kw: null,
    power_avg_kw: null,
    charger_type: null,
    capacity_estimate_kwh: null,
    soc_lost_pct: null,
    range_lost_km: null,
    drain_avg_w: null,
    cost: null,
    currency: null,
    start_place: place(start),
    end_place: place(end),
    start_latitude: coord(start.latitude),
    start_longitude: coord(start.longitude),
    end_latitude: coord(end.latitude),
    end_longitude: coord(end.longitude),
    readings: acc.n,
  } satisfies Session;
  if (span.kind === "drive") return drive(base, span, ctx);
  if (span.kind === "charge") return charge(base, span, ctx);
  return parked(base, span, ctx);
}

function usedCapacity(method: EnergyMethod | undefined, ctx: FigureContext): number | null {
  return method === "soc" && ctx.capacityJ !== undefined ? round(ctx.capacityJ / KWH, 2) : null;
}

function drive(base: Session, span: Span, ctx: FigureContext): Session {
  const { start, end, acc } = span;
  const meters = diff(end.odometer, start.odometer);
  const distance = meters !== undefined && meters >= 0 ? meters : undefined;
  const e = energyBetween(start, end, ctx.capacityJ);
  // A charge during a stop refilled the pack: what the drive took is that much more.
  let used = e.joules === undefined ? undefined : e.joules + acc.addedJ;
  // First seen under way: the unseen first stretch used energy at the rate of the rest.
  const seen = diff(end.odometer, acc.seenAtOdometer);
  if (used !== undefined && distance !== undefined && seen !== undefined && seen > 0) {
    used *= distance / seen;
  }
  const hours = base.duration_s / 3600;
  const usedKwh = used === undefined ? undefined : used / KWH;
  return {
    ...base,
    distance_km: km(distance),
    energy_used_kwh: round(usedKwh),
    energy_method: e.method ?? null,
    capacity_kwh: usedCapacity(e.method, ctx),
    efficiency_wh_per_km: used !== undefined && distance
      ? round(used / 3600 / (distance / 1000), 1)
      : null,
    speed_avg_kmh: distance !== undefined && hours > 0 ? round(distance / 1000 / hours, 1) : null,
    speed_max_kmh: acc.speedMax === undefined ? null : round(acc.speedMax * 3.6, 1),
    cost: usedKwh !== undefined && ctx.pricePerKwh !== undefined
      ? round(Math.max(0, usedKwh) * ctx.pricePerKwh, 2)
      : null,
    currency: usedKwh !== undefined && ctx.pricePerKwh !== undefined
      ? ctx.pricing?.currency ?? null
      : null,
  };
}

function charge(base: Session, span: Span, ctx: FigureContext): Session {
  const { start, end, acc } = span;
  const socAdded = diff(end.soc, start.soc);
  const byCounter = acc.counterSum > 0 ? acc.counterSum : undefined;
  const bySoc = socAdded !== undefined && ctx.capacityJ !== undefined
    ? socAdded * ctx.capacityJ
    : undefined;
  const added = byCounter ?? bySoc;
  const method: EnergyMethod | undefined = byCounter !== undefined
    ? "vendor"
    : bySoc !== undefined
    ? "soc"
    : undefined;
  const drawn = acc.drawnJ > 0 ? acc.drawnJ : undefined;
  const type = acc.ac === 0 && acc.dc === 0 ? null : acc.dc > acc.ac ? "dc" : "ac";
  // Only from a charge that was watched: one pieced together from the readings around it
  // takes its end from a reading taken after (a drive already under way).
  const estimate = byCounter !== undefined && socAdded !== undefined && acc.n >= 2 &&
      socAdded >= ctx.capacityMinSocAdded
    ? byCounter / socAdded
    : undefined;
  const session: Session = {
    ...base,
    energy_added_kwh: round(added === undefined ? undefined : added / KWH),
    energy_drawn_kwh: round(drawn === undefined ? undefined : drawn / KWH),
    energy_method: method ?? null,
    capacity_kwh: usedCapacity(method, ctx),
    power_max_kw: round(acc.powerMax === undefined ? undefined : acc.powerMax / 1000, 2),
    power_avg_kw: drawn !== undefined && acc.chargingS > 0
      ? round(drawn / acc.chargingS / 1000, 2)
      : null,
    charger_type: type,
    capacity_estimate_kwh: round(estimate === undefined ? undefined : estimate / KWH, 2),
  };
  const cost = ctx.pricing?.costOf(session, acc, placeAt(ctx.places, start), ctx.vin);
  return cost === undefined
    ? session
    : { ...session, cost: round(cost, 2), currency: ctx.pricing?.currency ?? null };
}

function parked(base: Session, span: Span, ctx: FigureContext): Session {
  const { start, end } = span;
  const e = energyBetween(start, end, ctx.capacityJ);
  const lost = e.joules;
  return {
    ...base,
    readings: 0,
    energy_lost_kwh: round(lost === undefined ? undefined : lost / KWH),
    energy_method: e.method ?? null,
    capacity_kwh: usedCapacity(e.method, ctx),
    soc_lost_pct: pct(diff(start.soc, end.soc)),
    range_lost_km: km(diff(start.range, end.range)),
    drain_avg_w: lost !== undefined && base.duration_s > 0
      ? round(lost / base.duration_s, 1)
      : null,
  };
}

/** Whether a parked period is worth keeping: long enough, and the car did not move. */
export function keepParked(span: Span, minS: number): boolean {
  const moved = diff(span.end.odometer, span.start.odometer);
  return span.endT - span.startT >= minS && (moved === undefined || Math.abs(moved) < 1000);
}
