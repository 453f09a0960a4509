/**
 * A live BMW account for `deno task poll`: the token manager (refresh 15 min before the hour,
 * the rotated refresh token saved before use, "sign-in needed" naming the command when the
 * two-week refresh token is dead) wired into the provider.
 */
import { VendorError } from "../../core/errors.ts";
import type { AccountDeps, AccountSession } from "../../core/plugin.ts";
import { TokenManager } from "../../core/tokens.ts";
import {
  bmwIdentity,
  bmwRefresh,
  bmwSignInCommand,
  bmwTokenStore,
  REFRESH_MARGIN_S,
} from "./identity.ts";
import { Telematics } from "./map.ts";
import { createBmwProvider } from "./provider.ts";
import { BmwStream } from "./stream.ts";
import type { BmwTokenExtra } from "./types.ts";

export interface BmwAccountSession extends AccountSession {
  readonly tokens: TokenManager<BmwTokenExtra>;
  readonly telematics: Telematics;
}

export async function openBmwAccount(deps: AccountDeps): Promise<BmwAccountSession> {
  const { http, clock, log } = deps;
  const identity = bmwIdentity(deps.account, deps.label);
  const signInCommand = bmwSignInCommand(identity.account, deps.configPath, deps.invokedAs);
  const tokens = new TokenManager({
    store: bmwTokenStore(deps.stateDir, identity.account, log),
    refresh: bmwRefresh(identity, http, clock),
    signInCommand,
    clock,
    log,
    marginS: REFRESH_MARGIN_S,
  });
  await tokens.load(); // a missing or dead sign-in shows in tokenStatus() right away
  const telematics = new Telematics();
  const provider = createBmwProvider({
    http: http.withAuth(tokens.httpAuth()),
    readings: deps.readings,
    clock,
    log: log.child({ provider: "bmw", account: identity.account }),
    baseUrl: identity.apiBaseUrl,
    location: deps.location,
    account: deps.account,
  }, telematics);
  const stream = identity.streamUrl &&
    new BmwStream({
      url: identity.streamUrl,
      // A fresh ID token: the manager refreshes it with the access token.
      credentials: async () => {
        await tokens.accessToken();
        const record = await tokens.record();
        if (!record.id_token) {
          throw new VendorError(
            "sign_in_needed",
            `this sign-in has no ID token for the stream: run \`${signInCommand}\``,
          );
        }
        return { gcid: record.extra.gcid, idToken: record.id_token, expiresAt: record.expires_at };
      },
      account: identity.account,
      vins: deps.account.vehicles,
      owns: deps.owns,
      telematics,
      readings: deps.readings,
      clock,
      log: log.child({ provider: "bmw", account: identity.account, source: "stream" }),
      location: deps.location,
      ...(identity.caFile ? { ca: await Deno.readTextFile(identity.caFile) } : {}),
    });
  return {
    provider,
    ...(stream ? { stream } : {}),
    tokens,
    telematics,
    signInCommand,
    tokenStatus: () => tokens.status(),
  };
}
