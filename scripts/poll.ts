/**
 * `deno task poll`: the exporter. Every configured account → its provider → the scheduler →
 * /metrics and OTLP; SIGINT/SIGTERM flush OTLP and stop cleanly.
 */
import { realClock } from "../core/clock.ts";
import { ConfigError, loadConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { pollAccounts } from "../core/poller.ts";
import { startWeather } from "../enrich/weather.ts";
import { Readings } from "../core/readings.ts";
import type { AccountStatus } from "../export/status.ts";
import { openConfiguredAccounts, type Opened, requiredConfigPath } from "../app/accounts.ts";
import { fail, flags, onShutdownSignal } from "../app/cli.ts";
import { metricsListen, startExports } from "../app/exports.ts";
import { startSessions } from "../app/sessions.ts";
import { vehicleKey } from "../core/snapshot.ts";
import { PLUGINS } from "../providers/mod.ts";
import { LastKnown } from "../core/last_known.ts";
import { lockPolling } from "../core/poll_lock.ts";
import { shardName, shardStateDir } from "../core/shard.ts";
import { signInCommand } from "../core/account_keys.ts";

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

It runs allowed exactly what the config needs: its listen address, the OTLP/GreptimeDB host,
the weather service, each account's vendor hosts; reading the config and state_dir, writing
state_dir.
`;

export async function main(
  args: string[] = Deno.args,
  invokedAs = "ev-observer",
): Promise<void> {
  const { values } = flags(args, {
    config: { type: "string" },
    listen: { type: "string" },
  }, HELP);
  const env = Deno.env.toObject();
  const path = await requiredConfigPath(values.config).catch((e) => fail(e));
  const config = await loadConfig(path, env, { vendors: PLUGINS }).catch((e) => fail(e));
  const log = createLogger({
    level: config.log_level,
    format: env.EV_LOG_FORMAT === "json" ? "json" : "logfmt",
  });
  let listen;
  try {
    listen = metricsListen(values.listen, config, env, path);
  } catch (e) {
    fail(e);
  }
  if (config.accounts.length === 0) {
    fail(new ConfigError(`${path} lists no accounts: add one under accounts:`));
  }
  // One process per shard (or per state_dir): a second one would poll every car twice.
  const stateDir = shardStateDir(config);
  const lock = await lockPolling(
    stateDir,
    config.shard ? `shard ${shardName(config.shard)}` : `from state_dir ${config.state_dir}`,
  ).catch((e) => fail(e));
  if (config.shard) log.info("sharded", { shard: shardName(config.shard), state: stateDir });
  const readings = new Readings();
  // Last run's values first, so /metrics and the status page serve them from the start.
  const lastKnown = new LastKnown({
    stateDir,
    readings,
    clock: realClock,
    log,
    location: config.location,
    maxValueAgeS: config.max_value_age,
  });
  await lastKnown.restore(config.accounts);
  const opened = await openConfiguredAccounts(config, {
    configPath: path,
    env,
    readings,
    log,
    invokedAs,
  }).catch((e) => fail(e, log));
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
    const o = accountOf.get(vehicleKey(vehicle));
    if (!o) return undefined;
    const today = o.meter?.today();
    const entry = readings.vehicles.get(vehicleKey(vehicle));
    return {
      token: o.tokens?.(),
      today: today && {
        requests: today.requests,
        billable: today.requests,
        limit: o.run.budget?.requestsPerDay,
        costUsd: today.usd,
      },
      pollState: entry?.pollState,
      signIn: o.tokens && signInCommand(o.run.provider.id, o.run.name, path, invokedAs),
    };
  };
  const sessions = await startSessions(config, { readings, clock: realClock, log })
    .catch((e) => fail(e, log));
  const exports = await startExports(config, readings, log, listen, {
    account,
    mode: "live",
    sessions,
  }).catch((e) => fail(e, log));
  // Weather at each car's position, when configured (it needs location: true).
  const weather = startWeather(config, { readings, clock: realClock, log });
  const controller = new AbortController();
  onShutdownSignal(controller, log);
  lastKnown.start();
  await pollAccounts({
    accounts: opened.map((o) => o.run),
    readings,
    clock: realClock,
    log,
    config: config.polling,
    signal: controller.signal,
    shard: config.shard,
    onPoll: (target) => {
      const o = byName.get(target.account ?? "");
      if (!o) return;
      accountOf.set(vehicleKey(target.vehicle), o);
      if (o.tokens) tokenGauges();
    },
    onListed: (run, vehicles) => lastKnown.listed(run.name, run.provider.id, vehicles),
  });
  await lastKnown.stop();
  weather?.stop();
  await exports.close();
  await sessions?.close();
  lock.release();
  log.info("stopped");
}

if (import.meta.main) await main(Deno.args, "deno task");
