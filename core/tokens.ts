/**
 * The token store and the per-account token manager, shared by every provider.
 *
 * Files: one JSON file per account at `<state_dir>/tokens/<provider>-<account>.json`, mode 0600,
 * in a directory with mode 0700. Every write goes to a temp file in the same directory, is
 * fsynced and renamed over the old file; the previous version is kept as `<file>.bak`. A kill
 * at any moment therefore leaves the old or the new complete file, never a torn one. Reads fall
 * back to the `.bak` when the main file is unreadable (and log which file they used).
 *
 * Locking: `<file>.lock` is locked with `Deno.FsFile.lock()` (flock: per open file, released by
 * the kernel when a process dies, so there are no stale locks to take over). Refresh tokens are
 * single-use, so a refresh happens only under this lock, and the holder first re-reads the file:
 * when another process already refreshed, it uses that token instead of spending the (now dead)
 * old refresh token.
 *
 * How a provider's identity.ts uses this file:
 *
 * ```ts
 * const store = new TokenStore({
 *   stateDir: config.state_dir, provider: "tesla", account: "home", log,
 *   extra: z.object({ fleet_base_url: z.string().optional() }), // typed provider extras
 * });
 * // `deno task auth`: after the code exchange (core/oauth.ts)
 * await store.save(recordFromGrant(grant, { fleet_base_url }));
 * // `deno task poll`: one manager per account
 * const tokens = new TokenManager({
 *   store, clock, log,
 *   refresh: (current) => oauth.refresh(current.refresh_token),
 *   signInCommand: "deno task auth tesla --account home",
 * });
 * await tokens.load();                              // state for metrics right away
 * const body = await tokens.run((token) => api.get(path, token)); // one refresh on a 401
 * tokens.status();                                  // { state, expiresAt } for metrics
 * ```
 *
 * `ProviderContext.accessToken` can simply be `() => tokens.accessToken()`; a call passed to
 * `run` may then ignore its argument, because after a 401 `accessToken()` already returns the
 * refreshed token.
 *
 * Rules the manager keeps: it refreshes ahead of expiry (default margin 10 % of the token's
 * lifetime, at least 30 s, at most 5 min, never more than half the lifetime); a rotated refresh
 * token is written to disk before the new access token is returned; `invalid_grant` /
 * `login_required` (a VendorError of kind "sign_in_needed" from the refresh function) puts this
 * account, and only this one, in state "sign_in_needed" and the error names `signInCommand`; a
 * new sign-in written by another process is picked up without a restart. Every token is passed
 * to `registerSecret` when it is loaded or received; no token is ever logged or put in an error.
 */
import { z } from "zod";
import { syncDir } from "./atomic_file.ts";
import type { HttpAuth } from "./http.ts";
import type { Clock } from "./clock.ts";
import { VendorError } from "./errors.ts";
import { type Logger, registerSecret } from "./log.ts";

/** What a token endpoint gave us (core/oauth.ts returns this). Times are Unix seconds. */
export interface TokenGrant {
  readonly access_token: string;
  /** Absent when the server did not rotate it (Tesla Owner may keep the old one). */
  readonly refresh_token?: string;
  readonly expires_at: number;
  /** When the grant was received; with `expires_at` it gives the lifetime. */
  readonly obtained_at: number;
  readonly scope?: string;
  readonly token_type: string;
  /** The OpenID Connect ID token, for a vendor that uses it as a credential (BMW's stream). */
  readonly id_token?: string;
}

/** One account's stored tokens plus typed provider extras (e.g. Tesla's Fleet base URL). */
export interface TokenRecord<E extends object = Record<string, unknown>> {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly expires_at: number;
  readonly obtained_at: number;
  readonly scope?: string;
  readonly token_type: string;
  /** Replaced with every refresh, like the access token. */
  readonly id_token?: string;
  readonly extra: E;
}

/** A record from a sign-in's grant; a grant without refresh token cannot be kept alive. */
export function recordFromGrant<E extends object>(grant: TokenGrant, extra: E): TokenRecord<E> {
  if (!grant.refresh_token) {
    throw new VendorError(
      "client",
      "the token endpoint returned no refresh token (was the offline_access scope requested?)",
    );
  }
  return { ...pickGrant(grant), refresh_token: grant.refresh_token, extra };
}

