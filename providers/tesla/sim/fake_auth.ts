/**
 * Tesla's SSO as the simulated Tesla plays it: the shared fake OAuth server
 * (replay/fake_oauth.ts) with Tesla's ways. The authorize step wants `state` and names the
 * issuer in its redirect, code verifiers are base64url only, the code exchange repeats
 * `state`, access tokens last 8 h, refresh tokens never expire but are single use (a reused
 * one answers 401 `login_required`), and a spent code is `invalid_auth_code`.
 */
import {
  type FakeClient,
  FakeOAuth,
  type OAuthQuirks,
  refusal,
} from "../../../replay/fake_oauth.ts";

export const OWNER_API_CLIENT: FakeClient = {
  clientId: "ownerapi",
  redirectUris: ["tesla://auth/callback"],
};

export const TESLA_OAUTH: OAuthQuirks = {
  authorizePath: "/oauth2/v3/authorize",
  tokenPath: "/oauth2/v3/token",
  accessLifetimeS: 28_800,
  tokenPrefix: (kind) => `fake-${kind}-`,
  idToken: "random",
  stateRequired: true,
  echoState: true,
  verifierShape: /^[A-Za-z0-9_-]{43,128}$/,
  errors: {
    // Tesla's own wording on its error page.
    redirect_uri: refusal(
      400,
      "invalid_redirect_url",
      "The 'redirect_uri' supplied is not registered for this 'client_id'.",
    ),
    response_type: refusal(400, "invalid_request", "response_type must be code"),
    pkce_required: refusal(400, "invalid_request", "PKCE S256 code_challenge required"),
    code_invalid: refusal(400, "invalid_auth_code", "authorization code expired or used"),
    code_mismatch: refusal(400, "invalid_grant", "client_id or redirect_uri does not match"),
    pkce_mismatch: refusal(400, "invalid_grant", "code_verifier does not match code_challenge"),
    refresh_unknown: refusal(400, "invalid_grant", "unknown refresh token"),
    // Single use: a second use means it leaked or two processes raced.
    refresh_spent: refusal(401, "login_required", "refresh token already used"),
  },
};

export interface FakeTeslaAuthOptions {
  /** Milliseconds since the epoch (the fake server's clock). */
  readonly now: () => number;
  /** Default: the Owner API client. */
  readonly clients?: readonly FakeClient[];
  /** Access token lifetime, seconds (default Tesla's 8 h). */
  readonly accessLifetimeS?: number;
  /** Where the authorize step says the user signed in (`issuer` in the redirect). */
  readonly issuer?: string;
}

export function fakeTeslaAuth(options: FakeTeslaAuthOptions): FakeOAuth {
  return new FakeOAuth({
    now: options.now,
    clients: options.clients ?? [OWNER_API_CLIENT],
    quirks: {
      ...TESLA_OAUTH,
      accessLifetimeS: options.accessLifetimeS ?? TESLA_OAUTH.accessLifetimeS,
      issuer: options.issuer,
    },
  });
}
