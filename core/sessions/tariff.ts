/**
 * What a charge costs: the tariff of the place it happened at (a geofence), else the DC or
 * the default tariff; a flat price per kWh, time-of-use windows in the configured time zone,
 * a price per minute, a session fee, or free.
 */
import type { Accumulated } from "./detector.ts";
import type { Point } from "./point.ts";
import type { Session } from "./session.ts";
import type { Place, SessionsConfig, Tariff } from "./config.ts";

export type PricedPlace = Place;

const EARTH_M = 6_371_008.8;
const rad = (d: number) => d * Math.PI / 180;

export function distanceM(a: Point, p: Pick<Place, "latitude" | "longitude">): number {
  const dLat = rad(p.latitude - a.latitude!);
  const dLon = rad(p.longitude - a.longitude!);
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(rad(a.latitude!)) * Math.cos(rad(p.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.sqrt(h));
}

/** The nearest configured place whose radius holds the point (needs a position). */
export function placeAt(places: readonly Place[], p: Point): Place | undefined {
  if (p.latitude === undefined || p.longitude === undefined) return undefined;
  let best: { place: Place; d: number } | undefined;
  for (const place of places) {
    const d = distanceM(p, place);
    if (d <= place.radius_m && (!best || d < best.d)) best = { place, d };
  }
  return best?.place;
}

export interface Pricing {
  readonly currency: string | undefined;
  /** The cost of a finished charge, or undefined when no tariff applies. */
  costOf(
    session: Session,
    acc: Accumulated,
    place: Place | undefined,
    vin: string,
  ): number | undefined;
}

const KWH = 3.6e6;

export function pricing(config: SessionsConfig): Pricing {
  const minuteOfDay = new Intl.DateTimeFormat("en-GB", {
    timeZone: config.timezone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const localMinute = (unixS: number) => {
    const [h, m] = minuteOfDay.format(unixS * 1000).split(":").map(Number);
    return h * 60 + m;
  };
  const priceAt = (tariff: Tariff, unixS: number): number | undefined => {
    const m = localMinute(unixS);
    for (const w of tariff.time_of_use) {
      const [from, to] = [minutes(w.from), minutes(w.to)];
      const inside = from <= to ? m >= from && m < to : m >= from || m < to;
      if (inside) return w.price_per_kwh;
    }
    return tariff.price_per_kwh;
  };
  return {
    currency: config.currency,
    costOf(session, acc, place, vin) {
      const dc = session.charger_type === "dc";
      const car = config.vehicles.find((v) => v.vin === vin);
      if (!place?.tariff && dc && car?.free_dc) return 0;
      const tariff = place?.tariff ?? (dc ? config.dc_tariff : undefined) ?? config.tariff;
      if (!tariff) return undefined;
      if (tariff.free) return 0;
      let cost = tariff.session_fee ?? 0;
      if (tariff.price_per_minute !== undefined) {
        cost += tariff.price_per_minute * session.duration_s / 60;
      }
      if (tariff.price_per_kwh !== undefined || tariff.time_of_use.length) {
        const energy = energySlots(session, acc);
        for (const [t, joules] of energy) {
          const price = priceAt(tariff, t);
          if (price === undefined) return undefined;
          cost += price * joules / KWH;
        }
      }
      return cost;
    },
  };
}

const minutes = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
};

/**
 * The charge's billed energy by time: the charger's (drawn) energy when its power was
 * read, else the pack's (added) by the vendor's counter, else all of it at mid-charge.
 */
function energySlots(session: Session, acc: Accumulated): [number, number][] {
  for (const basis of ["power", "counter"]) {
    const slots = Object.entries(acc.slots)
      .filter(([key]) => key.startsWith(`${basis}:`))
      .map(([key, j]) => [Number(key.slice(basis.length + 1)) + 450, j] as [number, number]);
    if (slots.length) return slots;
  }
  const kwh = session.energy_drawn_kwh ?? session.energy_added_kwh;
  if (kwh === null) return [];
  return [[(session.start_ms + session.end_ms) / 2000, kwh * KWH]];
}
