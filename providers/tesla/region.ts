/**
 * Fleet API regions: `GET /api/1/users/region` names the regional host that holds an account;
 * a call to another region answers 421. The host is stored in the token file's `extra` at
 * sign-in, and found again (and stored) when Tesla answers 421.
 */
import type { Clock } from "../../core/clock.ts";
import { VendorError } from "../../core/errors.ts";
import type { Http } from "../../core/http.ts";
import { isLoopbackUrl } from "../../core/oauth.ts";
import type { Logger } from "../../core/log.ts";
import type { TokenManager, TokenStore } from "../../core/tokens.ts";
import { classify, type TeslaBaseUrl } from "./api.ts";
import type { TeslaTokenExtra } from "./types.ts";
import { UsersRegion } from "./types.ts";

export const REGION_ENDPOINT = "/api/1/users/region";

export interface FleetRegion {
  readonly region: string;
  readonly fleet_api_base_url: string;
}

/** Asks `base` which regional host holds the account that `accessToken` belongs to. */
export async function discoverRegion(
  http: Http,
  base: string,
  accessToken: string,
  clock: Clock,
): Promise<FleetRegion> {
  const res = await http.send({
    method: "GET",
    url: base + REGION_ENDPOINT,
    endpoint: REGION_ENDPOINT,
    headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
  });
  if (res.status < 200 || res.status > 299) throw classify(res, REGION_ENDPOINT, clock.now());
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  const parsed = UsersRegion.safeParse(body);
  if (!parsed.success) {
    throw new VendorError("malformed", `${REGION_ENDPOINT}: no response.fleet_api_base_url`, {
      status: res.status,
      endpoint: REGION_ENDPOINT,
    });
  }
  const found = parsed.data.response.fleet_api_base_url.replace(/\/+$/, "");
  if (!trustedFleetHost(found, base)) {
    // The access token is sent there next: never to a host Tesla does not own.
    throw new VendorError(
      "malformed",
      `${REGION_ENDPOINT}: refusing the regional host ${safeOrigin(found)}`,
      { status: res.status, endpoint: REGION_ENDPOINT },
    );
  }
  return { region: parsed.data.response.region, fleet_api_base_url: found };
}

/**
 * A regional host is trusted when it is https on a Tesla domain, or on the same loopback
 * machine as the host that named it (a fake server in tests and replay).
 */
export function trustedFleetHost(candidate: string, askedBase: string): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:" && /(^|\.)tesla\.(com|cn)$/.test(url.hostname)) return true;
  const asked = new URL(askedBase);
  return isLoopbackUrl(asked) && isLoopbackUrl(url) && ["http:", "https:"].includes(url.protocol);
}

function safeOrigin(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return "(not a URL)";
  }
}

export interface FleetBaseUrlOptions {
  /** Where to ask for the region (the configured or default regional host). */
  readonly discoveryBase: string;
  readonly tokens: TokenManager<TeslaTokenExtra>;
  readonly store: TokenStore<TeslaTokenExtra>;
  readonly http: Http;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The account's Fleet host for the API calls: stored at sign-in, re-discovered on a 421. */
export class FleetBaseUrl implements TeslaBaseUrl {
  #base?: string;
  #moving?: Promise<string>;

  constructor(readonly options: FleetBaseUrlOptions) {}

  async current(): Promise<string> {
    if (this.#base) return this.#base;
    const { extra } = await this.options.tokens.record();
    const stored = extra.fleet_api_base_url;
    this.#base = stored && trustedFleetHost(stored, this.options.discoveryBase)
      ? stored
      : this.options.discoveryBase;
    return this.#base;
  }

  /** Concurrent 421s share one discovery. */
  misdirected(rejected: string): Promise<string> {
    if (this.#base && this.#base !== rejected) return Promise.resolve(this.#base);
    this.#moving ??= this.#rediscover(rejected).finally(() => this.#moving = undefined);
    return this.#moving;
  }

  async #rediscover(rejected: string): Promise<string> {
    const o = this.options;
    const accessToken = await o.tokens.accessToken();
    const found = await discoverRegion(o.http, o.discoveryBase, accessToken, o.clock);
    if (found.fleet_api_base_url === rejected) {
      throw new VendorError(
        "client",
        `Tesla answered 421 (account not in this region), but ${REGION_ENDPOINT} names the ` +
          `same host ${safeOrigin(rejected)}`,
        { status: 421 },
      );
    }
    await o.store.withLock(async (locked) => {
      const record = await locked.read();
      if (!record) return;
      await locked.write({
        ...record,
        extra: {
          ...record.extra,
          region: found.region,
          fleet_api_base_url: found.fleet_api_base_url,
        },
      });
    });
    o.log.info("Tesla account is served by another region now", {
      account: o.store.account,
      region: found.region,
      base_url: found.fleet_api_base_url,
    });
    this.#base = found.fleet_api_base_url;
    return this.#base;
  }
}
