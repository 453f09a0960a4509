/**
 * `deno task poll`: the exporter. Every configured account → its provider → the scheduler →
 * /metrics and OTLP; SIGINT/SIGTERM flush OTLP and stop cleanly.
 */
import "../providers/all.ts";
import { Budget } from "../core/budget.ts";
import { realClock } from "../core/clock.ts";
import { type AccountConfig, ConfigError, loadConfig } from "../core/config.ts";
import { Http } from "../core/http.ts";
import { createLogger, registerSecret } from "../core/log.ts";
import { type AccountRun, pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import { COUNT_EVERY_REQUEST, UsageMeter } from "../core/usage.ts";
import { providerEntry } from "../providers/mod.ts";
import { fail, flags, onShutdownSignal, startExports } from "./common.ts";

const HELP = `
deno task poll [options]

Polls every account in the config file and exports the vehicles' metrics on /metrics (and over
OTLP when configured). The scheduler lets cars sleep, never wakes them unless polling.wake_up
is on, and stays inside each account's budget (see config.example.yaml).

Options:
  --config PATH   config file (default: config.yaml if it exists)
  --listen ADDR   /metrics address (default from config, 127.0.0.1:9464)
  -h, --help      this text

Sign-in: until \`deno task auth\` stores tokens, give an access token in the environment:
  EV_<PROVIDER>_ACCESS_TOKEN            e.g. EV_TESLA_ACCESS_TOKEN, for every account of it
  EV_<PROVIDER>_<ACCOUNT>_ACCESS_TOKEN  for one account (name upper-cased, - as _)

The task may reach loopback and the vendors' hosts only; for a remote OTLP backend run the
command of the task with that host added to --allow-net.
`;

/** The static access token for an account, from the environment. */
export function tokenVariable(account: AccountConfig, env: Record<string, string>): string {
  const provider = account.provider.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const name = account.name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  const own = `EV_${provider}_${name}_ACCESS_TOKEN`;
  return env[own] !== undefined ? own : `EV_${provider}_ACCESS_TOKEN`;
}

export async function main(args: string[] = Deno.args): Promise<void> {
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
  const clock = realClock;
  const readings = new Readings();
  const accounts: AccountRun[] = [];
  for (const account of config.accounts) {
    const entry = (() => {
      try {
        return providerEntry(account.provider);
      } catch (e) {
        return fail(new ConfigError(`accounts: ${(e as Error).message}`));
      }
    })();
    const variable = tokenVariable(account, env);
    const token = env[variable];
    if (!token) {
      fail(new ConfigError(`account ${account.name}: no access token: set ${variable}`));
    }
    registerSecret(token);
    const http = new Http({ provider: entry.id, readings, now: () => clock.now() });
    // A vendor without prices still needs counting when the account has a request budget.
    const pricing = entry.pricing ?? (account.budget ? COUNT_EVERY_REQUEST : undefined);
    const meter = pricing
      ? new UsageMeter({ provider: entry.id, account: account.name, pricing, clock, readings })
      : undefined;
    if (meter) http.observe(meter.observe);
    const baseUrl = account.base_url ?? entry.defaultBaseUrl;
    if (!baseUrl) fail(new ConfigError(`account ${account.name}: set base_url`));
    accounts.push({
      name: account.name,
      vins: account.vehicles,
      budget: meter && account.budget ? new Budget(account.budget, meter) : undefined,
      provider: entry.create({
        http,
        readings,
        clock,
        log: log.child({ provider: entry.id, account: account.name }),
        baseUrl,
        accessToken: () => Promise.resolve(token),
        location: config.location,
      }),
    });
  }

  const exports = startExports(config, readings, log, values.listen ?? config.listen);
  const controller = new AbortController();
  onShutdownSignal(controller, log);
  await pollAccounts({
    accounts,
    readings,
    clock,
    log,
    config: config.polling,
    signal: controller.signal,
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

if (import.meta.main) await main();
