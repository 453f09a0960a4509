/**
 * The last known reading of every vehicle, kept in `<state_dir>/last_known.json` so that a
 * restart serves it at once, with its original sample time, and the scheduler resumes where it
 * was (a car known asleep stays asleep until it shows otherwise).
 *
 * Saved with the token store's care: written whole to a temp file, fsynced, renamed (mode 0600)
 * and the folder fsynced (core/atomic_file.ts), so a kill at any moment leaves the old or the
 * new complete file. A file that cannot be read as one is set aside as
 * `last_known.json.corrupt-<time>` with a warning, and the exporter starts without it: never a
 * crash. What the catalog no longer knows (a metric renamed since) is left out of a restore.
 *
 * It also applies `max_value_age`: values whose newest sample is older go, with a log line.
 */
import { z } from "zod";
import { writeFileAtomically } from "./atomic_file.ts";
import { CATALOG, inRange, type MetricDef } from "./catalog.ts";
import type { Clock } from "./clock.ts";
import type { Logger } from "./log.ts";
import { sampleTimeProblem } from "./parse.ts";
import type { Readings, VehicleEntry } from "./readings.ts";
import {
  type Sample,
  type Snapshot,
  type StateSample,
  vehicleKey,
  type VehicleRef,
  vinTail,
} from "./snapshot.ts";

export const LAST_KNOWN_FILE = "last_known.json";
const FILE_VERSION = 1;
/** How often a change is written at most: a kill loses at most this much. */
const SAVE_EVERY_MS = 2_000;

const Labels = z.record(z.string(), z.string());
const Ref = z.object({
  provider: z.string().min(1),
  id: z.string(),
  vin: z.string().min(1),
  name: z.string().optional(),
});
const State = z.enum(["online", "asleep", "offline", "unknown"]);
const SampleJson = z.object({
  metric: z.string(),
  value: z.number(),
  labels: Labels.optional(),
  source: z.string().optional(),
});
const StateJson = z.object({
  metric: z.string(),
  state: z.string(),
  labels: Labels.optional(),
  source: z.string().optional(),
});
const OnDisk = z.object({
  version: z.literal(FILE_VERSION),
  savedAt: z.number(),
  vehicles: z.array(z.object({
    vehicle: Ref,
    account: z.string().optional(),
    state: State,
    lastSampleAt: z.number().optional(),
    info: Labels,
    pollState: z.string().optional(),
    schedule: z.object({
      mode: z.string(),
      asleepSince: z.number().optional(),
      onlineSince: z.number().optional(),
      busyAt: z.number().optional(),
      suspendUntil: z.number().optional(),
    }).optional(),
    snapshot: z.object({
      sampledAt: z.number(),
      state: State,
      samples: z.array(SampleJson),
      states: z.array(StateJson),
      info: Labels,
      partial: z.object({ sources: z.array(z.string()) }).optional(),
    }).optional(),
  })),
});
type OnDisk = z.infer<typeof OnDisk>;

/** An account of the config, as far as deciding which restored vehicles still belong. */
export interface ConfiguredAccount {
  readonly provider: string;
  readonly name: string;
  /** Only these VINs; every vehicle of the account when empty. */
  readonly vehicles: readonly string[];
}

export interface LastKnownOptions {
  /** The config's `state_dir`. */
  readonly stateDir: string;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  /** Positions are written only when they are exported (`location: true`). */
  readonly location: boolean;
  /** `max_value_age`, seconds; values are kept for good without it. */
  readonly maxValueAgeS?: number;
  readonly saveEveryMs?: number;
}

const byName = new Map(CATALOG.map((m) => [m.name, m]));
/** Derived from the store by the exports (export/series.ts), never sampled. */
const DERIVED = new Set([
  "ev.vehicle.state",
  "ev.last_sample.timestamp",
  "ev.vehicle.info",
  "ev.poll.state",
]);

