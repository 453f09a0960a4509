import { assert, assertEquals, assertStringIncludes, assertThrows } from "./testing.ts";
import { ConfigError, parseConfig, splitListen } from "./config.ts";

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
