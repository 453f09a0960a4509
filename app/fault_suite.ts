/**
 * The fault plan of ev-observer, one definition for the fault tests (app/fault_suite_test.ts)
 * and `deno task bench faults`: two vehicles of one vendor replayed from its day cassette (two
 * Teslas, or two Volvos on their own API keys) on an exact step clock, car A behind a fault
 * plan, car B healthy. `runFaults` plays one case and records what both cars saw; `faultRow`
 * turns that into the report row: requests tried, process alive, other vehicles unaffected,
 * recovery time and data lost.
 */
import { StepClock, VirtualClock } from "../core/clock.ts";
import { HttpError } from "../core/http.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { type PollTarget, runScheduler } from "../core/scheduler.ts";
import type { SchedulerConfig } from "../core/scheduler_config.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { TokenManager, TokenStore } from "../core/tokens.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { startServer } from "../export/server.ts";
import { type Cassette, loadCassette } from "../replay/cassette.ts";
import { type Fault, FaultPlan, type FaultRule, faults } from "../replay/faults.ts";
import { startReplay } from "./replay_session.ts";

export const DAY = new URL("../fixtures/tesla/day/cassette.json", import.meta.url);
const QUOTA_BODY = await Deno.readTextFile(
  new URL("../providers/tesla/testdata/error.403-exceeded-limit.json", import.meta.url),
);
export const VIN_A = "5YJ3E1EA9PF000001";
export const ID_A = "1000000000000001";
const VIN_B = "5YJ3E1EA9PF000002";
const ID_B = "1000000000000002";
/** 07:40 on the day: driving until 08:10, then parked online. */
export const START_S = 27_600;

export type Vendor = "tesla" | "volvo";

/** The two cars of a vendor's runs: A meets the faults, B must not notice. */
export interface Fleet {
  readonly cassette: URL;
  readonly vinA: string;
  /** The vendor's id of car A in API paths (Tesla `id_s`; Volvo uses the VIN). */
  readonly idA: string;
  readonly vinB: string;
  readonly idB: string;
  /** Seconds into the cassette's day where the runs start. */
  readonly startS: number;
  /** Account settings of car B over the simulator's replay account. */
  readonly accountB?: Readonly<Record<string, string>>;
}

const VOLVO_VIN_A = "YV1XZEFV0R2000001";
const VOLVO_VIN_B = "YV1XZEFV0R2000002";
export const FLEETS: Readonly<Record<Vendor, Fleet>> = {
  tesla: { cassette: DAY, vinA: VIN_A, idA: ID_A, vinB: VIN_B, idB: ID_B, startS: START_S },
  // The XC40 BEV day: the morning commute 07:40–08:12, then parked.
  volvo: {
    cassette: new URL("../fixtures/volvo/xc40-bev-day/cassette.json", import.meta.url),
    vinA: VOLVO_VIN_A,
    idA: VOLVO_VIN_A,
    vinB: VOLVO_VIN_B,
    idB: VOLVO_VIN_B,
    startS: 27_600,
    // Each car on its own API key, as two households would be: the key's quota and rate
    // limit (faults on A's key) are not B's.
    accountB: { vcc_api_key: "replay-vcc-api-key-b" },
  },
};
export const RUN_S = 1_100;
/** Faults last this long (storms); afterwards the car must recover. */
export const STORM_S = 500;
/** The pace of the suite: a read a minute while driving, so faults meet many requests. */
export const FAULT_POLLING: Partial<SchedulerConfig> = {
  driving_s: 60,
  charging_min_s: 60,
  charging_max_s: 60,
  online_s: 120,
  asleep_s: 300,
  backoff_s: 30,
  max_backoff_s: 240,
};
/** The faulty car's request timeout; the healthy one gets a generous one (a busy machine). */
export const TIMEOUT_MS = 150;
export const MAX_BODY = 1 << 20;
const VEHICLES = "/api/1/vehicles/**";
export const DATA = "/api/1/vehicles/*/vehicle_data";
const DATA_ENDPOINT = "/api/1/vehicles/{id}/vehicle_data";

