/**
 * A live Volvo account for `deno task poll`: the token manager (refresh a minute before the
 * five-minute tokens expire, rotated refresh tokens saved before use, one refresh on a 401,
 * "sign-in needed" with the fix command when Volvo answers `invalid_grant`) wired into the
 * provider.
 */
import { TokenManager } from "../../core/tokens.ts";
import type { AccountDeps, AccountSession } from "../../core/plugin.ts";
import {
  REFRESH_MARGIN_S,
  volvoIdentity,
  volvoRefresh,
  volvoSignInCommand,
  type VolvoTokenExtra,
  volvoTokenStore,
} from "./identity.ts";
import { createVolvoProvider } from "./provider.ts";

export interface VolvoAccountSession extends AccountSession {
  readonly tokens: TokenManager<VolvoTokenExtra>;
}

export async function openVolvoAccount(deps: AccountDeps): Promise<VolvoAccountSession> {
  const { http, clock, log } = deps;
  const identity = volvoIdentity(deps.account, deps);
  const signInCommand = volvoSignInCommand(identity.account, deps.configPath, deps.invokedAs);
  const tokens = new TokenManager({
    store: volvoTokenStore(deps.stateDir, identity.account, log),
    refresh: volvoRefresh(identity, http, clock),
    signInCommand,
    clock,
    log,
    marginS: REFRESH_MARGIN_S,
  });
  await tokens.load(); // a missing or dead sign-in shows in tokenStatus() right away
  const plog = log.child({ provider: "volvo", account: identity.account });
  if (deps.location && tokens.status().state === "ok") {
    const { extra } = await tokens.record();
    if (!extra.scopes.includes("location:read")) {
      plog.warn("location is on, but this sign-in did not ask for location:read", {
        fix: signInCommand,
      });
    }
  }
  const provider = createVolvoProvider({
    http: http.withAuth(tokens.httpAuth()),
    readings: deps.readings,
    clock,
    log: plog,
    baseUrl: identity.apiBaseUrl,
    location: deps.location,
    account: deps.account,
  });
  return { provider, tokens, signInCommand, tokenStatus: () => tokens.status() };
}
