/**
 * The interactive part of `deno task auth`, the same for every provider: show the authorize
 * URL (and open a browser unless told not to), get the answer back through the one-shot
 * loopback server or a paste, let the provider exchange it (and add its extras), and save the
 * tokens. A provider supplies a `SignInPlan` through its plug-in.
 *
 * With a loopback redirect URI the server and the paste race: on a headless or remote machine
 * the browser cannot reach 127.0.0.1 here, but its address bar still holds the code, so the
 * user can paste it.
 *
 * A vendor with the device authorization grant (RFC 8628; BMW CarData) supplies a
 * `DeviceSignInPlan` instead: the user code and address are printed, and the token endpoint is
 * asked at the interval the server names (five seconds more after each "slow down") until the
 * user has confirmed, declined, or the code expired. The plan reads the vendor's answers.
 */
import type { AccountConfig } from "./config.ts";
import type { Clock } from "./clock.ts";
import type { Http } from "./http.ts";
import type { Logger } from "./log.ts";
import { AuthorizationError, isLoopbackUrl, type PendingAuthorization } from "./oauth.ts";
import {
  type CallbackServer,
  parsePastedRedirect,
  startCallbackServer,
} from "./callback_server.ts";
import type { TokenRecord, TokenStore } from "./tokens.ts";

/** One provider's sign-in for one account, built from its config entry. */
export interface SignInPlan<E extends object> {
  readonly store: TokenStore<E>;
  /** The configured redirect URI; a plain-http loopback one gets the callback server. */
  readonly redirectUri: string;
  /** Starts the browser leg (PKCE, state) for `redirectUri` (the bound one for port 0). */
  authorize(redirectUri: string): Promise<PendingAuthorization>;
  /** Exchanges the checked callback parameters and adds the provider's extras. */
  finish(pending: PendingAuthorization, callback: URLSearchParams): Promise<TokenRecord<E>>;
  /** Where to find the final address when it must be pasted (a few short lines). */
  readonly pasteHelp: string;
  /** One line about the signed-in account for the success message (no secrets). */
  describe(record: TokenRecord<E>): string;
}

/** A device authorization (RFC 8628 §3.2): what the user is shown, and the polling pace. */
export interface DeviceAuthorization {
  readonly userCode: string;
  readonly verificationUri: string;
  /** The address with the code filled in, when the server gives one. */
  readonly verificationUriComplete?: string;
  readonly intervalS: number;
  readonly expiresInS: number;
}

/** One answer of the token endpoint while the user has not confirmed yet. */
export type DevicePoll<E extends object> =
  | { readonly status: "pending" }
  | { readonly status: "slow_down" }
  | { readonly status: "done"; readonly record: TokenRecord<E> };

/** A provider's device-code sign-in for one account. */
export interface DeviceSignInPlan<E extends object> {
  readonly kind: "device";
  readonly store: TokenStore<E>;
  /** Asks for a user code. */
  start(): Promise<DeviceAuthorization>;
  /** Asks the token endpoint once; throws when the user declined or the code expired. */
  poll(): Promise<DevicePoll<E>>;
  describe(record: TokenRecord<E>): string;
}