export interface Poll {
  /** Seconds since the run's start. */
  readonly at: number;
  readonly outcome: "snapshot" | "state" | "woke" | "error";
  readonly kind?: string;
  /** The values the read gave (samples, states, vendor time), as JSON. */
  readonly values?: string;
  /** The endpoints it read, when only some (Volvo). */
  readonly endpoints?: readonly string[];
}

export interface Run {
  readonly a: Poll[];
  readonly b: Poll[];
  /** /metrics after the run. */
  readonly metrics: string;
  /** Status of every /metrics scrape made while the scheduler ran. */
  readonly scrapes: number[];
  readonly lines: string[];
  /** Requests that met the fault, with their time (s since the run's start). */
  readonly injected: readonly number[];
  /** Unhandled promise rejections during the run (none means nothing escaped). */
  readonly unhandled: readonly unknown[];
  /** Requests no recorded exchange could answer. */
  readonly unmatched: readonly string[];
  /** Token and cassette files before and after (SHA-256 by path). */
  readonly files: { readonly before: string; readonly after: string };
  /** Car A's cassette, for fault-free reference reads. */
  readonly cassetteA: Cassette;
  readonly origin: number;
  readonly vendor: Vendor;
}

/** What a fault must show, beyond surviving it. */
export interface Expect {
  /** `status` label of ev_api_requests_total the fault shows up under. */
  readonly status: string;
  /** `kind` of the poll error (ev_poll_errors_total, log). */
  readonly kind: string;
  /** Text the "poll failed" log line carries. */
  readonly log?: RegExp;
  /** The wait the vendor asked for, s. */
  readonly retryAfterS?: number;
  /** A storm long enough for the backoff to reach its cap. */
  readonly storm?: boolean;
  /** Field of ev_parse_errors_total that counts it. */
  readonly parseField?: string;
  /**
   * Some endpoints of a read fail while others answer (Volvo): the reads go on with what
   * answered, so no poll fails; each refused answer is counted and logged by endpoint.
   */
  readonly partial?: boolean;
  readonly endpoint?: string;
}

export interface FaultCase {
  /** The cars it is played on (Tesla when absent). */
  readonly vendor?: Vendor;
  /** Short name: the table's first column and `--only`. */
  readonly name: string;
  /** What the test is called. */
  readonly title: string;
  readonly rules: FaultRule[];
  /** Undefined: the fault is harmless (nothing may be counted as failed). */
  readonly expect?: Expect;
}

const storm = (fault: Fault, path: string | RegExp = VEHICLES): FaultRule[] => [
  { path, from: 0, until: STORM_S, fault },
];

const HTML_200 = "<!doctype html><title>Maintenance</title><h1>Back soon</h1>";
const EXPIRED_401 = { response: null, error: "token expired (401)", error_description: "" };

/** Every request about car A's data on Volvo (not the vehicle list). */
const VOLVO_CAR = /^\/(connected-vehicle\/v2\/vehicles\/[^/]+(\/[^/]+)?|energy\/v2\/vehicles\/.+)$/;
/** Connected Vehicle only: the endpoints whose bodies come in a `data` envelope. */
const VOLVO_CV = /^\/connected-vehicle\/v2\/vehicles\/[^/]+(\/[^/]+)?$/;
/** The vehicle details: the first request of the first read, so every fault meets it. */
const VOLVO_DETAILS = "/connected-vehicle/v2/vehicles/{vin}";
const VOLVO_401 = await Deno.readTextFile(
  new URL("../providers/volvo/testdata/error.401-unauthorized.json", import.meta.url),
);
const VOLVO_QUOTA = JSON.stringify({
  statusCode: 403,
  message: "Out of call volume quota. Quota will be replenished in 00:06:40.",
});

