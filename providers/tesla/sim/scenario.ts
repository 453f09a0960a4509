/**
 * The reference day: a deterministic simulation of one (fictional) Tesla Model 3 over one day,
 * and the cassettes made from it (fixtures/tesla/…, written by scripts/fixtures.ts).
 *
 * The day starts at 2026-03-10T00:00:00Z (Unix 1773100800). The demo place is fictional and
 * lies in the North Sea, so its local time is taken to be UTC (`vehicle_config.utc_offset` 0)
 * and "07:30" below means 07:30 UTC. Every value follows Tesla's raw API units (miles, mph,
 * bar, kW, kWh, %, °C, epoch-ms `timestamp`s, epoch-s `gps_as_of`), and the bodies follow the
 * shape of Tesla's `vehicle_data` response field for field (media_info left out).
 *
 * Identity is fake: VIN 5YJ3E1EA?PF000001 with a valid ISO 3779 check digit, id 1000000000000001
 * (below 2^53, so exact in JavaScript; clients should still use `id_s`), vehicle_id 2000000001,
 * user_id 1, display name "Demo Model 3", placeholder tokens.
 *
 * Nothing here reads the clock, the network or the disk: the same call gives the same day.
 */
import { withSerial } from "../../../replay/vin.ts";
import type { Cassette, CassetteExchange } from "../../../replay/cassette.ts";

// ---------------------------------------------------------------------------------------------
// Identity and constants
// ---------------------------------------------------------------------------------------------

/** 2026-03-10T00:00:00Z: local midnight of the reference day at the demo place (UTC). */
export const DAY_START = 1773100800;
export const DAY_LENGTH = 86400;

export const DEMO_ID = 1000000000000001;
export const DEMO_ID_S = "1000000000000001";
export const DEMO_VEHICLE_ID = 2000000001;
export const DEMO_USER_ID = 1;
export const DEMO_NAME = "Demo Model 3";
export const DEMO_STREAM_TOKENS = ["fake-stream-token-1", "fake-stream-token-2"];
export const DEMO_ACCESS_TOKEN = "fake-access-token";
export const DEMO_REFRESH_TOKEN = "fake-refresh-token";
export const DEMO_ID_TOKEN = "fake-id-token";

/** Tesla Model 3, Fremont ("F"), model year 2023 ("P"), serial 000001 — with its check digit. */
export const DEMO_VIN = withSerial("5YJ3E1EA0PF000000", "000001");

export interface Place {
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
}

/** Fictional places in the North Sea: no one lives or works there. */
export const DEMO_HOME: Place = { name: "Demo Home", latitude: 52.0, longitude: 4.0 };
export const DEMO_WORK: Place = { name: "Demo Work", latitude: 52.33, longitude: 3.475 };

/** The route home → work (reversed for the way back), all at sea. */
const ROUTE: ReadonlyArray<readonly [number, number]> = [
  [52.0, 4.0],
  [52.006, 3.99],
  [52.03, 3.962],
  [52.09, 3.885],
  [52.16, 3.79],
  [52.23, 3.67],
  [52.28, 3.59],
  [52.31, 3.52],
  [52.33, 3.475],
];

/** Usable pack energy (Model 3 Long Range, 2023). */
export const PACK_KWH = 78;
/** Rated miles per percent of charge (about 346 rated miles at 100 %). */
const RATED_MI_PER_PCT = 3.466;
const EST_RANGE_FACTOR = 0.93; // the car's estimate in March: a bit below rated
const KM_PER_MILE = 1.609344;
const CHARGE_LIMIT = 80;
const SOC_AT_PLUG_IN = 40;
const ODOMETER_START_MI = 15234.56789;
const LIFETIME_KWH_START = 4321.125;

// ---------------------------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------------------------

export type VehicleState = "online" | "asleep" | "offline";
export type Phase =
  | "asleep"
  | "offline"
  | "fake_online"
  | "online_idle"
  | "driving"
  | "charge_starting"
  | "charging"
  | "complete_idle";

export interface Segment {
  /** Seconds from DAY_START, inclusive. */
  readonly start: number;
  /** Seconds from DAY_START, exclusive. */
  readonly end: number;
  readonly phase: Phase;
  readonly state: VehicleState;
  readonly note: string;
}

export interface TimelineEvent {
  readonly at: number;
  readonly note: string;
}

export interface DriveInterval {
  readonly start: number;
  readonly end: number;
  readonly from: Place;
  readonly to: Place;
  readonly distanceKm: number;
  readonly energyKWh: number;
  readonly socStart: number;
  readonly socEnd: number;
  readonly maxSpeedKmh: number;
}

export interface ChargeInterval {
  /** Cable plugged in (charging_state Stopped). */
  readonly pluggedAt: number;
  /** charging_state Charging from here … */
  readonly start: number;
  /** … to here (then Complete). */
  readonly end: number;
  readonly socStart: number;
  readonly socEnd: number;
  /** Energy into the pack (Tesla's charge_energy_added) at the end. */
  readonly energyAddedKWh: number;
  readonly chargerPowerKW: number;
  readonly phases: number;
  readonly currentA: number;
  readonly voltageV: number;
}

export interface TeslaScenario {
  readonly startedAt: number;
  readonly duration: number;
  readonly vin: string;
  readonly idS: string;
  readonly segments: readonly Segment[];
  /** Every moment at which something a poller can see changes (phase, lock, shift, plug…). */
  readonly events: readonly TimelineEvent[];
  readonly drives: readonly DriveInterval[];
  readonly charges: readonly ChargeInterval[];
  stateAt(t: number): VehicleState;
  phaseAt(t: number): Phase;
  /** Battery level as a float (the integer `battery_level` is its rounding). */
  socAt(t: number): number;
  /**
   * The `response` object of GET /api/1/vehicles/{id}/vehicle_data at t: what the car would
   * answer if reachable (while asleep/offline the real API answers 408 instead; the cassette
   * does that). All sections, location fields included.
   */
  vehicleDataAt(t: number): Record<string, unknown>;
  /** The `response` object of GET /api/1/vehicles/{id} (the summary that never wakes the car). */
  summaryAt(t: number): Record<string, unknown>;
  /** One entry of GET /api/1/products `response` (the vehicle only). */
  productAt(t: number): Record<string, unknown>;
}

const hm = (h: number, m: number, s = 0) => h * 3600 + m * 60 + s;

