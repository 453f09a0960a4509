/**
 * One YAML config file plus environment overrides, validated up front. Errors name the key
 * and say how to fix it.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type Logger, loggerFromEnv } from "./log.ts";
import { DEFAULT_SCHEDULER, type SchedulerConfig } from "./scheduler_config.ts";
import { DEFAULT_SESSIONS, SessionsConfig } from "./sessions/config.ts";

const ListenAddress = z.string().regex(
  /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
  "expected host:port, e.g. 127.0.0.1:9464",
);

export const AccountConfig = z.object({
  provider: z.string(),
  /** Name of the account; the token file is named after it. */
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, - and _ only").default(
    "default",
  ),
  /** Only these VINs; all vehicles of the account when empty. */
  vehicles: z.array(z.string()).default([]),
  /** Vendor API base URL (e.g. a Fleet API region); the provider's default when unset. */
  base_url: z.url("expected a URL such as https://fleet-api.prd.eu.vn.cloud.tesla.com")
    .optional(),
  /** What the account may spend; the scheduler stays inside it (core/budget.ts). */
  budget: z.object({
    requests_per_day: z.number().int().positive().optional(),
    /** Requests in any 60 s (Volvo's per-key limit is 100). */
    requests_per_minute: z.number().int().positive().optional(),
    usd_per_month: z.number().positive().optional(),
    safety_margin: z.number().min(0).max(0.9).default(0.1),
  }).strict().optional(),
  /** This account's scheduler settings over the vendor's and the common `polling` ones. */
  polling: pollingSchema(false).optional(),
}).loose();
export type AccountConfig = z.infer<typeof AccountConfig>;

export const Config = z.object({
  listen: ListenAddress.default("127.0.0.1:9464"),
  /** Export latitude/longitude/heading. Off unless the user opts in. */
  location: z.boolean().default(false),
  /** Where tokens and state live. */
  state_dir: z.string().default("./state"),
  /** Prometheus exporter-toolkit style web config (TLS, basic auth) for /metrics and /. */
  web_config: z.string().optional(),
  log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
  greptimedb: z.object({
    url: z.url("expected a URL such as http://localhost:4000"),
    database: z.string().default("public"),
    username: z.string().optional(),
    password: z.string().optional(),
  }).optional(),
  accounts: z.array(AccountConfig).default([]),
  /** Scheduler intervals and sleep logic (core/scheduler.ts); each key has a default. */
  polling: pollingSchema().default(DEFAULT_SCHEDULER),
  /** Drives, charges and parked periods kept in state_dir/sessions.db (core/sessions/). */
  sessions: SessionsConfig.default(DEFAULT_SESSIONS),
  /** Weather at each car's last position (enrich/weather.ts). Off when absent. */
  weather: z.object({
    source: z.enum(["open-meteo", "openweathermap"]),
    /** OpenWeatherMap's key (a secret; EV_WEATHER_API_KEY keeps it out of the file). */
    api_key: z.string().min(1).optional(),
    /** Another instance of the service (a self-hosted Open-Meteo). */
    url: z.url("expected a URL such as https://api.open-meteo.com").optional(),
  }).strict().optional(),
}).strict().superRefine((c, ctx) => {
  if (c.weather?.source === "openweathermap" && !c.weather.api_key) {
    ctx.addIssue({
      code: "custom",
      path: ["weather", "api_key"],
      message: "OpenWeatherMap needs an API key (set weather.api_key or EV_WEATHER_API_KEY), " +
        "or use source: open-meteo, which needs none",
    });
  }
  if (c.sessions.places.length && !c.location) {
    ctx.addIssue({
      code: "custom",
      path: ["sessions", "places"],
      message: "places are found by the car's position: they need location: true",
    });
  }
  if (c.weather && !c.location) {
    ctx.addIssue({
      code: "custom",
      path: ["weather"],
      message: "weather is looked up at each car's position: it needs location: true",
    });
  }
});
export type Config = z.infer<typeof Config>;