/** Every fault of the suite, in table order. */
export const FAULT_CASES: readonly FaultCase[] = [
  ...[500, 502, 503, 504].map((status): FaultCase => ({
    name: `${status} storm`,
    title: `fault: ${status} storm`,
    rules: storm(faults.status(status)),
    expect: {
      status: String(status),
      kind: "server",
      log: new RegExp(`Tesla answered ${status}`),
      storm: true,
    },
  })),
  {
    name: "503 + Retry-After",
    title: "fault: 503 with Retry-After is waited out",
    rules: storm(faults.status(503, undefined, { "retry-after": "200" })),
    expect: { status: "503", kind: "server", retryAfterS: 200 },
  },
  {
    name: "HTML 502 page",
    title: "fault: HTML error page from a proxy (502)",
    rules: storm(faults.htmlError(502)),
    expect: { status: "502", kind: "server", storm: true },
  },
  {
    name: "hung server",
    title: "fault: hung server (never answers): the timeout fires",
    rules: storm({ kind: "hang" }),
    expect: { status: "timeout", kind: "timeout", log: /no answer within 150 ms/, storm: true },
  },
  {
    name: "silent socket",
    title: "fault: silent socket (accepted, never answered): the timeout fires",
    rules: storm({ kind: "silent" }),
    expect: { status: "timeout", kind: "timeout", storm: true },
  },
  {
    name: "slow body",
    title: "fault: slow body (headers, then a trickle): the timeout fires",
    rules: storm({ kind: "slow_body", chunkBytes: 8, intervalMs: 40 }),
    expect: { status: "timeout", kind: "timeout", storm: true },
  },
  {
    name: "reset",
    title: "fault: connection reset before any answer",
    rules: storm({ kind: "reset" }),
    expect: { status: "network_error", kind: "network" },
  },
  {
    name: "reset mid-body",
    title: "fault: connection reset in the middle of the body",
    rules: storm({ kind: "reset_body" }),
    expect: { status: "network_error", kind: "network", log: /error reading a body/ },
  },
  {
    name: "refused",
    title: "fault: connection refused",
    rules: storm({ kind: "refused" }),
    expect: { status: "network_error", kind: "network" },
  },
  {
    name: "DNS failure",
    title: "fault: DNS failure (a real .invalid host), reported without the URL",
    rules: storm({ kind: "dns" }),
    expect: { status: "network_error", kind: "network", log: /dns error/, storm: true },
  },
  {
    name: "truncated JSON",
    title: "fault: truncated JSON",
    rules: storm({ kind: "truncate", keep: 0.6 }, DATA),
    expect: dataFault("malformed"),
  },
  {
    name: "malformed JSON",
    title: "fault: malformed JSON",
    rules: storm({ kind: "malformed" }, DATA),
    expect: dataFault("malformed"),
  },
  {
    name: "HTML with 200",
    title: "fault: an HTML page with status 200 and a text/html type",
    rules: storm({ kind: "content_type", contentType: "text/html", body: HTML_200 }, DATA),
    expect: { ...dataFault("malformed"), log: /body is not JSON/ },
  },
  {
    name: "wrong content type",
    title: "fault: valid JSON under a wrong content type is used as is",
    rules: storm({ kind: "content_type", contentType: "text/plain" }, DATA),
  },
  {
    name: "huge body (streamed)",
    title: "fault: a body far over the cap (streamed, no length) is refused",
    rules: storm({ kind: "huge", bytes: 16 * MAX_BODY }, DATA),
    expect: { ...dataFault("too_large"), log: /exceeds the 1048576-byte limit/ },
  },
  {
    name: "huge body (declared)",
    title: "fault: a body far over the cap (declared length) is refused unread",
    rules: storm({ kind: "huge", bytes: 256 * MAX_BODY, declareLength: true }, DATA),
    expect: { ...dataFault("too_large"), log: /of 268435456 bytes exceeds/ },
  },
  {
    name: "401 mid-session",
    title: "fault: 401 in the middle of a session",
    rules: [{ path: DATA, nth: [3, 4], fault: faults.status(401, EXPIRED_401) }],
    expect: {
      status: "401",
      kind: "unauthorized",
      endpoint: DATA_ENDPOINT,
      log: /access token rejected/,
    },
  },
  {
    name: "429 + Retry-After",
    title: "fault: 429 with Retry-After is honoured",
    rules: storm(faults.rateLimited(120)),
    expect: { status: "429", kind: "rate_limited", retryAfterS: 120 },
  },
  {
    name: "429, no Retry-After",
    title: "fault: 429 without Retry-After waits the default 300 s",
    rules: storm(faults.rateLimited()),
    expect: { status: "429", kind: "rate_limited", retryAfterS: 300 },
  },
  {
    name: "quota exhausted",
    title: "fault: quota exhausted (Tesla 403 EXCEEDED_LIMIT)",
    rules: storm(faults.status(403, QUOTA_BODY)),
    expect: { status: "403", kind: "quota", retryAfterS: 900, log: /billing limit/ },
  },
  ...VOLVO_CASES(),
];

