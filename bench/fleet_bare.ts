/**
 * A bare Deno process that imports the npm libraries a one-car exporter loads without OTLP
 * (bench/load_server.ts's static imports: yaml, zod, oauth4webapi) and does
 * nothing else: what `bench fleet` holds the one-car exporter's memory against. Prints
 * `{"url": null}`, then `{"rss": bytes, "polls": 1}` every 100 ms until SIGTERM.
 */
import "yaml";
import "zod";
import "oauth4webapi";

console.log(JSON.stringify({ url: null }));
setInterval(() => console.log(JSON.stringify({ rss: Deno.memoryUsage().rss, polls: 1 })), 100);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
