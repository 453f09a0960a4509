/**
 * The stress days: five simulated days of the demo Model 3 that make session detection work
 * hard, and the cassette made from them (`tesla/stress`). Bodies are the reference day's
 * (scenario.ts) with the values that change here replaced, in Tesla's raw units.
 *
 * Day 1: asleep at home; 07:05 a long drive with a stop at a red light (shift D, 0 km/h for
 * 70 s), a 14-minute DC fast charge half-way (power curve up to 150 kW) and on to the airport
 * (10:00). Days 1–5: parked at the airport in the cold (−8 °C), losing charge asleep, awake a
 * few minutes at 03:00 each night (state online, no power: not worth a read). Day 5: 10:05
 * the drive home, 12:00 plugged in and AC charging at 11 kW to 90 %; the car is out of reach
 * (offline) 14:00–15:30 while it keeps charging, then complete and asleep.
 *
 * The simulation steps once a second; `truth` says exactly what happened.
 */
import type { Cassette, CassetteExchange } from "../../../replay/cassette.ts";
import {
  dayCassette,
  DEMO_ID_S,
  type Phase as ScenarioPhase,
  type Segment,
  teslaDay,
  type TeslaScenario,
} from "./scenario.ts";

export const STRESS_START = 1_773_100_800; // 2026-03-10T00:00:00Z
export const STRESS_DAYS = 5;
const LENGTH = STRESS_DAYS * 86_400;
const hm = (day: number, h: number, m: number, s = 0) => (day - 1) * 86_400 + h * 3600 + m * 60 + s;

const PACK_KWH = 78;
const KM_PER_MILE = 1.609344;
const RATED_MI_PER_PCT = 3.466;
const ODOMETER_START_MI = 15_300;
const SOC_START = 62;
const CHARGE_LIMIT = 90;
/** Pack energy per second lost asleep in the cold (about 1.9 % a day). */
const ASLEEP_KW = 0.06;
/** While awake and parked (electronics, no climate). */
const AWAKE_KW = 0.25;
const AC_GRID_KW = 11;
const AC_EFFICIENCY = 0.9;
const DC_EFFICIENCY = 0.96;

type State = "online" | "asleep" | "offline";
type Phase = "parked" | "driving" | "plugged" | "charging";

interface Leg {
  readonly start: number;
  /** km/h at seconds into the leg; linear between knots. */
  readonly knots: readonly (readonly [number, number])[];
}

const DRIVE_A1: Leg = {
  start: hm(1, 7, 5),
  knots: [[0, 0], [60, 50], [540, 50], [570, 0], [640, 0], [700, 80], [900, 115], [5400, 115], [
    5520,
    60,
  ], [5640, 0]],
};
const DC_STOP = {
  arrive: hm(1, 8, 39),
  plug: hm(1, 8, 40),
  start: hm(1, 8, 41),
  stop: hm(1, 8, 55),
};
const UNPLUG_DC = hm(1, 8, 56);
const DRIVE_A2: Leg = {
  start: hm(1, 8, 57),
  knots: [[0, 0], [90, 90], [240, 120], [3240, 120], [3480, 40], [3780, 0]],
};
const DRIVE_B: Leg = {
  start: hm(5, 10, 5),
  knots: [[0, 0], [120, 100], [240, 120], [5200, 120], [5500, 50], [5880, 0]],
};
const legEnd = (l: Leg) => l.start + l.knots[l.knots.length - 1][0];
const AC = { plug: hm(5, 12, 0), start: hm(5, 12, 2) };
const OFFLINE = { from: hm(5, 14, 0), to: hm(5, 15, 30) };

function speedOn(leg: Leg, s: number): number {
  const k = leg.knots;
  for (let i = 1; i < k.length; i++) {
    if (s <= k[i][0]) {
      return k[i - 1][1] + (k[i][1] - k[i - 1][1]) * (s - k[i - 1][0]) / (k[i][0] - k[i - 1][0]);
    }
  }
  return 0;
}

