/** What a charge costs: flat, time-of-use (in the configured zone), per place, per minute, free. */
import { parseConfig } from "../config.ts";
import { assertAlmostEquals, assertEquals } from "../testing.ts";
import { SessionsConfig } from "./config.ts";
import { emptyAccumulated } from "./detector.ts";
import type { Session } from "./session.ts";
import { placeAt, pricing } from "./tariff.ts";
import { rig, VEHICLE } from "./testdata/rig.ts";

const KWH = 3.6e6;
const HOME = { name: "home", latitude: 52, longitude: 4, radius_m: 150 };

/** A charge of `kwh` drawn evenly from `from` to `to` (ISO times), in 15-minute slots. */
function charge(from: string, to: string, kwh: number, type: "ac" | "dc" = "ac") {
  const a = Date.parse(from) / 1000;
  const b = Date.parse(to) / 1000;
  const acc = emptyAccumulated();
  const slots = Math.round((b - a) / 900);
  for (let i = 0; i < slots; i++) acc.slots[`power:${a + i * 900}`] = kwh * KWH / slots;
  const session = {
    start_ms: a * 1000,
    end_ms: b * 1000,
    duration_s: b - a,
    charger_type: type,
    energy_drawn_kwh: kwh,
    energy_added_kwh: kwh * 0.9,
  } as Session;
  return { session, acc };
}

const cost = (config: Record<string, unknown>, c: ReturnType<typeof charge>, place?: string) => {
  const cfg = SessionsConfig.parse(config);
  const at = place ? cfg.places.find((p) => p.name === place) : undefined;
  return pricing(cfg).costOf(c.session, c.acc, at, VEHICLE.vin);
};

Deno.test("tariff: a flat price per kWh of the energy drawn", () => {
  const c = charge("2026-03-10T18:00:00Z", "2026-03-10T20:00:00Z", 20);
  assertAlmostEquals(cost({ currency: "EUR", tariff: { price_per_kwh: 0.3 } }, c)!, 6, 1e-9);
  assertEquals(cost({}, c), undefined, "no tariff, no cost");
});

Deno.test("tariff: time-of-use windows in the configured zone, across midnight", () => {
  // 22:00–06:00 Berlin (CET, UTC+1) is cheap: a charge 20:00–24:00 UTC is 21:00–01:00 there.
  const config = {
    currency: "EUR",
    timezone: "Europe/Berlin",
    tariff: {
      price_per_kwh: 0.4,
      time_of_use: [{ from: "22:00", to: "06:00", price_per_kwh: 0.1 }],
    },
  };
  const c = charge("2026-03-10T20:00:00Z", "2026-03-11T00:00:00Z", 40);
  // One hour (10 kWh) at 0.40, three hours (30 kWh) at 0.10.
  assertAlmostEquals(cost(config, c)!, 10 * 0.4 + 30 * 0.1, 1e-9);
});

Deno.test("tariff: the place's own tariff with a session fee, per minute, free, free DC", () => {
  const config = {
    currency: "EUR",
    tariff: { price_per_kwh: 0.3 },
    dc_tariff: { price_per_kwh: 0.6 },
    places: [
      { ...HOME, tariff: { price_per_kwh: 0.2, session_fee: 1 } },
      { name: "work", latitude: 52.3, longitude: 3.5, tariff: { free: true } },
      { name: "mall", latitude: 52.1, longitude: 3.9, tariff: { price_per_minute: 0.05 } },
    ],
    vehicles: [{ vin: "OTHERVIN", free_dc: true }],
  };
  const ac = charge("2026-03-10T18:00:00Z", "2026-03-10T20:00:00Z", 20);
  assertAlmostEquals(cost(config, ac, "home")!, 20 * 0.2 + 1, 1e-9);
  assertEquals(cost(config, ac, "work"), 0);
  assertAlmostEquals(cost(config, ac, "mall")!, 120 * 0.05, 1e-9);
  const dc = charge("2026-03-10T12:00:00Z", "2026-03-10T12:30:00Z", 40, "dc");
  assertAlmostEquals(cost(config, dc)!, 40 * 0.6, 1e-9, "DC away from the places");
  const free = pricing(
    SessionsConfig.parse({ ...config, vehicles: [{ vin: VEHICLE.vin, free_dc: true }] }),
  );
  assertEquals(free.costOf(dc.session, dc.acc, undefined, VEHICLE.vin), 0, "free Supercharging");
});

Deno.test("tariff: a place holds a point within its radius, the nearest of two", () => {
  const near = { t: 0, driving: false, charging: false, latitude: 52.0005, longitude: 4 };
  const far = { ...near, latitude: 52.01 };
  assertEquals(placeAt([HOME], near)?.name, "home");
  assertEquals(placeAt([HOME], far), undefined);
  assertEquals(placeAt([HOME], { t: 0, driving: false, charging: false }), undefined);
});

Deno.test("tariff: a finished charge carries its cost and moves the cost counter", () => {
  const r = rig({ currency: "EUR", tariff: { price_per_kwh: 0.25 } });
  r.at(0, { soc: 40, charging: "stopped", added: 0 });
  for (let m = 1; m <= 61; m++) {
    r.at(m, { soc: 40 + m / 6, charging: "charging", kw: 11, added: (m - 1) * 0.165 });
  }
  r.at(62, { soc: 50.3, charging: "complete", kw: 0, added: 9.9 });
  r.idle(67);
  const [c] = r.sessions("charge");
  // 11 kW drawn for 61 minutes (the last minute down to 0): 11.0 kWh at 0.25.
  assertAlmostEquals(c.cost!, c.energy_drawn_kwh! * 0.25, 0.01);
  assertEquals(c.currency, "EUR");
  assertAlmostEquals(r.counter("ev.charge.cost", { currency: "EUR" }), c.cost!, 1e-9);
});

Deno.test("config: places without location, prices without a currency, bad windows say the fix", () => {
  const err = (text: string) => {
    try {
      parseConfig(text);
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  assertEquals(
    err("sessions: { places: [{ name: home, latitude: 1, longitude: 2 }] }").includes(
      "sessions.places: places are found by the car's position: they need location: true",
    ),
    true,
  );
  assertEquals(
    err("sessions: { tariff: { price_per_kwh: 0.3 } }").includes("add currency: EUR"),
    true,
  );
  assertEquals(
    err(
      "sessions: { currency: EUR, tariff: { time_of_use: [{ from: '22:00', to: '06:00', price_per_kwh: 0.1 }] } }",
    )
      .includes("time_of_use needs price_per_kwh too"),
    true,
  );
  assertEquals(err("sessions: { timezone: Mars/Olympus }").includes("unknown time zone"), true);
});
