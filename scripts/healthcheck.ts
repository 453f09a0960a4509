/**
 * `ev-observer healthcheck`: exits 0 when the exporter on this machine answers /healthz, 1
 * otherwise. The container's HEALTHCHECK runs it (the image has no curl).
 */
import { splitListen } from "../core/config.ts";
import { flags } from "../app/flags.ts";

const HELP = `
ev-observer healthcheck [--url URL]

Exits 0 when GET /healthz answers 200 within 3 seconds, 1 otherwise. Without --url it asks the
port of EV_OBSERVER_LISTEN (default 127.0.0.1:9464) on loopback.
`;

/** The /healthz URL for a listen address; a wildcard address is asked on loopback. */
export function healthUrl(listen: string): string {
  const { hostname, port } = splitListen(listen);
  const host = hostname === "0.0.0.0" || hostname === ""
    ? "127.0.0.1"
    : hostname === "::"
    ? "[::1]"
    : hostname.includes(":")
    ? `[${hostname}]`
    : hostname;
  return `http://${host}:${port}/healthz`;
}

export async function main(args: string[] = Deno.args): Promise<void> {
  const { values } = flags(args, { url: { type: "string" } }, HELP);
  const url = values.url ?? healthUrl(Deno.env.get("EV_OBSERVER_LISTEN") || "127.0.0.1:9464");
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    if (res.status === 200) Deno.exit(0);
    console.error(`${url}: HTTP ${res.status}`);
  } catch (err) {
    console.error(`${url}: ${(err as Error).message}`);
  }
  Deno.exit(1);
}

if (import.meta.main) await main();
