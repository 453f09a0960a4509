/** The `telemetry` block of a Tesla account: checked with the account, errors name the fix. */
import { type AccountConfig, ConfigError } from "../../core/config.ts";
import { assert, assertEquals, assertStringIncludes } from "../../core/testing.ts";
import { teslaIdentity } from "./identity.ts";
import { telemetrySettings } from "./stream_config.ts";

const LABEL = "config.yaml accounts[0]";
const fail = (key: string, message: string) => new ConfigError(`${LABEL}.${key}: ${message}`);

function keys(telemetry: Record<string, unknown>) {
  const account = { provider: "tesla", name: "home", vehicles: [], telemetry } as AccountConfig;
  return teslaIdentity(account, { label: LABEL, env: {}, location: false }).settings.telemetry!;
}

async function error(telemetry: Record<string, unknown>, env = {}): Promise<string> {
  try {
    await telemetrySettings(keys(telemetry), env, fail);
  } catch (e) {
    assert(e instanceof ConfigError, String(e));
    return e.message;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("telemetry keys: defaults, and the password from its variable", async () => {
  const s = await telemetrySettings(
    keys({ broker_url: "mqtts://mqtt.example.net:8883", username: "ev", password_env: "PW" }),
    { PW: "secret-password" },
    fail,
  );
  assertEquals(s.topicBase, "telemetry");
  assertEquals(s.password, "secret-password");
  assertEquals([s.silenceS, s.recheckS], [1800, 14400]);
});

Deno.test("telemetry keys: each mistake names the key and the fix", async () => {
  assertStringIncludes(
    await error({ broker_url: "mqtts://x:1", password_env: "PW" }),
    "accounts[0].telemetry.password_env: environment variable PW is not set",
  );
  assertStringIncludes(
    await error({ broker_url: "mqtt://mqtt.lan:1883", password_env: "PW" }, { PW: "secret-pw" }),
    "use mqtts://",
  );
  assertStringIncludes(await error({ broker_url: "mqtts://u:p@x:1" }), "telemetry.username");
  assertStringIncludes(
    await error({ broker_url: "mqtts://x:1", ca_file: "/nonexistent/ca.pem" }),
    "telemetry.ca_file: cannot read /nonexistent/ca.pem",
  );
  const bad = (telemetry: Record<string, unknown>) => {
    try {
      keys(telemetry);
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  assertStringIncludes(bad({ broker_url: "https://x" }), "telemetry.broker_url: expected mqtt://");
  assertStringIncludes(bad({ broker_url: "mqtt://x", topic_base: "t/#" }), "telemetry.topic_base");
  assertStringIncludes(bad({ broker_url: "mqtt://x", brokr: 1 }), "telemetry");
});