export class LastKnown {
  readonly path: string;
  readonly #o: LastKnownOptions;
  #savedVersion = -1;
  /** The last save failure, logged once until a save works again. */
  #failure?: string;
  #stop?: AbortController;
  #loop?: Promise<void>;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: LastKnownOptions) {
    this.#o = options;
    this.path = `${options.stateDir.replace(/\/+$/, "") || "."}/${LAST_KNOWN_FILE}`;
  }

  /**
   * Reads the file into the readings store, leaving out vehicles that are no longer in the
   * config, and logs how many vehicles came back and how old their values are. Returns that
   * number. Never throws.
   */
  async restore(accounts: readonly ConfiguredAccount[]): Promise<number> {
    const { readings, log } = this.#o;
    const file = await this.#read();
    if (!file) return 0;
    const now = this.#o.clock.now() / 1000;
    let dropped = 0;
    const ages: number[] = [];
    let restored = 0;
    for (const saved of file.vehicles) {
      const tail = vinTail(saved.vehicle.vin);
      if (!belongs(saved, accounts)) {
        log.info("vehicle no longer in the config: its last values are dropped", {
          provider: saved.vehicle.provider,
          vehicle: tail,
        });
        continue;
      }
      // A time ahead of this clock (an older version's file, or the clock set back since)
      // would stay the newest for good: such values are left out, as a poll refuses them.
      const problem = [saved.lastSampleAt, saved.snapshot?.sampledAt]
        .map((t) => t === undefined ? undefined : sampleTimeProblem(t, now))
        .find((p) => p !== undefined);
      if (problem) {
        log.warn("saved sample time cannot be true: the vehicle's values were left out", {
          provider: saved.vehicle.provider,
          vehicle: tail,
          problem,
        });
      }
      const snapshot = saved.snapshot && !problem
        ? this.#snapshotOf(saved.vehicle, saved.snapshot)
        : undefined;
      if (snapshot) {
        dropped += saved.snapshot!.samples.length + saved.snapshot!.states.length -
          snapshot.samples.length - snapshot.states.length;
      }
      readings.restore({
        vehicle: saved.vehicle,
        state: saved.state,
        snapshot,
        lastSampleAt: problem ? undefined : saved.lastSampleAt,
        info: saved.info,
        pollState: saved.pollState,
        schedule: saved.schedule,
        account: saved.account,
      });
      restored++;
      if (saved.lastSampleAt !== undefined && !problem) {
        ages.push(Math.max(0, now - saved.lastSampleAt));
      }
    }
    if (dropped) {
      log.warn("restored values the catalog no longer knows were left out", { values: dropped });
    }
    log.info("restored last known values", {
      vehicles: restored,
      newest_age: ages.length ? age(Math.min(...ages)) : undefined,
      oldest_age: ages.length ? age(Math.max(...ages)) : undefined,
      file: this.path,
    });
    this.#savedVersion = readings.version;
    this.expire();
    return restored;
  }

  /**
   * An account listed its vehicles: restored vehicles of that account it no longer has leave,
   * and their series with them.
   */
  listed(account: string, provider: string, vehicles: readonly VehicleRef[]): void {
    const present = new Set(vehicles.map((v) => vehicleKey(v)));
    for (const [key, entry] of this.#o.readings.vehicles) {
      if (entry.account !== account || entry.vehicle.provider !== provider) continue;
      if (present.has(key)) continue;
      this.#o.readings.forget(entry.vehicle);
      this.#o.log.info("vehicle no longer in the account: its last values are dropped", {
        provider,
        account,
        vehicle: vinTail(entry.vehicle.vin),
      });
    }
  }

  /** Drops values older than `max_value_age`, with a log line per vehicle. */
  expire(): void {
    const maxAge = this.#o.maxValueAgeS;
    if (maxAge === undefined) return;
    const now = this.#o.clock.now() / 1000;
    for (const entry of this.#o.readings.expireValues(now - maxAge)) {
      this.#o.log.info("values older than max_value_age dropped", {
        provider: entry.vehicle.provider,
        vehicle: vinTail(entry.vehicle.vin),
        age: age(now - (entry.lastSampleAt ?? now)),
        max_value_age: age(maxAge),
      });
    }
  }

  /**
   * Writes the file if anything a restart needs changed since the last write. Never throws:
   * a failure is logged (once until a write works again) and tried again next time.
   */
  save(): Promise<void> {
    this.#saving = this.#saving.then(() => this.#save());
    return this.#saving;
  }

  /** Saves every few seconds and applies `max_value_age` until `stop`. */
  start(): void {
    if (this.#stop) return;
    const stop = new AbortController();
    this.#stop = stop;
    const every = this.#o.saveEveryMs ?? SAVE_EVERY_MS;
    this.#loop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await this.#o.clock.sleep(every, stop.signal);
        } catch {
          return;
        }
        this.expire();
        await this.save();
      }
    })();
  }

  /** Stops the loop and writes what changed since the last save. */
  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    await this.save();
  }

  async #save(): Promise<void> {
    const { readings, log } = this.#o;
    const version = readings.version;
    if (version === this.#savedVersion) return;
    const body: OnDisk = {
      version: FILE_VERSION,
      savedAt: Math.round(this.#o.clock.now() / 1000),
      vehicles: [...readings.vehicles.values()].map((e) => this.#toDisk(e)),
    };
    try {
      await Deno.mkdir(this.path.slice(0, this.path.lastIndexOf("/")) || ".", {
        recursive: true,
        mode: 0o700,
      });
      const data = new TextEncoder().encode(JSON.stringify(body) + "\n");
      await writeFileAtomically(this.path, data, { mode: 0o600 });
      this.#savedVersion = version;
      if (this.#failure) log.info("last known values saved again", { file: this.path });
      this.#failure = undefined;
    } catch (err) {
      const reason = `${(err as Error).name}: ${(err as Error).message}`;
      if (reason !== this.#failure) {
        log.warn("cannot save the last known values; trying again", {
          file: this.path,
          error: reason,
        });
      }
      this.#failure = reason;
    }
  }

  #toDisk(e: VehicleEntry): OnDisk["vehicles"][number] {
    const s = e.snapshot;
    const exported = (x: { metric: string }) => this.#o.location || !byName.get(x.metric)?.location;
    return {
      vehicle: {
        provider: e.vehicle.provider,
        id: e.vehicle.id,
        vin: e.vehicle.vin,
        ...(e.vehicle.name !== undefined ? { name: e.vehicle.name } : {}),
      },
      account: e.account,
      state: e.state,
      lastSampleAt: e.lastSampleAt,
      info: e.info,
      pollState: e.pollState,
      schedule: e.schedule,
      snapshot: s && {
        sampledAt: s.sampledAt,
        state: s.state,
        samples: s.samples.filter(exported),
        states: s.states.filter(exported),
        info: s.info,
        ...(s.partial ? { partial: { sources: [...s.partial.sources] } } : {}),
      },
    };
  }

  /** The saved snapshot with only what the catalog still defines, as the exports expect. */
  #snapshotOf(vehicle: VehicleRef, s: NonNullable<OnDisk["vehicles"][number]["snapshot"]>) {
    const samples: Sample[] = s.samples.filter((x) => {
      const def = byName.get(x.metric);
      return def?.kind === "gauge" && !def.exporter && !DERIVED.has(def.name) &&
        inRange(def, x.value) && labelsFit(def, x.labels, []);
    });
    const states: StateSample[] = s.states.filter((x) => {
      const def = byName.get(x.metric);
      return def?.kind === "stateset" && !DERIVED.has(def.name) &&
        (def.states ?? []).includes(x.state) && labelsFit(def, x.labels, ["state"]);
    });
    const snapshot: Snapshot = {
      vehicle,
      sampledAt: s.sampledAt,
      state: s.state,
      samples,
      states,
      info: s.info,
      ...(s.partial ? { partial: s.partial } : {}),
    };
    return snapshot;
  }

  /** The file's content, or undefined (absent, or set aside with a warning). */
  async #read(): Promise<OnDisk | undefined> {
    const log = this.#o.log;
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      log.warn("cannot read the last known values; starting without them", {
        file: this.path,
        error: (err as Error).name,
        fix: `check that the exporter may read ${this.path}`,
      });
      return undefined;
    }
    let reason: string;
    try {
      const parsed = OnDisk.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      reason = `bad fields: ${
        parsed.error.issues.slice(0, 3).map((i) => i.path.join(".") || "(top level)").join(", ")
      }`;
    } catch {
      // Not the parser's message: it quotes the input.
      reason = "not valid JSON";
    }
    const aside = `${this.path}.corrupt-${
      new Date(this.#o.clock.now()).toISOString().replace(/[:.]/g, "-")
    }`;
    const moved = await Deno.rename(this.path, aside).then(() => true, () => false);
    log.warn("last known values unreadable: set aside, starting without them", {
      file: this.path,
      reason,
      set_aside_as: moved ? aside : undefined,
    });
    return undefined;
  }
}

/** Whether a saved vehicle still belongs to an account of the config. */
function belongs(
  saved: { vehicle: { provider: string; vin: string }; account?: string },
  accounts: readonly ConfiguredAccount[],
): boolean {
  return accounts.some((a) =>
    a.provider === saved.vehicle.provider &&
    (saved.account === undefined || a.name === saved.account) &&
    (a.vehicles.length === 0 || a.vehicles.includes(saved.vehicle.vin))
  );
}

function labelsFit(def: MetricDef, labels: Record<string, string> | undefined, own: string[]) {
  return Object.keys(labels ?? {}).every((k) => def.labels.includes(k) && !own.includes(k));
}

/** An age for people: 45 s, 12 min, 5 h, 3 d. */
function age(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}