/** What scripts/auth.ts hands a provider. */
export interface SignInRequest {
  /** The account's config entry (or `{provider, name}` when the config has none). */
  readonly account: AccountConfig;
  /** Where that entry is, for error messages (e.g. `config.yaml accounts[0]`). */
  readonly label: string;
  readonly stateDir: string;
  /** The config file the user named, so printed commands can name it too. */
  readonly configPath?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly http: Http;
  readonly clock: Clock;
  readonly log: Logger;
  /** The config's `location` switch (a provider may ask for a location scope). */
  readonly location: boolean;
  /** The vendor's own flags from the command line (its plug-in's `signInFlags`), by name. */
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

export interface ImportResult {
  /** How many accounts were written to the token store. */
  readonly accounts: number;
  /** Lines for the user (no e-mail, no token). */
  readonly notes: readonly string[];
}

/**
 * A step run with an account's stored sign-in instead of signing in, chosen by a boolean flag
 * (Tesla's `--telemetry`: send the car its streaming configuration).
 */
export interface AccountSetup {
  /** One line for --help. */
  readonly help: string;
  /** Runs it, talking to the user through `io`; the exit code (0: all done). */
  run(request: SignInRequest, io: SignInIO): Promise<number>;
  /** Origins it reaches beyond the account's own hosts (a proxy), from the entry and flags. */
  hosts?(account: AccountConfig, options: SignInRequest["options"]): string[];
  /** Files it reads beyond the config and state_dir (certificates). */
  files?(account: AccountConfig, options: SignInRequest["options"]): string[];
}

/** A provider's entry in the `deno task auth` table. */
export interface SignInProvider {
  plan(request: SignInRequest): SignInPlan<object> | DeviceSignInPlan<object>;
  /** Steps on a signed-in account, keyed by flag (`telemetry` for `--telemetry`). */
  readonly setups?: Readonly<Record<string, AccountSetup>>;
  /** Token imports from other tools, keyed by flag (`teslapy` for `--import-teslapy`). */
  readonly imports?: Readonly<
    Record<string, (path: string, request: SignInRequest) => Promise<ImportResult>>
  >;
}

export interface SignInIO {
  /** One line for the user (stdout). */
  print(line: string): void;
  /** The next line the user typed or piped; undefined at end of input. */
  readLine(): Promise<string | undefined>;
  /** Tries to show `url` in a browser; false when there is none to open. */
  openBrowser?(url: string): Promise<boolean>;
}

export interface SignInOptions {
  /** How long the callback server waits for the browser (default 5 min). */
  readonly timeoutMs?: number;
  /** Unreadable pastes allowed before giving up (default 3). */
  readonly pasteAttempts?: number;
  /** Waits between device-code polls (default: real time; tests pass a virtual clock's). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** RFC 8628 §3.5: each "slow_down" adds five seconds to the interval. */
const SLOW_DOWN_S = 5;

/** Paste help for an https redirect URI the browser lands on (a page of the user's own). */
export function redirectPasteHelp(redirectUri: string): string {
  return `
After you sign in, the browser goes to ${redirectUri}?code=…&state=…. Copy that whole
address from the address bar (even if the page shows an error) and paste it here.`.trim();
}

/** Runs the browser leg (or the device flow) and saves the tokens; returns the stored record. */
export async function runSignIn<E extends object>(
  plan: SignInPlan<E> | DeviceSignInPlan<E>,
  io: SignInIO,
  options: SignInOptions = {},
): Promise<TokenRecord<E>> {
  if ("kind" in plan) return await runDeviceSignIn(plan, io, options);
  const uri = new URL(plan.redirectUri);
  const loopback = uri.protocol === "http:" && isLoopbackUrl(uri) && uri.hostname !== "[::1]";
  const server = loopback ? startCallbackServer({ redirectUri: plan.redirectUri }) : undefined;
  try {
    const pending = await plan.authorize(server?.redirectUri ?? plan.redirectUri);
    io.print("Open this address in a browser and sign in:");
    io.print("");
    io.print(`  ${pending.url.href}`);
    io.print("");
    if (io.openBrowser && await io.openBrowser(pending.url.href).catch(() => false)) {
      io.print("(A browser window was opened for you.)");
    }
    const params = server
      ? await fromServerOrPaste(server, pending.state, io, options)
      : await fromPaste(pending.state, io, plan.pasteHelp, options);
    const record = await plan.finish(pending, params);
    await plan.store.save(record);
    return record;
  } finally {
    await server?.close();
  }
}

/** Shows the user code, then polls until the user confirmed it; saves the tokens. */
async function runDeviceSignIn<E extends object>(
  plan: DeviceSignInPlan<E>,
  io: SignInIO,
  options: SignInOptions,
): Promise<TokenRecord<E>> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const auth = await plan.start();
  io.print("Open this address in a browser, sign in, and confirm the code:");
  io.print("");
  io.print(`  ${auth.verificationUriComplete ?? auth.verificationUri}`);
  io.print("");
  io.print(`  code: ${auth.userCode}`);
  io.print("");
  if (io.openBrowser) {
    await io.openBrowser(auth.verificationUriComplete ?? auth.verificationUri).catch(() => false);
  }
  io.print(`Waiting up to ${Math.ceil(auth.expiresInS / 60)} min for the confirmation.`);
  let intervalS = auth.intervalS;
  let waitedS = 0;
  while (waitedS < auth.expiresInS) {
    await sleep(intervalS * 1000);
    waitedS += intervalS;
    const answer = await plan.poll();
    if (answer.status === "done") {
      await plan.store.save(answer.record);
      return answer.record;
    }
    if (answer.status === "slow_down") intervalS += SLOW_DOWN_S;
  }
  throw new AuthorizationError(
    "timeout",
    `the code was not confirmed within ${Math.ceil(auth.expiresInS / 60)} min; run the ` +
      "command again",
  );
}

async function fromServerOrPaste(
  server: CallbackServer,
  state: string,
  io: SignInIO,
  options: SignInOptions,
): Promise<URLSearchParams> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  io.print(
    `Waiting up to ${Math.round(timeoutMs / 60_000)} min for the browser to come back to ` +
      `${new URL(server.redirectUri).origin}.`,
  );
  io.print(
    "If the browser runs on another machine, it ends on an error page instead: copy the " +
      "address from its address bar and paste it here.",
  );
  const stop = new AbortController();
  const viaServer = server.waitForCallback(state, { timeoutMs, signal: stop.signal });
  // A paste that ends without an answer (end of input) leaves the server to decide.
  const viaPaste = readPaste(state, io, options).then(
    (params) => params ?? new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([viaServer, viaPaste]);
  } finally {
    stop.abort();
    viaServer.catch(() => {}); // settled as cancelled once the paste won
  }
}