/** The Volvo rows: the same columns, on two replayed XC40s. */
function VOLVO_CASES(): FaultCase[] {
  const volvo = (c: Omit<FaultCase, "vendor" | "title"> & { what: string }): FaultCase => ({
    vendor: "volvo",
    name: `Volvo ${c.name}`,
    title: `fault (Volvo): ${c.what}`,
    rules: c.rules,
    expect: c.expect,
  });
  const carStorm = (fault: Fault) => storm(fault, VOLVO_CAR);
  return [
    ...[500, 503].map((status) =>
      volvo({
        name: `${status} storm`,
        what: `${status} storm on every endpoint of the car`,
        rules: carStorm(faults.status(status)),
        expect: {
          status: String(status),
          kind: "server",
          log: new RegExp(`Volvo answered ${status}`),
          storm: true,
          endpoint: VOLVO_DETAILS,
        },
      })
    ),
    volvo({
      name: "HTML with 200",
      what: "an HTML page with status 200 and a text/html type",
      rules: carStorm({ kind: "content_type", contentType: "text/html", body: HTML_200 }),
      expect: {
        status: "200",
        kind: "malformed",
        endpoint: VOLVO_DETAILS,
        parseField: VOLVO_DETAILS,
        log: /body is not JSON/,
        storm: true,
      },
    }),
    volvo({
      name: "truncated JSON",
      what: "truncated JSON",
      rules: carStorm({ kind: "truncate", keep: 0.6 }),
      expect: {
        status: "200",
        kind: "malformed",
        endpoint: VOLVO_DETAILS,
        parseField: VOLVO_DETAILS,
        storm: true,
      },
    }),
    volvo({
      name: "body without data",
      what: "Connected Vehicle bodies without their data envelope: Energy v2 still read",
      rules: storm(faults.status(200, { status: 200, operationId: "fault-suite" }), VOLVO_CV),
      expect: {
        status: "200",
        kind: "malformed",
        endpoint: VOLVO_DETAILS,
        parseField: `${VOLVO_DETAILS}.data`,
        log: /no \\?"data\\?" in the body/,
        partial: true,
      },
    }),
    volvo({
      name: "401 mid-session",
      what: "401 (access token rejected) in the middle of a session",
      // The first read's third request (doors, after the details and capabilities), then the
      // retry's first.
      rules: [{ path: VOLVO_CAR, nth: [3, 4], fault: faults.status(401, VOLVO_401) }],
      expect: {
        status: "401",
        kind: "unauthorized",
        endpoint: `${VOLVO_DETAILS}/doors`,
        log: /rejected the access token/,
      },
    }),
    volvo({
      name: "quota exhausted",
      what: "the daily quota 403, waited out for its countdown",
      rules: carStorm(faults.status(403, VOLVO_QUOTA)),
      expect: {
        status: "403",
        kind: "quota",
        retryAfterS: 400,
        log: /quota/,
        endpoint: VOLVO_DETAILS,
      },
    }),
    volvo({
      name: "429 + long Retry-After",
      what: "429 with a long Retry-After is honoured",
      rules: carStorm(faults.status(429, "Too Many Requests", { "retry-after": "400" })),
      expect: { status: "429", kind: "rate_limited", retryAfterS: 400, endpoint: VOLVO_DETAILS },
    }),
    volvo({
      name: "slow body",
      what: "slow body (headers, then a trickle): the timeout fires",
      rules: carStorm({ kind: "slow_body", chunkBytes: 8, intervalMs: 40 }),
      expect: { status: "timeout", kind: "timeout", storm: true, endpoint: VOLVO_DETAILS },
    }),
    volvo({
      name: "hung server",
      what: "hung server (never answers): the timeout fires",
      rules: carStorm({ kind: "hang" }),
      expect: {
        status: "timeout",
        kind: "timeout",
        log: /no answer within 150 ms/,
        storm: true,
        endpoint: VOLVO_DETAILS,
      },
    }),
  ];
}