/** Every scheduler key with its default: numbers positive (or ≥ 0 where 0 is the default). */
function pollingSchema(): z.ZodType<SchedulerConfig>;
function pollingSchema(defaults: false): z.ZodType<Partial<SchedulerConfig>>;
/** Every scheduler key: with its default (the `polling` block), or optional (an account's). */
function pollingSchema(defaults = true): z.ZodType {
  const shape = Object.fromEntries(
    Object.entries(DEFAULT_SCHEDULER).map(([key, value]) => {
      const type: z.ZodType<number | boolean> = typeof value === "boolean"
        ? z.boolean()
        : value === 0
        ? z.number().min(0)
        : z.number().positive();
      return [key, defaults ? type.default(value) : type.optional()];
    }),
  );
  return z.object(shape).strict();
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Environment variables that override file keys (documented in the README). */
const ENV_OVERRIDES: Record<string, (raw: Record<string, unknown>, v: string) => void> = {
  EV_OBSERVER_LISTEN: (raw, v) => (raw.listen = v),
  EV_OBSERVER_LOCATION: (raw, v) => (raw.location = v === "true" || v === "1"),
  EV_OBSERVER_STATE_DIR: (raw, v) => (raw.state_dir = v),
  EV_OBSERVER_WEB_CONFIG: (raw, v) => (raw.web_config = v),
  EV_LOG_LEVEL: (raw, v) => (raw.log_level = v),
  GREPTIMEDB_URL: (raw, v) => (greptime(raw).url = v),
  GREPTIMEDB_DB: (raw, v) => (greptime(raw).database = v),
  GREPTIMEDB_USERNAME: (raw, v) => (greptime(raw).username = v),
  GREPTIMEDB_PASSWORD: (raw, v) => (greptime(raw).password = v),
  // Only completes a weather block the file has: a key alone chooses no source.
  EV_WEATHER_API_KEY: (raw, v) => {
    if (raw.weather && typeof raw.weather === "object") {
      raw.weather = { ...raw.weather as Record<string, unknown>, api_key: v };
    }
  },
};

function greptime(raw: Record<string, unknown>): Record<string, unknown> {
  raw.greptimedb ??= {};
  return raw.greptimedb as Record<string, unknown>;
}

/** Parses config text (YAML) with env overrides; `source` names the file in errors. */
export function parseConfig(
  text: string,
  env: Record<string, string | undefined> = {},
  source = "config",
): Config {
  let raw: unknown;
  try {
    raw = text.trim() ? parseYaml(text) : {};
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the top level must be a mapping of keys`);
  }
  const obj = { ...(raw as Record<string, unknown>) };
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== "") apply(obj, v);
  }
  const parsed = Config.safeParse(obj);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join(".") || "(top level)";
      const hint = i.code === "unrecognized_keys"
        ? ` — remove or fix the spelling of ${i.keys.join(", ")} (see config.example.yaml)`
        : "";
      return `  ${key}: ${i.message}${hint}`;
    });
    throw new ConfigError(`${source} is invalid:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** Keys whose values are secrets (a GreptimeDB password, an OAuth `client_secret`, …). */
const SECRET_KEY = /(secret|password|passwd|token|api_?key)$/i;

/** Dotted paths of the non-empty secret values in parsed YAML (names only, never values). */
export function secretKeys(raw: unknown, prefix = ""): string[] {
  if (raw === null || typeof raw !== "object") return [];
  return Object.entries(raw as Record<string, unknown>).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string" && value !== "" && SECRET_KEY.test(key)) return [path];
    return secretKeys(value, path);
  });
}

/** Warns when a config file that holds secrets can be read by other users. */
async function warnIfReadable(path: string, text: string, log: Logger): Promise<void> {
  let keys: string[];
  try {
    keys = secretKeys(parseYaml(text));
  } catch {
    return; // parseConfig reports the YAML error
  }
  if (keys.length === 0) return;
  const mode = (await Deno.stat(path)).mode; // null where there are no Unix modes
  if (mode === null || (mode & 0o077) === 0) return;
  log.warn("config file holds secrets but other users can read it", {
    file: path,
    mode: `0${(mode & 0o777).toString(8)}`,
    keys: keys.join(","),
    fix: `chmod 600 ${path}`,
  });
}

/**
 * Loads a config file; a missing file is an error only when the user named it. Warns (on
 * `log`) when the file holds a secret and its group or others may read it.
 */
export async function loadConfig(
  path: string | undefined,
  env: Record<string, string | undefined>,
  log: Logger = loggerFromEnv(),
): Promise<Config> {
  if (!path) return parseConfig("", env, "defaults");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        `config file ${path} not found — copy config.example.yaml to ${path} and edit it`,
      );
    }
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  await warnIfReadable(path, text, log);
  return parseConfig(text, env, path);
}

export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  return {
    hostname: listen.slice(0, i).replace(/^\[|\]$/g, ""),
    port: Number(listen.slice(i + 1)),
  };
}
