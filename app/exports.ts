/** Starts both exports and the status page over one readings store, and stops them in order. */
import { type Config, ConfigError } from "../core/config.ts";
import {
  listenFailure,
  listenFrom,
  listenProblem,
  type ListenSetting,
  splitListen,
} from "../core/listen.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { OtlpExport } from "../export/otlp.ts";
import { otlpSettings } from "../export/otlp_settings.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { startServer } from "../export/server.ts";
import { loadWebConfig } from "../export/web_config.ts";
import { StatusHistory, statusModel, type StatusSources } from "../export/status.ts";

export interface Exports {
  readonly prometheus: PrometheusExport;
  readonly otlp?: OtlpExport;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Where /metrics listens, and where that was set: `--listen` (checked here as the config checks
 * its own), else EV_OBSERVER_LISTEN, else the config file's `listen` or its default.
 */
export function metricsListen(
  flag: string | undefined,
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  path?: string,
): ListenSetting {
  if (flag === undefined) {
    return listenFrom(config.listen, { env: !!env.EV_OBSERVER_LISTEN, file: path });
  }
  const problem = listenProblem(flag);
  if (problem) throw new ConfigError(`--listen: ${problem}`);
  return listenFrom(flag, { flag: true });
}

/**
 * Starts /metrics and the status page (always) and the OTLP push (when configured). `status`
 * gives the page its clock (virtual in replay) and, from the live poller, token and budget.
 * An address that cannot be bound is a ConfigError naming it, where it was set and the fix.
 */
export async function startExports(
  config: Config,
  readings: Readings,
  log: Logger,
  listen: ListenSetting | string = config.listen,
  status: Partial<StatusSources> = {},
): Promise<Exports> {
  const setting = typeof listen === "string" ? listenFrom(listen, {}) : listen;
  const problem = listenProblem(setting.address);
  if (problem) throw new ConfigError(`${setting.key}: ${problem}`);
  const web = config.web_config ? await loadWebConfig(config.web_config) : undefined;
  const prometheus = new PrometheusExport(readings, { location: config.location });
  const { hostname, port } = splitListen(setting.address);
  const history = new StatusHistory(readings);
  const sources: StatusSources = { now: Date.now, units: config.units, ...status };
  let server;
  try {
    server = startServer({
      hostname,
      port,
      prometheus,
      log,
      web,
      status: () => statusModel(readings, history, sources),
    });
  } catch (err) {
    history.close();
    const why = listenFailure(err, setting);
    throw why ? new ConfigError(why) : err;
  }
  const settings = otlpSettings(Deno.env.toObject(), config.greptimedb);
  const otlp = settings
    ? new OtlpExport(readings, settings, { location: config.location, log })
    : undefined;
  log.info("serving metrics", {
    url: new URL("/metrics", server.url).href,
    otlp: settings ? "on" : "off",
  });
  return {
    prometheus,
    otlp,
    url: server.url,
    async close() {
      // Flush first so the last values reach the backend, then stop serving.
      await otlp?.shutdown().catch((e: Error) =>
        log.warn("OTLP flush failed", { error: e.message })
      );
      await server.shutdown();
      history.close();
    },
  };
}
