/**
 * Sessions for the entry points: the store in state_dir (or in memory for a replay), the
 * tracker on the readings store, its timer, and the GreptimeDB sender when configured.
 */
import type { Clock } from "../core/clock.ts";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import type { Readings } from "../core/readings.ts";
import { shardStateDir } from "../core/shard.ts";
import type { Session } from "../core/sessions/session.ts";
import { SessionStore } from "../core/sessions/store.ts";
import { SessionTracker } from "../core/sessions/tracker.ts";
import { GreptimeSessions } from "../export/greptime_sessions.ts";

export interface Sessions {
  readonly store: SessionStore;
  readonly tracker: SessionTracker;
  /** The newest finished sessions, oldest first (the status page). */
  last(n: number): Session[];
  close(): Promise<void>;
}

/** How often idle vehicles are checked for sessions past their gap (a parked car is silent). */
const TICK_MS = 60_000;

/** The database file in state_dir (a shard's: in its own folder there, core/shard.ts). */
export function sessionsPath(config: Pick<Config, "state_dir" | "shard">): string {
  return `${shardStateDir(config)}/sessions.db`;
}

/**
 * Starts keeping sessions unless the config turns them off. `path` ":memory:" keeps them for
 * this run only (a replay must not write into the state of a live exporter). Rejects with a
 * message naming the file and the fix when the database cannot be opened.
 */
export async function startSessions(
  config: Config,
  options: {
    readonly readings: Readings;
    readonly clock: Clock;
    readonly log: Logger;
    readonly path?: string;
  },
): Promise<Sessions | undefined> {
  if (!config.sessions.enabled) return undefined;
  const path = options.path ?? sessionsPath(config);
  if (path !== ":memory:") await Deno.mkdir(shardStateDir(config), { recursive: true });
  const store = SessionStore.open(path);
  const tracker = new SessionTracker({
    readings: options.readings,
    store,
    config: config.sessions,
    location: config.location,
    clock: options.clock,
    log: options.log.child({ component: "sessions" }),
  });
  // Finished sessions to GreptimeDB's SQL API: at once, and again every minute for any the
  // backend could not take (they stay queued in the store until it confirms).
  const g = config.greptimedb;
  const greptime = g
    ? new GreptimeSessions({
      url: g.url,
      database: g.database,
      username: g.username,
      password: g.password,
      queue: store,
      readings: options.readings,
      log: options.log.child({ component: "sessions", backend: "greptimedb" }),
    })
    : undefined;
  const stopSending = tracker.onSession(() => greptime?.flush());
  const timer = setInterval(() => {
    tracker.tick();
    greptime?.flush();
  }, TICK_MS);
  greptime?.flush();
  return {
    store,
    tracker,
    last: (n) => store.list({ last: n }),
    async close() {
      clearInterval(timer);
      stopSending();
      tracker.close();
      await greptime?.flush();
      store.close();
    },
  };
}
