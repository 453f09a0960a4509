/**
 * Weather at the car: an optional enrichment any provider's vehicles get (Volvo reports no
 * outside temperature; the original Volvo exporter asked OpenWeatherMap). It watches the
 * readings store; when a vehicle's snapshot carries a position, it looks the weather up there
 * and merges temperature, humidity and wind into the vehicle's series (source `weather`).
 *
 * It asks at most every 15 minutes per vehicle, and only when the car moved more than 500 m
 * since the last lookup or the last value is an hour old. A parked car thus costs 24 requests
 * a day. Values it already has are put back when a vendor's full snapshot replaced them.
 * Failures are logged and retried at the next chance; they never touch the vehicle's data.
 */
import type { Clock } from "../core/clock.ts";
import type { Config } from "../core/config.ts";
import { Http } from "../core/http.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { type Sample, type Snapshot, vehicleKey } from "../core/snapshot.ts";
import {
  openMeteo,
  openWeatherMap,
  WEATHER_PROVIDER,
  type WeatherReading,
  type WeatherSource,
} from "./weather_sources.ts";

/** The snapshot source weather values carry (partial snapshots replace by source). */
export const WEATHER_SOURCE = "weather";

export interface WeatherOptions {
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly source: WeatherSource;
  /** Fewest seconds between two lookups for one vehicle (default 900). */
  readonly minIntervalS?: number;
  /** A value older than this is looked up again even if the car did not move (default 3600). */
  readonly maxAgeS?: number;
  /** Meters the car must move for a new lookup before the value ages (default 500). */
  readonly moveM?: number;
}

interface Position {
  readonly latitude: number;
  readonly longitude: number;
}

interface VehicleWeather {
  /** Last lookup attempt, ms (successful or not). */
  attemptAt: number;
  inFlight: boolean;
  last?: { readonly at: number; readonly position: Position; readonly samples: Sample[] };
}

export class WeatherEnricher {
  readonly #o: WeatherOptions;
  readonly #vehicles = new Map<string, VehicleWeather>();
  readonly #pending = new Set<Promise<void>>();
  #recording = false;
  #stop?: () => void;

  constructor(options: WeatherOptions) {
    this.#o = options;
  }

  /** Starts watching the store. */
  start(): void {
    this.#stop ??= this.#o.readings.onSnapshot((s) => this.consider(s));
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  /** Settles when every lookup started so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  /** Looks the weather up for this stored snapshot when due; never throws. */
  consider(snapshot: Snapshot): void {
    if (this.#recording) return; // our own merge coming back through the store
    const position = positionOf(snapshot);
    if (!position) return;
    const key = vehicleKey(snapshot.vehicle);
    const now = this.#o.clock.now();
    const state = this.#vehicles.get(key) ?? { attemptAt: -Infinity, inFlight: false };
    this.#vehicles.set(key, state);
    if (state.inFlight) return;
    const last = state.last;
    const fresh = last !== undefined && now - last.at < (this.#o.maxAgeS ?? 3600) * 1000 &&
      distanceM(last.position, position) <= (this.#o.moveM ?? 500);
    if (fresh) {
      // A full snapshot replaced everything: put the weather we have back, no request.
      if (!snapshot.samples.some((x) => x.source === WEATHER_SOURCE)) {
        this.#record(snapshot, last.samples);
      }
      return;
    }
    if (now - state.attemptAt < (this.#o.minIntervalS ?? 900) * 1000) return;
    state.attemptAt = now;
    state.inFlight = true;
    const job = this.#lookup(snapshot, position, state).finally(() => {
      state.inFlight = false;
      this.#pending.delete(job);
    });
    this.#pending.add(job);
  }

  async #lookup(snapshot: Snapshot, position: Position, state: VehicleWeather): Promise<void> {
    let reading: WeatherReading;
    try {
      reading = await this.#o.source.current(position.latitude, position.longitude);
    } catch (err) {
      this.#o.log.warn("weather lookup failed; asking again later", {
        source: this.#o.source.id,
        error: (err as Error).message,
      });
      return;
    }
    const samples = toSamples(reading);
    state.last = { at: this.#o.clock.now(), position, samples };
    const stored = this.#o.readings.vehicles.get(
      vehicleKey(snapshot.vehicle),
    )?.snapshot;
    // The vehicle went asleep meanwhile: its values are gone, the weather waits for the next.
    if (stored) this.#record(stored, samples);
  }

  /** Merges weather values into the vehicle's series without touching its sample time. */
  #record(base: Snapshot, samples: Sample[]): void {
    this.#recording = true;
    try {
      this.#o.readings.record({
        vehicle: base.vehicle,
        sampledAt: base.sampledAt,
        state: "unknown",
        samples,
        states: [],
        info: {},
        partial: { sources: [WEATHER_SOURCE] },
      });
    } finally {
      this.#recording = false;
    }
  }
}

function toSamples(r: WeatherReading): Sample[] {
  const out: Sample[] = [];
  const add = (metric: string, value: number | undefined) => {
    if (value !== undefined) out.push({ metric, value, source: WEATHER_SOURCE });
  };
  add("ev.weather.temperature", r.temperature);
  add("ev.weather.humidity", r.humidity);
  add("ev.weather.wind.speed", r.windSpeed);
  return out;
}

function positionOf(s: Snapshot): Position | undefined {
  const get = (m: string) => s.samples.find((x) => x.metric === m && !x.labels)?.value;
  const latitude = get("ev.location.latitude");
  const longitude = get("ev.location.longitude");
  if (latitude === undefined || longitude === undefined) return undefined;
  return { latitude, longitude };
}

/** Great-circle distance (haversine), meters. */
export function distanceM(a: Position, b: Position): number {
  const rad = (d: number) => d * Math.PI / 180;
  const h = Math.sin(rad(b.latitude - a.latitude) / 2) ** 2 +
    Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) *
      Math.sin(rad(b.longitude - a.longitude) / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

/**
 * The enrichment the config asks for, started, or undefined when `weather` is not configured
 * (the config check already insists on `location: true` with it).
 */
export function startWeather(
  config: Pick<Config, "weather" | "location">,
  deps: { readings: Readings; clock: Clock; log: Logger; fetch?: typeof fetch },
): WeatherEnricher | undefined {
  const w = config.weather;
  if (!w || !config.location) return undefined;
  const http = new Http({
    provider: WEATHER_PROVIDER,
    readings: deps.readings,
    fetch: deps.fetch,
    now: () => deps.clock.now(),
  });
  const log = deps.log.child({ component: "weather" });
  const report = { provider: WEATHER_PROVIDER, readings: deps.readings, log };
  const source = w.source === "openweathermap"
    ? openWeatherMap(http, report, w.api_key!, w.url)
    : openMeteo(http, report, w.url);
  const enricher = new WeatherEnricher({ ...deps, log, source });
  enricher.start();
  log.info("weather at the car enabled", { source: source.id });
  return enricher;
}
