/**
 * Listen addresses (`listen` in the config, EV_OBSERVER_LISTEN, `--listen`, replay's `--port`):
 * one check of the form for all of them, and the reasons binding fails in words. Every message
 * names the address, where it was set, and the fix.
 */

/** An address, where it was set, and how the user sets another one (for the fix). */
export interface ListenSetting {
  readonly address: string;
  /** Where it was set: `--listen`, `EV_OBSERVER_LISTEN`, `listen in config.yaml`, … */
  readonly key: string;
  /** The setting that would choose `address` instead: `--listen 127.0.0.1:9465`. */
  readonly set: (address: string) => string;
}

const EXAMPLE = "127.0.0.1:9464";

/** What is wrong with `host:port`, with the fix; undefined when the form is fine. */
export function listenProblem(address: string): string | undefined {
  const i = address.lastIndexOf(":");
  if (i < 0) {
    return /^\d+$/.test(address)
      ? `"${address}" has no host: write 127.0.0.1:${address} (this machine only) or ` +
        `0.0.0.0:${address} (every network interface)`
      : `"${address}" is not host:port: write e.g. ${EXAMPLE}`;
  }
  const host = address.slice(0, i);
  const portText = address.slice(i + 1);
  const bad = portProblem(portText);
  if (bad) return `"${address}": ${bad}, e.g. ${EXAMPLE}`;
  const port = Number(portText);
  if (host === "") {
    return `"${address}" has no host: write 127.0.0.1:${port} (this machine only) or ` +
      `0.0.0.0:${port} (every network interface)`;
  }
  if (host.includes(":") && !/^\[[0-9A-Fa-f:.]+\]$/.test(host)) {
    return `"${address}": an IPv6 host goes in brackets, e.g. [::1]:${port}`;
  }
  if (
    !host.startsWith("[") &&
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      host,
    )
  ) {
    return `"${address}": "${host}" is not a host name or address: write e.g. ${EXAMPLE}`;
  }
  return undefined;
}

/** What is wrong with a port number (0: any free port), with the fix; undefined when fine. */
export function portProblem(text: string): string | undefined {
  if (!/^\d+$/.test(text)) return `the port "${text}" is not a number`;
  if (Number(text) > 65535) return `port ${text} is out of range: use a port from 1 to 65535`;
  return undefined;
}

/** Host and port of an address that passed `listenProblem`. */
export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  return {
    hostname: listen.slice(0, i).replace(/^\[|\]$/g, ""),
    port: Number(listen.slice(i + 1)),
  };
}

/**
 * Why binding `setting` failed, in words with the fix (the error Deno.serve or Deno.listen
 * threw); undefined for an error that is not about the address.
 */
export function listenFailure(err: unknown, setting: ListenSetting): string | undefined {
  const { address, key, set } = setting;
  const { hostname, port } = splitListen(address);
  const host = hostOf(hostname);
  const where = `cannot listen on ${address} (${key})`;
  if (err instanceof Deno.errors.AddrInUse) {
    return `${where}: another program already uses port ${port} (another ev-observer?) — ` +
      `stop it, or choose a free port: ${set(`${host}:${port === 65535 ? 9464 : port + 1}`)}`;
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return `${where}: ports below 1024 need root (or CAP_NET_BIND_SERVICE) — choose a port ` +
      `from 1024 up: ${set(`${host}:9464`)}`;
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return `${where}: this machine has no address ${hostname} — use 127.0.0.1 (this machine ` +
      `only), 0.0.0.0 (every network interface) or one of its own addresses: ` +
      set(`127.0.0.1:${port}`);
  }
  if (err instanceof Deno.errors.NotCapable) {
    return `${where}: the task may not listen on ${hostname} (its --allow-net does not list ` +
      `it) — use ${set(`127.0.0.1:${port}`)}, or add ${hostname} to the task's --allow-net`;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/lookup|resolve|name or service|nodename|getaddrinfo/i.test(message)) {
    return `${where}: the host name ${hostname} does not resolve — use an address such as ` +
      `127.0.0.1 or 0.0.0.0: ${set(`127.0.0.1:${port}`)}`;
  }
  if (err instanceof RangeError || err instanceof URIError) {
    return `${where}: ${listenProblem(address) ?? message}`;
  }
  return undefined;
}

/** How `--listen`, EV_OBSERVER_LISTEN or the config file's `listen` (or its default) set it. */
export function listenFrom(
  address: string,
  source: { readonly flag?: boolean; readonly env?: boolean; readonly file?: string },
): ListenSetting {
  if (source.flag) return { address, key: "--listen", set: (a) => `--listen ${a}` };
  if (source.env) {
    return { address, key: "EV_OBSERVER_LISTEN", set: (a) => `EV_OBSERVER_LISTEN=${a}` };
  }
  if (source.file) {
    return {
      address,
      key: `listen in ${source.file}`,
      set: (a) => `listen: ${a} in ${source.file}`,
    };
  }
  return {
    address,
    key: "the default listen address",
    set: (a) => `--listen ${a} (or listen: ${a} in the config file)`,
  };
}

function hostOf(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * Ports for `freeLoopbackPort`: below Linux's ephemeral range (32768–60999) and macOS's
 * (49152–65535), so the kernel never hands one out as the source port of a connection between
 * the probe and the moment the caller binds it.
 */
const SPARE_PORTS = { first: 20000, last: 32767 };

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a program that must be told its port
 * before it binds (a broker, a redirect URI). Port 0 would give an ephemeral port, which any
 * outgoing connection on the machine may take in the meantime.
 */
export function freeLoopbackPort(): number {
  for (let tries = 0; tries < 100; tries++) {
    const port = SPARE_PORTS.first +
      Math.floor(Math.random() * (SPARE_PORTS.last - SPARE_PORTS.first + 1));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}
