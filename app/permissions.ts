/**
 * The Deno permissions one command needs for this config and these arguments, and nothing
 * more: the hosts it reaches (listen address, OTLP/GreptimeDB, weather, each account's vendor
 * hosts from its plug-in), the files it reads (config, state_dir, web config, cassettes, the
 * sessions database) and writes (state_dir, a recording, the sessions database).
 * app/launch.ts runs the command with exactly these.
 */
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig, splitListen } from "../core/config.ts";
import { listenProblem } from "../core/listen.ts";
import { otlpSettings } from "../export/otlp_settings.ts";
import { OPEN_METEO_URL, OPENWEATHERMAP_URL } from "../enrich/weather_sources.ts";
import { PLUGINS } from "../providers/mod.ts";
import { MOSQUITTO } from "../replay/mosquitto.ts";
import { configPath } from "./accounts.ts";
import { sessionsPath } from "./sessions.ts";
import type { Permissions } from "./launch.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Every loopback name a fake server, the OAuth callback or a local backend may use. */
const LOOPBACK = ["127.0.0.1", "localhost", "[::1]"];

/** `host:port` of a URL, as --allow-net takes it (the scheme's port when none is written). */
export function urlHost(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : u.protocol === "http:" ? "80" : "");
  return port ? `${u.hostname}:${port}` : u.hostname;
}

/** Files the accounts' (or one provider's) plug-ins read besides config and state (a CA). */
function accountFiles(config: Config, provider?: string): string[] {
  return config.accounts.flatMap((account) =>
    provider !== undefined && account.provider !== provider
      ? []
      : PLUGINS.find((p) => p.id === account.provider)?.files?.(account) ?? []
  );
}

