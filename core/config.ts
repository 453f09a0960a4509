/**
 * One YAML config file plus environment overrides, validated up front. Every block takes only
 * its own keys; errors name the file, the key (and the variable that set it) and the fix, and
 * never quote a value.
 */
import { z } from "zod";
import { MAX_WAIT_MS } from "./clock.ts";
import { block, keysUnder, unknownKey } from "./config_block.ts";
import { listenProblem } from "./listen.ts";
import { type Logger, loggerFromEnv } from "./log.ts";
import { isLoopbackUrl } from "./oauth.ts";
import { DEFAULT_SCHEDULER, type SchedulerConfig } from "./scheduler_config.ts";
import { DEFAULT_SESSIONS, SESSIONS_KEYS, SessionsConfig } from "./sessions/config.ts";
import { parseShardText, SHARD_FORM } from "./shard.ts";
import { parseYamlText, YamlSyntaxError } from "./yaml_text.ts";

/** A duration: seconds, or a number with s, m, h or d ("7d", "12h"); in seconds. */
const Duration = z.union([
  z.number().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*[smhd]$/, 'expected a duration such as "7d", "12h", "30m"'),
]).transform((v) =>
  typeof v === "number"
    ? v
    : parseFloat(v) * { s: 1, m: 60, h: 3600, d: 86400 }[v.trim().slice(-1) as "s"]
);

export { splitListen } from "./listen.ts";

/** The longest interval a `polling` key may ask for: every wait is capped there anyway. */
const MAX_INTERVAL_S = MAX_WAIT_MS / 1000;

/** The one check of a listen address (the `--listen` flag uses it too). */
const ListenAddress = z.string().superRefine((address, ctx) => {
  const problem = listenProblem(address);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A vendor API base URL: https, or plain http on loopback (a fake or replay server). */
const ApiBaseUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(url));
    } catch {
      return false;
    }
  },
  "expected an https:// URL such as https://fleet-api.prd.eu.vn.cloud.tesla.com (plain http only on 127.0.0.1 or localhost)",
);

/** Every scheduler key, with its default (the `polling` block) or optional (an account's). */
function pollingShape(defaults: boolean) {
  return Object.fromEntries(
    Object.entries(DEFAULT_SCHEDULER).map(([key, value]) => {
      let type: z.ZodType<number | boolean>;
      if (typeof value === "boolean") type = z.boolean();
      else {
        const number = value === 0 ? z.number().min(0) : z.number().positive();
        type = key.endsWith("_s")
          ? number.max(
            MAX_INTERVAL_S,
            `at most ${MAX_INTERVAL_S} (a day): no wait is longer than a day`,
          )
          : number.max(100, "at most 100");
      }
      return [key, defaults ? type.default(value) : type.optional()];
    }),
  );
}

const POLLING_KEYS = Object.keys(DEFAULT_SCHEDULER).map((k) => `polling.${k}`);

function pollingSchema(): z.ZodType<SchedulerConfig>;
function pollingSchema(defaults: false): z.ZodType<Partial<SchedulerConfig>>;
function pollingSchema(defaults = true): z.ZodType {
  return block(pollingShape(defaults));
}

const Budget = block({
  requests_per_day: z.number().int().positive().optional(),
  /** Requests in any 60 s (Volvo's per-key limit is 100). */
  requests_per_minute: z.number().int().positive().optional(),
  usd_per_month: z.number().positive().optional(),
  safety_margin: z.number().min(0).max(0.9).default(0.1),
});
const BUDGET_KEYS = Object.keys(Budget.shape).map((k) => `budget.${k}`);

/** The keys every `accounts` entry may have; a vendor's own come from its plug-in. */
const ACCOUNT_SHAPE = {
  provider: z.string(),
  /** Name of the account; the token file is named after it. */
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, - and _ only").default(
    "default",
  ),
  /** Only these VINs; all vehicles of the account when empty. */
  vehicles: z.array(z.string()).default([]),
  /**
   * The vendor's API base URL (a Fleet API region, a proxy, `replay --serve`), with stored
   * tokens and a static token alike; the vendor's default host when unset.
   */
  api_base_url: ApiBaseUrl.optional(),
  /** What the account may spend; the scheduler stays inside it (core/budget.ts). */
  budget: Budget.optional(),
  /** This account's scheduler settings over the vendor's and the common `polling` ones. */
  polling: pollingSchema(false).optional(),
};

