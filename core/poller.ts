/**
 * Runs every configured account: lists its vehicles (all, or the VINs the user picked) and
 * hands them to the scheduler. An account that cannot be listed (network, sign-in) is retried
 * with backoff on its own; the other accounts keep running. An account with no vehicle to poll
 * is listed again every `relistS`, so a car added later is polled without a restart (and the
 * exporter keeps serving meanwhile). A sharded process polls only the listed cars of its shard
 * (core/shard.ts); an account whose cars are all on other shards is listed again likewise.
 */
import type { Budget } from "./budget.ts";
import { type Clock, type Participant, participate } from "./clock.ts";
import { VendorError } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { Readings } from "./readings.ts";
import { type PollTarget, type RunOptions, runScheduler } from "./scheduler.ts";
import type { SchedulerConfig } from "./scheduler_config.ts";
import { ownsVin, type Shard, shardName } from "./shard.ts";
import { vehicleKey, type VehicleRef, vinTail } from "./snapshot.ts";
import type { Provider, PushSource } from "./source.ts";

export interface AccountRun {
  readonly name: string;
  readonly provider: Provider;
  /** Only these VINs; every vehicle of the account when empty. */
  readonly vins: readonly string[];
  readonly budget?: Budget;
  /** The vendor's and this account's scheduler settings over the common ones. */
  readonly config?: Partial<SchedulerConfig>;
  /** The account's stream, for vendors that push: its live vehicles are not polled. */
  readonly stream?: PushSource;
}

export interface PollAccountsOptions {
  readonly accounts: readonly AccountRun[];
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly config: Partial<SchedulerConfig>;
  readonly signal: AbortSignal;
  /** First wait before listing an account again, seconds (doubles to 30 min). */
  readonly retryS?: number;
  /** Wait before listing an account that had no vehicle to poll again, seconds (1 h). */
  readonly relistS?: number;
  readonly onPoll?: RunOptions["onPoll"];
  /** An account listed its vehicles (the ones it polls): vehicles it lost can be dropped. */
  readonly onListed?: (account: AccountRun, vehicles: readonly VehicleRef[]) => void;
  /** This process's shard: only the cars whose VIN hashes to it are polled. All when absent. */
  readonly shard?: Shard;
}

const MAX_RETRY_S = 1800;
const RELIST_S = 3600;

export async function pollAccounts(o: PollAccountsOptions): Promise<void> {
  await Promise.all(o.accounts.map((account) => runAccount(account, o)));
}

async function runAccount(account: AccountRun, o: PollAccountsOptions): Promise<void> {
  // A push source delivers on its own beside the poll loop, which skips what it streams.
  const streaming = account.stream?.run(o.signal).catch((err) => {
    o.log.error("stream stopped; polling instead", {
      provider: account.provider.id,
      account: account.name,
      error: (err as Error).message,
    });
  });
  const turn = participate(o.clock);
  try {
    await listAndPoll(account, o, turn);
  } finally {
    turn.leave();
  }
  await streaming;
}

async function listAndPoll(account: AccountRun, o: PollAccountsOptions, turn: Participant) {
  const log = o.log.child({ provider: account.provider.id, account: account.name });
  let wait = o.retryS ?? 60;
  let emptyListings = 0;
  while (!o.signal.aborted) {
    let targets: PollTarget[];
    /** The account's cars this process would poll unsharded. */
    let listed: VehicleRef[];
    try {
      const all = await account.provider.listVehicles();
      listed = account.vins.length ? all.filter((v) => account.vins.includes(v.vin)) : all;
      const picked = listed.filter((v) => ownsVin(o.shard, v.vin));
      for (const vin of account.vins) {
        if (!all.some((v) => v.vin === vin)) {
          log.warn("configured VIN not in the account", { vehicle: vinTail(vin) });
        }
      }
      if (o.shard) {
        o.readings.setGauge(
          "ev.shard.vehicles",
          { provider: account.provider.id, account: account.name, shard: shardName(o.shard) },
          picked.length,
        );
        log.info("this shard's cars of the account", {
          shard: shardName(o.shard),
          vehicles: picked.length,
          listed: listed.length,
        });
      }
      targets = picked.map((vehicle) => ({
        provider: account.provider,
        vehicle,
        budget: account.budget,
        account: account.name,
        config: account.config,
        stream: account.stream,
      }));
      // A budget may be shared by accounts on one vendor key: it counts all their vehicles.
      account.budget?.register(targets.map((t) => vehicleKey(t.vehicle)));
      o.onListed?.(account, picked);
    } catch (err) {
      const signIn = err instanceof VendorError &&
        (err.kind === "sign_in_needed" || err.kind === "unauthorized");
      log.error("cannot list the account's vehicles", {
        error: (err as Error).message,
        retry_s: Math.round(wait),
        fix: signIn ? `deno task auth ${account.provider.id}` : undefined,
      });
      try {
        await turn.sleep(wait * 1000, o.signal);
      } catch {
        return; // aborted
      }
      wait = Math.min(MAX_RETRY_S, wait * 2);
      continue;
    }
    if (targets.length === 0) {
      await waitForVehicles(account, o, turn, log, emptyListings++, listed.length);
      wait = o.retryS ?? 60;
      continue;
    }
    // VINs stay out of logs: the last six characters tell the cars apart.
    log.info("polling", {
      vehicles: targets.map((t) => vinTail(t.vehicle.vin)).join(",") || "none",
    });
    // The vehicles join the clock as the scheduler starts; then the account steps aside.
    const running = runScheduler({
      targets,
      readings: o.readings,
      clock: o.clock,
      log: o.log,
      config: o.config,
      signal: o.signal,
      onPoll: o.onPoll,
    });
    turn.leave();
    await running;
    return;
  }
}

/**
 * Nothing to poll on this account (no car yet, or none of the configured VINs): says so once
 * as a warning naming the account and the fix, then waits to list it again. Cars that all
 * belong to other shards are no fault: that is said once, without a warning.
 */
async function waitForVehicles(
  account: AccountRun,
  o: PollAccountsOptions,
  turn: Participant,
  log: Logger,
  listedBefore: number,
  otherShards: number,
): Promise<void> {
  const relistS = o.relistS ?? RELIST_S;
  const relist_min = Math.round(relistS / 60);
  if (otherShards > 0) {
    const message = "every car of this account belongs to another shard; listing it again";
    const fields = { vehicles: otherShards, relist_min };
    if (listedBefore === 0) log.info(message, fields);
    else log.debug(message, fields);
  } else {
    const fields = {
      relist_min,
      fix: account.vins.length
        ? "check the VINs under `vehicles:` of this account in the config"
        : "add the car to this account in the vendor's app; it is polled after the next listing",
    };
    if (listedBefore === 0) {
      log.warn("no vehicle to poll on this account; listing it again", fields);
    } else log.debug("still no vehicle to poll on this account", fields);
  }
  try {
    await turn.sleep(relistS * 1000, o.signal);
  } catch {
    // aborted: the loop ends
  }
}