function pickGrant(g: TokenGrant) {
  return {
    access_token: g.access_token,
    expires_at: g.expires_at,
    obtained_at: g.obtained_at,
    token_type: g.token_type,
    ...(g.scope !== undefined ? { scope: g.scope } : {}),
    ...(g.id_token !== undefined ? { id_token: g.id_token } : {}),
  };
}

const FILE_VERSION = 1;
const OnDisk = z.object({
  version: z.literal(FILE_VERSION),
  provider: z.string(),
  account: z.string(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_at: z.number(),
  obtained_at: z.number(),
  scope: z.string().optional(),
  token_type: z.string(),
  id_token: z.string().min(1).optional(),
  extra: z.unknown(),
});

const NAME = /^[A-Za-z0-9_-]+$/;

export interface TokenStoreOptions<E extends object> {
  /** The config's `state_dir`; files live in its `tokens/` folder. */
  readonly stateDir: string;
  readonly provider: string;
  readonly account: string;
  /** Schema of the provider extras; without it any object is accepted. */
  readonly extra?: z.ZodType<E>;
  readonly log: Logger;
  /** How long to wait for another process's refresh before giving up (default 60 s). */
  readonly lockTimeoutMs?: number;
}

/** Reading and writing inside the account lock (see `TokenStore.withLock`). */
export interface LockedStore<E extends object> {
  read(): Promise<TokenRecord<E> | undefined>;
  write(record: TokenRecord<E>): Promise<void>;
}

type ReadResult<E extends object> =
  | { ok: true; record: TokenRecord<E> }
  | { ok: false; absent: boolean; reason: string };

const encoder = new TextEncoder();

export class TokenStore<E extends object = Record<string, unknown>> {
  readonly provider: string;
  readonly account: string;
  readonly dir: string;
  /** The token file; `<path>.bak` is the previous version, `<path>.lock` the lock file. */
  readonly path: string;
  readonly backupPath: string;
  readonly lockPath: string;
  readonly #opts: TokenStoreOptions<E>;

  constructor(options: TokenStoreOptions<E>) {
    for (const [key, value] of [["provider", options.provider], ["account", options.account]]) {
      if (!NAME.test(value)) {
        throw new Error(`token store: ${key} "${value}" must use letters, digits, - and _ only`);
      }
    }
    this.#opts = options;
    this.provider = options.provider;
    this.account = options.account;
    this.dir = `${options.stateDir.replace(/\/+$/, "") || "."}/tokens`;
    this.path = `${this.dir}/${options.provider}-${options.account}.json`;
    this.backupPath = `${this.path}.bak`;
    this.lockPath = `${this.path}.lock`;
  }

  /** The stored record (the backup if the main file is unreadable), or undefined if none. */
  async read(): Promise<TokenRecord<E> | undefined> {
    const log = this.#opts.log;
    const fields = { provider: this.provider, account: this.account };
    const main = await this.#readFile(this.path);
    if (main.ok) return main.record;
    const backup = await this.#readFile(this.backupPath);
    if (backup.ok) {
      log.warn("token file unreadable, using its backup", {
        ...fields,
        file: this.path,
        reason: main.reason,
        used: this.backupPath,
      });
      return backup.record;
    }
    if (main.absent && backup.absent) return undefined;
    log.error("token file and its backup are unreadable", {
      ...fields,
      file: this.path,
      reason: main.reason,
      backup_reason: backup.reason,
    });
    return undefined;
  }

  /** Writes `record` atomically under the account lock (used after a sign-in). */
  save(record: TokenRecord<E>): Promise<void> {
    return this.withLock((locked) => locked.write(record));
  }

  /**
   * Runs `fn` holding the account's cross-process lock. Only code inside may write, so a
   * read-refresh-write sequence is never interleaved with another process's.
   */
  async withLock<T>(fn: (locked: LockedStore<E>) => Promise<T>): Promise<T> {
    await this.#ensureDir();
    const lock = await acquireLock(this.lockPath, this.#opts.lockTimeoutMs ?? 60_000);
    let open = true;
    const locked: LockedStore<E> = {
      read: () => this.read(),
      write: (record) => {
        if (!open) throw new Error("token store: write after the lock was released");
        return this.#write(record);
      },
    };
    try {
      return await fn(locked);
    } finally {
      open = false;
      lock.close(); // closing the file releases the flock
    }
  }

  async #readFile(path: string): Promise<ReadResult<E>> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      const absent = err instanceof Deno.errors.NotFound;
      return { ok: false, absent, reason: absent ? "missing" : (err as Error).name };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // Not the parser's message: V8 quotes the input, which may hold a token.
      return { ok: false, absent: false, reason: "not valid JSON" };
    }
    const parsed = OnDisk.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, absent: false, reason: `bad fields: ${issuePaths(parsed.error)}` };
    }
    const d = parsed.data;
    if (d.provider !== this.provider || d.account !== this.account) {
      return { ok: false, absent: false, reason: "written for another account" };
    }
    const extra = this.#opts.extra ? this.#opts.extra.safeParse(d.extra) : undefined;
    if (extra && !extra.success) {
      return { ok: false, absent: false, reason: `bad extra: ${issuePaths(extra.error)}` };
    }
    if (!extra && (typeof d.extra !== "object" || d.extra === null)) {
      return { ok: false, absent: false, reason: "bad extra: not an object" };
    }
    registerSecret(d.access_token);
    registerSecret(d.refresh_token);
    registerSecret(d.id_token);
    const record: TokenRecord<E> = {
      access_token: d.access_token,
      refresh_token: d.refresh_token,
      expires_at: d.expires_at,
      obtained_at: d.obtained_at,
      token_type: d.token_type,
      ...(d.scope !== undefined ? { scope: d.scope } : {}),
      ...(d.id_token !== undefined ? { id_token: d.id_token } : {}),
      extra: (extra ? extra.data : d.extra) as E,
    };
    return { ok: true, record };
  }

  async #write(record: TokenRecord<E>): Promise<void> {
    registerSecret(record.access_token);
    registerSecret(record.refresh_token);
    registerSecret(record.id_token);
    const body = {
      version: FILE_VERSION,
      provider: this.provider,
      account: this.account,
      ...record,
    };
    const data = encoder.encode(JSON.stringify(body, null, 2) + "\n");
    await this.#removeLeftovers();
    const tmp = `${this.path}.tmp-${Deno.pid}-${randomSuffix()}`;
    const file = await Deno.open(tmp, { createNew: true, write: true, mode: 0o600 });
    try {
      for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, 0o600); // exact mode whatever the umask
    await this.#keepBackup();
    await Deno.rename(tmp, this.path);
    await syncDir(this.dir);
  }

  /** The current file becomes `.bak` by a hard link renamed over the old backup (atomic). */
  async #keepBackup(): Promise<void> {
    const tmp = `${this.backupPath}.tmp-${Deno.pid}-${randomSuffix()}`;
    try {
      await Deno.link(this.path, tmp);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return; // first write: nothing to keep
      await Deno.copyFile(this.path, tmp); // file systems without hard links
      await Deno.chmod(tmp, 0o600);
    }
    await Deno.rename(tmp, this.backupPath);
    // rename() is a no-op when both names are links to one file (after a crash between the
    // backup step and the final rename), which would leave `tmp` behind.
    await Deno.remove(tmp).catch(() => {});
  }

  /** Temp files of a writer that was killed; safe to delete because we hold the lock. */
  async #removeLeftovers(): Promise<void> {
    const base = this.path.slice(this.dir.length + 1);
    for await (const entry of Deno.readDir(this.dir)) {
      if (entry.name.startsWith(`${base}.tmp-`) || entry.name.startsWith(`${base}.bak.tmp-`)) {
        await Deno.remove(`${this.dir}/${entry.name}`).catch(() => {});
      }
    }
  }

  async #ensureDir(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(this.dir, 0o700);
  }
}

