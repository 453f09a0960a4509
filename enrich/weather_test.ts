/** Weather at the car against a fake Open-Meteo / OpenWeatherMap, on a virtual clock. */
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { parseConfig } from "../core/config.ts";
import { VendorError } from "../core/errors.ts";
import { Http } from "../core/http.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { FakeWeather, OWM_KEY } from "./testdata/fake_weather.ts";
import { distanceM, startWeather, WeatherEnricher } from "./weather.ts";
import { openMeteo, openWeatherMap } from "./weather_sources.ts";

const VIN = "YV1XZEFV1R2000001";
const HOME = { latitude: 57.3001, longitude: 11.6004 };
const WORK = { latitude: 57.42, longitude: 11.45 };
const T0 = Date.parse("2026-03-10T12:00:00Z");

function quiet() {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l) }) };
}

function sources(fake: FakeWeather, readings = new Readings()) {
  const http = new Http({ provider: "weather", readings });
  const report = { provider: "weather", readings };
  return {
    readings,
    meteo: openMeteo(http, report, fake.url),
    owm: (key = OWM_KEY) => openWeatherMap(http, report, key, fake.url),
  };
}

/** A Volvo snapshot with a position, as the provider records one after a Location read. */
function snapshot(at: number, where = HOME, extra: Snapshot["samples"] = []): Snapshot {
  return {
    vehicle: { provider: "volvo", id: VIN, vin: VIN },
    sampledAt: at / 1000,
    state: "online",
    samples: [
      { metric: "ev.location.latitude", value: where.latitude, source: "location" },
      { metric: "ev.location.longitude", value: where.longitude, source: "location" },
      ...extra,
    ],
    states: [],
    info: {},
    partial: { sources: ["location"] },
  };
}

const weatherOf = (readings: Readings) =>
  Object.fromEntries(
    (readings.vehicles.get(`volvo/${VIN}`)?.snapshot?.samples ?? [])
      .filter((s) => s.metric.startsWith("ev.weather."))
      .map((s) => [s.metric, s.value]),
  );

Deno.test("Open-Meteo: the documented query, coordinates rounded to 0.01°, base units", async () => {
  const fake = new FakeWeather();
  try {
    const { meteo, readings } = sources(fake);
    const r = await meteo.current(HOME.latitude, HOME.longitude);
    assertEquals(r, { temperature: 4.6, humidity: 0.87, windSpeed: 6.5 });
    const q = fake.requests[0].searchParams;
    assertEquals(fake.requests[0].pathname, "/v1/forecast");
    assertEquals([q.get("latitude"), q.get("longitude")], ["57.30", "11.60"]);
    assertEquals(q.get("current"), "temperature_2m,relative_humidity_2m,wind_speed_10m");
    assertEquals(
      readings.counterValue("ev.api.requests", {
        provider: "weather",
        endpoint: "/v1/forecast",
        status: "200",
      }),
      1,
    );
  } finally {
    await fake.close();
  }
});

Deno.test("Open-Meteo: wind in km/h (current_units) is converted, an unknown unit dropped", async () => {
  const readings = new Readings();
  const body = (unit: string) =>
    JSON.stringify({
      current_units: { temperature_2m: "°C", wind_speed_10m: unit },
      current: { temperature_2m: 1.5, relative_humidity_2m: 50, wind_speed_10m: 36 },
    });
  let unit = "km/h";
  const http = new Http({
    provider: "weather",
    readings,
    fetch: () => Promise.resolve(new Response(body(unit))),
  });
  const meteo = openMeteo(http, { provider: "weather", readings }, "http://meteo.invalid");
  assertEquals(await meteo.current(1, 2), { temperature: 1.5, humidity: 0.5, windSpeed: 10 });
  unit = "bft";
  assertEquals(await meteo.current(1, 2), { temperature: 1.5, humidity: 0.5 });
  assertEquals(
    readings.counterValue("ev.parse.errors", {
      provider: "weather",
      field: "open-meteo.current_units.wind_speed_10m",
    }),
    1,
  );
});

Deno.test("OpenWeatherMap: units=metric and the key; a wrong key is a client error, never logged", async () => {
  const fake = new FakeWeather();
  try {
    const { owm, readings } = sources(fake);
    assertEquals(await owm().current(WORK.latitude, WORK.longitude), {
      temperature: 4.6,
      humidity: 0.87,
      windSpeed: 6.5,
    });
    const q = fake.requests[0].searchParams;
    assertEquals(fake.requests[0].pathname, "/data/2.5/weather");
    assertEquals([q.get("lat"), q.get("lon"), q.get("units")], ["57.42", "11.45", "metric"]);
    const err = await assertRejects(() => owm("wrong-key-0000").current(1, 2));
    assert(err instanceof VendorError && err.kind === "client" && err.status === 401);
    assert(err.message.includes("weather.api_key") && !err.message.includes("wrong-key"));
    const labels = JSON.stringify([...readings.counters.values()]);
    assert(!labels.includes(OWM_KEY) && !labels.includes("appid"), "no key in any label");
  } finally {
    await fake.close();
  }
});