/** A vendor's own keys of an `accounts` entry, as its plug-in declares them (core/plugin.ts). */
export interface VendorAccountKeys {
  readonly id: string;
  readonly accountKeys: readonly string[];
}

/**
 * An `accounts` entry: the common keys, and the keys of its vendor. Without `vendors` (tests
 * of the common keys) the vendor's keys pass unchecked; every entry point passes them.
 */
function accountSchema(vendors?: readonly VendorAccountKeys[]) {
  const common = z.looseObject(ACCOUNT_SHAPE);
  if (!vendors) return common;
  const own = Object.keys(ACCOUNT_SHAPE);
  return common.superRefine((account, ctx) => {
    const vendor = vendors.find((v) => v.id === account.provider);
    if (!vendor) {
      ctx.addIssue({
        code: "custom",
        path: ["provider"],
        message: `unknown provider "${account.provider}": use one of ` +
          vendors.map((v) => v.id).join(", "),
      });
      return;
    }
    const known = [...own, ...vendor.accountKeys.filter((k) => !own.includes(k))];
    for (const key of Object.keys(account)) {
      if (known.includes(key)) continue;
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: unknownKey(key, known, [...POLLING_KEYS, ...BUDGET_KEYS]),
      });
    }
  });
}

export const AccountConfig = accountSchema();
export type AccountConfig = z.infer<typeof AccountConfig>;

const Greptime = block({
  url: z.url("expected a URL such as http://localhost:4000"),
  database: z.string().default("public"),
  username: z.string().optional(),
  password: z.string().optional(),
});

/** This process's shard of the fleet (core/shard.ts); the index counts from 0. */
const Shard = block({
  index: z.number().int().min(0),
  count: z.number().int().min(1),
}).superRefine((s, ctx) => {
  if (s.index >= s.count) {
    ctx.addIssue({
      code: "custom",
      message: `index ${s.index} is not below count ${s.count}: shards count from 0 to count-1`,
    });
  }
});

const Weather = block({
  source: z.enum(["open-meteo", "openweathermap"]),
  /** OpenWeatherMap's key (a secret; EV_WEATHER_API_KEY keeps it out of the file). */
  api_key: z.string().min(1).optional(),
  /** Another instance of the service (a self-hosted Open-Meteo). */
  url: z.url("expected a URL such as https://api.open-meteo.com").optional(),
});

