/**
 * The one path that opens an `accounts` entry, for live polling, recording and replay alike:
 * its plug-in, its Http seam (where the recorder attaches and the token is sent), usage meter
 * and budget, the scheduler settings (the vendor's pace, then the account's), and its token
 * source — a static token (the environment, or replay's placeholder) or the token store.
 */
import { Budget, type BudgetConfig } from "../core/budget.ts";
import { defaultBudgetOf } from "../core/plugin.ts";
import { type Clock, realClock } from "../core/clock.ts";
import { type AccountConfig, type Config, ConfigError } from "../core/config.ts";
import { Http, type HttpOptions } from "../core/http.ts";
import { type Logger, registerSecret } from "../core/log.ts";
import type { AccountRun } from "../core/poller.ts";
import type { Readings } from "../core/readings.ts";
import type { PushSource } from "../core/source.ts";
import { ownsVin, type Shard, shardBudget } from "../core/shard.ts";
import type { TokenStatus } from "../core/tokens.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "../core/usage.ts";
import { vendorPlugin } from "../providers/mod.ts";

/** The environment variable of an account's static access token. */
export function tokenVariable(
  account: AccountConfig,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const provider = account.provider.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const name = account.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const own = `EV_${provider}_${name}_ACCESS_TOKEN`;
  return env[own] !== undefined ? own : `EV_${provider}_ACCESS_TOKEN`;
}

/** What every account of a run shares. */
export interface AccountWiring {
  readonly location: boolean;
  /** Where token files live (`<state_dir>/tokens/`). */
  readonly stateDir: string;
  /** The config file, for messages and fix commands. */
  readonly configPath?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  /** How the user runs commands (`deno task`, `ev-observer`): fix commands start so. */
  readonly invokedAs: string;
  /** Budgets of vendor keys several accounts share, by provider and key. */
  readonly budgets: Map<string, Budget>;
  /** Sees each account's Http before first use (the recorder attaches here). */
  readonly onHttp?: (http: Http) => void;
  /** Sees each account's stream before it runs (the recorder captures its messages here). */
  readonly onStream?: (stream: PushSource) => void;
  /** Http limits and fetch for this account (replay's fault injection, timeouts). */
  readonly http?: Partial<Omit<HttpOptions, "provider" | "readings" | "now">>;
  /** A token source instead of the environment and the token store (replay). */
  readonly token?: () => Promise<string>;
  /** This process's shard: its streams keep only its cars (the poller lists the same way). */
  readonly shard?: Shard;
}

export interface Opened {
  readonly run: AccountRun;
  readonly meter?: UsageMeter;
  readonly tokens?: () => TokenStatus;
}

