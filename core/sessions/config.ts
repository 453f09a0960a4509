/**
 * The `sessions:` block of the config: how drives and charges are told apart, usable
 * capacities, places (geofences) and what charging costs there.
 */
import { z } from "zod";
import { block, keysUnder } from "../config_block.ts";

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "expected a time such as 22:00");

/** One time-of-use window; `to` before `from` runs past midnight (22:00–06:00). */
const Window = block({
  from: HHMM,
  to: HHMM,
  price_per_kwh: z.number().min(0),
});

const TARIFF_SHAPE = {
  /** Charging here costs nothing (a free Supercharging car, a free charger at work). */
  free: z.boolean().default(false),
  price_per_kwh: z.number().min(0).optional(),
  /** Windows with their own price; `price_per_kwh` applies outside them. */
  time_of_use: z.array(Window).default([]),
  /** Billed by the minute plugged in and charging (some public chargers). */
  price_per_minute: z.number().min(0).optional(),
  /** A fixed fee per charge. */
  session_fee: z.number().min(0).optional(),
};

/** A tariff; a window's `from`/`to` written beside its prices belongs under `time_of_use`. */
export const Tariff = block(TARIFF_SHAPE, keysUnder("time_of_use", Window.shape)).refine(
  (t) => t.time_of_use.length === 0 || t.price_per_kwh !== undefined,
  {
    message: "time_of_use needs price_per_kwh too: the price outside its windows",
    path: ["price_per_kwh"],
  },
);
export type Tariff = z.infer<typeof Tariff>;

const TARIFF_KEYS = keysUnder("tariff", TARIFF_SHAPE);

/** A place; a price written beside its position belongs under its `tariff`. */
export const Place = block({
  name: z.string().min(1),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  radius_m: z.number().positive().max(5000).default(150),
  /** What charging costs here; the default tariff when absent. */
  tariff: Tariff.optional(),
}, TARIFF_KEYS);
export type Place = z.infer<typeof Place>;

const Vehicle = block({
  vin: z.string().min(1),
  usable_kwh: z.number().positive().max(300).optional(),
  /** DC charges are free (a Tesla with free Supercharging). */
  free_dc: z.boolean().default(false),
});

const SESSIONS_SHAPE = {
  /** Keep sessions in state_dir/sessions.db and export their counters. */
  enabled: z.boolean().default(true),
  /**
   * A drive parked for less than this goes on as the same drive (a light, a quick stop, a
   * fast charge). Longer than the scheduler's suspend_s (21 min): a poller that lets a parked
   * car sleep sees any stop last at least that long.
   */
  stop_gap_s: z.number().min(0).default(1800),
  /** A charge paused (plugged in, not charging) longer than this is over; unplugging ends it. */
  charge_gap_s: z.number().min(0).default(3600),
  /** Parked periods shorter than this are not kept (nor counted as drain). */
  parked_min_s: z.number().min(0).default(3600),
  /** Charges adding less state of charge than this do not estimate the capacity. */
  capacity_min_soc_added: z.number().min(0).max(1).default(0.1),
  /** The currency of every price below, e.g. EUR. */
  currency: z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code such as EUR").optional(),
  /** Time zone of time-of-use windows (IANA name); UTC when absent. */
  timezone: z.string().default("UTC"),
  /** What a charge costs away from every place below (and at a place without its own). */
  tariff: Tariff.optional(),
  /** DC charges away from the places: another tariff (a fast-charging network). */
  dc_tariff: Tariff.optional(),
  places: z.array(Place).default([]),
  /** Per car: the usable capacity when the vendor states none or states the gross one. */
  vehicles: z.array(Vehicle).default([]),
};

/**
 * The block; a tariff's or a car's key written directly under `sessions:` is refused with
 * where it belongs.
 */
export const SessionsConfig = block(SESSIONS_SHAPE, [
  ...TARIFF_KEYS,
  ...keysUnder("vehicles", Vehicle.shape),
]).superRefine((c, ctx) => {
  // UTC is every runtime's: checking it would load the time zone database (6 MiB of RSS).
  try {
    if (c.timezone !== "UTC") new Intl.DateTimeFormat("en", { timeZone: c.timezone });
  } catch {
    ctx.addIssue({
      code: "custom",
      path: ["timezone"],
      message: `unknown time zone "${c.timezone}": use an IANA name such as Europe/Berlin`,
    });
  }
  const priced = [c.tariff, c.dc_tariff, ...c.places.map((p) => p.tariff)].some((t) =>
    t && !t.free
  );
  if (priced && !c.currency) {
    ctx.addIssue({
      code: "custom",
      path: ["currency"],
      message: "prices need their currency: add currency: EUR (or your ISO 4217 code)",
    });
  }
});
export type SessionsConfig = z.infer<typeof SessionsConfig>;

export const DEFAULT_SESSIONS: SessionsConfig = SessionsConfig.parse({});

/** The block's keys as `sessions.<key>`: the top level's hint for a key put there by mistake. */
export const SESSIONS_KEYS = keysUnder("sessions", SESSIONS_SHAPE);
