/** Starts both exports and the status page over one readings store, and stops them in order. */
import { type Config, splitListen } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { OtlpExport, otlpSettings } from "../export/otlp.ts";
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
 * Starts /metrics and the status page (always) and the OTLP push (when configured). `status`
 * gives the page its clock (virtual in replay) and, from the live poller, token and budget.
 */
export async function startExports(
  config: Config,
  readings: Readings,
  log: Logger,
  listen = config.listen,
  status: Partial<StatusSources> = {},
): Promise<Exports> {
  const web = config.web_config ? await loadWebConfig(config.web_config) : undefined;
  const prometheus = new PrometheusExport(readings, { location: config.location });
  const { hostname, port } = splitListen(listen);
  const history = new StatusHistory(readings);
  const sources: StatusSources = { now: Date.now, units: config.units, ...status };
  const server = startServer({
    hostname,
    port,
    prometheus,
    log,
    web,
    status: () => statusModel(readings, history, sources),
  });
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