/** DC power at the plug by state of charge: a ramp, the plateau, then the taper. */
function dcKw(soc: number, secondsIn: number): number {
  const ramp = Math.min(1, secondsIn / 60);
  const curve = soc < 40 ? 150 : soc < 80 ? 150 - (soc - 40) * 2.5 : 50;
  return Math.max(10, ramp * curve);
}

export interface StressTruth {
  readonly drives: readonly {
    start: number;
    end: number;
    distanceKm: number;
    energyKWh: number;
  }[];
  readonly charges: readonly {
    start: number;
    end: number;
    addedKWh: number;
    type: "ac" | "dc";
    peakKw: number;
  }[];
  readonly packKWh: number;
  /** State of charge (0–100, float) at second t of the days. */
  socAt(t: number): number;
  /** Pack energy (kWh) at second t. */
  energyAt(t: number): number;
  /** Energy (kWh) lost standing (neither driving nor charging) between two seconds. */
  drainBetween(from: number, to: number): number;
}

interface Sim {
  phase: Phase[];
  state: State[];
  speed: Float64Array;
  odoKm: Float64Array;
  energy: Float64Array;
  gridKw: Float64Array;
  added: Float64Array;
  dc: Uint8Array;
}

function simulate(): { sim: Sim; truth: StressTruth } {
  const n = LENGTH + 1;
  const sim: Sim = {
    phase: new Array(n).fill("parked"),
    state: new Array(n).fill("asleep"),
    speed: new Float64Array(n),
    odoKm: new Float64Array(n),
    energy: new Float64Array(n),
    gridKw: new Float64Array(n),
    added: new Float64Array(n),
    dc: new Uint8Array(n),
  };
  const awake = (from: number, to: number, state: State = "online") => {
    for (let i = Math.max(0, from); i < Math.min(n, to); i++) sim.state[i] = state;
  };
  // Awake from a few minutes before the first drive to a while after the last one of day 1.
  awake(hm(1, 7, 0), hm(1, 10, 20));
  for (let d = 2; d <= 5; d++) awake(hm(d, 3, 0), hm(d, 3, 4)); // short check-ins
  awake(hm(5, 10, 0), hm(5, 17, 50));
  awake(OFFLINE.from, OFFLINE.to, "offline");
  for (const leg of [DRIVE_A1, DRIVE_A2, DRIVE_B]) {
    for (let i = leg.start; i < legEnd(leg); i++) {
      sim.phase[i] = "driving";
      sim.speed[i] = speedOn(leg, i - leg.start);
    }
  }
  for (let i = DC_STOP.plug; i < UNPLUG_DC; i++) sim.phase[i] = "plugged";
  for (let i = DC_STOP.start; i < DC_STOP.stop; i++) sim.phase[i] = "charging";
  for (let i = AC.plug; i < n; i++) sim.phase[i] = "plugged";

  let energy = SOC_START / 100 * PACK_KWH;
  let odo = 0;
  let added = 0;
  let acDone = LENGTH;
  const drives: { start: number; end: number; distanceKm: number; energyKWh: number }[] = [];
  let peakDc = 0;
  for (let i = 0; i < n; i++) {
    const v = sim.speed[i];
    const soc = energy / PACK_KWH * 100;
    let kw = sim.state[i] === "asleep" ? -ASLEEP_KW : -AWAKE_KW;
    if (sim.phase[i] === "driving") kw = -(0.6 + 0.0009 * v * v);
    if (sim.phase[i] === "charging") {
      const grid = dcKw(soc, i - DC_STOP.start);
      sim.gridKw[i] = grid;
      sim.dc[i] = 1;
      peakDc = Math.max(peakDc, grid);
      kw = grid * DC_EFFICIENCY;
    }
    if (i >= AC.start && i < acDone) {
      if (soc >= CHARGE_LIMIT) acDone = i;
      else {
        sim.phase[i] = "charging";
        sim.gridKw[i] = AC_GRID_KW;
        kw = AC_GRID_KW * AC_EFFICIENCY;
      }
    }
    if (i === DC_STOP.plug || i === AC.plug) added = 0;
    if (kw > 0) added += kw / 3600;
    sim.energy[i] = energy;
    sim.odoKm[i] = odo;
    sim.added[i] = added;
    energy += kw / 3600;
    odo += v / 3600;
  }
  // Every drive: the legs, but A1 and A2 are one journey around the charging stop.
  const journey = (from: Leg, to: Leg) => ({
    start: from.start,
    end: legEnd(to),
    distanceKm: sim.odoKm[legEnd(to)] - sim.odoKm[from.start],
    energyKWh: drivenEnergy(sim, from.start, legEnd(to)),
  });
  drives.push(journey(DRIVE_A1, DRIVE_A2), journey(DRIVE_B, DRIVE_B));
  const charges = [
    {
      start: DC_STOP.start,
      end: DC_STOP.stop,
      addedKWh: sim.added[DC_STOP.stop],
      type: "dc" as const,
      peakKw: peakDc,
    },
    { start: AC.start, end: acDone, addedKWh: sim.added[acDone], type: "ac" as const, peakKw: 11 },
  ];
  const at = (t: number) => Math.min(LENGTH, Math.max(0, Math.floor(t)));
  return {
    sim,
    truth: {
      drives,
      charges,
      packKWh: PACK_KWH,
      socAt: (t) => sim.energy[at(t)] / PACK_KWH * 100,
      energyAt: (t) => sim.energy[at(t)],
      drainBetween: (from, to) => {
        let kwh = 0;
        for (let i = at(from); i < at(to); i++) {
          if (sim.phase[i] === "driving" || sim.phase[i] === "charging") continue;
          kwh += (sim.state[i] === "asleep" ? ASLEEP_KW : AWAKE_KW) / 3600;
        }
        return kwh;
      },
    },
  };
}

