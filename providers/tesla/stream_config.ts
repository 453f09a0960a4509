/**
 * The `telemetry` block of a Tesla account: where the owner's fleet-telemetry server publishes
 * (its MQTT dispatcher), and how to sign in to that broker. Validated with the account
 * (identity.ts declares it); resolved here into what the stream connects with.
 *
 *   telemetry:
 *     broker_url: mqtts://mqtt.example.net:8883   # mqtt:// or mqtts:// (tcp://, ssl://, tls://)
 *     topic_base: telemetry                      # the dispatcher's `topic_base`
 *     username: ev-observer
 *     password_env: EV_MQTT_PASSWORD             # the password stays out of the file
 *     ca_file: /etc/ev-observer/mqtt-ca.pem      # a private CA; the system's roots otherwise
 *     server: { hostname: telemetry.example.net, port: 443, ca_file: … }   # `auth --telemetry`
 *     proxy: { url: https://127.0.0.1:4443, ca_file: … }                   # `auth --telemetry`
 */
import { z } from "zod";
import type { KeyError } from "../../core/account_keys.ts";
import { EnvName, HostUrl } from "../../core/account_keys.ts";
import { registerSecret } from "../../core/log.ts";
import { isLoopbackUrl } from "../../core/oauth.ts";

const PLAIN = ["mqtt:", "tcp:"];
const TLS = ["mqtts:", "ssl:", "tls:"];

export const TelemetryKeys = z.object({
  broker_url: z.string().refine((value) => {
    try {
      const url = new URL(value);
      return [...PLAIN, ...TLS].includes(url.protocol) && url.hostname !== "";
    } catch {
      return false;
    }
  }, "expected mqtt://host:port or mqtts://host:port (the broker fleet-telemetry publishes to)"),
  /** The first topic segment(s): fleet-telemetry's `mqtt.topic_base`. */
  topic_base: z.string().min(1).regex(/^[^#+]+$/, "no MQTT wildcards (+ or #)").default(
    "telemetry",
  ),
  username: z.string().min(1).optional(),
  /** The environment variable holding the broker password. */
  password_env: EnvName.optional(),
  /** PEM file of the CA that signed the broker's certificate (mqtts only). */
  ca_file: z.string().min(1).optional(),
  /** MQTT client id; a random one when unset. */
  client_id: z.string().min(1).max(64).optional(),
  /**
   * A car the stream says is online but that sent nothing for this long is polled again:
   * fleet-telemetry emits no DISCONNECTED when it crashes.
   */
  silence_s: z.number().int().min(60).default(1800),
  /**
   * A car the stream says is asleep is checked (one summary request) this often, in case its
   * streaming config was removed (Tesla removes it when the billing limit is reached).
   */
  recheck_s: z.number().int().min(600).default(4 * 3600),
  /** `auth tesla --telemetry` (telemetry_setup.ts): the server the car dials, and its chain. */
  server: z.object({
    hostname: z.string().min(1).regex(/^[^/:\s]+$/, "a host name only (no scheme, port or path)"),
    port: z.number().int().min(1).max(65535).default(443),
    ca_file: z.string().min(1).optional(),
  }).strict().optional(),
  /** The owner's vehicle-command proxy, which signs the config with the app's key. */
  proxy: z.object({
    url: HostUrl,
    /** PEM of the proxy's certificate (or its CA): it is self-signed as a rule. */
    ca_file: z.string().min(1).optional(),
  }).strict().optional(),
  /** What the account's streamed signals may cost a month, US$; the field set is fitted to it. */
  budget_usd: z.number().positive().default(1),
}).strict();
export type TelemetryKeys = z.infer<typeof TelemetryKeys>;

/** What the stream connects with: the checked keys, the password and the CA read. */
export interface TelemetrySettings {
  readonly brokerUrl: string;
  readonly topicBase: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM text of `ca_file`. */
  readonly ca?: string;
  readonly clientId?: string;
  readonly silenceS: number;
  readonly recheckS: number;
}

/**
 * Resolves the block: the password from its variable, the CA file's text. Errors name the key
 * and the fix (`fail` prefixes the account's place in the config).
 */
export async function telemetrySettings(
  keys: TelemetryKeys,
  env: Readonly<Record<string, string | undefined>>,
  fail: KeyError,
): Promise<TelemetrySettings> {
  const url = new URL(keys.broker_url);
  if (url.username || url.password) {
    throw fail(
      "telemetry.broker_url",
      "carries a user name or password; put them in telemetry.username and " +
        "telemetry.password_env instead",
    );
  }
  const tls = TLS.includes(url.protocol);
  let password: string | undefined;
  if (keys.password_env !== undefined) {
    password = env[keys.password_env];
    if (!password) {
      throw fail(
        "telemetry.password_env",
        `environment variable ${keys.password_env} is not set — export it with the broker ` +
          "password",
      );
    }
    registerSecret(password);
    if (!tls && !isLoopbackUrl(url)) {
      throw fail(
        "telemetry.broker_url",
        "sends the broker password unencrypted; use mqtts:// (a TLS listener), or a broker on " +
          "127.0.0.1",
      );
    }
  }
  let ca: string | undefined;
  if (keys.ca_file !== undefined) {
    if (!tls) {
      throw fail("telemetry.ca_file", "is only used with mqtts://; remove it or use mqtts://");
    }
    try {
      ca = await Deno.readTextFile(keys.ca_file);
    } catch (e) {
      throw fail("telemetry.ca_file", `cannot read ${keys.ca_file}: ${(e as Error).name}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw fail("telemetry.ca_file", `${keys.ca_file} holds no PEM certificate`);
    }
  }
  return {
    brokerUrl: keys.broker_url,
    topicBase: keys.topic_base.replace(/\/+$/, ""),
    ...(keys.username !== undefined ? { username: keys.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(keys.client_id !== undefined ? { clientId: keys.client_id } : {}),
    silenceS: keys.silence_s,
    recheckS: keys.recheck_s,
  };
}
