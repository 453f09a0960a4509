/**
 * Checks and helpers for the OAuth keys of an `accounts` entry that every provider's
 * identity.ts shares: hosts, client secrets (inline or from the environment), redirect URIs,
 * scope lists, and the command that fixes a dead sign-in.
 */
import { z } from "zod";
import type { ConfigError } from "./config.ts";
import { registerSecret } from "./log.ts";
import { isLoopbackUrl } from "./oauth.ts";

/** Builds the error for one key of the entry: `<label>.<key>: <message>`. */
export type KeyError = (key: string, message: string) => ConfigError;

/** An origin (optionally with a path) that is https, or plain http on loopback. */
export const HostUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(url));
  } catch {
    return false;
  }
}, "expected an https:// URL (plain http only for 127.0.0.1 or localhost)");

/** `client_secret_env`: the name of an environment variable. */
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a variable name");

/** The client secret from `client_secret` or the variable `client_secret_env` names. */
export function clientSecret(
  s: { readonly client_secret?: string; readonly client_secret_env?: string },
  env: Readonly<Record<string, string | undefined>>,
  fail: KeyError,
): string | undefined {
  if (s.client_secret !== undefined && s.client_secret_env !== undefined) {
    throw fail("client_secret_env", "set client_secret or client_secret_env, not both");
  }
  let secret = s.client_secret;
  if (s.client_secret_env !== undefined) {
    secret = env[s.client_secret_env];
    if (!secret) {
      throw fail(
        "client_secret_env",
        `environment variable ${s.client_secret_env} is not set — export it with your app's ` +
          "Client Secret",
      );
    }
  }
  registerSecret(secret);
  return secret;
}

/** A redirect URI as a normalized URL; plain http only on loopback. */
export function checkedRedirect(value: string, fail: KeyError): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail("redirect_uri", `"${value}" is not a URL`);
  }
  if (url.protocol === "http:" && !isLoopbackUrl(url)) {
    throw fail("redirect_uri", "plain http is only allowed for 127.0.0.1 or localhost");
  }
  return url.href;
}

/** `scopes` given as a list or as one space-separated string. */
export const Scopes = z.union([z.array(z.string().min(1)), z.string()]);

export function scopeList(scopes: string | readonly string[] | undefined): string[] | undefined {
  if (scopes === undefined) return undefined;
  const list = typeof scopes === "string" ? scopes.split(/\s+/) : [...scopes];
  return list.filter(Boolean);
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** The command that fixes a dead sign-in, e.g. `deno task auth volvo --account family`. */
export function signInCommand(
  provider: string,
  account: string,
  configPath?: string,
  invokedAs = "deno task",
): string {
  const config = configPath ? ` --config ${shellWord(configPath)}` : "";
  return `${invokedAs} auth ${provider} --account ${account}${config}`;
}

function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
