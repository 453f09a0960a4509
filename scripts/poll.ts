/**
 * `deno task poll`: the exporter. Every configured account → its provider → the scheduler →
 * /metrics and OTLP; SIGINT/SIGTERM flush OTLP and stop cleanly.
 */
import "../providers/all.ts";
import { Budget } from "../core/budget.ts";
import { realClock } from "../core/clock.ts";
import { type AccountConfig, type Config, ConfigError, loadConfig } from "../core/config.ts";
import { Http } from "../core/http.ts";
import { createLogger, type Logger, registerSecret } from "../core/log.ts";
import { type AccountRun, pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import type { TokenStatus } from "../core/tokens.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "../core/usage.ts";
import type { AccountStatus } from "../export/status.ts";
import { providerEntry } from "../providers/mod.ts";
import { fail, flags, onShutdownSignal, startExports } from "./common.ts";

const HELP = `
deno task poll [options]

Polls every account in the config file and exports the vehicles' metrics on /metrics (and over
OTLP when configured). The scheduler lets cars sleep, never wakes them unless wake_up is on,
and stays inside each account's budget (see config.example.yaml).

Options:
  --config PATH   config file (default: config.yaml if it exists)
  --listen ADDR   /metrics address (default from config, 127.0.0.1:9464)
  -h, --help      this text

Sign-in: \`deno task auth <provider>\` stores tokens in state_dir, and poll refreshes them. A
static access token in the environment is used instead when set (a proxy's token, or a vendor
without a sign-in command yet):
  EV_<PROVIDER>_ACCESS_TOKEN            e.g. EV_TESLA_ACCESS_TOKEN, for every account of it
  EV_<PROVIDER>_<ACCOUNT>_ACCESS_TOKEN  for one account (name upper-cased, - as _)

The task may reach loopback and the vendors' hosts only; for a remote OTLP backend run the
command of the task with that host added to --allow-net.
`;

/** The environment variable of an account's static access token. */
export function tokenVariable(account: AccountConfig, env: Record<string, string>): string {
  const provider = account.provider.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const name = account.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const own = `EV_${provider}_${name}_ACCESS_TOKEN`;
  return env[own] !== undefined ? own : `EV_${provider}_ACCESS_TOKEN`;
}

interface Opened {
  readonly run: AccountRun;
  readonly meter?: UsageMeter;
  readonly tokens?: () => TokenStatus;
}

/** One `accounts` entry, ready to poll: provider, tokens, meter and budget. */
async function openAccount(
  account: AccountConfig,
  index: number,
  context: { config: Config; path?: string; env: Record<string, string>; readings: Readings },
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
  // A vendor without prices still needs counting when the account has a request budget.
  const pricing = entry.pricing ?? (account.budget ? COUNT_EVERY_REQUEST : undefined);
  const meter = pricing
    ? new UsageMeter({ provider: entry.id, account: account.name, pricing, clock, readings })
    : undefined;
  if (meter) http.observe(meter.observe);
  const budget = meter && account.budget ? new Budget(account.budget, meter) : undefined;
  // An account's own wake_up (Tesla's accounts carry one) over the common polling setting.
  const wake = (account as { wake_up?: unknown }).wake_up;
  const own = typeof wake === "boolean" ? { wake_up: wake } : {};
  const base = { name: account.name, vins: account.vehicles, budget, config: own };

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

export async function main(
  args: string[] = Deno.args,
  invokedAs = "ev-observer",
): Promise<void> {
  const { values } = flags(args, {
    config: { type: "string" },
    listen: { type: "string" },
  }, HELP);
  const env = Deno.env.toObject();
  const path = values.config ?? (await exists("config.yaml") ? "config.yaml" : undefined);
  const config = await loadConfig(path, env).catch((e) => fail(e));
  const log = createLogger({
    level: config.log_level,
    format: env.EV_LOG_FORMAT === "json" ? "json" : "logfmt",
  });
  if (config.accounts.length === 0) {
    fail(new ConfigError(`${path ?? "the config"} lists no accounts: add one under accounts:`));
  }
  const readings = new Readings();
  const opened: Opened[] = [];
  for (const [i, account] of config.accounts.entries()) {
    opened.push(await openAccount(account, i, { config, path, env, readings }, log, invokedAs));
  }
  const byName = new Map(opened.map((o) => [o.run.name, o]));

  /** Token expiry for ev_token_expiry_timestamp_seconds, refreshed after every poll. */
  const tokenGauges = () => {
    for (const o of opened) {
      const expiresAt = o.tokens?.().expiresAt;
      if (expiresAt === undefined) continue;
      const labels = { provider: o.run.provider.id, account: o.run.name };
      readings.setGauge("ev.token.expiry.timestamp", labels, expiresAt);
    }
  };
  tokenGauges();
  /** Which account each vehicle belongs to, learnt as it is polled. */
  const accountOf = new Map<string, Opened>();
  const account = (vehicle: { provider: string; vin: string }): AccountStatus | undefined => {
    const o = accountOf.get(`${vehicle.provider}/${vehicle.vin}`);
    if (!o) return undefined;
    const today = o.meter?.today();
    const entry = readings.vehicles.get(`${vehicle.provider}/${vehicle.vin}`);
    return {
      token: o.tokens?.(),
      today: today && {
        requests: today.requests,
        billable: today.requests,
        limit: o.run.budget?.requestsPerDay,
        costUsd: today.usd,
      },
      pollState: entry?.pollState,
    };
  };
  const exports = await startExports(config, readings, log, values.listen ?? config.listen, {
    account,
    mode: "live",
  });
  const controller = new AbortController();
  onShutdownSignal(controller, log);
  await pollAccounts({
    accounts: opened.map((o) => o.run),
    readings,
    clock: realClock,
    log,
    config: config.polling,
    signal: controller.signal,
    onPoll: (target) => {
      const o = byName.get(target.account ?? "");
      if (!o) return;
      accountOf.set(`${target.vehicle.provider}/${target.vehicle.vin}`, o);
      if (o.tokens) tokenGauges();
    },
  });
  await exports.close();
  log.info("stopped");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) await main(Deno.args, "deno task");
