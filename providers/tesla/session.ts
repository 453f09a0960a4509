/**
 * A live Tesla account for `deno task poll`: its token manager (refresh ahead of expiry, one
 * refresh on a 401, "sign-in needed" when the refresh token is dead) wired into the provider,
 * for the Fleet API the account's regional host (re-discovered on a 421), and with a
 * `telemetry` block its Fleet Telemetry stream (stream.ts), which polling falls back from.
 */
import { ConfigError } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import { TokenManager } from "../../core/tokens.ts";
import type { AccountDeps, AccountSession } from "../../core/plugin.ts";
import { teslaIdentity, teslaRefresh, teslaSignInCommand, teslaTokenStore } from "./identity.ts";
import { createTeslaProvider } from "./provider.ts";
import type { TeslaTokenExtra } from "./types.ts";
import { FleetBaseUrl } from "./region.ts";
import { TeslaStream } from "./stream.ts";
import { telemetrySettings } from "./stream_config.ts";

export interface TeslaAccountSession extends AccountSession {
  readonly tokens: TokenManager<TeslaTokenExtra>;
}

export async function openTeslaAccount(deps: AccountDeps): Promise<TeslaAccountSession> {
  const { http, clock, log } = deps;
  const identity = teslaIdentity(deps.account, {
    label: deps.label,
    env: deps.env,
    location: deps.location,
  });
  const store = teslaTokenStore(deps.stateDir, identity.account, log);
  const signInCommand = teslaSignInCommand(identity.account, deps.configPath, deps.invokedAs);
  const tokens = new TokenManager({
    store,
    refresh: teslaRefresh(identity, http, clock),
    signInCommand,
    clock,
    log,
  });
  await tokens.load(); // a missing or dead sign-in shows in tokenStatus() right away

  /** Owner tokens cannot call the Fleet API and the reverse: a changed `api` needs a sign-in. */
  const accessToken = async () => {
    const { extra } = await tokens.record();
    if (extra.api !== identity.api) {
      throw new VendorError(
        "sign_in_needed",
        `tesla account "${identity.account}" was signed in for the ${extra.api} API but the ` +
          `config says api: ${identity.api}: run \`${signInCommand}\``,
      );
    }
    return await tokens.accessToken();
  };
  const base = identity.api === "fleet"
    ? new FleetBaseUrl({ discoveryBase: identity.apiBaseUrl, tokens, store, http, clock, log })
    : undefined;
  const provider = createTeslaProvider({
    // The token checked against the configured API; refreshed as any account's.
    http: http.withAuth({ ...tokens.httpAuth(), token: accessToken }),
    readings: deps.readings,
    clock,
    log: log.child({ provider: "tesla", account: identity.account }),
    baseUrl: identity.apiBaseUrl,
    location: deps.location,
  }, base);
  const telemetry = identity.settings.telemetry;
  const stream = telemetry &&
    new TeslaStream({
      settings: await telemetrySettings(
        telemetry,
        deps.env,
        (key, message) => new ConfigError(`${deps.label}.${key}: ${message}`),
      ),
      account: identity.account,
      vins: deps.account.vehicles,
      owns: deps.owns,
      readings: deps.readings,
      clock,
      log: log.child({ provider: "tesla", account: identity.account, source: "telemetry" }),
      location: deps.location,
    });
  return {
    provider,
    ...(stream ? { stream } : {}),
    tokens,
    signInCommand,
    tokenStatus: () => tokens.status(),
  };
}