function issuePaths(error: z.ZodError): string {
  return error.issues.map((i) => i.path.join(".") || "(top level)").join(", ");
}

function randomSuffix(): string {
  return crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
}

/** Exclusive flock on `path`, or an error naming the holder after `timeoutMs`. */
async function acquireLock(path: string, timeoutMs: number): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { create: true, read: true, write: true, mode: 0o600 });
  const locking = file.lock(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = Symbol("timeout");
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), timeoutMs);
  });
  let outcome: void | typeof timedOut;
  try {
    outcome = await Promise.race([locking, timeout]);
  } catch (err) {
    file.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (outcome === timedOut) {
    // The blocked lock call cannot be cancelled: release it as soon as it is granted.
    locking.then(() => file.close(), () => file.close());
    const holder = await Deno.readTextFile(path).catch(() => "");
    throw new Error(
      `token lock ${path} still held after ${timeoutMs} ms` +
        (holder.trim() ? ` (holder: ${holder.trim()})` : ""),
    );
  }
  // Who holds it, for the message above; the lock itself is the flock, not this content.
  await file.truncate(0);
  await file.write(encoder.encode(`pid ${Deno.pid} since ${new Date().toISOString()}\n`));
  return file;
}

export type TokenState = "ok" | "refreshing" | "sign_in_needed" | "missing";