function dataFault(kind: string): Expect {
  const status = kind === "too_large" ? "too_large" : "200";
  return {
    status,
    kind,
    endpoint: DATA_ENDPOINT,
    ...(kind === "malformed" ? { parseField: DATA_ENDPOINT } : {}),
  };
}

/** SHA-256 of every file under `dir`, one line each. */
async function digestDir(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
        out.push(`${p.slice(dir.length)} ${new Uint8Array(digest).toHex()}`);
      }
    }
  };
  await walk(dir);
  return out.sort().join("\n");
}

/** The stored values of a snapshot, comparable across runs. */
/** A read's values as compared across runs: samples, states and the vendor's time. */
export function values(s: Snapshot): string {
  return JSON.stringify({ sampledAt: s.sampledAt, samples: s.samples, states: s.states });
}

export interface RunOptions {
  /** Folder for the run's token and cassette files (default: the system's temp folder). */
  readonly scratch?: string;
  /** The cars to play (Tesla when absent). */
  readonly vendor?: Vendor;
}

/** A fixed jitter source (mulberry32), so every run, and the bench's table, is repeatable. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a fault run works in: the rejections nobody handled, a folder, its debug log. */
export interface FaultScope {
  readonly unhandled: unknown[];
  readonly dir: string;
  readonly lines: string[];
  readonly log: Logger;
}

/**
 * Runs `fn` in a fresh scope: unhandled rejections caught (and kept, not thrown), a temporary
 * folder (under `scratch` when given), a debug log kept in memory; the folder removed after.
 */
export async function inFaultScope<T>(
  prefix: string,
  scratch: string | undefined,
  fn: (scope: FaultScope) => Promise<T>,
): Promise<T> {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: PromiseRejectionEvent) => {
    unhandled.push(e.reason);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    if (scratch) await Deno.mkdir(scratch, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix, dir: scratch });
    const lines: string[] = [];
    const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
    try {
      return await fn({ unhandled, dir, lines, log });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
}

/** Plays both cars for RUN_S seconds with `rules` on car A. */
export function runFaults(
  rules: readonly FaultRule[],
  options: RunOptions = {},
): Promise<Run> {
  return inFaultScope("ev-faults-", options.scratch, async ({ unhandled, dir, lines, log }) => {
    const vendor = options.vendor ?? "tesla";
    const fleet = FLEETS[vendor];
    const dayText = await Deno.readTextFile(fleet.cassette);
    await Deno.writeTextFile(`${dir}/a.json`, dayText);
    await Deno.writeTextFile(
      `${dir}/b.json`,
      dayText.replaceAll(fleet.vinA, fleet.vinB).replaceAll(fleet.idA, fleet.idB),
    );
    const store = new TokenStore({ stateDir: dir, provider: vendor, account: "faults", log });
    await store.save({
      access_token: "fault-suite-access-token",
      refresh_token: "fault-suite-refresh-token",
      expires_at: 4_000_000_000,
      obtained_at: 1_773_000_000,
      token_type: "Bearer",
      extra: {},
    });
    const before = await digestDir(dir);

    const cassettes = [await loadCassette(`${dir}/a.json`), await loadCassette(`${dir}/b.json`)];
    const origin = (cassettes[0].startedAt + fleet.startS) * 1000;
    const clock = new StepClock(origin);
    const plan = new FaultPlan(rules, { clock, log });
    const tokens = new TokenManager({
      store,
      clock,
      log,
      refresh: () => Promise.reject(new Error("no refresh expected in the fault suite")),
      signInCommand: "deno task auth tesla --account faults",
    });
    const readings = new Readings();
    const session = await startReplay({
      cassettes,
      clock,
      readings,
      log,
      location: false,
      faults: [plan],
      http: [{ timeoutMs: TIMEOUT_MS, maxBodyBytes: MAX_BODY }, { timeoutMs: 30_000 }],
      accessToken: () => tokens.accessToken(),
      accounts: [undefined, fleet.accountB],
    });
    const server = startServer({
      hostname: "127.0.0.1",
      port: 0,
      prometheus: new PrometheusExport(readings),
      log,
    });
    let played: Awaited<ReturnType<typeof playCars>>;
    let unmatched: string[] = [];
    try {
      played = await playCars({
        targets: session.targets,
        readings,
        clock,
        log,
        origin,
        vinA: fleet.vinA,
        metricsUrl: new URL("/metrics", server.url),
      });
      unmatched = session.unmatched();
    } finally {
      await server.shutdown();
      await session.shutdown();
    }
    return {
      ...played,
      lines,
      injected: plan.injected.map((i) => i.at),
      unhandled,
      unmatched,
      files: { before, after: await digestDir(dir) },
      cassetteA: cassettes[0],
      origin: origin / 1000,
      vendor,
    };
  });
}