const DRIVE_1 = { start: hm(7, 35), end: hm(8, 10) };
const DRIVE_2 = { start: hm(17, 35), end: hm(18, 15) };
const PLUG_IN = hm(18, 30);
const CHARGE_STARTING = hm(18, 31);
const CHARGE_START = hm(18, 32);
const CHARGE_END = CHARGE_START + 3.5 * 3600; // 22:02
const CHARGER = { phases: 3, currentA: 16, voltageV: 229 };

const SEGMENTS: readonly Segment[] = [
  seg(0, hm(2, 10), "asleep", "asleep", "asleep overnight at Demo Home, unplugged"),
  seg(hm(2, 10), hm(2, 13), "fake_online", "online", "fake online blip: state online, no power"),
  seg(hm(2, 13), hm(4, 40), "asleep", "asleep", "asleep"),
  seg(hm(4, 40), hm(4, 43), "fake_online", "online", "fake online blip: state online, no power"),
  seg(hm(4, 43), hm(7, 30), "asleep", "asleep", "asleep"),
  seg(
    hm(7, 30),
    DRIVE_1.start,
    "online_idle",
    "online",
    "wakes: climate preconditioning from the app",
  ),
  seg(DRIVE_1.start, DRIVE_1.end, "driving", "online", "morning drive Demo Home → Demo Work"),
  seg(DRIVE_1.end, hm(8, 25), "online_idle", "online", "parked at Demo Work, driver still in"),
  seg(hm(8, 25), hm(12, 0), "asleep", "asleep", "asleep at Demo Work"),
  seg(hm(12, 0), hm(13, 0), "offline", "offline", "reported offline (asleep, no connectivity)"),
  seg(hm(13, 0), hm(17, 30), "asleep", "asleep", "asleep at Demo Work"),
  seg(
    hm(17, 30),
    DRIVE_2.start,
    "online_idle",
    "online",
    "wakes: climate preconditioning from the app",
  ),
  seg(DRIVE_2.start, DRIVE_2.end, "driving", "online", "evening drive Demo Work → Demo Home"),
  seg(DRIVE_2.end, PLUG_IN, "online_idle", "online", "parked at Demo Home, driver still in"),
  seg(PLUG_IN, CHARGE_START, "charge_starting", "online", "plugged in: charging_state Stopped"),
  seg(CHARGE_START, CHARGE_END, "charging", "online", "AC charging 11 kW (3 × 16 A × ~230 V)"),
  seg(CHARGE_END, hm(22, 17), "complete_idle", "online", "charge Complete at 80 %, plugged"),
  seg(hm(22, 17), DAY_LENGTH, "asleep", "asleep", "asleep, plugged in, Complete"),
];

function seg(start: number, end: number, phase: Phase, state: VehicleState, note: string) {
  return { start, end, phase, state, note };
}

const EXTRA_EVENTS: readonly TimelineEvent[] = [
  { at: DRIVE_1.start - 120, note: "driver present, unlocked, shift P" },
  { at: DRIVE_1.start + 60, note: "drive-away lock" },
  { at: DRIVE_1.end + 60, note: "driver gone, locked, climate off" },
  { at: DRIVE_2.start - 120, note: "driver present, unlocked, shift P" },
  { at: DRIVE_2.start + 60, note: "drive-away lock" },
  { at: DRIVE_2.end + 60, note: "driver gone, locked, climate off" },
  { at: CHARGE_STARTING, note: "charging_state Starting" },
];

// ---------------------------------------------------------------------------------------------
// Drive profiles (km/h at seconds into the drive; linear between knots)
// ---------------------------------------------------------------------------------------------

const PROFILE_1: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [20, 25],
  [60, 45],
  [100, 45],
  [130, 0],
  [160, 0],
  [200, 50],
  [330, 50],
  [390, 80],
  [440, 100],
  [480, 110],
  [1720, 110],
  [1770, 90],
  [1820, 70],
  [1870, 50],
  [1980, 45],
  [2040, 25],
  [2080, 10],
  [2100, 0],
];
const PROFILE_2: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [20, 20],
  [60, 40],
  [170, 40],
  [200, 0],
  [240, 0],
  [280, 50],
  [380, 50],
  [440, 90],
  [500, 110],
  [1040, 110],
  [1100, 60],
  [1340, 55],
  [1400, 100],
  [1440, 110],
  [1950, 110],
  [2020, 80],
  [2120, 50],
  [2300, 40],
  [2350, 20],
  [2385, 8],
  [2400, 0],
];

function profileSpeed(knots: ReadonlyArray<readonly [number, number]>, s: number): number {
  let base = 0;
  for (let i = 1; i < knots.length; i++) {
    const [s0, v0] = knots[i - 1];
    const [s1, v1] = knots[i];
    if (s <= s1) {
      base = v0 + (v1 - v0) * (s - s0) / (s1 - s0);
      break;
    }
  }
  // A little life at cruising speed: traffic, slopes.
  const weight = Math.min(1, Math.max(0, (base - 60) / 20));
  const wiggle = 1.8 * Math.sin((2 * Math.PI * s) / 83) +
    1.1 * Math.sin((2 * Math.PI * s) / 37 + 1);
  return Math.max(0, base + weight * wiggle);
}

// ---------------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------------

const EARTH_M = 6371008.8;
const rad = (d: number) => (d * Math.PI) / 180;

function haversineM(a: readonly [number, number], b: readonly [number, number]): number {
  const dLat = rad(b[0] - a[0]);
  const dLon = rad(b[1] - a[1]);
  const h = Math.sin(dLat / 2) ** 2 +
    Math.cos(rad(a[0])) * Math.cos(rad(b[0])) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.sqrt(h));
}

