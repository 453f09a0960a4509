/**
 * `deno task record <provider>`: runs the real poll pipeline (same scheduler, same provider
 * code) with the recorder on the HTTP seam, and writes a redacted cassette.
 */
import { realClock } from "../core/clock.ts";
import { ConfigError, loadConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import { Recorder } from "../replay/recorder.ts";
import { openConfiguredAccounts, requiredConfigPath } from "../app/accounts.ts";
import { fail, flags, onShutdownSignal } from "../app/cli.ts";
import { vehicleKey } from "../core/snapshot.ts";
import { PLUGINS } from "../providers/mod.ts";

const HELP = `
deno task record <provider> [options]

Polls your car(s) of one provider exactly as \`poll\` does, and records every exchange into a
cassette that \`deno task replay --fixtures PATH\` plays back offline; an account that streams
(BMW, a Tesla \`telemetry:\` block) has every MQTT message its consumer receives recorded too,
with its arrival time. Tokens, codes, secrets,
API keys, VINs (replaced by a stable fake VIN with a valid check digit), ids, names, e-mails,
phone numbers and exact coordinates are replaced before anything is written; a final check
refuses to write the file if any secret seen during the session is still in it.

Options:
  --scenario NAME   cassette name (default: recording); written to fixtures/<provider>/<NAME>/
  --duration TIME   stop after this long: 90s, 30m, 2h (default 1h)
  --cycles N        stop after N polls of every vehicle (whichever comes first)
  --vehicle VIN     record only this vehicle (repeatable; default: the account's vehicles)
  --keep-location   keep exact coordinates (default: moved to a demo place, shape kept)
  --out PATH        write the cassette here instead (the command may write only its
                    folder and state_dir)
  --config PATH     config file (default: config.yaml if it exists)
  --base-url URL    send the provider's API calls here (e.g. \`deno task replay --serve\`)
  -h, --help        this text

Ctrl-C stops early and keeps what was captured. Progress is logged every 10 seconds.
Share a recording only after looking at it: see README, "Recording your car".
`;

/** "90s", "30m", "2h", "1h30m" or plain seconds → seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0;
  let consumed = "";
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1 }[m[2] as "h" | "m" | "s"];
    consumed += m[0];
  }
  if (!consumed || consumed !== text) {
    throw new ConfigError(`--duration: expected e.g. 90s, 30m or 2h, got "${text}"`);
  }
  return total;
}

export async function main(args: string[] = Deno.args, invokedAs = "ev-observer"): Promise<void> {
  const { values, positionals } = flags(args, {
    scenario: { type: "string" },
    duration: { type: "string" },
    cycles: { type: "string" },
    vehicle: { type: "string", multiple: true },
    "keep-location": { type: "boolean" },
    out: { type: "string" },
    config: { type: "string" },
    "base-url": { type: "string" },
  }, HELP);
  const provider = positionals[0];
  if (!provider) {
    fail(new ConfigError("name the provider to record, e.g. `deno task record tesla`"));
  }
  const scenario = values.scenario ?? "recording";
  if (!/^[A-Za-z0-9_-]+$/.test(scenario)) {
    fail(new ConfigError("--scenario: use letters, digits, - and _ only"));
  }
  let seconds = 3600;
  let cycles = Infinity;
  try {
    if (values.duration) seconds = parseDuration(values.duration);
    if (values.cycles) {
      cycles = Number(values.cycles);
      if (!Number.isInteger(cycles) || cycles < 1) {
        throw new ConfigError("--cycles: expected N ≥ 1");
      }
    }
  } catch (e) {
    fail(e);
  }
  const env = Deno.env.toObject();
  const path = await requiredConfigPath(values.config).catch((e) => fail(e));
  const config = await loadConfig(path, env, { vendors: PLUGINS }).catch((e) => fail(e));
  const log = createLogger({
    level: config.log_level,
    format: env.EV_LOG_FORMAT === "json" ? "json" : "logfmt",
  });
  const accounts = config.accounts.filter((a) => a.provider === provider);
  if (accounts.length === 0) {
    fail(new ConfigError(`${path} has no ${provider} account under accounts:`));
  }
  const out = values.out ?? `fixtures/${provider}/${scenario}/cassette.json`;
  const recorder = new Recorder({
    clock: realClock,
    vendor: provider,
    scenario,
    keepLocation: values["keep-location"] ?? false,
    description: `Recorded with \`deno task record ${provider}\`.`,
  });
  const readings = new Readings();
  const opened = await openConfiguredAccounts(
    config,
    {
      configPath: path,
      env,
      readings,
      log,
      invokedAs,
      onHttp: (http) => recorder.attach(http),
      onStream: (stream) => {
        const text = new TextDecoder();
        stream.observe?.((topic, payload) => recorder.captureMessage(topic, text.decode(payload)));
      },
    },
    (account) => {
      if (account.provider !== provider) return undefined;
      return {
        ...account,
        ...(values["base-url"] ? { api_base_url: values["base-url"] } : {}),
        ...(values.vehicle?.length ? { vehicles: values.vehicle } : {}),
      };
    },
  ).catch((e) => fail(e, log));

  const controller = new AbortController();
  onShutdownSignal(controller, log);
  const timer = setTimeout(() => controller.abort(), seconds * 1000);
  const polls = new Map<string, number>();
  const progress = setInterval(() => {
    const stats = recorder.stats();
    log.info("recording", {
      exchanges: stats.exchanges,
      messages: stats.messages,
      elapsed_s: Math.round(stats.seconds),
      left_s: Math.max(0, Math.round(seconds - stats.seconds)),
    });
  }, 10_000);
  log.info("recording started", { provider, scenario, out, duration_s: seconds });
  await pollAccounts({
    accounts: opened.map((o) => o.run),
    readings,
    clock: realClock,
    log,
    config: config.polling,
    signal: controller.signal,
    shard: config.shard,
    onPoll: (target, outcome) => {
      if (outcome.kind === "snapshot") recorder.markSample();
      const key = vehicleKey(target.vehicle);
      const n = (polls.get(key) ?? 0) + 1;
      polls.set(key, n);
      if ([...polls.values()].every((c) => c >= cycles)) controller.abort();
    },
  });
  clearTimeout(timer);
  clearInterval(progress);
  try {
    await recorder.save(out);
  } catch (err) {
    fail(err, log);
  }
  const stats = recorder.stats();
  log.info("cassette written", { out, exchanges: stats.exchanges, messages: stats.messages });
  const messages = stats.messages ? `, ${stats.messages} stream messages` : "";
  console.log(
    `wrote ${out} (${stats.exchanges} exchanges${messages}); play it: ` +
      `deno task replay --fixtures ${out}`,
  );
}

if (import.meta.main) await main(Deno.args, "deno task");