export interface TokenStatus {
  readonly state: TokenState;
  /** Access token expiry, Unix seconds (for the token-expiry metric). */
  readonly expiresAt?: number;
}

export interface TokenManagerOptions<E extends object> {
  readonly store: TokenStore<E>;
  /**
   * Spends `current.refresh_token` at the token endpoint (e.g. `OAuthClient.refresh`). Throws a
   * VendorError of kind "sign_in_needed" when the refresh token is dead.
   */
  readonly refresh: (current: TokenRecord<E>) => Promise<TokenGrant>;
  /** The command that fixes a dead sign-in, e.g. `deno task auth tesla --account home`. */
  readonly signInCommand: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Refresh this many seconds before expiry instead of the lifetime-based default. */
  readonly marginS?: number;
}

/** Gives out a valid access token for one account; see the top of this file. */
export class TokenManager<E extends object = Record<string, unknown>> {
  readonly #o: TokenManagerOptions<E>;
  #record?: TokenRecord<E>;
  #state: TokenState = "missing";
  #loaded = false;
  #inflight?: Promise<TokenRecord<E>>;
  /** The token a 401-triggered refresh produced: if it is rejected too, we stop refreshing. */
  #after401?: string;
  /** A refreshed record whose write failed: its refresh token is the only live one. */
  #unsaved?: TokenRecord<E>;
  /** The refresh token the server declared dead; a file still holding it needs a sign-in. */
  #deadRefreshToken?: string;

  constructor(options: TokenManagerOptions<E>) {
    this.#o = options;
  }