/** One `accounts` entry, ready to poll. Throws ConfigError naming the entry and the fix. */
export async function openAccount(
  account: AccountConfig,
  index: number,
  w: AccountWiring,
): Promise<Opened> {
  const { clock, readings, log, env } = w;
  const label = `${w.configPath ?? "config"} accounts[${index}]`;
  const plugin = (() => {
    try {
      return vendorPlugin(account.provider);
    } catch (e) {
      throw new ConfigError(`${label}: ${(e as Error).message}`);
    }
  })();
  const http = new Http({ provider: plugin.id, readings, now: () => clock.now(), ...w.http });
  // A vendor without prices still needs counting when the account has a request budget (its
  // own, or the vendor's limits).
  const whole = account.budget ?? defaultBudgetOf(plugin, account);
  // Shards share the account's limits: each spends its part.
  const budgetConfig: BudgetConfig | undefined = whole && shardBudget(whole, w.shard);
  const pricing = plugin.pricing ?? (budgetConfig ? COUNT_EVERY_REQUEST : undefined);
  const meter = pricing
    ? new UsageMeter({ provider: plugin.id, account: account.name, pricing, clock, readings })
    : undefined;
  if (meter) http.observe(meter.observe);
  w.onHttp?.(http);
  const budget = meter && budgetConfig
    ? sharedBudget(w.budgets, plugin.id, plugin.budgetKey?.(account), budgetConfig, meter)
    : undefined;
  const run = {
    name: account.name,
    vins: account.vehicles,
    budget,
    config: { ...plugin.scheduler, ...account.polling },
  };

  const variable = tokenVariable(account, env);
  const token = w.token ?? staticToken(env[variable]);
  if (token) {
    const baseUrl = account.api_base_url ?? plugin.defaultBaseUrl;
    if (!baseUrl) throw new ConfigError(`${label}.api_base_url: set the vendor's API base URL`);
    const provider = plugin.create({
      http: http.withAuth({ token }),
      readings,
      clock,
      log: log.child({ provider: plugin.id, account: account.name }),
      baseUrl,
      location: w.location,
      account,
    });
    return { run: { ...run, provider }, meter };
  }
  if (!plugin.openAccount) throw new ConfigError(`${label}: no access token: set ${variable}`);
  const session = await plugin.openAccount({
    account,
    label,
    stateDir: w.stateDir,
    configPath: w.configPath,
    invokedAs: w.invokedAs,
    env,
    http,
    readings,
    clock,
    log,
    location: w.location,
    ...w.shard ? { owns: (vin: string) => ownsVin(w.shard, vin) } : {},
  });
  if (session.stream) w.onStream?.(session.stream);
  const status = session.tokenStatus();
  if (status.state === "missing" || status.state === "sign_in_needed") {
    // The scheduler keeps retrying, so signing in later needs no restart.
    log.error("sign-in needed", { account: account.name, fix: session.signInCommand });
  }
  return {
    run: { ...run, provider: session.provider, stream: session.stream },
    meter,
    tokens: session.tokenStatus,
  };
}

/**
 * The config's accounts, opened for live polling on the real clock (`poll`, `record`):
 * `pick` chooses and adjusts the entries (record's provider and flags); one budget map, so
 * accounts on one vendor key share it.
 */
export async function openConfiguredAccounts(
  config: Config,
  context: Pick<
    AccountWiring,
    "configPath" | "env" | "readings" | "log" | "invokedAs" | "onHttp" | "onStream"
  >,
  pick: (account: AccountConfig) => AccountConfig | undefined = (account) => account,
): Promise<Opened[]> {
  const wiring: AccountWiring = {
    ...context,
    location: config.location,
    stateDir: config.state_dir,
    clock: realClock,
    budgets: new Map(),
    shard: config.shard,
  };
  const opened: Opened[] = [];
  for (const [i, entry] of config.accounts.entries()) {
    const account = pick(entry);
    if (account) opened.push(await openAccount(account, i, wiring));
  }
  return opened;
}

function staticToken(value: string | undefined): (() => Promise<string>) | undefined {
  if (!value) return undefined;
  registerSecret(value);
  return () => Promise.resolve(value);
}

/** One budget per vendor key: a later account on the same key adds its meter to it. */
function sharedBudget(
  budgets: Map<string, Budget>,
  provider: string,
  key: string | undefined,
  config: BudgetConfig,
  meter: UsageMeter,
): Budget {
  const id = key === undefined ? undefined : `${provider}\n${key}`;
  const shared = id === undefined ? undefined : budgets.get(id);
  if (shared) {
    shared.addMeter(meter);
    return shared;
  }
  const budget = new Budget(config, meter);
  if (id !== undefined) budgets.set(id, budget);
  return budget;
}

/**
 * The config file `poll` and `record` cannot run without: the named one, else ./config.yaml;
 * neither is an error that says so and names the example to start from.
 */
export async function requiredConfigPath(flag: string | undefined): Promise<string> {
  const path = await configPath(flag);
  if (path !== undefined) return path;
  throw new ConfigError(
    "no config file: ./config.yaml does not exist and --config was not given — copy " +
      "config.example.yaml to config.yaml, add your account under accounts:, and run again " +
      "(or name the file with --config PATH)",
  );
}

/** The config file to use: the named one, else ./config.yaml when it exists. */
export async function configPath(flag: string | undefined): Promise<string | undefined> {
  if (flag) return flag;
  try {
    await Deno.stat("config.yaml");
    return "config.yaml";
  } catch {
    return undefined;
  }
}
