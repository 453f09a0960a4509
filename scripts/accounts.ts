/**
 * Opens a configured account for polling: its provider on the Http seam, its tokens, usage
 * meter and budget. Shared wiring of `poll` and `record`.
 */
import { Budget, type BudgetConfig } from "../core/budget.ts";
import { realClock } from "../core/clock.ts";
import { type AccountConfig, type Config, ConfigError } from "../core/config.ts";
import { Http } from "../core/http.ts";
import { type Logger, registerSecret } from "../core/log.ts";
import type { AccountRun } from "../core/poller.ts";
import type { Readings } from "../core/readings.ts";
import type { TokenStatus } from "../core/tokens.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "../core/usage.ts";
import { providerEntry } from "../providers/mod.ts";
import { fail } from "./common.ts";

/** The environment variable of an account's static access token. */
export function tokenVariable(account: AccountConfig, env: Record<string, string>): string {
  const provider = account.provider.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const name = account.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const own = `EV_${provider}_${name}_ACCESS_TOKEN`;
  return env[own] !== undefined ? own : `EV_${provider}_ACCESS_TOKEN`;
}

export interface Opened {
  readonly run: AccountRun;
  readonly meter?: UsageMeter;
  readonly tokens?: () => TokenStatus;
}

/** One `accounts` entry, ready to poll: provider, tokens, meter and budget. */
export async function openAccount(
  account: AccountConfig,
  index: number,
  context: {
    config: Config;
    path?: string;
    env: Record<string, string>;
    readings: Readings;
    /** Sees the account's Http before first use (the recorder attaches here). */
    onHttp?: (http: Http) => void;
    /** Budgets of vendor keys several accounts share, by provider and key. */
    budgets?: Map<string, Budget>;
  },
  log: Logger,
  invokedAs: string,
): Promise<Opened> {
  const { config, env, readings } = context;
  const clock = realClock;
  const label = `${context.path ?? "config"} accounts[${index}]`;
  const entry = (() => {
    try {
      return providerEntry(account.provider);
    } catch (e) {
      return fail(new ConfigError(`${label}: ${(e as Error).message}`));
    }
  })();
  const http = new Http({ provider: entry.id, readings, now: () => clock.now() });
  // A vendor without prices still needs counting when the account has a request budget (its
  // own, or the vendor's limits).
  const budgetConfig = account.budget ?? entry.defaultBudget;
  const pricing = entry.pricing ?? (budgetConfig ? COUNT_EVERY_REQUEST : undefined);
  const meter = pricing
    ? new UsageMeter({ provider: entry.id, account: account.name, pricing, clock, readings })
    : undefined;
  if (meter) http.observe(meter.observe);
  context.onHttp?.(http);
  const budget = meter && budgetConfig
    ? sharedBudget(context.budgets, entry.id, entry.budgetKey?.(account), budgetConfig, meter)
    : undefined;
  // An account's own wake_up (Tesla's accounts carry one) over the common polling setting.
  const wake = (account as { wake_up?: unknown }).wake_up;
  const own = typeof wake === "boolean" ? { wake_up: wake } : {};
  const scheduler = { ...entry.scheduler, ...account.polling, ...own };
  const base = { name: account.name, vins: account.vehicles, budget, config: scheduler };

  const variable = tokenVariable(account, env);
  const token = env[variable];
  if (token) {
    registerSecret(token);
    const baseUrl = account.base_url ?? entry.defaultBaseUrl;
    if (!baseUrl) fail(new ConfigError(`${label}.base_url: set the vendor's API base URL`));
    const provider = entry.create({
      http,
      readings,
      clock,
      log: log.child({ provider: entry.id, account: account.name }),
      baseUrl,
      accessToken: () => Promise.resolve(token),
      location: config.location,
      account,
    });
    return { run: { ...base, provider }, meter };
  }
  if (!entry.openAccount) {
    fail(new ConfigError(`${label}: no access token: set ${variable}`));
  }
  const session = await entry.openAccount({
    account,
    label,
    stateDir: config.state_dir,
    configPath: context.path,
    invokedAs,
    env,
    http,
    readings,
    clock,
    log,
    location: config.location,
  }).catch((e) => fail(e, log));
  const status = session.tokenStatus();
  if (status.state === "missing" || status.state === "sign_in_needed") {
    // The scheduler keeps retrying, so signing in later needs no restart.
    log.error("sign-in needed", { account: account.name, fix: session.signInCommand });
  }
  return { run: { ...base, provider: session.provider }, meter, tokens: session.tokenStatus };
}

/** One budget per vendor key: a later account on the same key adds its meter to it. */
function sharedBudget(
  budgets: Map<string, Budget> | undefined,
  provider: string,
  key: string | undefined,
  config: BudgetConfig,
  meter: UsageMeter,
): Budget {
  const id = key === undefined ? undefined : `${provider}\n${key}`;
  const shared = id === undefined ? undefined : budgets?.get(id);
  if (shared) {
    shared.addMeter(meter);
    return shared;
  }
  const budget = new Budget(config, meter);
  if (id !== undefined) budgets?.set(id, budget);
  return budget;
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