/** `host:port` of a listen address; the wildcard stays a wildcard (Deno checks it so). */
export function listenHost(listen: string): string {
  const { hostname, port } = splitListen(listen);
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** The directory of a file path, for reads of files that sit next to it. */
function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** What every command that exports needs: its listen address, OTLP, the web config's files. */
function exportNeeds(config: Config, env: Env, listen: string | undefined) {
  const address = listen ?? config.listen;
  // A malformed address grants nothing: the command itself refuses it, naming the fix.
  const net = listenProblem(address) ? [] : [listenHost(address)];
  const otlp = otlpSettings(env, config.greptimedb);
  if (otlp) net.push(urlHost(otlp.url));
  // Finished sessions go to GreptimeDB's SQL API even when OTLP goes elsewhere or nowhere.
  if (config.greptimedb && config.sessions.enabled) net.push(urlHost(config.greptimedb.url));
  // TLS certificate and key are named relative to the web config (or absolutely).
  const read = config.web_config ? [config.web_config, dirOf(config.web_config)] : [];
  return { net, read };
}

/** The vendor hosts of every account (or one provider's), and the weather service's. */
function accountHosts(config: Config, provider?: string): string[] {
  const hosts: string[] = [];
  for (const account of config.accounts) {
    if (provider !== undefined && account.provider !== provider) continue;
    const plugin = PLUGINS.find((p) => p.id === account.provider);
    if (account.api_base_url) hosts.push(urlHost(account.api_base_url));
    else if (plugin?.defaultBaseUrl) hosts.push(urlHost(plugin.defaultBaseUrl));
    hosts.push(...(plugin?.hosts?.(account) ?? []).map(urlHost));
  }
  return hosts;
}

function weatherHosts(config: Config): string[] {
  const w = config.weather;
  if (!w) return [];
  return [urlHost(w.url ?? (w.source === "open-meteo" ? OPEN_METEO_URL : OPENWEATHERMAP_URL))];
}

/** Sorted, without repeats, and so without an order that changes between runs. */
function tidy(p: Permissions): Permissions {
  const set = (xs: readonly string[]) => [...new Set(xs)].sort();
  return {
    net: set(p.net),
    read: set(p.read),
    write: set(p.write),
    env: p.env === true ? true : set(p.env),
    sys: set(p.sys),
    run: set(p.run),
  };
}

/**
 * Every flag of poll, record, auth, replay and sessions that takes a value, so that value is
 * not taken for the provider (the commands themselves check their flags).
 */
function valueFlags(): Record<string, { type: "string"; multiple: true }> {
  const vendor = PLUGINS.flatMap((p) => [
    ...Object.entries(p.signInFlags ?? {}).filter(([, f]) => f.type === "string").map(([n]) => n),
    ...Object.keys(p.signIn?.imports ?? {}).map((tool) => `import-${tool}`),
  ]);
  const names = [
    ...["config", "listen", "out", "scenario", "base-url", "fixtures", "url", "account", "db"],
    ...["duration", "cycles", "vehicle", "speed", "start", "port"],
    ...vendor,
  ];
  return Object.fromEntries(names.map((n) => [n, { type: "string", multiple: true }]));
}

const NONE: Permissions = { net: [], read: [], write: [], env: [], sys: [], run: [] };

/**
 * The permissions of `command` run with `args` in this environment. Reads the config file;
 * a config mistake throws the ConfigError the command itself would.
 */
export async function permissionsFor(
  command: string,
  args: string[],
  env: Env,
): Promise<Permissions> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...valueFlags(), help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: false,
  });
  /** The last value given (as the commands read it). */
  const str = (v: unknown) => Array.isArray(v) ? v.at(-1) as string | undefined : undefined;
  if (values.help) return NONE;
  const named = str(values.config);

  if (command === "poll" || command === "record") {
    const path = await configPath(named);
    const config = await loadConfig(path, env, { vendors: PLUGINS });
    const state = config.state_dir;
    if (command === "poll") {
      const exp = exportNeeds(config, env, str(values.listen));
      return tidy({
        net: [...exp.net, ...accountHosts(config), ...weatherHosts(config)],
        read: [...path ? [path] : [], state, ...exp.read, ...accountFiles(config)],
        write: [state],
        env: true,
        sys: [],
        run: [],
      });
    }
    const provider = positionals[0] ?? "";
    const scenario = str(values.scenario) ?? "recording";
    const out = str(values.out) ?? `fixtures/${provider}/${scenario}/cassette.json`;
    const base = str(values["base-url"]);
    return tidy({
      net: [...accountHosts(config, provider), ...base ? [urlHost(base)] : []],
      // A streaming account reads its broker's CA file, as it does under `poll`.
      read: [...path ? [path] : [], state, dirOf(out), ...accountFiles(config, provider)],
      write: [state, dirOf(out)],
      env: true,
      sys: [],
      run: [],
    });
  }

  if (command === "auth") {
    // Token imports from other tools (`--import-teslapy FILE`) are read too.
    const imports = Object.entries(values)
      .filter(([k]) => k.startsWith("import-"))
      .flatMap(([, v]) => Array.isArray(v) ? v.map(String) : []);
    const config = await loadConfig(named, env, { vendors: PLUGINS });
    const provider = positionals[0];
    const accounts = config.accounts.filter((a) => a.provider === provider);
    const plugin = PLUGINS.find((p) => p.id === provider);
    // An account not in the config yet signs in with the vendor's defaults.
    const hosts = accounts.length
      ? accountHosts(config, provider)
      : (plugin?.hosts?.({ provider: plugin.id, name: "default", vehicles: [] }) ?? []).map(
        urlHost,
      );
    // A step on the signed-in account (`--telemetry`) adds its own hosts and files.
    const setup = { net: [] as string[], read: [] as string[] };
    for (const [flag, step] of Object.entries(plugin?.signIn?.setups ?? {})) {
      if (values[flag] !== true) continue;
      const options = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, Array.isArray(v) ? v.at(-1) : v]),
      ) as Record<string, string | boolean | undefined>;
      for (const account of accounts) {
        setup.net.push(...(step.hosts?.(account, options) ?? []).map(urlHost));
        setup.read.push(...step.files?.(account, options) ?? []);
      }
    }
    return tidy({
      // The one-shot callback server listens on loopback.
      net: [...hosts, ...LOOPBACK, ...setup.net],
      read: [...named ? [named] : [], config.state_dir, ...imports, ...setup.read],
      write: [config.state_dir],
      env: true,
      sys: [],
      // Opens the sign-in page in the desktop's browser.
      run: ["xdg-open", "open"],
    });
  }

  if (command === "replay") {
    const config = await loadConfig(named, env, { vendors: PLUGINS });
    const exp = exportNeeds(config, env, str(values.listen));
    const fixtures = Array.isArray(values.fixtures) ? values.fixtures.map(String) : [];
    return tidy({
      // The fake vendor servers listen on loopback, on ports chosen at start.
      net: [...exp.net, "127.0.0.1"],
      read: [...named ? [named] : [], ...fixtures, ...exp.read],
      write: [],
      env: true,
      sys: [],
      // The broker streamed cassettes play through (started without a config file).
      run: [MOSQUITTO],
    });
  }

  if (command === "sessions") {
    // The database file alone: the token store beside it in state_dir stays unreadable.
    const path = await configPath(named);
    const config = await loadConfig(path, env, { vendors: PLUGINS });
    const db = str(values.db) ?? sessionsPath(config);
    return tidy({
      ...NONE,
      read: [...path ? [path] : [], db],
      // Opening runs the schema's migrations.
      write: [db],
      env: true,
    });
  }

  if (command === "healthcheck") {
    const url = str(values.url);
    const listen = env.EV_OBSERVER_LISTEN || "127.0.0.1:9464";
    return tidy({
      ...NONE,
      net: url ? [urlHost(url)] : [...LOOPBACK.map((h) => `${h}:${splitListen(listen).port}`)],
      env: ["EV_OBSERVER_LISTEN"],
    });
  }
  if (command === "binary") {
    // A compiled binary's permissions are fixed at build time: all of its commands' for this
    // config (its `auth` for each configured vendor).
    const config = await loadConfig(await configPath(named), env, { vendors: PLUGINS });
    const providers = [...new Set(config.accounts.map((a) => a.provider))];
    const parts = await Promise.all([
      ...["poll", "replay", "healthcheck"].map((c) => permissionsFor(c, args, env)),
      // With each step on a signed-in account (`--telemetry`): the binary may run those too.
      ...providers.map((p) => {
        const steps = Object.keys(PLUGINS.find((x) => x.id === p)?.signIn?.setups ?? {});
        return permissionsFor("auth", [p, ...args, ...steps.map((f) => `--${f}`)], env);
      }),
    ]);
    return union(parts);
  }
  // catalog and anything else: no file, no network.
  return NONE;
}

function union(parts: Permissions[]): Permissions {
  const all = (key: "net" | "read" | "write" | "sys" | "run") => parts.flatMap((p) => p[key]);
  const env = parts.some((p) => p.env === true) ? true : parts.flatMap((p) => p.env as string[]);
  return tidy({
    net: all("net"),
    read: all("read"),
    write: all("write"),
    env,
    sys: all("sys"),
    run: all("run"),
  });
}

/** The plan stage: prints the permissions as JSON, or the config error as the command would. */
export async function printPermissions(command: string, args: string[]): Promise<void> {
  try {
    const p = await permissionsFor(command, args, Deno.env.toObject());
    console.log(JSON.stringify(p));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(err instanceof ConfigError ? 2 : 1);
  }
}
