import { assert, assertEquals, assertStringIncludes, assertThrows } from "./testing.ts";
import { ConfigError, loadConfig, parseConfig, splitListen } from "./config.ts";
import { createLogger } from "./log.ts";

Deno.test("defaults: loopback listener, location off", () => {
  const c = parseConfig("");
  assertEquals(c.listen, "127.0.0.1:9464");
  assertEquals(c.location, false);
  assertEquals(c.greptimedb, undefined);
});

Deno.test("config.example.yaml is valid", async () => {
  const text = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
  assertEquals(parseConfig(text, {}, "config.example.yaml").listen, "127.0.0.1:9464");
});

Deno.test("env overrides file keys", () => {
  const c = parseConfig("listen: 127.0.0.1:1\n", {
    EV_OBSERVER_LISTEN: "0.0.0.0:9999",
    EV_OBSERVER_LOCATION: "true",
    GREPTIMEDB_URL: "http://db:4000",
  });
  assertEquals(c.listen, "0.0.0.0:9999");
  assertEquals(c.location, true);
  assertEquals(c.greptimedb?.url, "http://db:4000");
  assertEquals(c.greptimedb?.database, "public");
  assertEquals(splitListen("[::1]:9464"), { hostname: "::1", port: 9464 });
});

Deno.test("errors name the key and the fix", () => {
  const typo = assertThrows(() => parseConfig("lsten: 1\n", {}, "my.yaml"));
  assert(typo instanceof ConfigError);
  assertStringIncludes(typo.message, "my.yaml");
  assertStringIncludes(typo.message, "lsten");
  const bad = assertThrows(() => parseConfig("listen: nowhere\n"));
  assertStringIncludes(bad.message, "listen: expected host:port");
  const yaml = assertThrows(() => parseConfig("listen: [\n"));
  assertStringIncludes(yaml.message, "not valid YAML");
  const url = assertThrows(() => parseConfig("greptimedb:\n  url: localhost\n"));
  assertStringIncludes(url.message, "greptimedb.url");
});

Deno.test("a config file holding a secret that others can read gets a warning with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ev-config-" });
  const password = "greptime-pass-4711";
  try {
    const warnings = async (text: string, mode: number, env: Record<string, string> = {}) => {
      const file = `${dir}/config.yaml`;
      await Deno.writeTextFile(file, text);
      await Deno.chmod(file, mode);
      const lines: string[] = [];
      await loadConfig(file, env, createLogger({ level: "debug", write: (l) => lines.push(l) }));
      for (const l of lines) assert(!l.includes(password), "the secret is not logged");
      return lines.filter((l) => l.includes("level=warn"));
    };
    const secret = `greptimedb:\n  url: http://db:4000\n  password: ${password}\n`;
    const [line] = await warnings(secret, 0o644);
    assertStringIncludes(line, `file=${dir}/config.yaml`);
    assertStringIncludes(line, "mode=0644");
    assertStringIncludes(line, "keys=greptimedb.password");
    assertStringIncludes(line, `"chmod 600 ${dir}/config.yaml"`);
    assertEquals((await warnings(secret, 0o640)).length, 1, "group-readable counts too");
    assertEquals(await warnings(secret, 0o600), [], "0600 is fine");
    assertEquals(await warnings(secret, 0o400), [], "0400 is fine");
    const client = "accounts:\n  - provider: tesla\n    client_secret: abcdefgh\n";
    assertStringIncludes((await warnings(client, 0o604))[0], "keys=accounts.0.client_secret");
    assertEquals(await warnings("listen: 127.0.0.1:9464\n", 0o644), [], "no secret, no warning");
    const fromEnv = "greptimedb:\n  url: http://db:4000\n";
    assertEquals(
      await warnings(fromEnv, 0o644, { GREPTIMEDB_PASSWORD: password }),
      [],
      "a secret from the environment is not in the file",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("polling: defaults, overrides by key, and errors that name the key", () => {
  const c = parseConfig("polling:\n  driving_s: 15\n  wake_up: true\n");
  assertEquals(c.polling.driving_s, 15);
  assertEquals(c.polling.wake_up, true);
  assertEquals(c.polling.asleep_s, 300, "the rest keep their defaults");
  assertEquals(parseConfig("").polling.suspend_s, 1260);
  const zero = assertThrows(() => parseConfig("polling:\n  driving_s: 0\n"));
  assertStringIncludes(zero.message, "polling.driving_s");
  const typo = assertThrows(() => parseConfig("polling:\n  drivng_s: 10\n"));
  assertStringIncludes(typo.message, "drivng_s");
});

Deno.test("accounts: a budget and a base URL, validated", () => {
  const c = parseConfig(
    "accounts:\n  - provider: tesla\n    name: home\n    base_url: https://fleet-api.prd.eu.vn.cloud.tesla.com\n" +
      "    budget: { usd_per_month: 10 }\n",
  );
  assertEquals(c.accounts[0].budget, { usd_per_month: 10, safety_margin: 0.1 });
  const bad = assertThrows(() =>
    parseConfig("accounts:\n  - provider: tesla\n    budget: { requests_per_day: -5 }\n")
  );
  assertStringIncludes(bad.message, "accounts.0.budget.requests_per_day");
});

Deno.test("weather: off by default; OpenWeatherMap needs a key (file or env); needs location", () => {
  assertEquals(parseConfig("").weather, undefined);
  const meteo = parseConfig("location: true\nweather:\n  source: open-meteo\n");
  assertEquals(meteo.weather, { source: "open-meteo" });
  const owm = "location: true\nweather:\n  source: openweathermap\n";
  const noKey = assertThrows(() => parseConfig(owm));
  assertStringIncludes(noKey.message, "weather.api_key: OpenWeatherMap needs an API key");
  assertEquals(parseConfig(owm, { EV_WEATHER_API_KEY: "k-123456" }).weather?.api_key, "k-123456");
  assertEquals(parseConfig("", { EV_WEATHER_API_KEY: "k-123456" }).weather, undefined);
  const noLocation = assertThrows(() => parseConfig("weather:\n  source: open-meteo\n"));
  assertStringIncludes(noLocation.message, "weather: weather is looked up at each car's position");
  const typo = assertThrows(() => parseConfig("location: true\nweather:\n  source: owm\n"));
  assertStringIncludes(typo.message, "weather.source");
});

Deno.test("max_value_age: off by default, a duration in seconds, a wrong one named", () => {
  assertEquals(parseConfig("").max_value_age, undefined);
  assertEquals(parseConfig("max_value_age: 7d").max_value_age, 7 * 86400);
  assertEquals(parseConfig("max_value_age: 12h").max_value_age, 12 * 3600);
  assertEquals(parseConfig("max_value_age: 900").max_value_age, 900);
  const err = assertThrows(() => parseConfig("max_value_age: 7 days"));
  assert(err instanceof ConfigError);
  assertStringIncludes(err.message, 'max_value_age: expected a duration such as "7d"');
});
