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
  assertStringIncludes(bad.message, 'listen: "nowhere" is not host:port');
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
      // A previous case may have left it read-only (0400): a user other than root could not
      // write it again.
      await Deno.remove(file).catch(() => {});
      await Deno.writeTextFile(file, text);
      await Deno.chmod(file, mode);
      const lines: string[] = [];
      const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
      await loadConfig(file, env, {
        vendors: [{ id: "tesla", accountKeys: ["client_secret"] }],
        log,
      });
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
    "accounts:\n  - provider: tesla\n    name: home\n    api_base_url: https://fleet-api.prd.eu.vn.cloud.tesla.com\n" +
      "    budget: { usd_per_month: 10 }\n",
  );
  assertEquals(c.accounts[0].budget, { usd_per_month: 10, safety_margin: 0.1 });
  const bad = assertThrows(() =>
    parseConfig("accounts:\n  - provider: tesla\n    budget: { requests_per_day: -5 }\n")
  );
  assertStringIncludes(bad.message, "accounts[0].budget.requests_per_day");
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

/** Two vendors as their plug-ins declare their account keys (providers/mod_test.ts: the real ones). */
const VENDORS = [
  { id: "tesla", accountKeys: ["api", "client_id", "region", "api_base_url"] },
  { id: "volvo", accountKeys: ["vcc_api_key", "client_id", "redirect_uri"] },
];

/** The error a config text gives, with the file named `my.yaml`. */
function problem(text: string, env: Record<string, string> = {}): string {
  const err = assertThrows(() => parseConfig(text, env, "my.yaml", VENDORS));
  assert(err instanceof ConfigError, String(err));
  assertStringIncludes(err.message, "my.yaml");
  return err.message;
}

Deno.test("a typo in any nested block is refused, naming the key, the file, the closest key and the fix", () => {
  const vin = "5YJ3E1EA7KF000000";
  const cases: [string, string, string][] = [
    [
      `accounts:\n  - provider: tesla\n    vehicels: [${vin}]\n`,
      "accounts[0].vehicels",
      "did you mean vehicles? Fix the spelling",
    ],
    [
      "accounts:\n  - provider: volvo\n    vcc_api_kye: k\n",
      "accounts[0].vcc_api_kye",
      "did you mean vcc_api_key?",
    ],
    ["wakeup: true\n", "wakeup", "did you mean polling.wake_up? Move it under polling:"],
    [
      "accounts:\n  - provider: volvo\n    wakeup: true\n",
      "accounts[0].wakeup",
      "did you mean polling.wake_up? Move it under polling:",
    ],
    ["polling:\n  wakeup: true\n", "polling.wakeup", "did you mean wake_up?"],
    [
      "greptimedb:\n  url: http://db:4000\n  databse: ev\n",
      "greptimedb.databse",
      "did you mean database?",
    ],
    [
      "accounts:\n  - provider: tesla\n    budget: { requests_per_dya: 400 }\n",
      "accounts[0].budget.requests_per_dya",
      "did you mean requests_per_day?",
    ],
    [
      "location: true\nweather:\n  source: open-meteo\n  ulr: https://x.example\n",
      "weather.ulr",
      "did you mean url?",
    ],
    [
      "accounts:\n  - provider: tesla\n    base_url: https://fleet-api.prd.eu.vn.cloud.tesla.com\n",
      "accounts[0].base_url",
      "did you mean api_base_url?",
    ],
    [
      "listen: 127.0.0.1:9464\nzzz: 1\n",
      "zzz",
      "remove it, or fix its spelling (known here: listen,",
    ],
  ];
  for (const [text, key, fix] of cases) {
    const message = problem(text);
    assertStringIncludes(message, `  ${key}: unknown key`);
    assertStringIncludes(message, fix);
    assertStringIncludes(message, "config.example.yaml");
    assert(!message.includes(vin), "a value is never quoted");
  }
  // Each unknown key on its own line, with its own hint.
  const two = problem("polling:\n  drivng_s: 10\n  asleep: 300\n");
  assertStringIncludes(two, "  polling.drivng_s: unknown key — did you mean driving_s?");
  assertStringIncludes(two, "  polling.asleep: unknown key — did you mean asleep_s?");
});