async function fromPaste(
  state: string,
  io: SignInIO,
  help: string,
  options: SignInOptions,
): Promise<URLSearchParams> {
  for (const line of help.split("\n")) io.print(line);
  const params = await readPaste(state, io, options);
  if (!params) throw new AuthorizationError("cancelled", "no address was pasted");
  return params;
}

/** Reads pasted lines until one parses; undefined at end of input. */
async function readPaste(
  state: string,
  io: SignInIO,
  options: SignInOptions,
): Promise<URLSearchParams | undefined> {
  const attempts = options.pasteAttempts ?? 3;
  for (let i = 1;; i++) {
    io.print("Paste the address (or only the code) and press Enter:");
    const line = await io.readLine();
    if (line === undefined) return undefined;
    if (!line.trim()) {
      i--; // an empty line is not an attempt
      continue;
    }
    try {
      return parsePastedRedirect(line, state);
    } catch (err) {
      // Only an unreadable paste is worth another try; a wrong state means another sign-in.
      if (!(err instanceof AuthorizationError) || err.reason !== "unreadable" || i >= attempts) {
        throw err;
      }
      io.print(`That did not work: ${err.message}.`);
    }
  }
}

/** Lines of a byte stream (stdin), read on demand. */
export function lineReader(stream: ReadableStream<Uint8Array>): () => Promise<string | undefined> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done = false;
  return async () => {
    for (;;) {
      const nl = buffer.indexOf("\n");
      if (nl >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        return line;
      }
      if (done) {
        const rest = buffer;
        buffer = "";
        return rest ? rest : undefined;
      }
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else buffer += chunk.value;
    }
  };
}

/**
 * Opens `url` with the desktop's opener when there visibly is a desktop: `open` on macOS,
 * `xdg-open` on Linux with a display. Elsewhere (SSH, containers) it does nothing, and the
 * printed address is the way in.
 */
export async function openBrowser(url: string): Promise<boolean> {
  const os = Deno.build.os;
  let opener: string | undefined;
  if (os === "darwin") opener = "open";
  else if (os === "linux" || os === "freebsd") {
    const display = Deno.env.get("DISPLAY") || Deno.env.get("WAYLAND_DISPLAY");
    if (display) opener = "xdg-open";
  }
  if (!opener) return false;
  try {
    const child = new Deno.Command(opener, {
      args: [url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return (await child.status).success;
  } catch {
    return false; // not installed, or not allowed by the task's permissions
  }
}
