/** The sessions block is as strict as every other: a mistyped or misplaced key says the fix. */
import { parseConfig } from "../config.ts";
import { assert, assertStringIncludes, assertThrows } from "../testing.ts";

function problem(text: string): string {
  return assertThrows(() => parseConfig(text, {}, "my.yaml")).message;
}

Deno.test("sessions: a typo or a key in the wrong block names the closest key and where it goes", () => {
  const vin = "5YJ3E1EA7KF000000";
  const home = "name: home, latitude: 52.5, longitude: 13.4";
  const cases: [string, string, string][] = [
    ["sessions:\n  stop_gap: 600\n", "sessions.stop_gap", "did you mean stop_gap_s?"],
    [
      "sessions:\n  price_per_kwh: 0.3\n",
      "sessions.price_per_kwh",
      "did you mean tariff.price_per_kwh? Move it under tariff:",
    ],
    [
      "sessions:\n  usable_kwh: 75\n",
      "sessions.usable_kwh",
      "did you mean vehicles.usable_kwh? Move it under vehicles:",
    ],
    [
      "sessions:\n  currency: EUR\n  tariff: { price_per_kwh: 0.3, sesion_fee: 1 }\n",
      "sessions.tariff.sesion_fee",
      "did you mean session_fee?",
    ],
    [
      "sessions:\n  currency: EUR\n  dc_tariff: { price_per_kwh: 0.5, from: '22:00' }\n",
      "sessions.dc_tariff.from",
      "did you mean time_of_use.from? Move it under time_of_use:",
    ],
    [
      "sessions:\n  currency: EUR\n  tariff:\n    price_per_kwh: 0.3\n" +
      "    time_of_use: [{ from: '22:00', to: '06:00', prise_per_kwh: 0.1 }]\n",
      "sessions.tariff.time_of_use[0].prise_per_kwh",
      "did you mean price_per_kwh?",
    ],
    [
      `location: true\nsessions:\n  places: [{ ${home}, radius: 100 }]\n`,
      "sessions.places[0].radius",
      "did you mean radius_m?",
    ],
    [
      `location: true\nsessions:\n  currency: EUR\n  places: [{ ${home}, price_per_kwh: 0.2 }]\n`,
      "sessions.places[0].price_per_kwh",
      "did you mean tariff.price_per_kwh? Move it under tariff:",
    ],
    [
      `sessions:\n  vehicles: [{ vin: ${vin}, usable_kw: 75 }]\n`,
      "sessions.vehicles[0].usable_kw",
      "did you mean usable_kwh?",
    ],
    ["currency: EUR\n", "currency", "did you mean sessions.currency? Move it under sessions:"],
    ["stop_gap_s: 600\n", "stop_gap_s", "did you mean sessions.stop_gap_s?"],
  ];
  for (const [text, key, fix] of cases) {
    const message = problem(text);
    assertStringIncludes(message, "my.yaml");
    assertStringIncludes(message, `  ${key}: unknown key`);
    assertStringIncludes(message, fix);
    assertStringIncludes(message, "config.example.yaml");
    assert(!message.includes(vin), "a value is never quoted");
  }
});
