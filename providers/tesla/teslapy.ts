/**
 * `deno task auth tesla --import-teslapy cache.json`: moves a TeslaPy sign-in into the token
 * store, so users of the original demo (which used TeslaPy) keep their sign-in. TeslaPy's
 * cache is keyed by e-mail, each entry holding the SSO tokens:
 * `{"<email>": {"url": "https://auth.tesla.com/", "sso": {access_token, refresh_token, …}}}`.
 * The e-mail is personal data: no message here names it, and it is not stored.
 */
import { z } from "zod";
import { ConfigError } from "../../core/config.ts";
import { registerSecret } from "../../core/log.ts";
import type { ImportResult, SignInRequest } from "../../core/sign_in.ts";
import type { TokenRecord } from "../../core/tokens.ts";
import { otherSso, teslaIdentity, teslaTokenStore } from "./identity.ts";
import type { TeslaTokenExtra } from "./types.ts";

const Sso = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
  /** Unix seconds, added by oauthlib. */
  expires_at: z.number().optional(),
}).loose();
const Entry = z.object({ url: z.string().optional(), sso: Sso }).loose();
type Entry = z.infer<typeof Entry>;

/** Picks one sign-in from a TeslaPy cache (by e-mail when there are several). */
export function pickTeslaPyEntry(text: string, source: string, email?: string): Entry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file, which holds tokens.
    throw new ConfigError(`${source} is not a TeslaPy cache (not JSON)`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(`${source} is not a TeslaPy cache (expected an object keyed by e-mail)`);
  }
  const entries = Object.entries(raw as Record<string, unknown>).filter(([, v]) =>
    v !== null && typeof v === "object" && "sso" in v
  );
  if (entries.length === 0) {
    throw new ConfigError(`${source} holds no TeslaPy sign-in (no entry with "sso" tokens)`);
  }
  let chosen: [string, unknown] | undefined;
  let index = 1;
  if (email !== undefined) {
    index = entries.findIndex(([key]) => key.toLowerCase() === email.trim().toLowerCase()) + 1;
    chosen = entries[index - 1];
    if (!chosen) {
      throw new ConfigError(`${source} holds no sign-in for the e-mail given with --login-hint`);
    }
  } else if (entries.length > 1) {
    throw new ConfigError(
      `${source} holds ${entries.length} sign-ins; choose one with --login-hint <e-mail> ` +
        "(and import each into its own --account)",
    );
  } else {
    chosen = entries[0];
  }
  const parsed = Entry.safeParse(chosen[1]);
  if (!parsed.success) {
    // Issue paths start below the e-mail key, so they never contain it.
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `${source}: sign-in ${index}: ${issue.path.join(".") || "(entry)"}: ${issue.message}`,
    );
  }
  registerSecret(parsed.data.sso.access_token);
  registerSecret(parsed.data.sso.refresh_token);
  return parsed.data;
}

/** The import itself: one account, Owner API tokens, written atomically like a sign-in. */
export async function importTeslaPy(path: string, request: SignInRequest): Promise<ImportResult> {
  const identity = teslaIdentity(request.account, {
    label: request.label,
    env: request.env,
    location: request.location,
    ...(typeof request.options.api === "string" ? { api: request.options.api } : {}),
  });
  if (identity.api !== "owner") {
    throw new ConfigError(
      `${request.label}.api: TeslaPy tokens belong to the Owner API, but this account is ` +
        "api: fleet; import into an account with api: owner",
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).name}`);
  }
  const entry = pickTeslaPyEntry(
    text,
    path,
    typeof request.options["login-hint"] === "string" ? request.options["login-hint"] : undefined,
  );
  const sso = entry.sso;
  const nowS = Math.floor(request.clock.now() / 1000);
  // Without an expiry the access token is treated as expired: refreshed on first use.
  const expiresAt = Math.floor(sso.expires_at ?? nowS);
  const authHost = otherSso(identity, entry.url);
  const record: TokenRecord<TeslaTokenExtra> = {
    access_token: sso.access_token,
    refresh_token: sso.refresh_token,
    expires_at: expiresAt,
    obtained_at: Math.min(expiresAt - Math.floor(sso.expires_in ?? 0), expiresAt),
    token_type: sso.token_type ?? "Bearer",
    extra: { api: "owner", ...(authHost ? { auth_host: authHost } : {}) },
  };
  const store = teslaTokenStore(request.stateDir, identity.account, request.log);
  const replaced = (await store.read()) !== undefined;
  await store.save(record);
  const notes = [`tesla account "${identity.account}" (Owner API) → ${store.path}`];
  if (replaced) notes.push(`The previous sign-in of this account is kept as ${store.backupPath}.`);
  if (expiresAt <= nowS) notes.push("Its access token has expired; it is refreshed on first use.");
  return { accounts: 1, notes };
}