function configSchema(vendors?: readonly VendorAccountKeys[]) {
  const nested = [
    ...POLLING_KEYS,
    ...keysUnder("greptimedb", Greptime.shape),
    ...keysUnder("weather", Weather.shape),
    ...keysUnder("shard", Shard.shape),
    ...SESSIONS_KEYS,
  ];
  return block({
    listen: ListenAddress.default("127.0.0.1:9464"),
    /** Export latitude/longitude/heading. Off unless the user opts in. */
    location: z.boolean().default(false),
    /** Where tokens and state live. */
    state_dir: z.string().default("./state"),
    /** Last known values older than this go absent (seconds); kept for good when unset. */
    max_value_age: Duration.optional(),
    /** How the status page shows lengths, temperatures and pressures; the exports stay SI. */
    units: z.enum(["metric", "imperial"]).default("metric"),
    /** Prometheus exporter-toolkit style web config (TLS, basic auth) for /metrics and /. */
    web_config: z.string().optional(),
    log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
    greptimedb: Greptime.optional(),
    accounts: z.array(accountSchema(vendors)).default([]),
    /** Scheduler intervals and sleep logic (core/scheduler.ts); each key has a default. */
    polling: pollingSchema().default(DEFAULT_SCHEDULER),
    /** Drives, charges and parked periods kept in state_dir/sessions.db (core/sessions/). */
    sessions: SessionsConfig.default(DEFAULT_SESSIONS),
    /** Weather at each car's last position (enrich/weather.ts). Off when absent. */
    weather: Weather.optional(),
    /** Poll only the cars whose VIN hashes to this shard (core/shard.ts). All when absent. */
    shard: Shard.optional(),
  }, nested).superRefine((c, ctx) => {
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
}

export const Config = configSchema();
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Environment variables that override file keys (documented in the README), by the key. */
const ENV_OVERRIDES: Record<string, { key: string; apply: (raw: Raw, v: string) => void }> = {
  EV_OBSERVER_LISTEN: { key: "listen", apply: (raw, v) => (raw.listen = v) },
  EV_OBSERVER_LOCATION: {
    key: "location",
    apply: (raw, v) => (raw.location = v === "true" || v === "1"),
  },
  EV_OBSERVER_STATE_DIR: { key: "state_dir", apply: (raw, v) => (raw.state_dir = v) },
  EV_OBSERVER_WEB_CONFIG: { key: "web_config", apply: (raw, v) => (raw.web_config = v) },
  EV_LOG_LEVEL: { key: "log_level", apply: (raw, v) => (raw.log_level = v) },
  GREPTIMEDB_URL: { key: "greptimedb.url", apply: (raw, v) => (greptime(raw).url = v) },
  GREPTIMEDB_DB: { key: "greptimedb.database", apply: (raw, v) => (greptime(raw).database = v) },
  GREPTIMEDB_USERNAME: {
    key: "greptimedb.username",
    apply: (raw, v) => (greptime(raw).username = v),
  },
  GREPTIMEDB_PASSWORD: {
    key: "greptimedb.password",
    apply: (raw, v) => (greptime(raw).password = v),
  },
  EV_OBSERVER_SHARD: {
    key: "shard",
    apply: (raw, v) => {
      const shard = parseShardText(v);
      if (!shard) throw new ConfigError(`EV_OBSERVER_SHARD: expected ${SHARD_FORM}`);
      raw.shard = shard;
    },
  },
  // Only completes a weather block the file has: a key alone chooses no source.
  EV_WEATHER_API_KEY: {
    key: "weather.api_key",
    apply: (raw, v) => {
      if (raw.weather && typeof raw.weather === "object") {
        raw.weather = { ...raw.weather as Raw, api_key: v };
      }
    },
  },
};

type Raw = Record<string, unknown>;

function greptime(raw: Raw): Raw {
  raw.greptimedb ??= {};
  // A block that is not a mapping stays as it is, for the schema to report.
  return typeof raw.greptimedb === "object" ? raw.greptimedb as Raw : {};
}

/** A key path as the user writes it: `accounts[0].budget.requests_per_day`. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === "number" ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    "",
  );
}

/**
 * Parses config text (YAML) with env overrides; `source` names the file in errors. `vendors`
 * (every plug-in's account keys) makes unknown keys in an `accounts` entry errors too.
 */
export function parseConfig(
  text: string,
  env: Record<string, string | undefined> = {},
  source = "config",
  vendors?: readonly VendorAccountKeys[],
): Config {
  let raw: unknown;
  try {
    raw = text.trim() ? parseYamlText(text) : {};
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    throw new ConfigError(`${source}: not valid YAML ${err.message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the top level must be a mapping of keys`);
  }
  const obj = { ...(raw as Raw) };
  /** Keys set from the environment, named in errors: the file may not even have them. */
  const fromEnv = new Map<string, string>();
  for (const [name, { key, apply }] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    apply(obj, v);
    fromEnv.set(key, name);
  }
  const parsed = configSchema(vendors).safeParse(obj);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) => {
      if (i.code === "unrecognized_keys") {
        const hints = i.message.split("\n");
        return i.keys.map((k, n) => `  ${keyPath([...i.path, k])}: ${hints[n] ?? i.message}`);
      }
      const key = keyPath(i.path);
      const variable = fromEnv.get(key);
      return [`  ${key || "(top level)"}${variable ? ` (set by ${variable})` : ""}: ${i.message}`];
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
    keys = secretKeys(parseYamlText(text));
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
 * Loads a config file; a missing file is an error only when the user named it. `vendors` are
 * the plug-ins (their account keys: providers/mod.ts `PLUGINS`). Warns (on `log`) when the
 * file holds a secret and its group or others may read it.
 */
export async function loadConfig(
  path: string | undefined,
  env: Record<string, string | undefined>,
  options: { readonly vendors: readonly VendorAccountKeys[]; readonly log?: Logger },
): Promise<Config> {
  const { vendors, log = loggerFromEnv() } = options;
  if (!path) return parseConfig("", env, "defaults", vendors);
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
  return parseConfig(text, env, path, vendors);
}
