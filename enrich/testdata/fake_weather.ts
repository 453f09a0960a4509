/**
 * Open-Meteo and OpenWeatherMap on loopback, answering as the real services do for the
 * parameters the client sends: Open-Meteo gives wind in km/h unless `wind_speed_unit=ms`,
 * OpenWeatherMap gives Kelvin unless `units=metric` and 401 for a wrong `appid`.
 * Shapes: open-meteo.com/en/docs (`current=`), openweathermap.org/current (`/data/2.5/weather`).
 */

export const OWM_KEY = "fake-owm-key-0123456789";

/** What the sky is doing at the fake place (Celsius, %, m/s). */
export interface FakeSky {
  temperature: number;
  humidity: number;
  wind: number;
}

export class FakeWeather {
  readonly requests: URL[] = [];
  sky: FakeSky = { temperature: 4.6, humidity: 87, wind: 6.5 };
  /** Status to answer with instead of the weather (a service outage). */
  failWith?: number;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(new URL(req.url)),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }

  #handle(url: URL): Response {
    this.requests.push(url);
    if (this.failWith) return Response.json({ reason: "fake outage" }, { status: this.failWith });
    const q = url.searchParams;
    if (url.pathname === "/v1/forecast") return this.#openMeteo(q);
    if (url.pathname === "/data/2.5/weather") return this.#owm(q);
    return Response.json({ error: true, reason: "Not Found" }, { status: 404 });
  }

  #openMeteo(q: URLSearchParams): Response {
    const lat = Number(q.get("latitude"));
    const lon = Number(q.get("longitude"));
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
      return Response.json({ error: true, reason: "Parameter 'latitude' is missing" }, {
        status: 400,
      });
    }
    const ms = q.get("wind_speed_unit") === "ms";
    const vars = (q.get("current") ?? "").split(",");
    const values: Record<string, number> = {
      temperature_2m: this.sky.temperature,
      relative_humidity_2m: this.sky.humidity,
      wind_speed_10m: ms ? this.sky.wind : Math.round(this.sky.wind * 36) / 10,
    };
    const units: Record<string, string> = {
      temperature_2m: "°C",
      relative_humidity_2m: "%",
      wind_speed_10m: ms ? "m/s" : "km/h",
    };
    const pick = (from: Record<string, unknown>) =>
      Object.fromEntries(vars.filter((v) => v in from).map((v) => [v, from[v]]));
    return Response.json({
      latitude: lat,
      longitude: lon,
      generationtime_ms: 0.03,
      utc_offset_seconds: 0,
      timezone: "GMT",
      timezone_abbreviation: "GMT",
      elevation: 0,
      current_units: { time: "iso8601", interval: "seconds", ...pick(units) },
      current: { time: "2026-03-10T12:00", interval: 900, ...pick(values) },
    });
  }

  #owm(q: URLSearchParams): Response {
    if (q.get("appid") !== OWM_KEY) {
      return Response.json({
        cod: 401,
        message: "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
      }, { status: 401 });
    }
    const metric = q.get("units") === "metric";
    const temp = (c: number) => metric ? c : Math.round((c + 273.15) * 100) / 100;
    return Response.json({
      coord: { lon: Number(q.get("lon")), lat: Number(q.get("lat")) },
      weather: [{ id: 500, main: "Rain", description: "light rain", icon: "10d" }],
      base: "stations",
      main: {
        temp: temp(this.sky.temperature),
        feels_like: temp(this.sky.temperature - 3.1),
        temp_min: temp(this.sky.temperature - 1),
        temp_max: temp(this.sky.temperature + 1),
        pressure: 1012,
        humidity: this.sky.humidity,
        sea_level: 1012,
        grnd_level: 1011,
      },
      visibility: 10000,
      wind: { speed: this.sky.wind, deg: 240, gust: this.sky.wind * 1.5 },
      clouds: { all: 75 },
      dt: 1773144000,
      sys: { country: "SE", sunrise: 1773122400, sunset: 1773163200 },
      timezone: 3600,
      id: 0,
      name: "",
      cod: 200,
    });
  }
}