function bearing(a: readonly [number, number], b: readonly [number, number]): number {
  const y = Math.sin(rad(b[1] - a[1])) * Math.cos(rad(b[0]));
  const x = Math.cos(rad(a[0])) * Math.sin(rad(b[0])) -
    Math.sin(rad(a[0])) * Math.cos(rad(b[0])) * Math.cos(rad(b[1] - a[1]));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

/** Position and heading at a fraction (0..1) of a polyline. */
function along(route: ReadonlyArray<readonly [number, number]>, fraction: number) {
  const lengths = route.slice(1).map((p, i) => haversineM(route[i], p));
  let left = Math.min(1, Math.max(0, fraction)) * lengths.reduce((a, b) => a + b, 0);
  for (let i = 0; i < lengths.length; i++) {
    if (left <= lengths[i] || i === lengths.length - 1) {
      const f = lengths[i] === 0 ? 0 : Math.min(1, left / lengths[i]);
      const [a, b] = [route[i], route[i + 1]];
      return {
        latitude: a[0] + (b[0] - a[0]) * f,
        longitude: a[1] + (b[1] - a[1]) * f,
        heading: bearing(a, b),
      };
    }
    left -= lengths[i];
  }
  throw new Error("unreachable");
}

// ---------------------------------------------------------------------------------------------
// The simulation: one step per second, computed once
// ---------------------------------------------------------------------------------------------

const MASS_KG = 1900;
const CDA_M2 = 0.46;
const RHO = 1.25;
const CRR = 0.009;
const G = 9.81;
const DRIVE_EFFICIENCY = 0.91;
const REGEN_EFFICIENCY = 0.65;
const REGEN_MAX_KW = 60;
const DRIVE_AUX_KW = 0.5; // heating and electronics while driving in March

function outsideTemp(t: number): number {
  const h = t / 3600;
  return 7.5 + 4.5 * Math.cos((2 * Math.PI * (h - 15)) / 24) +
    0.3 * Math.sin((2 * Math.PI * t) / 5400);
}

function solarGain(t: number): number {
  const h = t / 3600;
  return h > 8 && h < 17 ? 5 * Math.sin((Math.PI * (h - 8)) / 9) : 0;
}

/** Tire pressure in bar from tire temperature (cold-set 2.9 bar at 10 °C), Tesla's 0.025 steps. */
function tirePressure(tempC: number, offset: number): number {
  const abs = (2.9 + 1.013) * (273.15 + tempC) / 283.15 - 1.013 + offset;
  return round(roundTo(abs, 0.025), 3);
}

interface Sim {
  phase: Phase[];
  speedKmh: Float64Array;
  powerKW: Float64Array;
  distanceM: Float64Array; // cumulative, whole day
  energyKWh: Float64Array; // cumulative drive energy, whole day
  insideC: Float64Array;
  moduleC: Float64Array;
  tireC: Float64Array;
  driveProgress: Float64Array; // fraction of the current drive's distance, or NaN
  driveIndex: Int8Array; // -1 if not driving
  driveDistanceM: number[];
  driveEnergyKWh: number[];
  driveMaxKmh: number[];
}

const DRIVES = [
  { ...DRIVE_1, profile: PROFILE_1, from: DEMO_HOME, to: DEMO_WORK, route: ROUTE },
  { ...DRIVE_2, profile: PROFILE_2, from: DEMO_WORK, to: DEMO_HOME, route: [...ROUTE].reverse() },
];

function simulate(): Sim {
  const n = DAY_LENGTH + 1;
  const phase: Phase[] = new Array(n);
  for (const s of SEGMENTS) for (let i = s.start; i < s.end; i++) phase[i] = s.phase;
  phase[DAY_LENGTH] = SEGMENTS[SEGMENTS.length - 1].phase;

  const sim: Sim = {
    phase,
    speedKmh: new Float64Array(n),
    powerKW: new Float64Array(n),
    distanceM: new Float64Array(n),
    energyKWh: new Float64Array(n),
    insideC: new Float64Array(n),
    moduleC: new Float64Array(n),
    tireC: new Float64Array(n),
    driveProgress: new Float64Array(n).fill(NaN),
    driveIndex: new Int8Array(n).fill(-1),
    driveDistanceM: [],
    driveEnergyKWh: [],
    driveMaxKmh: [],
  };

  // Speed and power first (they need the neighbours for acceleration).
  DRIVES.forEach((d, k) => {
    let dist = 0;
    let energy = 0;
    let max = 0;
    for (let i = d.start; i < d.end; i++) {
      const s = i - d.start;
      const v = profileSpeed(d.profile, s);
      const vMs = v / 3.6;
      const aMs2 = (profileSpeed(d.profile, s + 1) - profileSpeed(d.profile, Math.max(0, s - 1))) /
        3.6 / (s === 0 ? 1 : 2);
      const wheelW = MASS_KG * aMs2 * vMs + 0.5 * RHO * CDA_M2 * vMs ** 3 +
        CRR * MASS_KG * G * vMs;
      const battKW = wheelW >= 0
        ? wheelW / DRIVE_EFFICIENCY / 1000 + DRIVE_AUX_KW
        : Math.max(-REGEN_MAX_KW, (wheelW * REGEN_EFFICIENCY) / 1000) + DRIVE_AUX_KW;
      sim.speedKmh[i] = v;
      sim.powerKW[i] = battKW;
      sim.driveIndex[i] = k;
      dist += vMs;
      energy += battKW / 3600;
      max = Math.max(max, v);
    }
    sim.driveDistanceM.push(dist);
    sim.driveEnergyKWh.push(energy);
    sim.driveMaxKmh.push(max);
  });

  let inside = 8.5;
  let module = 11;
  let tire = 8;
  let dist = 0;
  let energy = 0;
  let driveDist = 0;
  for (let i = 0; i < n; i++) {
    const out = outsideTemp(i);
    const k = sim.driveIndex[i];
    const driving = k >= 0;
    if (driving) {
      if (i === DRIVES[k].start) driveDist = 0;
      driveDist += sim.speedKmh[i] / 3.6;
      dist += sim.speedKmh[i] / 3.6;
      energy += sim.powerKW[i] / 3600;
      sim.driveProgress[i] = driveDist / sim.driveDistanceM[k];
    }
    sim.distanceM[i] = dist;
    sim.energyKWh[i] = energy;

    const climate = climateOn(i);
    inside += climate ? (21 - inside) / 480 : (out + solarGain(i) - inside) / 5400;
    const p = phase[i];
    const moduleTarget = driving ? 25 : p === "charging" ? 30 : out + 1;
    module += (moduleTarget - module) / (driving ? 1500 : p === "charging" ? 2400 : 14400);
    tire += ((driving ? out + 16 : out) - tire) / (driving ? 900 : 2400);
    sim.insideC[i] = inside;
    sim.moduleC[i] = module;
    sim.tireC[i] = tire;
  }
  return sim;
}

function inDrive(t: number, before: number, after: number): boolean {
  return DRIVES.some((d) => t >= d.start - before && t < d.end + after);
}

function climateOn(t: number): boolean {
  return DRIVES.some((d) => t >= d.start - 300 && t < d.end + 60);
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

let cached: TeslaScenario | undefined;

/** The reference day. Pure and cached: every call returns the same day. */
export function teslaDay(): TeslaScenario {
  cached ??= buildDay();
  return cached;
}

function buildDay(): TeslaScenario {
  const sim = simulate();
  const totalDriveKWh = sim.energyKWh[DAY_LENGTH];
  const socStart = SOC_AT_PLUG_IN + (totalDriveKWh / PACK_KWH) * 100;

  const idx = (t: number) => Math.min(DAY_LENGTH, Math.max(0, Math.floor(t)));
  const segmentAt = (t: number) => {
    const i = idx(t);
    return SEGMENTS.find((s) => i >= s.start && i < s.end) ?? SEGMENTS[SEGMENTS.length - 1];
  };

  const socAt = (t: number): number => {
    const i = idx(t);
    if (i < CHARGE_START) return socStart - (sim.energyKWh[i] / PACK_KWH) * 100;
    if (i < CHARGE_END) {
      return SOC_AT_PLUG_IN +
        ((CHARGE_LIMIT - SOC_AT_PLUG_IN) * (i - CHARGE_START)) / (CHARGE_END - CHARGE_START);
    }
    return CHARGE_LIMIT;
  };
  const chargeAddedKWh = (t: number): number => {
    const i = idx(t);
    if (i < CHARGE_START) return 0;
    return ((socAt(i) - SOC_AT_PLUG_IN) / 100) * PACK_KWH;
  };

  const drives: DriveInterval[] = DRIVES.map((d, k) => ({
    start: d.start,
    end: d.end,
    from: d.from,
    to: d.to,
    distanceKm: round(sim.driveDistanceM[k] / 1000, 3),
    energyKWh: round(sim.driveEnergyKWh[k], 3),
    socStart: round(socAt(d.start), 2),
    socEnd: round(socAt(d.end), 2),
    maxSpeedKmh: round(sim.driveMaxKmh[k], 1),
  }));
  const charges: ChargeInterval[] = [{
    pluggedAt: PLUG_IN,
    start: CHARGE_START,
    end: CHARGE_END,
    socStart: SOC_AT_PLUG_IN,
    socEnd: CHARGE_LIMIT,
    energyAddedKWh: round(((CHARGE_LIMIT - SOC_AT_PLUG_IN) / 100) * PACK_KWH, 2),
    chargerPowerKW: 11,
    ...CHARGER,
  }];

  const events: TimelineEvent[] = [
    ...SEGMENTS.map((s) => ({ at: s.start, note: s.note })),
    ...EXTRA_EVENTS,
  ].sort((a, b) => a.at - b.at);

  /** Where the car is at i (last position when parked) and the last time it moved. */
  const position = (i: number) => {
    const k = sim.driveIndex[i];
    if (k >= 0) return along(DRIVES[k].route, sim.driveProgress[i]);
    // Parked: the end of the last drive before i (or the night before: at home).
    const last = [...DRIVES].reverse().find((d) => d.end <= i);
    const route = last ? last.route : DRIVES[DRIVES.length - 1].route;
    return along(route, 1);
  };
  const lastDriveEnd = (i: number) => {
    const last = [...DRIVES].reverse().find((d) => d.start <= i);
    if (!last) return -(5 * 3600 + 45 * 60); // 18:15 the evening before
    return Math.min(i, last.end - 1);
  };
  const lastOnline = (i: number) => {
    const s = segmentAt(i);
    if (s.state === "online") return i;
    return s.start === 0 ? -(5 * 3600 + 30 * 60) : s.start - 1;
  };

  const vehicleConfig = (ms: number) => ({
    aux_park_lamps: "Eu",
    badge_version: 1,
    can_accept_navigation_requests: true,
    can_actuate_trunks: true,
    car_special_type: "base",
    car_type: "model3",
    charge_port_type: "CCS",
    cop_user_set_temp_supported: true,
    dashcam_clip_save_supported: true,
    default_charge_to_max: false,
    driver_assist: "TeslaAP3",
    ece_restrictions: false,
    efficiency_package: "M32021",
    eu_vehicle: true,
    exterior_color: "MidnightSilver",
    exterior_trim: "Black",
    exterior_trim_override: "",
    has_air_suspension: false,
    has_ludicrous_mode: false,
    has_seat_cooling: false,
    headlamp_type: "Global",
    interior_trim_type: "Black2",
    key_version: 2,
    motorized_charge_port: true,
    paint_color_override: "0,0,0,0.1,0.04",
    performance_package: "Base",
    plg: true,
    pws: true,
    rear_drive_unit: "PM216MOSFET",
    rear_seat_heaters: 1,
    rear_seat_type: 0,
    rhd: false,
    roof_color: "RoofColorGlass",
    seat_type: null,
    spoiler_type: "None",
    sun_roof_installed: false,
    supports_qr_pairing: false,
    third_row_seats: "None",
    timestamp: ms,
    trim_badging: "74d",
    use_range_badging: true,
    utc_offset: 0,
    webcam_selfie_supported: true,
    webcam_supported: true,
    wheel_type: "Pinwheel18CapKit",
  });

  const summaryAt = (t: number) => ({
    id: DEMO_ID,
    vehicle_id: DEMO_VEHICLE_ID,
    vin: DEMO_VIN,
    display_name: DEMO_NAME,
    color: null,
    tokens: [...DEMO_STREAM_TOKENS],
    state: segmentAt(t).state,
    in_service: false,
    id_s: DEMO_ID_S,
    calendar_enabled: true,
    api_version: 81,
    backseat_token: null,
    backseat_token_updated_at: null,
  });

  const chargeState = (i: number, ms: number) => {
    const plugged = i >= PLUG_IN;
    const status = i < PLUG_IN
      ? "Disconnected"
      : i < CHARGE_STARTING
      ? "Stopped"
      : i < CHARGE_START
      ? "Starting"
      : i < CHARGE_END
      ? "Charging"
      : "Complete";
    const charging = status === "Charging";
    const soc = socAt(i);
    const level = Math.round(soc);
    const volts = CHARGER.voltageV + Math.round(2 * Math.sin((2 * Math.PI * i) / 1800));
    const added = chargeAddedKWh(i);
    const hoursLeft = charging
      ? (CHARGE_END - i) / 3600
      : status === "Starting"
      ? (CHARGE_END - CHARGE_START) / 3600
      : 0;
    const ratePctPerHour = ((CHARGE_LIMIT - SOC_AT_PLUG_IN) * 3600) / (CHARGE_END - CHARGE_START);
    return {
      battery_heater_on: false,
      battery_level: level,
      battery_range: round(soc * RATED_MI_PER_PCT, 2),
      charge_amps: CHARGER.currentA,
      charge_current_request: CHARGER.currentA,
      charge_current_request_max: CHARGER.currentA,
      charge_enable_request: true,
      charge_energy_added: round(added, 2),
      charge_limit_soc: CHARGE_LIMIT,
      charge_limit_soc_max: 100,
      charge_limit_soc_min: 50,
      charge_limit_soc_std: 80,
      charge_miles_added_ideal: round((added / PACK_KWH) * 100 * RATED_MI_PER_PCT, 1),
      charge_miles_added_rated: round((added / PACK_KWH) * 100 * RATED_MI_PER_PCT, 1),
      charge_port_cold_weather_mode: false,
      charge_port_color: charging ? "FlashingGreen" : status === "Complete" ? "Green" : "<invalid>",
      charge_port_door_open: plugged,
      charge_port_latch: plugged ? "Engaged" : "Disengaged",
      // In the GUI unit (gui_distance_units km/hr): rated km gained per hour.
      charge_rate: charging ? round(ratePctPerHour * RATED_MI_PER_PCT * KM_PER_MILE, 1) : 0,
      charger_actual_current: charging ? CHARGER.currentA : 0,
      charger_phases: charging || status === "Starting" ? CHARGER.phases : null,
      charger_pilot_current: plugged ? CHARGER.currentA : 0,
      charger_power: charging ? Math.round((volts * CHARGER.currentA * CHARGER.phases) / 1000) : 0,
      charger_voltage: !plugged ? 0 : charging || status === "Starting" ? volts : 2,
      charging_state: status,
      conn_charge_cable: plugged ? "IEC" : "<invalid>",
      est_battery_range: round(soc * RATED_MI_PER_PCT * EST_RANGE_FACTOR, 2),
      fast_charger_brand: "<invalid>",
      fast_charger_present: false,
      fast_charger_type: plugged ? "ACSingleWireCAN" : "<invalid>",
      ideal_battery_range: round(soc * RATED_MI_PER_PCT, 2),
      max_range_charge_counter: 0,
      minutes_to_full_charge: Math.round(hoursLeft * 60),
      not_enough_power_to_heat: null,
      off_peak_charging_enabled: false,
      off_peak_charging_times: "all_week",
      off_peak_hours_end_time: 360,
      preconditioning_enabled: false,
      preconditioning_times: "all_week",
      scheduled_charging_mode: "Off",
      scheduled_charging_pending: false,
      scheduled_charging_start_time: null,
      scheduled_charging_start_time_app: 1380,
      scheduled_departure_time: DAY_START + DAY_LENGTH + hm(7, 30),
      scheduled_departure_time_minutes: 450,
      supercharger_session_trip_planner: false,
      time_to_full_charge: round(hoursLeft, 2),
      timestamp: ms,
      trip_charging: false,
      usable_battery_level: Math.max(0, level - (sim.moduleC[i] < 10 ? 1 : 0)),
      user_charge_enable_request: null,
      module_temp_min: roundTo(sim.moduleC[i] - 0.5, 0.5),
      module_temp_max: roundTo(sim.moduleC[i] + 1, 0.5),
      energy_remaining: round((soc / 100) * PACK_KWH, 2),
      lifetime_energy_used: round(LIFETIME_KWH_START + sim.energyKWh[i] + added, 3),
      charging_schedule_override: false,
    };
  };

  const climateState = (i: number, ms: number) => {
    const on = climateOn(i);
    const precond = DRIVES.some((d) => i >= d.start - 300 && i < d.start);
    return {
      allow_cabin_overheat_protection: true,
      auto_seat_climate_left: true,
      auto_seat_climate_right: true,
      auto_steering_wheel_heat: false,
      battery_heater: false,
      battery_heater_no_power: null,
      cabin_overheat_protection: "On",
      cabin_overheat_protection_actively_cooling: false,
      climate_keeper_mode: "off",
      cop_activation_temperature: "High",
      defrost_mode: 0,
      driver_temp_setting: 21,
      fan_status: on ? 4 : 0,
      hvac_auto_request: "On",
      inside_temp: round(sim.insideC[i], 1),
      is_auto_conditioning_on: on,
      is_climate_on: on,
      is_front_defroster_on: false,
      is_preconditioning: precond,
      is_rear_defroster_on: false,
      left_temp_direction: on ? 251 : 0,
      max_avail_temp: 28,
      min_avail_temp: 15,
      outside_temp: roundTo(outsideTemp(i), 0.5),
      passenger_temp_setting: 21,
      remote_heater_control_enabled: false,
      right_temp_direction: on ? 251 : 0,
      seat_heater_left: 0,
      seat_heater_rear_center: 0,
      seat_heater_rear_left: 0,
      seat_heater_rear_right: 0,
      seat_heater_right: 0,
      side_mirror_heaters: false,
      steering_wheel_heat_level: 0,
      steering_wheel_heater: false,
      supports_fan_only_cabin_overheat_protection: true,
      timestamp: ms,
      wiper_blade_heater: false,
    };
  };

  const driveState = (i: number, ms: number) => {
    const k = sim.driveIndex[i];
    const p = segmentAt(i).phase;
    const pos = position(i);
    const present = inDrive(i, 120, 60);
    const charging = p === "charging";
    const route = k >= 0
      ? (() => {
        const d = DRIVES[k];
        const leftM = sim.driveDistanceM[k] * (1 - sim.driveProgress[i]);
        return {
          active_route_destination: d.to.name,
          active_route_latitude: d.to.latitude,
          active_route_longitude: d.to.longitude,
          active_route_miles_to_arrival: round(leftM / 1000 / KM_PER_MILE, 6),
          active_route_minutes_to_arrival: round((d.end - i) / 60, 6),
          active_route_traffic_minutes_delay: 0,
        };
      })()
      : {};
    const gpsAsOf = DAY_START + lastOnline(i);
    const power = k >= 0
      ? Math.round(sim.powerKW[i])
      : p === "fake_online"
      ? null
      : charging
      ? -Math.round(((CHARGE_LIMIT - SOC_AT_PLUG_IN) / 100) * PACK_KWH / 3.5)
      : 0;
    return {
      ...route,
      gps_as_of: gpsAsOf,
      heading: Math.round(pos.heading) % 360,
      latitude: round(pos.latitude, 6),
      longitude: round(pos.longitude, 6),
      native_latitude: round(pos.latitude, 6),
      native_location_supported: 1,
      native_longitude: round(pos.longitude, 6),
      native_type: "wgs",
      power,
      shift_state: k >= 0 ? "D" : present && p !== "fake_online" ? "P" : null,
      speed: k >= 0 ? Math.round(sim.speedKmh[i] / KM_PER_MILE) : null,
      timestamp: ms,
    };
  };

  const guiSettings = (ms: number) => ({
    gui_24_hour_time: true,
    gui_charge_rate_units: "kW",
    gui_distance_units: "km/hr",
    gui_range_display: "Rated",
    gui_temperature_units: "C",
    // Like Tesla: the GUI says Psi, the API's tpms_pressure_* are bar all the same.
    gui_tirepressure_units: "Psi",
    show_range_units: false,
    timestamp: ms,
  });

  const vehicleState = (i: number, ms: number) => {
    const k = sim.driveIndex[i];
    const present = inDrive(i, 120, 60);
    const unlocked = DRIVES.some((d) =>
      (i >= d.start - 120 && i < d.start + 60) || (i >= d.end && i < d.end + 60)
    );
    const seen = lastDriveEnd(i);
    const tireC = seen < 0 ? 8 : sim.tireC[seen];
    const seenAt = DAY_START + seen;
    return {
      api_version: 81,
      autopark_state_v2: k >= 0 ? "unavailable" : "standby",
      calendar_supported: true,
      car_version: "2025.44.25.1 0a1b2c3d4e5f",
      center_display_state: present ? 2 : 0,
      dashcam_clip_save_available: k >= 0,
      dashcam_state: k >= 0 ? "Recording" : "Unavailable",
      df: 0,
      dr: 0,
      fd_window: 0,
      feature_bitmask: "fbdffbff,187f",
      fp_window: 0,
      ft: 0,
      is_user_present: present,
      locked: !unlocked,
      media_state: { remote_control_enabled: true },
      notifications_supported: true,
      odometer: round(ODOMETER_START_MI + sim.distanceM[i] / 1000 / KM_PER_MILE, 6),
      parsed_calendar_supported: true,
      pf: 0,
      pr: 0,
      rd_window: 0,
      remote_start: false,
      remote_start_enabled: true,
      remote_start_supported: true,
      rp_window: 0,
      rt: 0,
      santa_mode: 0,
      sentry_mode: false,
      sentry_mode_available: true,
      service_mode: false,
      service_mode_plus: false,
      software_update: {
        download_perc: 0,
        expected_duration_sec: 2700,
        install_perc: 1,
        status: "",
        version: " ",
      },
      speed_limit_mode: {
        active: false,
        current_limit_mph: 69,
        max_limit_mph: 120,
        min_limit_mph: 50,
        pin_code_set: false,
      },
      sun_roof_state: "unknown",
      vehicle_state_sun_roof_percent_open: 0,
      timestamp: ms,
      tpms_hard_warning_fl: false,
      tpms_hard_warning_fr: false,
      tpms_hard_warning_rl: false,
      tpms_hard_warning_rr: false,
      tpms_last_seen_pressure_time_fl: seenAt - 3,
      tpms_last_seen_pressure_time_fr: seenAt - 11,
      tpms_last_seen_pressure_time_rl: seenAt - 7,
      tpms_last_seen_pressure_time_rr: seenAt,
      tpms_pressure_fl: tirePressure(tireC, 0),
      tpms_pressure_fr: tirePressure(tireC, 0.025),
      tpms_pressure_rl: tirePressure(tireC, -0.025),
      tpms_pressure_rr: tirePressure(tireC, 0),
      tpms_rcp_front_value: 2.9,
      tpms_rcp_rear_value: 2.9,
      tpms_soft_warning_fl: false,
      tpms_soft_warning_fr: false,
      tpms_soft_warning_rl: false,
      tpms_soft_warning_rr: false,
      valet_mode: false,
      valet_pin_needed: false,
      vehicle_name: DEMO_NAME,
      vehicle_self_test_progress: 0,
      vehicle_self_test_requested: false,
      webcam_available: true,
    };
  };

  const vehicleDataAt = (t: number) => {
    const i = idx(t);
    const ms = Math.round((DAY_START + t) * 1000);
    return {
      id: DEMO_ID,
      user_id: DEMO_USER_ID,
      vehicle_id: DEMO_VEHICLE_ID,
      vin: DEMO_VIN,
      color: null,
      access_type: "OWNER",
      granular_access: { hide_private: false },
      tokens: [...DEMO_STREAM_TOKENS],
      state: segmentAt(i).state,
      in_service: false,
      id_s: DEMO_ID_S,
      calendar_enabled: true,
      api_version: 81,
      backseat_token: null,
      backseat_token_updated_at: null,
      ble_autopair_enrolled: false,
      charge_state: chargeState(i, ms),
      climate_state: climateState(i, ms),
      drive_state: driveState(i, ms),
      gui_settings: guiSettings(ms),
      vehicle_config: vehicleConfig(ms),
      vehicle_state: vehicleState(i, ms),
    };
  };

  const productAt = (t: number) => {
    const { tokens, state, ...rest } = summaryAt(t);
    return {
      id: rest.id,
      user_id: DEMO_USER_ID,
      vehicle_id: rest.vehicle_id,
      vin: rest.vin,
      color: null,
      access_type: "OWNER",
      display_name: rest.display_name,
      option_codes: null,
      cached_data: null,
      granular_access: { hide_private: false },
      tokens,
      state,
      in_service: false,
      id_s: rest.id_s,
      calendar_enabled: true,
      api_version: rest.api_version,
      backseat_token: null,
      backseat_token_updated_at: null,
      ble_autopair_enrolled: false,
      vehicle_config: vehicleConfig(DAY_START * 1000 - 3_600_000),
      command_signing: "allowed",
      release_notes_supported: true,
    };
  };

  return {
    startedAt: DAY_START,
    duration: DAY_LENGTH,
    vin: DEMO_VIN,
    idS: DEMO_ID_S,
    segments: SEGMENTS,
    events,
    drives,
    charges,
    stateAt: (t) => segmentAt(t).state,
    phaseAt: (t) => segmentAt(t).phase,
    socAt,
    vehicleDataAt,
    summaryAt,
    productAt,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundTo(x: number, step: number): number {
  return round(Math.round(x / step) * step, 6);
}

// ---------------------------------------------------------------------------------------------
// Cassettes
// ---------------------------------------------------------------------------------------------

export const FIXTURE_TOOL = "ev-observer scripts/fixtures.ts (providers/tesla/scenario.ts)";

const ERROR_408 = {
  response: null,
  error: "vehicle unavailable: vehicle is offline or asleep",
  error_description: "",
};

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

const vehiclePath = `/api/1/vehicles/${DEMO_ID_S}`;
const dataPath = `${vehiclePath}/vehicle_data`;

function exchange(
  at: number,
  method: "GET" | "POST",
  path: string,
  status: number,
  json: unknown,
  note?: string,
  body?: Record<string, string>,
): CassetteExchange {
  return {
    at,
    request: { method, path, query: {}, ...(body ? { body } : {}) },
    response: { status, headers: { ...JSON_HEADERS }, json },
    ...(note ? { note } : {}),
  };
}

function tokenExchange(at = 0): CassetteExchange {
  return exchange(
    at,
    "POST",
    "/oauth2/v3/token",
    200,
    {
      access_token: DEMO_ACCESS_TOKEN,
      refresh_token: DEMO_REFRESH_TOKEN,
      id_token: DEMO_ID_TOKEN,
      expires_in: 28800,
      token_type: "Bearer",
    },
    "token refresh (placeholder tokens; 8 h lifetime)",
    { grant_type: "refresh_token" },
  );
}

function listExchanges(s: TeslaScenario, at: number, t: number): CassetteExchange[] {
  return [
    exchange(at, "GET", "/api/1/products", 200, { response: [s.productAt(t)], count: 1 }),
    exchange(at, "GET", "/api/1/vehicles", 200, { response: [s.summaryAt(t)], count: 1 }),
  ];
}

/** The moments the day cassette samples: every change, then 60 s (300 s when idle). */
export function samplePoints(s: TeslaScenario = teslaDay()): number[] {
  const points = new Set<number>(s.events.map((e) => e.at));
  for (const seg of s.segments) {
    const step = seg.phase === "online_idle" || seg.phase === "complete_idle"
      ? 300
      : seg.state === "online"
      ? 60
      : 0;
    if (step) { for (let t = seg.start; t < seg.end; t += step) points.add(t); }
  }
  return [...points].filter((t) => t >= 0 && t < s.duration).sort((a, b) => a - b);
}

const hhmm = (t: number) =>
  `${String(Math.floor(t / 3600)).padStart(2, "0")}:${
    String(Math.floor((t % 3600) / 60)).padStart(2, "0")
  }`;

/** Where `replay --once` polls the day: 07:50, mid-way through the morning drive. */
export const DAY_SAMPLE_AT = hm(7, 50);

/** fixtures/tesla/day/cassette.json */
export function dayCassette(s: TeslaScenario = teslaDay()): Cassette {
  const exchanges: CassetteExchange[] = [tokenExchange(0)];
  const notes = new Map<number, string>();
  for (const e of s.events) {
    notes.set(e.at, notes.has(e.at) ? `${notes.get(e.at)}; ${e.note}` : e.note);
  }
  let lastState: VehicleState | undefined;
  for (const t of samplePoints(s)) {
    const state = s.stateAt(t);
    if (state !== lastState) exchanges.push(...listExchanges(s, t, t));
    lastState = state;
    const note = notes.has(t) ? `${hhmm(t)} ${notes.get(t)}` : undefined;
    exchanges.push(exchange(t, "GET", vehiclePath, 200, { response: s.summaryAt(t) }));
    exchanges.push(
      state === "online"
        ? exchange(t, "GET", dataPath, 200, { response: s.vehicleDataAt(t) }, note)
        : exchange(t, "GET", dataPath, 408, ERROR_408, note),
    );
  }
  const d = s.drives;
  const c = s.charges[0];
  return {
    version: 1,
    vendor: "tesla",
    scenario: "day",
    tool: FIXTURE_TOOL,
    startedAt: s.startedAt,
    duration: s.duration,
    sampleAt: DAY_SAMPLE_AT,
    description: [
      "The reference day: a scripted (not recorded) Tesla Model 3, generated by",
      "scripts/fixtures.ts from providers/tesla/scenario.ts; do not edit by hand.",
      "Starts 2026-03-10T00:00:00Z (local midnight; the demo place uses UTC).",
      "Asleep overnight with fake-online blips at 02:10 and 04:40 (online, power null);",
      `drive ${hhmm(d[0].start)}-${hhmm(d[0].end)} (${d[0].distanceKm} km) and`,
      `${hhmm(d[1].start)}-${hhmm(d[1].end)} (${d[1].distanceKm} km); offline 12:00-13:00;`,
      `plugged 18:30, AC charging ${hhmm(c.start)}-${hhmm(c.end)} at 11 kW from`,
      `${c.socStart} % to ${c.socEnd} % (+${c.energyAddedKWh} kWh), then Complete and asleep.`,
      "Sampled at every change and every 60 s while online (300 s while parked online);",
      "vehicle_data answers 408 while asleep or offline. Fake identity (VIN with valid check",
      "digit, id 1000000000000001), placeholder tokens, fictional places in the North Sea.",
    ].join(" "),
    exchanges,
  };
}

/** A one-moment cassette: token, products, vehicles, summary and one vehicle_data answer. */
function momentCassette(
  s: TeslaScenario,
  scenario: string,
  t: number,
  description: string,
  data: CassetteExchange[],
): Cassette {
  return {
    version: 1,
    vendor: "tesla",
    scenario,
    tool: FIXTURE_TOOL,
    startedAt: s.startedAt + t,
    duration: 600,
    sampleAt: 0,
    description,
    exchanges: [
      tokenExchange(0),
      ...listExchanges(s, 0, t),
      exchange(0, "GET", vehiclePath, 200, { response: s.summaryAt(t) }),
      ...data,
    ],
  };
}

type Json = Record<string, unknown>;
const section = (data: Json, name: string) => data[name] as Json;

/** The edge-case cassettes, by scenario name (fixtures/tesla/<name>/cassette.json). */
export function edgeCassettes(s: TeslaScenario = teslaDay()): Record<string, Cassette> {
  const ASLEEP = hm(3, 0);
  const DRIVING = hm(7, 50);
  const CHARGING = hm(19, 0);
  const ok = (json: unknown, note?: string) => exchange(0, "GET", dataPath, 200, json, note);
  const out: Record<string, Cassette> = {};

  out["asleep-408"] = momentCassette(
    s,
    "asleep-408",
    ASLEEP,
    "The reference day at 03:00: the summary says asleep and vehicle_data answers HTTP 408 " +
      "'vehicle unavailable'. A monitor must record 'asleep', keep no fake values, and not wake the car.",
    [exchange(0, "GET", dataPath, 408, ERROR_408, "asleep: 408")],
  );

  {
    const data = s.vehicleDataAt(CHARGING);
    section(data, "charge_state").charger_phases = null;
    section(data, "charge_state").not_enough_power_to_heat = null;
    section(data, "charge_state").scheduled_charging_start_time = null;
    section(data, "drive_state").speed = null;
    section(data, "drive_state").shift_state = null;
    out["nulls"] = momentCassette(
      s,
      "nulls",
      CHARGING,
      "The reference day at 19:00 (AC charging, parked) with fields Tesla sends as null: " +
        "charge_state.charger_phases (null while Charging, as some cars report), " +
        "not_enough_power_to_heat, scheduled_charging_start_time, drive_state.speed and " +
        "shift_state. null means 'no value': those metrics are absent, never 0, and nothing else is lost.",
      [ok({ response: data }, "nulls")],
    );
  }

  {
    const data = s.vehicleDataAt(DRIVING) as Json;
    data.future_top_level_field = "added by a later API version";
    data.vehicle_data_combo_version = 3;
    for (
      const name of [
        "charge_state",
        "climate_state",
        "drive_state",
        "gui_settings",
        "vehicle_config",
        "vehicle_state",
      ]
    ) {
      section(data, name).unknown_field_added_by_firmware = 42;
      section(data, name).unknown_nested_object = { flag: true, level: 2 };
    }
    data.future_state = {
      timestamp: section(data, "drive_state").timestamp,
      new_metric: 1.5,
      new_mode: "Auto",
    };
    out["extra-fields"] = momentCassette(
      s,
      "extra-fields",
      DRIVING,
      "The reference day at 07:50 (driving) with unknown fields: two at the top level, two in " +
        "each section (unknown_field_added_by_firmware, unknown_nested_object) and a whole new " +
        "section future_state. Everything known must parse exactly as without them.",
      [ok({ response: data }, "extra fields")],
    );
  }

  {
    const data = s.vehicleDataAt(DRIVING);
    section(data, "charge_state").battery_level = "seventy";
    section(data, "vehicle_state").odometer = { value: 15250.1, unit: "mi" };
    section(data, "climate_state").inside_temp = true;
    out["malformed-types"] = momentCassette(
      s,
      "malformed-types",
      DRIVING,
      "The reference day at 07:50 (driving) with three fields of the wrong type, each of which " +
        "a schema must reject by name: charge_state.battery_level is the string 'seventy', " +
        "vehicle_state.odometer is an object, climate_state.inside_temp is a boolean. Every " +
        "other field is valid and must still be used.",
      [ok({ response: data }, "malformed types")],
    );
  }

  {
    const data = s.vehicleDataAt(DRIVING);
    delete data.charge_state;
    delete data.climate_state;
    out["missing-sections"] = momentCassette(
      s,
      "missing-sections",
      DRIVING,
      "The reference day at 07:50 (driving) with no charge_state and no climate_state at all. " +
        "Their metrics are absent; drive, vehicle and config values are still used.",
      [ok({ response: data }, "missing sections")],
    );
  }

  {
    const full = JSON.stringify({ response: s.vehicleDataAt(DRIVING) });
    out["truncated"] = momentCassette(
      s,
      "truncated",
      DRIVING,
      "The reference day at 07:50 (driving), but the vehicle_data body stops in the middle of " +
        "the JSON (status 200, application/json): a read error to report and retry, never a crash.",
      [{
        at: 0,
        request: { method: "GET", path: dataPath, query: {} },
        response: {
          status: 200,
          headers: { ...JSON_HEADERS },
          text: full.slice(0, Math.floor(full.length / 2)),
        },
        note: "truncated JSON",
      }],
    );
  }

  {
    const html502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
      "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    const html200 = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
      "<title>Scheduled maintenance</title></head><body><h1>We'll be back soon</h1>" +
      "<p>The service is undergoing scheduled maintenance.</p></body></html>\n";
    const html = { "content-type": "text/html; charset=utf-8" };
    out["html-error"] = momentCassette(
      s,
      "html-error",
      DRIVING,
      "The reference day at 07:50 (summary online), but vehicle_data answers an HTML page: " +
        "from 0 s a proxy's 502 Bad Gateway (text/html), from 300 s a maintenance page with " +
        "status 200 (text/html). Both are upstream errors, not vehicle data.",
      [
        {
          at: 0,
          request: { method: "GET", path: dataPath, query: {} },
          response: { status: 502, headers: { ...html }, text: html502 },
          note: "502 HTML from a proxy",
        },
        {
          at: 300,
          request: { method: "GET", path: dataPath, query: {} },
          response: { status: 200, headers: { ...html }, text: html200 },
          note: "200 with an HTML maintenance page",
        },
      ],
    );
  }
  return out;
}

/** Every cassette this module makes, by path relative to fixtures/. */
export function bundledCassettes(s: TeslaScenario = teslaDay()): Record<string, Cassette> {
  const out: Record<string, Cassette> = { "tesla/day/cassette.json": dayCassette(s) };
  for (const [name, c] of Object.entries(edgeCassettes(s))) {
    out[`tesla/${name}/cassette.json`] = c;
  }
  return out;
}