Deno.test("enricher: at most every 15 min, only after moving > 500 m or after an hour", async () => {
  const fake = new FakeWeather();
  const clock = new VirtualClock(T0, 0);
  const readings = new Readings();
  const { log } = quiet();
  const enricher = new WeatherEnricher({ readings, clock, log, source: sources(fake).meteo });
  enricher.start();
  const at = async (minutes: number, where = HOME) => {
    clock.advance(T0 + minutes * 60_000 - clock.now());
    readings.record(snapshot(clock.now(), where));
    await enricher.idle();
    return fake.requests.length;
  };
  try {
    assertEquals(await at(0), 1, "first position: looked up");
    assertEquals(weatherOf(readings), {
      "ev.weather.temperature": 4.6,
      "ev.weather.humidity": 0.87,
      "ev.weather.wind.speed": 6.5,
    });
    assertEquals(readings.vehicles.get(`volvo/${VIN}`)!.lastSampleAt, T0 / 1000);
    assertEquals(await at(5), 1, "parked, fresh");
    assertEquals(await at(16, { latitude: 57.3031, longitude: 11.6004 }), 1, "moved 330 m");
    assertEquals(await at(20, WORK), 2, "moved 15 km");
    assertEquals(await at(30, HOME), 2, "moved again, but only 10 minutes later");
    assertEquals(await at(36, HOME), 3, "15 minutes passed");
    assertEquals(await at(90, HOME), 3, "parked 54 minutes");
    fake.sky = { temperature: -1.2, humidity: 95, wind: 2 };
    assertEquals(await at(97, HOME), 4, "an hour old");
    assertEquals(weatherOf(readings)["ev.weather.temperature"], -1.2);
  } finally {
    enricher.stop();
    await fake.close();
  }
});

Deno.test("enricher: a full snapshot's replacement gets the weather back without a request", async () => {
  const fake = new FakeWeather();
  const clock = new VirtualClock(T0, 0);
  const readings = new Readings();
  const enricher = new WeatherEnricher({
    readings,
    clock,
    log: quiet().log,
    source: sources(fake).meteo,
  });
  enricher.start();
  try {
    readings.record(snapshot(T0));
    await enricher.idle();
    clock.advance(60_000);
    // A full snapshot (Tesla style) replaces everything, weather included.
    const full = { ...snapshot(clock.now()), partial: undefined };
    readings.record(full);
    await enricher.idle();
    assertEquals(fake.requests.length, 1);
    assertEquals(weatherOf(readings)["ev.weather.wind.speed"], 6.5);
    assertEquals(readings.vehicles.get(`volvo/${VIN}`)!.lastSampleAt, clock.now() / 1000);
  } finally {
    enricher.stop();
    await fake.close();
  }
});

Deno.test("enricher: no position, no request; a failed lookup is logged and retried later", async () => {
  const fake = new FakeWeather();
  const clock = new VirtualClock(T0, 0);
  const readings = new Readings();
  const { lines, log } = quiet();
  const enricher = new WeatherEnricher({ readings, clock, log, source: sources(fake).meteo });
  enricher.start();
  try {
    readings.record({ ...snapshot(T0), samples: [{ metric: "ev.battery.level", value: 0.5 }] });
    await enricher.idle();
    assertEquals(fake.requests.length, 0);
    fake.failWith = 503;
    readings.record(snapshot(T0));
    await enricher.idle();
    assertEquals(fake.requests.length, 1);
    assert(lines.some((l) => l.includes("weather lookup failed")), lines.join("\n"));
    assertEquals(weatherOf(readings), {});
    fake.failWith = undefined;
    clock.advance(10 * 60_000);
    readings.record(snapshot(clock.now()));
    await enricher.idle();
    assertEquals(fake.requests.length, 1, "not before 15 minutes");
    clock.advance(5 * 60_000);
    readings.record(snapshot(clock.now()));
    await enricher.idle();
    assertEquals(fake.requests.length, 2);
    assertEquals(weatherOf(readings)["ev.weather.humidity"], 0.87);
  } finally {
    enricher.stop();
    await fake.close();
  }
});

Deno.test("startWeather from the config: off by default; OpenWeatherMap with its key to /metrics", async () => {
  const fake = new FakeWeather();
  const clock = new VirtualClock(T0, 0);
  const readings = new Readings();
  const deps = { readings, clock, log: quiet().log };
  assertEquals(startWeather(parseConfig("location: true\n"), deps), undefined);
  const config = parseConfig(
    `location: true\nweather:\n  source: openweathermap\n  url: ${fake.url}\n`,
    { EV_WEATHER_API_KEY: OWM_KEY },
  );
  const enricher = startWeather(config, deps)!;
  const prometheus = new PrometheusExport(readings, { location: true });
  try {
    readings.record(snapshot(T0, WORK));
    await enricher.idle();
    const text = await prometheus.exposition();
    assert(
      text.includes(`ev_weather_temperature_celsius{provider="volvo",vin="${VIN}"} 4.6`),
      text,
    );
    assert(text.includes(`ev_weather_humidity_ratio{provider="volvo",vin="${VIN}"} 0.87`));
    assert(
      text.includes(`ev_weather_wind_speed_meters_per_second{provider="volvo",vin="${VIN}"} 6.5`),
    );
    assert(
      text.includes(
        'ev_api_requests_total{provider="weather",endpoint="/data/2.5/weather",status="200"} 1',
      ),
    );
  } finally {
    enricher.stop();
    await fake.close();
  }
});

Deno.test("distance: haversine in meters", () => {
  assertAlmostEquals(distanceM(HOME, { ...HOME, latitude: HOME.latitude + 0.01 }), 1112, 1);
  assertEquals(distanceM(HOME, HOME), 0);
});
