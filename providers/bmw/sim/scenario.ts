/**
 * A simulated day of a BMW i4 (UTC): a commute, a trip with a DC fast charge on the way, and
 * an AC charge at home in the evening. The car sends what changed every five minutes while it
 * drives or charges, and once when it parks, locks or plugs in, as CarData's event-driven
 * stream does; the fake REST API answers with the newest value of each key so far.
 */
import { KEYS } from "../map.ts";

/** A synthetic VIN (no real car). */
export const I4_VIN = "WBY00SIMULATED001";
/** The simulated account's GCID (a random UUID, no real account). */
export const SIM_GCID = "5f0c2a9e-7d41-4b3c-9a8e-1d2f3c4b5a69";

export interface Entry {
  readonly value: string;
  readonly unit?: string;
}

/** What the car sends at one moment. */
export interface CarEvent {
  /** ms since the epoch. */
  readonly at: number;
  readonly data: Readonly<Record<string, Entry>>;
}

const MIN = 60_000;
const STEP = 5 * MIN;

interface State {
  soc: number;
  odometerKm: number;
  lat: number;
  lon: number;
}

/** The day's events, starting at `dayStart` (ms, 00:00 UTC of the day). */
export function i4Day(dayStart: number): CarEvent[] {
  const events: CarEvent[] = [];
  const s: State = { soc: 62, odometerKm: 18230, lat: 48.1374, lon: 11.5755 };
  const at = (h: number, m = 0) => dayStart + (h * 60 + m) * MIN;
  const emit = (t: number, data: Record<string, Entry>) => events.push({ at: t, data });
  const battery = (): Record<string, Entry> => ({
    [KEYS.soc]: { value: s.soc.toFixed(1), unit: "%" },
    [KEYS.range]: { value: String(Math.round(s.soc * 4.9)), unit: "km" },
  });
  const place = (): Record<string, Entry> => ({
    [KEYS.latitude]: { value: s.lat.toFixed(5), unit: "degrees" },
    [KEYS.longitude]: { value: s.lon.toFixed(5), unit: "degrees" },
    [KEYS.odometer]: { value: s.odometerKm.toFixed(0), unit: "km" },
  });
  const parked = (locked: boolean): Record<string, Entry> => ({
    [KEYS.moving]: { value: "false" },
    [KEYS.lock]: { value: locked ? "SECURED" : "UNLOCKED" },
    [KEYS.doorFrontLeft]: { value: "CLOSED" },
  });

  emit(at(0), {
    ...battery(),
    ...place(),
    ...parked(true),
    [KEYS.socTarget]: { value: "90", unit: "%" },
    [KEYS.capacity]: { value: "83.9", unit: "kWh" },
    [KEYS.plug]: { value: "DISCONNECTED" },
    [KEYS.chargingStatus]: { value: "NOCHARGING" },
    [KEYS.tireFrontLeft]: { value: "250", unit: "kPa" },
    [KEYS.tireFrontRight]: { value: "250", unit: "kPa" },
    [KEYS.tireRearLeft]: { value: "270", unit: "kPa" },
    [KEYS.tireRearRight]: { value: "270", unit: "kPa" },
  });

  const drive = (from: number, minutes: number, km: number, kWhPerKm = 0.18) => {
    emit(from, { [KEYS.moving]: { value: "true" }, [KEYS.lock]: { value: "UNLOCKED" } });
    const steps = minutes / 5;
    for (let i = 1; i <= steps; i++) {
      s.odometerKm += km / steps;
      s.soc -= (km / steps) * kWhPerKm / 83.9 * 100;
      s.lat += 0.002;
      s.lon += 0.003;
      emit(from + i * STEP, { ...battery(), ...place() });
    }
    emit(from + minutes * MIN + MIN, { ...parked(true), ...battery(), ...place() });
  };

  const charge = (from: number, kind: "AC" | "DC", toSoc: number) => {
    const end = from + MIN;
    emit(end - MIN, {
      [KEYS.plug]: { value: "CONNECTED" },
      [KEYS.chargingStatus]: { value: "INITIALIZATION" },
    });
    let t = end;
    while (s.soc < toSoc) {
      const kw = kind === "DC" ? (s.soc < 60 ? 150 : 60) : 11;
      s.soc = Math.min(toSoc, s.soc + kw * (STEP / 3_600_000) / 83.9 * 100);
      const minutesLeft = Math.round((toSoc - s.soc) / 100 * 83.9 / kw * 60);
      emit(t, {
        ...battery(),
        [KEYS.chargingStatus]: { value: "CHARGINGACTIVE" },
        [KEYS.chargingPower]: { value: String(kw * 1000), unit: "W" },
        [KEYS.timeRemaining]: { value: String(minutesLeft), unit: "min" },
        ...(kind === "AC"
          ? {
            [KEYS.acVoltage]: { value: "230", unit: "V" },
            [KEYS.acAmpere]: { value: "16", unit: "A" },
            [KEYS.phases]: { value: "3-PHASES" },
          }
          : {}),
      });
      t += STEP;
    }
    emit(t, {
      [KEYS.chargingStatus]: { value: "CHARGINGENDED" },
      [KEYS.chargingPower]: { value: "0", unit: "W" },
      [KEYS.timeRemaining]: { value: "0", unit: "min" },
    });
    return t;
  };

  const unplug = (t: number) =>
    emit(t, {
      [KEYS.plug]: { value: "DISCONNECTED" },
      [KEYS.chargingStatus]: { value: "NOCHARGING" },
    });

  drive(at(7, 30), 35, 24); // the commute
  drive(at(12), 90, 140); // the trip out
  const dcEnd = charge(at(13, 35), "DC", 80);
  unplug(dcEnd + MIN);
  drive(dcEnd + 5 * MIN, 90, 140); // the trip back
  drive(at(17, 30), 30, 24); // home
  const acEnd = charge(at(18, 30), "AC", 90);
  unplug(acEnd + 30 * MIN);
  return events.sort((a, b) => a.at - b.at);
}

/** The newest value of every key at `t`: what the REST API answers then. */
export function stateAt(
  events: readonly CarEvent[],
  t: number,
): Map<string, Entry & { at: number }> {
  const state = new Map<string, Entry & { at: number }>();
  for (const e of events) {
    if (e.at > t) break;
    for (const [key, entry] of Object.entries(e.data)) state.set(key, { ...entry, at: e.at });
  }
  return state;
}