/** Energy the pack gave while moving between two times (charging in between left out). */
function drivenEnergy(sim: Sim, from: number, to: number): number {
  let kwh = 0;
  for (let i = from; i < to; i++) {
    if (sim.phase[i] === "driving") kwh += (0.6 + 0.0009 * sim.speed[i] ** 2) / 3600;
  }
  return kwh;
}

let cached: ReturnType<typeof simulate> | undefined;
const model = () => (cached ??= simulate());

export function stressTruth(): StressTruth {
  return model().truth;
}

/** What the car answers at t: the reference day's body with this simulation's values. */
function vehicleDataAt(t: number): Record<string, unknown> {
  const { sim } = model();
  const i = Math.min(LENGTH, Math.max(0, Math.floor(t)));
  const ref = teslaDay();
  const template = ref.vehicleDataAt(sim.phase[i] === "driving" ? 7 * 3600 + 50 * 60 : 19 * 3600);
  const body = structuredClone(template) as Record<string, Record<string, unknown>>;
  const ms = (STRESS_START + i) * 1000;
  const soc = sim.energy[i] / PACK_KWH * 100;
  const phase = sim.phase[i];
  const dc = sim.dc[i] === 1 || (i >= DC_STOP.plug && i < UNPLUG_DC);
  const plugged = phase === "plugged" || phase === "charging";
  const charging = phase === "charging";
  const done = i >= AC.plug && !charging && i > AC.start;
  const grid = sim.gridKw[i];
  const cs = body.charge_state;
  Object.assign(cs, {
    battery_level: Math.round(soc),
    usable_battery_level: Math.round(soc) - 1,
    battery_range: round(soc * RATED_MI_PER_PCT, 2),
    est_battery_range: round(soc * RATED_MI_PER_PCT * 0.85, 2),
    ideal_battery_range: round(soc * RATED_MI_PER_PCT, 2),
    energy_remaining: round(sim.energy[i], 2),
    charging_state: !plugged
      ? "Disconnected"
      : charging
      ? "Charging"
      : done
      ? "Complete"
      : "Stopped",
    charger_power: charging ? Math.round(grid) : 0,
    charger_phases: charging && !dc ? 3 : null,
    charger_voltage: charging ? (dc ? 390 : 229) : plugged ? 2 : 0,
    charger_actual_current: charging ? (dc ? Math.round(grid * 1000 / 390) : 16) : 0,
    charger_pilot_current: plugged ? (dc ? 500 : 16) : 0,
    charge_energy_added: round(sim.added[i], 2),
    charge_limit_soc: CHARGE_LIMIT,
    charge_port_door_open: plugged,
    charge_port_latch: plugged ? "Engaged" : "Disengaged",
    conn_charge_cable: plugged ? (dc ? "GB_DC" : "IEC") : "<invalid>",
    fast_charger_present: dc && plugged,
    fast_charger_brand: dc && plugged ? "Tesla" : "<invalid>",
    fast_charger_type: dc && plugged ? "Tesla" : plugged ? "ACSingleWireCAN" : "<invalid>",
    minutes_to_full_charge: charging ? 30 : 0,
    time_to_full_charge: charging ? 0.5 : 0,
    timestamp: ms,
  });
  Object.assign(body.drive_state, {
    shift_state: phase === "driving" ? "D" : sim.state[i] === "online" ? "P" : null,
    speed: phase === "driving" ? Math.round(sim.speed[i] / KM_PER_MILE) : null,
    power: phase === "driving" ? Math.round(0.6 + 0.0009 * sim.speed[i] ** 2) : 0,
    timestamp: ms,
    gps_as_of: Math.floor(ms / 1000),
  });
  Object.assign(body.vehicle_state, {
    odometer: round(ODOMETER_START_MI + sim.odoKm[i] / KM_PER_MILE, 6),
    timestamp: ms,
  });
  Object.assign(body.climate_state, {
    outside_temp: i < hm(1, 10, 0) || i >= hm(5, 10, 0) ? 4 : -8,
    is_climate_on: false,
    timestamp: ms,
  });
  for (const k of ["gui_settings", "vehicle_config"]) {
    if (body[k]) body[k].timestamp = ms;
  }
  (body as Record<string, unknown>).state = "online";
  return body;
}