  /** Reads the stored token so `status()` is right from the start. */
  async load(): Promise<TokenStatus> {
    await this.#current().catch((err) => {
      if (!(err instanceof VendorError && err.kind === "sign_in_needed")) throw err;
    });
    return this.status();
  }

  status(): TokenStatus {
    const expiresAt = this.#record?.expires_at;
    return expiresAt === undefined ? { state: this.#state } : { state: this.#state, expiresAt };
  }

  /** The stored record (e.g. for provider extras such as a region's base URL). */
  async record(): Promise<TokenRecord<E>> {
    return await this.#current();
  }

  /** A valid access token, refreshed ahead of expiry. */
  async accessToken(): Promise<string> {
    const current = await this.#current();
    if (this.#fresh(current)) return current.access_token;
    try {
      return (await this.#refreshOnce(current.access_token)).access_token;
    } catch (err) {
      const dead = err instanceof VendorError && err.kind === "sign_in_needed";
      const nowS = this.#o.clock.now() / 1000;
      if (dead || current.expires_at <= nowS + 5) throw err;
      // Refreshing early failed (network, 5xx): the current token still works for a while.
      this.#o.log.warn("token refresh failed, using the current token until it expires", {
        ...this.#fields(),
        error: (err as Error).message,
      });
      return current.access_token;
    }
  }

  /** This account's token for the HTTP seam: attached to requests, refreshed once on a 401. */
  httpAuth(): HttpAuth {
    return {
      token: () => this.accessToken(),
      refresh: (rejected) => this.onUnauthorized(rejected),
    };
  }

  /**
   * The API answered 401 to `rejected`: refresh once and return the new token. If the token
   * from that refresh is rejected as well, throws VendorError "unauthorized" instead of
   * spending refresh tokens in a loop.
   */
  async onUnauthorized(rejected: string): Promise<string> {
    const current = await this.#current();
    if (current.access_token !== rejected) return current.access_token; // already replaced
    if (rejected === this.#after401) {
      throw new VendorError(
        "unauthorized",
        `${this.#who()}: the access token was rejected again right after a refresh`,
      );
    }
    const next = await this.#refreshOnce(rejected);
    this.#after401 = next.access_token;
    return next.access_token;
  }

  /** Runs `call` with a valid token; a VendorError "unauthorized" gets one refresh and retry. */
  async run<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken();
    try {
      return await call(token);
    } catch (err) {
      if (!(err instanceof VendorError && err.kind === "unauthorized")) throw err;
      return await call(await this.onUnauthorized(token));
    }
  }

  /** Loaded record; in "missing"/"sign_in_needed" the file is re-read to pick up a new sign-in. */
  async #current(): Promise<TokenRecord<E>> {
    if (this.#loaded && (this.#state === "ok" || this.#state === "refreshing")) {
      return this.#record!;
    }
    const stored = await this.#o.store.read();
    if (!stored) {
      this.#state = "missing";
      this.#loaded = true;
      throw this.#signInError("no stored sign-in");
    }
    if (stored.refresh_token === this.#deadRefreshToken) {
      this.#state = "sign_in_needed";
      throw this.#signInError("the sign-in has expired");
    }
    if (this.#loaded && this.#state !== "ok") {
      this.#o.log.info("new sign-in found, resuming", this.#fields());
    }
    this.#record = stored;
    this.#state = "ok";
    this.#loaded = true;
    this.#deadRefreshToken = undefined;
    return stored;
  }

  /** One refresh at a time per manager; concurrent callers share its result. */
  #refreshOnce(stale: string): Promise<TokenRecord<E>> {
    this.#inflight ??= this.#refresh(stale).finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async #refresh(stale: string): Promise<TokenRecord<E>> {
    this.#state = "refreshing";
    try {
      const next = await this.#o.store.withLock((locked) => this.#refreshLocked(locked, stale));
      this.#record = next;
      this.#state = "ok";
      return next;
    } catch (err) {
      if (err instanceof VendorError && err.kind === "sign_in_needed") {
        // #refreshLocked sets "missing" when the file vanished; anything else is a dead sign-in.
        if ((this.#state as TokenState) !== "missing") this.#state = "sign_in_needed";
        this.#o.log.error("sign-in needed", {
          ...this.#fields(),
          reason: err.message,
          fix: this.#o.signInCommand,
        });
        throw this.#signInError(err.message);
      }
      this.#state = "ok";
      throw err;
    }
  }

  async #refreshLocked(locked: LockedStore<E>, stale: string): Promise<TokenRecord<E>> {
    if (this.#unsaved) {
      // An earlier refresh succeeded but could not be saved: save it before anything else.
      await locked.write(this.#unsaved);
      const saved = this.#unsaved;
      this.#unsaved = undefined;
      return saved;
    }
    const disk = await locked.read();
    if (!disk) {
      this.#state = "missing";
      throw new VendorError("sign_in_needed", "the token file is gone");
    }
    if (disk.access_token !== stale && this.#fresh(disk)) {
      this.#o.log.debug("token already refreshed by another process", this.#fields());
      return disk;
    }
    let grant: TokenGrant;
    try {
      grant = await this.#o.refresh(disk);
    } catch (err) {
      if (err instanceof VendorError && err.kind === "sign_in_needed") {
        this.#deadRefreshToken = disk.refresh_token;
      }
      throw err;
    }
    registerSecret(grant.access_token);
    registerSecret(grant.refresh_token);
    registerSecret(grant.id_token);
    const next: TokenRecord<E> = {
      ...pickGrant(grant),
      refresh_token: grant.refresh_token ?? disk.refresh_token,
      scope: grant.scope ?? disk.scope,
      extra: disk.extra,
    };
    try {
      await locked.write(next); // before anyone may use the new access token
    } catch (err) {
      this.#unsaved = next;
      throw new Error(
        `${this.#who()}: refreshed, but the new token could not be saved (${
          (err as Error).name
        }); retrying the save before any further use`,
      );
    }
    this.#o.log.debug("token refreshed", {
      ...this.#fields(),
      expires_in_s: Math.round(next.expires_at - this.#o.clock.now() / 1000),
    });
    return next;
  }

  #fresh(record: TokenRecord<E>): boolean {
    return this.#o.clock.now() / 1000 < record.expires_at - this.#margin(record);
  }

  #margin(record: TokenRecord<E>): number {
    if (this.#o.marginS !== undefined) return this.#o.marginS;
    const lifetime = Math.max(0, record.expires_at - record.obtained_at);
    return Math.min(Math.min(Math.max(lifetime * 0.1, 30), 300), lifetime / 2);
  }

  #signInError(reason: string): VendorError {
    return new VendorError(
      "sign_in_needed",
      `${this.#who()} needs a new sign-in (${reason}): run \`${this.#o.signInCommand}\``,
    );
  }

  #who(): string {
    return `${this.#o.store.provider} account "${this.#o.store.account}"`;
  }

  #fields() {
    return { provider: this.#o.store.provider, account: this.#o.store.account };
  }
}
