/**
 * Shards: several processes share a fleet, each polling (and streaming) the cars whose VIN
 * hashes to its index. The hash is Prometheus's `hashmod` relabel action (MD5 of the value,
 * the digest's last 8 bytes read big-endian as an unsigned 64-bit number, modulo the count),
 * so a `hashmod` rule on a `vin` label puts a car on the same shard as this process does.
 */
import { createHash } from "node:crypto";
import type { BudgetConfig } from "./budget.ts";

/** This process's part of the fleet: shard `index` (from 0) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The shard a VIN belongs to among `count` shards (Prometheus `hashmod`, modulus `count`). */
export function shardOf(vin: string, count: number): number {
  const digest = createHash("md5").update(vin, "utf8").digest();
  const low = new DataView(digest.buffer, digest.byteOffset + 8, 8).getBigUint64(0, false);
  return Number(low % BigInt(count));
}

/** Whether this process polls the car: always when unsharded. */
export function ownsVin(shard: Shard | undefined, vin: string): boolean {
  return !shard || shardOf(vin, shard.count) === shard.index;
}

/** The form `EV_OBSERVER_SHARD` takes, for messages. */
export const SHARD_FORM = "i/n, e.g. 0/3 (this process's index from 0, and the shard count)";

/** `i/n` as a shard, or undefined when the text is not of that form (ranges unchecked). */
export function parseShardText(text: string): Shard | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  return m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
}

/** `1/3`: how logs and messages name a shard. */
export function shardName(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * A shard's part of an account's budget: the account's limits (its own, or the vendor's per
 * key) hold for all its cars together, so each of `count` shards plans on 1/count of them (the
 * VIN hash splits the cars about evenly). The whole budget when unsharded.
 */
export function shardBudget(budget: BudgetConfig, shard: Shard | undefined): BudgetConfig {
  if (!shard || shard.count === 1) return budget;
  const n = shard.count;
  // Request limits stay whole numbers of at least one request.
  const requests = (v: number) => Math.max(1, Math.floor(v / n));
  const { requests_per_day: day, requests_per_minute: minute, usd_per_month: usd } = budget;
  return {
    ...budget,
    ...day === undefined ? {} : { requests_per_day: requests(day) },
    ...minute === undefined ? {} : { requests_per_minute: requests(minute) },
    ...usd === undefined ? {} : { usd_per_month: usd / n },
  };
}

/**
 * The folder of this process's own state (last known values, sessions, the poll lock):
 * `state_dir` itself unsharded, `state_dir/shard-<i>-of-<n>` sharded, so two shards sharing
 * a state_dir never write one file. Token files stay in `state_dir/tokens` (core/tokens.ts):
 * their lock makes one store safe for every shard on the same file system.
 */
export function shardStateDir(config: { state_dir: string; shard?: Shard }): string {
  const base = config.state_dir.replace(/\/+$/, "") || ".";
  const s = config.shard;
  return s ? `${base}/shard-${s.index}-of-${s.count}` : base;
}
