/**
 * Volvo ID as the simulated Volvo plays it: the shared fake OAuth server
 * (replay/fake_oauth.ts) with Volvo's ways. One confidential client (HTTP Basic as evcc and
 * volvo-cars-api send it; the form style is accepted too and recorded), the openid scope
 * required, access tokens of about five minutes, refresh tokens that rotate and die after
 * seven days unused, and any dead refresh token answered with Volvo's exact `invalid_grant`
 * (the neutral answer, payloads oauth.error.invalid-grant).
 */
import {
  type FakeClient,
  FakeOAuth,
  type OAuthQuirks,
  refusal,
} from "../../../replay/fake_oauth.ts";

export const AUTHORIZE_PATH = "/as/authorization.oauth2";
export const TOKEN_PATH = "/as/token.oauth2";

export interface FakeVolvoClient extends FakeClient {
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export const FAKE_CLIENT: FakeVolvoClient = {
  clientId: "fake-volvo-client",
  clientSecret: "fake-volvo-client-secret",
  redirectUris: ["http://127.0.0.1:8765/callback"],
};

export const VOLVO_OAUTH: OAuthQuirks = {
  authorizePath: AUTHORIZE_PATH,
  tokenPath: TOKEN_PATH,
  accessLifetimeS: 299,
  refreshLifetimeS: 7 * 86_400,
  tokenPrefix: (kind) => `fake-volvo-${kind}-`,
  idToken: "random",
  requiredScope: "openid",
  errors: {
    scope_required: refusal(400, "invalid_scope", "every Volvo API call needs the openid scope"),
    client_unknown: refusal(401, "invalid_client", "client authentication failed"),
  },
};

export interface FakeVolvoAuthOptions {
  /** Milliseconds since the epoch (the fake server's clock). */
  readonly now: () => number;
  readonly client?: FakeVolvoClient;
  /** Access token lifetime, seconds (Volvo: 299). */
  readonly accessLifetimeS?: number;
  /** A refresh token not used for this long is dead, seconds (Volvo: 7 days). */
  readonly refreshLifetimeS?: number;
}

export function fakeVolvoAuth(options: FakeVolvoAuthOptions): FakeOAuth {
  return new FakeOAuth({
    now: options.now,
    clients: [options.client ?? FAKE_CLIENT],
    quirks: {
      ...VOLVO_OAUTH,
      accessLifetimeS: options.accessLifetimeS ?? VOLVO_OAUTH.accessLifetimeS,
      refreshLifetimeS: options.refreshLifetimeS ?? VOLVO_OAUTH.refreshLifetimeS,
    },
  });
}