Deno.test("accounts: a vendor's own keys pass, other vendors' keys and unknown providers do not", () => {
  const ok = parseConfig(
    "accounts:\n  - provider: tesla\n    api: fleet\n    region: eu\n    polling: { wake_up: true }\n" +
      "  - provider: volvo\n    vcc_api_key: k\n    budget: { requests_per_minute: 50 }\n",
    {},
    "my.yaml",
    VENDORS,
  );
  assertEquals(ok.accounts.map((a) => a.provider), ["tesla", "volvo"]);
  assertStringIncludes(
    problem("accounts:\n  - provider: volvo\n    region: eu\n"),
    "accounts[0].region: unknown key",
  );
  assertStringIncludes(
    problem("accounts:\n  - provider: volov\n"),
    'accounts[0].provider: unknown provider "volov": use one of tesla, volvo',
  );
  // Without the plug-ins' keys (core's own tests) a vendor's keys are not judged.
  assertEquals(parseConfig("accounts:\n  - provider: x\n    anything: 1\n").accounts.length, 1);
});

Deno.test("a YAML syntax error names the line, the column and the key, never the value", () => {
  const secret = "sk-live-SECRET-abc123";
  const message = problem(
    `listen: 127.0.0.1:9464\naccounts:\n  - provider: volvo\n    vcc_api_key: ${secret}: oops\n`,
  );
  assertStringIncludes(message, "my.yaml: not valid YAML at line 4, column");
  assertStringIncludes(message, "in key accounts[0].vcc_api_key");
  assertStringIncludes(message, "put the whole value in quotes");
  assert(!message.includes(secret) && !message.includes("oops"), message);
  const escape = problem('greptimedb:\n  url: http://db:4000\n  password: "pa\\qss"\n');
  assertStringIncludes(escape, "line 3, column 16, in key greptimedb.password");
  assert(!escape.includes("pa\\qss") && !escape.includes("\\q"), escape);
  const tab = problem("polling:\n\tdriving_s: 30\n");
  assertStringIncludes(tab, "line 2, column 1, in key polling.driving_s: a tab indents the line");
  const alias = problem("greptimedb:\n  password: *hunter2\n");
  assert(!alias.includes("hunter2"), alias);
});

Deno.test("polling intervals have a sane maximum: a day (every wait is capped there)", () => {
  const big = problem("polling:\n  asleep_s: 3000000\n");
  assertStringIncludes(big, "polling.asleep_s: at most 86400 (a day)");
  const account = problem("accounts:\n  - provider: volvo\n    polling: { backoff_s: 1e9 }\n");
  assertStringIncludes(account, "accounts[0].polling.backoff_s: at most 86400");
  assertEquals(
    parseConfig("polling:\n  static_endpoints_s: 86400\n").polling.static_endpoints_s,
    86400,
  );
  assertStringIncludes(problem("polling:\n  charging_kwh_per_poll: 1e6\n"), "at most 100");
});

Deno.test("listen: one check for the file and the environment, naming the variable that set it", () => {
  const cases: [string, string][] = [
    ["9464", '"9464" has no host: write 127.0.0.1:9464 (this machine only) or 0.0.0.0:9464'],
    [":99999", "port 99999 is out of range: use a port from 1 to 65535"],
    [":9464", '":9464" has no host: write 127.0.0.1:9464'],
    ["localhost:http", 'the port "http" is not a number'],
    ["::1:9464", "an IPv6 host goes in brackets, e.g. [::1]:9464"],
    ["bad_host!:9464", '"bad_host!" is not a host name or address'],
  ];
  for (const [address, message] of cases) {
    assertStringIncludes(problem(`listen: "${address}"\n`), `  listen: ${JSON.stringify(address)}`);
    assertStringIncludes(problem(`listen: "${address}"\n`), message);
    const env = problem("", { EV_OBSERVER_LISTEN: address });
    assertStringIncludes(env, "  listen (set by EV_OBSERVER_LISTEN): ");
    assertStringIncludes(env, message);
  }
  assertEquals(parseConfig('listen: "[::1]:9464"\n').listen, "[::1]:9464");
  assertEquals(parseConfig("listen: 0.0.0.0:9464\n").listen, "0.0.0.0:9464");
  assertStringIncludes(
    problem("", { GREPTIMEDB_URL: "localhost" }),
    "greptimedb.url (set by GREPTIMEDB_URL): expected a URL",
  );
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
