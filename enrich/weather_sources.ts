/**
 * Current weather at a point from Open-Meteo (no key) or OpenWeatherMap (key, as the original
 * Volvo exporter used), through the Http seam (provider id `weather`), converted to the
 * catalog's units here and only here.
 *
 * Coordinates are rounded to 0.01° (about 1 km) before they leave the machine: a weather grid
 * is coarser than that, and the weather service need not learn where exactly the car stands.
 */
import { z } from "zod";
import { VendorError } from "../core/errors.ts";
import type { Http, HttpResponse } from "../core/http.ts";
import { registerSecret } from "../core/log.ts";
import { parseFields, parseJsonBody, type ParseReport, reportField } from "../core/parse.ts";
import { percentToRatio, speedToMetersPerSecond } from "../core/units.ts";

export const WEATHER_PROVIDER = "weather";

/** Current weather in base units; a field the source did not give is absent. */
export interface WeatherReading {
  /** Air temperature at 2 m, Celsius. */
  readonly temperature?: number;
  /** Relative humidity, 0–1. */
  readonly humidity?: number;
  /** Wind speed at 10 m, m/s. */
  readonly windSpeed?: number;
}

export interface WeatherSource {
  readonly id: "open-meteo" | "openweathermap";
  current(latitude: number, longitude: number): Promise<WeatherReading>;
}

export const OPEN_METEO_URL = "https://api.open-meteo.com";
export const OPENWEATHERMAP_URL = "https://api.openweathermap.org";
const OPEN_METEO_PATH = "/v1/forecast";
const OWM_PATH = "/data/2.5/weather";

const round2 = (x: number) => (Math.round(x * 100) / 100).toFixed(2);
const finite = z.number().finite();

/** Open-Meteo's `current` block; units come in `current_units` (wind asked for in m/s). */
export function openMeteo(
  http: Http,
  report: ParseReport,
  baseUrl = OPEN_METEO_URL,
): WeatherSource {
  return {
    id: "open-meteo",
    async current(latitude, longitude) {
      const url = new URL(OPEN_METEO_PATH, baseUrl);
      url.searchParams.set("latitude", round2(latitude));
      url.searchParams.set("longitude", round2(longitude));
      url.searchParams.set("current", "temperature_2m,relative_humidity_2m,wind_speed_10m");
      url.searchParams.set("wind_speed_unit", "ms");
      const body = await get(http, report, url, OPEN_METEO_PATH);
      const units = parseFields(report, "open-meteo.current_units", body.current_units, {
        temperature_2m: z.string().optional(),
        wind_speed_10m: z.string().optional(),
      });
      const cur = parseFields(report, "open-meteo.current", body.current, {
        temperature_2m: finite,
        relative_humidity_2m: finite,
        wind_speed_10m: finite,
      });
      return reading(report, "open-meteo.current_units", {
        temperature: cur.temperature_2m,
        temperatureUnit: units.temperature_2m ?? "°C",
        humidity: cur.relative_humidity_2m,
        windSpeed: cur.wind_speed_10m,
        windUnit: units.wind_speed_10m ?? "m/s",
      });
    },
  };
}

/** OpenWeatherMap current weather with `units=metric` (Celsius, m/s, humidity in %). */
export function openWeatherMap(
  http: Http,
  report: ParseReport,
  apiKey: string,
  baseUrl = OPENWEATHERMAP_URL,
): WeatherSource {
  registerSecret(apiKey);
  return {
    id: "openweathermap",
    async current(latitude, longitude) {
      const url = new URL(OWM_PATH, baseUrl);
      url.searchParams.set("lat", round2(latitude));
      url.searchParams.set("lon", round2(longitude));
      url.searchParams.set("units", "metric");
      url.searchParams.set("appid", apiKey);
      const body = await get(http, report, url, OWM_PATH);
      const main = parseFields(report, "openweathermap.main", body.main, {
        temp: finite,
        humidity: finite,
      });
      const wind = parseFields(report, "openweathermap.wind", body.wind, { speed: finite });
      return reading(report, "openweathermap", {
        temperature: main.temp,
        temperatureUnit: "°C",
        humidity: main.humidity,
        windSpeed: wind.speed,
        windUnit: "m/s",
      });
    },
  };
}

/** Converts to base units; a value in a unit we do not know is dropped and reported. */
function reading(
  report: ParseReport,
  unitsField: string,
  v: {
    temperature?: number;
    temperatureUnit: string;
    humidity?: number;
    windSpeed?: number;
    windUnit: string;
  },
): WeatherReading {
  const wind = v.windSpeed === undefined
    ? undefined
    : speedToMetersPerSecond(v.windSpeed, v.windUnit);
  if (v.windSpeed !== undefined && wind === undefined) {
    reportField(report, `${unitsField}.wind_speed_10m`, `unknown unit ${v.windUnit}`);
  }
  const celsius = v.temperatureUnit === "°C";
  if (v.temperature !== undefined && !celsius) {
    reportField(report, `${unitsField}.temperature_2m`, `unknown unit ${v.temperatureUnit}`);
  }
  return {
    ...(v.temperature !== undefined && celsius ? { temperature: v.temperature } : {}),
    ...(v.humidity !== undefined ? { humidity: percentToRatio(v.humidity) } : {}),
    ...(wind !== undefined ? { windSpeed: wind } : {}),
  };
}

async function get(
  http: Http,
  report: ParseReport,
  url: URL,
  endpoint: string,
): Promise<Record<string, unknown>> {
  const res = await http.send({
    method: "GET",
    url,
    endpoint,
    headers: { accept: "application/json" },
  });
  if (res.status !== 200) throw classify(res, endpoint);
  const body = parseJsonBody(report, endpoint, res.text);
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new VendorError("malformed", `${endpoint}: the weather answer is not a JSON object`, {
      status: res.status,
      endpoint,
    });
  }
  return body as Record<string, unknown>;
}

/** Both services answer `{reason}` (Open-Meteo) or `{cod, message}` (OpenWeatherMap). */
function classify(res: HttpResponse, endpoint: string): VendorError {
  let detail = "";
  try {
    const body = JSON.parse(res.text);
    detail = String(body?.reason ?? body?.message ?? "").slice(0, 200);
  } catch { /* not JSON */ }
  // No Retry-After handling: the enricher asks again after its own interval anyway.
  const opts = { status: res.status, endpoint };
  const what = `the weather service answered ${res.status}${detail ? ` (${detail})` : ""}`;
  if (res.status === 401 || res.status === 403) {
    return new VendorError("client", `${what}; check weather.api_key`, opts);
  }
  if (res.status === 429) return new VendorError("rate_limited", what, opts);
  if (res.status >= 500) return new VendorError("server", what, opts);
  return new VendorError("client", what, opts);
}