/** Sample points: every change and every 60 s while awake. */
function samplePoints(): number[] {
  const { sim } = model();
  const points = new Set<number>([0]);
  for (let i = 1; i <= LENGTH; i++) {
    if (sim.state[i] !== sim.state[i - 1] || sim.phase[i] !== sim.phase[i - 1]) points.add(i);
    if (sim.state[i] !== "asleep" && i % 60 === 0) points.add(i);
  }
  for (const t of [DC_STOP.stop, UNPLUG_DC, AC.plug]) points.add(t);
  return [...points].filter((t) => t < LENGTH).sort((a, b) => a - b);
}

const ERROR_408 = {
  response: null,
  error: "vehicle unavailable: vehicle is offline or asleep",
  error_description: "",
};

/** fixtures/tesla/stress/cassette.json */
export function stressCassette(): Cassette {
  const { sim } = model();
  const day = dayCassette();
  const base = day.exchanges.filter((e) => e.at === 0 && e.request.method === "POST");
  const path = (p: string) => day.exchanges.find((e) => e.request.path === p)!;
  const vehiclePath = `/api/1/vehicles/${DEMO_ID_S}`;
  const withState = (e: CassetteExchange, at: number, state: State): CassetteExchange => {
    const json = structuredClone(e.response.json) as { response: unknown };
    const set = (o: unknown) => {
      if (o && typeof o === "object") (o as Record<string, unknown>).state = state;
    };
    if (Array.isArray(json.response)) json.response.forEach(set);
    else set(json.response);
    return { ...e, at, response: { ...e.response, json } };
  };
  const exchanges: CassetteExchange[] = [...base];
  let last: State | undefined;
  for (const t of samplePoints()) {
    const state = sim.state[t];
    if (state !== last) {
      exchanges.push(withState(path("/api/1/products"), t, state));
      exchanges.push(withState(path("/api/1/vehicles"), t, state));
    }
    last = state;
    exchanges.push(withState(path(vehiclePath), t, state));
    exchanges.push(
      state === "online"
        ? {
          at: t,
          request: { method: "GET", path: `${vehiclePath}/vehicle_data`, query: {} },
          response: {
            status: 200,
            headers: { ...JSON_HEADERS },
            json: { response: vehicleDataAt(t) },
          },
        }
        : {
          at: t,
          request: { method: "GET", path: `${vehiclePath}/vehicle_data`, query: {} },
          response: { status: 408, headers: { ...JSON_HEADERS }, json: ERROR_408 },
        },
    );
  }
  return {
    version: 1,
    vendor: "tesla",
    scenario: "stress",
    tool: day.tool,
    startedAt: STRESS_START,
    duration: LENGTH,
    sampleAt: hm(1, 8, 45),
    description: "The stress days: a scripted (not recorded) Tesla Model 3 over five days, " +
      "generated from providers/tesla/sim/stress.ts; do not edit by hand. A drive with a stop " +
      "at a red light and a 14-minute DC fast charge half-way, four days parked at an airport " +
      "in the cold, the drive home and an 11 kW AC charge that goes on while the car is " +
      "offline for 90 minutes. Fake identity and places as in the reference day.",
    exchanges,
  };
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The stress days as a scenario the fake Tesla API and the fleet-telemetry emulator serve
 * (streamed runs): the same simulation, each second's state and values.
 */
export function stressScenario(): TeslaScenario {
  const { sim, truth } = model();
  const day = teslaDay();
  const at = (t: number) => Math.min(LENGTH, Math.max(0, Math.floor(t)));
  const acDone = truth.charges[1].end;
  const phaseAt = (t: number): ScenarioPhase => {
    const i = at(t);
    if (sim.state[i] !== "online") return sim.state[i];
    const p = sim.phase[i];
    if (p === "driving" || p === "charging") return p;
    if (p === "plugged") return i >= acDone ? "complete_idle" : "charge_starting";
    return "online_idle";
  };
  const segments: Segment[] = [];
  for (let i = 0; i < LENGTH; i++) {
    const phase = phaseAt(i);
    const last = segments[segments.length - 1];
    if (last?.phase === phase && last.state === sim.state[i]) {
      (last as { end: number }).end = i + 1;
    } else segments.push({ start: i, end: i + 1, phase, state: sim.state[i], note: phase });
  }
  const place = day.drives[0].from;
  const socAt = (t: number) => truth.socAt(t);
  return {
    startedAt: STRESS_START,
    duration: LENGTH,
    vin: day.vin,
    idS: day.idS,
    segments,
    events: [],
    drives: truth.drives.map((d) => {
      let top = 0;
      for (let i = d.start; i < d.end; i++) top = Math.max(top, sim.speed[i]);
      return {
        ...d,
        from: place,
        to: place,
        socStart: socAt(d.start),
        socEnd: socAt(d.end),
        maxSpeedKmh: top,
      };
    }),
    charges: truth.charges.map((c) => ({
      pluggedAt: c.type === "dc" ? DC_STOP.plug : AC.plug,
      start: c.start,
      end: c.end,
      socStart: socAt(c.start),
      socEnd: socAt(c.end),
      energyAddedKWh: c.addedKWh,
      chargerPowerKW: c.peakKw,
      phases: c.type === "dc" ? 0 : 3,
      currentA: c.type === "dc" ? Math.round(c.peakKw * 1000 / 390) : 16,
      voltageV: c.type === "dc" ? 390 : 229,
    })),
    stateAt: (t) => sim.state[at(t)],
    phaseAt,
    socAt,
    vehicleDataAt,
    summaryAt: (t) => ({ ...day.summaryAt(t), state: sim.state[at(t)] }),
    productAt: (t) => ({ ...day.productAt(t), state: sim.state[at(t)] }),
  };
}