/**
 * Plays both cars' targets for RUN_S seconds from `origin` under the suite's polling, with
 * /metrics scraped every 20 ms all along: each poll of car A (`vinA`) and car B with what the
 * read itself gave (before the store merged it), every scrape's status, and the exposition at
 * the end.
 */
export async function playCars(o: {
  readonly targets: readonly PollTarget[];
  readonly readings: Readings;
  readonly clock: StepClock;
  readonly log: Logger;
  readonly origin: number;
  readonly vinA: string;
  readonly metricsUrl: URL;
}): Promise<{ a: Poll[]; b: Poll[]; scrapes: number[]; metrics: string }> {
  const { clock, origin } = o;
  const reads = new Map<string, Snapshot | undefined>();
  const targets = o.targets.map((t) => ({
    ...t,
    provider: {
      ...t.provider,
      fetch: async (...args: Parameters<typeof t.provider.fetch>) => {
        reads.delete(t.vehicle.vin);
        const snapshot = await t.provider.fetch(...args);
        reads.set(t.vehicle.vin, snapshot);
        return snapshot;
      },
    },
  }));
  const a: Poll[] = [];
  const b: Poll[] = [];
  const scrapes: number[] = [];
  let running = true;
  try {
    const scraper = (async () => {
      while (running) {
        const res = await fetch(o.metricsUrl);
        await res.body?.cancel();
        scrapes.push(res.status);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const controller = new AbortController();
    const done = runScheduler({
      targets,
      readings: o.readings,
      clock,
      log: o.log,
      config: FAULT_POLLING,
      signal: controller.signal,
      random: seeded(7),
      onPoll: (target, outcome) => {
        const read = outcome.kind === "snapshot" ? reads.get(target.vehicle.vin) : undefined;
        const poll: Poll = {
          at: (clock.now() - origin) / 1000,
          outcome: outcome.kind,
          kind: outcome.kind === "error" ? (outcome.error as HttpError).kind : undefined,
          values: read ? values(read) : undefined,
          ...(read?.partial ? { endpoints: read.partial.sources } : {}),
        };
        (target.vehicle.vin === o.vinA ? a : b).push(poll);
      },
    });
    await clock.run(origin + RUN_S * 1000, targets.length);
    controller.abort();
    await done;
    running = false;
    await scraper;
  } finally {
    running = false;
  }
  const metrics = await (await fetch(o.metricsUrl)).text();
  return { a, b, scrapes, metrics };
}

const baselineRuns = new Map<Vendor, Promise<Run>>();
/** The fault-free run of a vendor's cars every case is compared with (made once). */
export function baseline(options: RunOptions = {}): Promise<Run> {
  const vendor = options.vendor ?? "tesla";
  let run = baselineRuns.get(vendor);
  if (!run) baselineRuns.set(vendor, run = runFaults([], options));
  return run;
}

export interface FaultRow {
  readonly fault: string;
  /** Requests the faulty car sent into the fault. */
  readonly requests_tried: number;
  /** No unhandled rejection, every /metrics scrape answered, every request matched. */
  readonly alive: boolean;
  /** The healthy car's polls and values are exactly those of the fault-free run. */
  readonly unaffected: boolean;
  /** Virtual seconds from the fault's end to the faulty car's next good read. */
  readonly recovery_s: number | null;
  /**
   * Nothing lost: the healthy car as fault-free, the faulty car's first read after the fault
   * equal to a fault-free read at that moment, and the token and cassette files unchanged.
   */
  readonly data_lost: boolean;
}

/** When the fault ended: its window's end, or the last request that met it. */
function faultEnd(rules: readonly FaultRule[], injected: readonly number[]): number {
  const windows = rules.map((r) => r.until ?? 0);
  return Math.max(0, ...windows, ...injected);
}

/**
 * Car A's values read fault-free at `at` (s since the run's start), of the same endpoints as
 * the read being compared when it read only some (after a full read at the start, as the run
 * made, so the provider knows the car the same way); undefined when the car was asleep.
 */
async function referenceRead(
  run: Run,
  at: number,
  endpoints?: readonly string[],
): Promise<string | undefined> {
  const clock = new VirtualClock(run.origin * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const session = await startReplay({
    cassettes: [run.cassetteA],
    clock,
    readings,
    log,
    location: false,
  });
  try {
    const { provider, vehicle } = session.targets[0];
    if (endpoints) await provider.fetch(vehicle);
    clock.advance(at * 1000);
    const snapshot = await provider.fetch(vehicle, endpoints ? { endpoints } : undefined);
    return snapshot && values(snapshot);
  } finally {
    await session.shutdown();
  }
}

/** The report row of one case, against the fault-free baseline. */
export async function faultRow(c: FaultCase, run: Run, base: Run): Promise<FaultRow> {
  const unaffected = JSON.stringify(run.b) === JSON.stringify(base.b);
  const end = faultEnd(c.rules, run.injected);
  const recovered = run.a.find((p) => p.at >= end && p.outcome === "snapshot");
  const reference = recovered && await referenceRead(run, recovered.at, recovered.endpoints);
  const faultyCarBack = recovered !== undefined && recovered.values === reference;
  return {
    fault: c.name,
    requests_tried: run.injected.length,
    alive: run.unhandled.length === 0 && run.unmatched.length === 0 &&
      run.scrapes.length > 0 && run.scrapes.every((s) => s === 200),
    unaffected,
    recovery_s: recovered ? Math.round((recovered.at - end) * 10) / 10 : null,
    data_lost: !(unaffected && faultyCarBack && run.files.before === run.files.after),
  };
}

const rows = new Map<string, FaultRow>();

/** One case, played and reported (the row is kept for `faultRows`). */
export async function runFaultCase(
  c: FaultCase,
  options: RunOptions = {},
): Promise<{ run: Run; row: FaultRow }> {
  const vendor = c.vendor ?? "tesla";
  const run = await runFaults(c.rules, { ...options, vendor });
  const row = await faultRow(c, run, await baseline({ ...options, vendor }));
  rows.set(c.name, row);
  return { run, row };
}

/** The report: a row per case, played now unless this process already played it. */
export async function faultRows(
  cases: readonly FaultCase[] = FAULT_CASES,
  options: RunOptions & { onRow?: (row: FaultRow) => void } = {},
): Promise<FaultRow[]> {
  const out: FaultRow[] = [];
  for (const c of cases) {
    const row = rows.get(c.name) ?? (await runFaultCase(c, options)).row;
    options.onRow?.(row);
    out.push(row);
  }
  return out;
}

/** The report as a Markdown table (the README quotes it). */
export function faultTable(report: readonly FaultRow[]): string {
  const yes = (ok: boolean) => ok ? "yes" : "**NO**";
  return [
    "| fault | requests tried | process alive | vehicles unaffected | recovery (virtual s) | data lost |",
    "|---|---:|:---:|:---:|---:|:---:|",
    ...report.map((r) =>
      `| ${r.fault} | ${r.requests_tried} | ${yes(r.alive)} | ${yes(r.unaffected)} | ${
        r.recovery_s ?? "never"
      } | ${r.data_lost ? "**LOST**" : "none"} |`
    ),
  ].join("\n");
}
