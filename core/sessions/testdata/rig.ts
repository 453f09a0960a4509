/** Scripted readings for the session tests (and the child a test kills mid-drive). */
import { VirtualClock } from "../../clock.ts";
import { createLogger } from "../../log.ts";
import { Readings } from "../../readings.ts";
import type { Sample, Snapshot, StateSample } from "../../snapshot.ts";
import { SessionsConfig } from "../config.ts";
import type { Session } from "../session.ts";
import { SessionStore } from "../store.ts";
import { SessionTracker } from "../tracker.ts";

export const T0 = 1_773_100_800; // 2026-03-10T00:00:00Z
export const VEHICLE = { provider: "sim", id: "1", vin: "SIMVIN0000000042" };

export interface Reading {
  drive?: boolean;
  /** km/h */
  speed?: number;
  /** percent */
  soc?: number;
  km?: number;
  /** kWh left in the pack (a vendor that reports it). */
  kwh?: number;
  charging?: "charging" | "stopped" | "complete" | "disconnected";
  plugged?: boolean;
  kw?: number;
  /** the vendor's per-plug-in counter, kWh */
  added?: number;
  type?: "ac" | "dc";
  outside?: number;
  capacityKwh?: number;
  lat?: number;
  lon?: number;
}

export function snapshot(t: number, r: Reading): Snapshot {
  const samples: Sample[] = [];
  const states: StateSample[] = [];
  const add = (metric: string, value: number | undefined) => {
    if (value !== undefined) samples.push({ metric, value });
  };
  add("ev.battery.level", r.soc === undefined ? undefined : r.soc / 100);
  add("ev.odometer", r.km === undefined ? undefined : r.km * 1000);
  add("ev.battery.energy_remaining", r.kwh === undefined ? undefined : r.kwh * 3.6e6);
  add("ev.drive.speed", r.speed === undefined ? undefined : r.speed / 3.6);
  add("ev.charging.power", r.kw === undefined ? undefined : r.kw * 1000);
  add("ev.charging.energy_added", r.added === undefined ? undefined : r.added * 3.6e6);
  add("ev.climate.outside.temperature", r.outside);
  add("ev.battery.capacity", r.capacityKwh === undefined ? undefined : r.capacityKwh * 3.6e6);
  add("ev.location.latitude", r.lat);
  add("ev.location.longitude", r.lon);
  const plugged = r.plugged ?? (r.charging !== undefined && r.charging !== "disconnected");
  add("ev.charging.plugged_in", plugged ? 1 : 0);
  states.push({ metric: "ev.drive.shift_state", state: r.drive ? "drive" : "park" });
  states.push({ metric: "ev.charging.state", state: r.charging ?? "disconnected" });
  if (r.type) states.push({ metric: "ev.charging.type", state: r.type });
  return { vehicle: VEHICLE, sampledAt: t, state: "online", samples, states, info: {} };
}

export function rig(
  config: Record<string, unknown> = {},
  store = SessionStore.open(":memory:"),
  location = false,
) {
  const clock = new VirtualClock(T0 * 1000, 0);
  const readings = new Readings();
  const tracker = new SessionTracker({
    readings,
    store,
    config: SessionsConfig.parse(config),
    location,
    clock,
    log: createLogger({ level: "error" }),
  });
  const goTo = (minute: number) => clock.advance((T0 + minute * 60) * 1000 - clock.now());
  return {
    clock,
    readings,
    store,
    tracker,
    /** A reading taken at `minute` past T0 (clock and vendor time alike). */
    at(minute: number, r: Reading) {
      goTo(minute);
      readings.record(snapshot(T0 + minute * 60, r));
    },
    asleep(minute: number) {
      goTo(minute);
      readings.setState(VEHICLE, "asleep");
    },
    /** Time passes with no reading; the wiring's timer ticks. */
    idle(minute: number) {
      goTo(minute);
      tracker.tick();
    },
    sessions: (kind?: Session["kind"]) => store.list({ kind }),
    counter: (name: string, labels: Record<string, string> = {}) =>
      readings.counterValue(name, { provider: VEHICLE.provider, vin: VEHICLE.vin, ...labels }),
  };
}

