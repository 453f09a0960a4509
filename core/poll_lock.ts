/**
 * One polling process per state folder: `poll` holds `<folder>/poll.lock` while it runs, so a
 * second process of the same shard (or a second unsharded one on the same state_dir) is
 * refused at start instead of polling every car twice and overwriting the first one's last
 * known values. The lock is a flock, as the token store's: the kernel drops it when its
 * holder dies, so a crashed run never leaves a stale lock behind.
 */
import { ConfigError } from "./config.ts";

export const POLL_LOCK_FILE = "poll.lock";

/** The held lock; `release` lets a later process in (closing the process does too). */
export interface PollLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the folder's lock, creating the folder, or throws a ConfigError naming the lock file,
 * its holder and the fix. `what` names the process in the message ("shard 1/3").
 */
export async function lockPolling(dir: string, what: string): Promise<PollLock> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = `${dir}/${POLL_LOCK_FILE}`;
  const file = await Deno.open(path, { create: true, read: true, write: true, mode: 0o600 });
  if (!await file.tryLock(true)) {
    file.close();
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    throw new ConfigError(
      `another ev-observer process is already polling ${what}: it holds ${path}` +
        (holder ? ` (${holder})` : "") +
        ". Stop that process first, or give this one a state_dir (or shard) of its own",
    );
  }
  // Who holds it, for the message above; the lock itself is the flock, not this content.
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`pid ${Deno.pid} since ${new Date().toISOString()}`));
  return {
    path,
    release: () => file.close(),
  };
}
