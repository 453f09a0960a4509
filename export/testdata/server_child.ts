/**
 * The exporter's HTTP server alone, for export/server_test.ts to run under a small
 * file-descriptor limit: serves the fixture readings on a free loopback port, prints its URL,
 * and runs until killed.
 */
import { createLogger } from "../../core/log.ts";
import { PrometheusExport } from "../prometheus.ts";
import { startServer } from "../server.ts";
import { fixtureReadings } from "../test_helpers.ts";

const server = startServer({
  hostname: "127.0.0.1",
  port: 0,
  prometheus: new PrometheusExport(fixtureReadings()),
  log: createLogger({ level: "warn", write: (line) => console.error(line) }),
});
console.log(server.url);
