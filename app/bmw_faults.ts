/**
 * The BMW rows of the fault suite: two BMW accounts (an i4 each, each its own 50 calls a day)
 * on the simulated CarData API, on an exact step clock, the REST stream-less as when the
 * stream is down; car A's API behind a fault plan, car B healthy. The same columns as the
 * replayed Tesla and Volvo rows (app/fault_suite.ts): requests tried, process alive, the other
 * car unaffected, recovery, data lost. BMW's own answers are among the faults: CU-429 (a 403)
 * pauses the account until 00:00 UTC, CU-102 (a 401) costs one refresh; a dead stream broker
 * is app/bmw_faults_test.ts's, on a real Mosquitto.
 */
import { type Clock, StepClock, VirtualClock } from "../core/clock.ts";
import { Http } from "../core/http.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import type { VehicleRef } from "../core/snapshot.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { startServer } from "../export/server.ts";
import { ENDPOINT } from "../providers/bmw/api.ts";
import { bmwTokenStore } from "../providers/bmw/identity.ts";
import { bmwPlugin } from "../providers/bmw/mod.ts";
import { FakeBmw, SIM_CLIENT_ID } from "../providers/bmw/sim/fake_bmw.ts";
import { I4_VIN, i4Day } from "../providers/bmw/sim/scenario.ts";
import { type Fault, FaultPlan, type FaultRule, faults, faultyFetch } from "../replay/faults.ts";
import {
  type Expect,
  type FaultRow,
  inFaultScope,
  MAX_BODY,
  playCars,
  type Poll,
  STORM_S,
  TIMEOUT_MS,
  values,
} from "./fault_suite.ts";

const DAY = Date.UTC(2026, 5, 10);
/** 07:40, driving until 08:06; the quota case starts 23:45, so its pause ends at midnight. */
const MORNING_S = 27_600;
const LATE_S = 85_500;
const VIN_A = I4_VIN;
const VIN_B = "WBY00SIMULATED002";
/** Car A's telematic data: the one read of a poll. */
const DATA = "/customers/vehicles/*/telematicData";

export interface BmwFaultCase {
  readonly name: string;
  readonly title: string;
  readonly rules: FaultRule[];
  /** Seconds into the i4 day where the run starts (07:40 when absent). */
  readonly startS?: number;
  /** Undefined: harmless (nothing may be counted as failed). */
  readonly expect?: Expect;
}

const storm = (fault: Fault, path = DATA): FaultRule[] => [
  { path, from: 0, until: STORM_S, fault },
];
const carData = (status: number, id: string, message: string) =>
  faults.status(status, { exveErrorId: id, exveErrorMsg: message, exveErrorRef: "fault-suite" });
const data = (e: Omit<Expect, "endpoint">): Expect => ({ ...e, endpoint: ENDPOINT.telematicData });

export const BMW_FAULT_CASES: readonly BmwFaultCase[] = [
  {
    name: "BMW 500 storm",
    title: "fault (BMW): 500 storm on the telematic data",
    rules: storm(faults.status(500)),
    expect: data({ status: "500", kind: "server", log: /BMW answered 500/, storm: true }),
  },
  {
    name: "BMW 503 + Retry-After",
    title: "fault (BMW): 503 with Retry-After is waited out",
    rules: storm(faults.status(503, undefined, { "retry-after": "200" })),
    expect: data({ status: "503", kind: "server", retryAfterS: 200 }),
  },
  {
    name: "BMW HTML 502 page",
    title: "fault (BMW): an HTML error page from a proxy (502)",
    rules: storm(faults.htmlError(502)),
    expect: data({ status: "502", kind: "server", storm: true }),
  },
  {
    name: "BMW hung server",
    title: "fault (BMW): hung server (never answers): the timeout fires",
    rules: storm({ kind: "hang" }),
    expect: data({
      status: "timeout",
      kind: "timeout",
      log: /no answer within 150 ms/,
      storm: true,
    }),
  },
  {
    name: "BMW reset",
    title: "fault (BMW): connection reset before any answer",
    rules: storm({ kind: "reset" }),
    expect: data({ status: "network_error", kind: "network" }),
  },
  {
    name: "BMW malformed JSON",
    title: "fault (BMW): malformed JSON, counted under its endpoint",
    rules: storm({ kind: "malformed" }),
    expect: data({
      status: "200",
      kind: "malformed",
      parseField: ENDPOINT.telematicData,
      log: /body is not JSON/,
    }),
  },
  {
    name: "BMW truncated JSON",
    title: "fault (BMW): truncated JSON",
    rules: storm({ kind: "truncate", keep: 0.6 }),
    expect: data({ status: "200", kind: "malformed", parseField: ENDPOINT.telematicData }),
  },
  {
    name: "BMW body without telematicData",
    title: "fault (BMW): JSON without telematicData, counted under the field",
    rules: storm(faults.status(200, { data: [] })),
    expect: data({ status: "200", kind: "malformed", parseField: "telematicData" }),
  },
  {
    name: "BMW 401 mid-session (CU-102)",
    title: "fault (BMW): CU-102 (401) twice: one refresh, then the read fails and recovers",
    rules: [{ path: DATA, nth: [3, 4], fault: carData(401, "CU-102", "token expired") }],
    expect: data({ status: "401", kind: "unauthorized", log: /BMW rejected the access token/ }),
  },
  {
    name: "BMW expired token (CU-102)",
    title: "fault (BMW): the access token expires early: refreshed once, no read lost",
    rules: [{ path: DATA, nth: [3], fault: carData(401, "CU-102", "token expired") }],
  },
  {
    name: "BMW CU-429 (403)",
    title: "fault (BMW): CU-429 (a 403) pauses the account until 00:00 UTC, no sign-in asked",
    startS: LATE_S,
    rules: storm(carData(403, "CU-429", "API rate limit reached")),
    expect: data({
      status: "403",
      kind: "quota",
      retryAfterS: 86_400 - LATE_S,
      log: /50 CarData API calls a day/,
    }),
  },
];

export interface BmwRun {
  readonly a: Poll[];
  readonly b: Poll[];
  readonly metrics: string;
  readonly scrapes: number[];
  readonly lines: string[];
  readonly injected: readonly number[];
  readonly unhandled: readonly unknown[];
  /** The faulty car's sign-in after the run: its access token valid at the fake, not asking. */
  readonly signedIn: boolean;
  readonly tokenRefreshes: number;
  readonly origin: number;
  /** Where its files went, for the reference read's. */
  readonly scratch?: string;
}

interface CarWiring {
  readonly fake: FakeBmw;
  readonly name: string;
  readonly vin: string;
  readonly dir: string;
  readonly http: Http;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
}

/** One BMW account as a sign-in leaves it, opened as `deno task poll` does, stream off. */
async function openCar(w: CarWiring) {
  await bmwTokenStore(w.dir, w.name, w.log).save(w.fake.signIn());
  const session = await bmwPlugin.openAccount!({
    account: {
      provider: "bmw",
      name: w.name,
      vehicles: [w.vin],
      client_id: SIM_CLIENT_ID,
      auth_host: w.fake.url,
      api_base_url: w.fake.url,
      stream: false,
    },
    label: `config.yaml accounts[${w.name}]`,
    stateDir: w.dir,
    env: {},
    http: w.http,
    readings: w.readings,
    clock: w.clock,
    log: w.log,
    location: false,
  });
  const vehicle: VehicleRef = { provider: "bmw", id: w.vin, vin: w.vin };
  return { session, vehicle };
}

/** Plays both BMWs for RUN_S seconds from `startS` with `rules` on car A's API. */
export function runBmwFaults(
  rules: readonly FaultRule[],
  options: { startS?: number; scratch?: string } = {},
): Promise<BmwRun> {
  return inFaultScope("ev-bmw-faults-", options.scratch, async (scope) => {
    const { unhandled, dir, lines, log } = scope;
    const origin = DAY + (options.startS ?? MORNING_S) * 1000;
    const clock = new StepClock(origin);
    const plan = new FaultPlan(rules, { clock, log });
    const events = i4Day(DAY);
    const now = () => clock.now();
    const fakes = [
      new FakeBmw({ now, events, vin: VIN_A, faults: plan }),
      new FakeBmw({ now, events, vin: VIN_B }),
    ];
    const readings = new Readings();
    const server = startServer({
      hostname: "127.0.0.1",
      port: 0,
      prometheus: new PrometheusExport(readings),
      log,
    });
    try {
      const targets = [];
      for (const [i, fake] of fakes.entries()) {
        const name = i === 0 ? "a" : "b";
        const vin = i === 0 ? VIN_A : VIN_B;
        const http = new Http({
          provider: "bmw",
          readings,
          now,
          ...(i === 0
            ? { timeoutMs: TIMEOUT_MS, maxBodyBytes: MAX_BODY, fetch: faultyFetch(plan) }
            : { timeoutMs: 30_000 }),
        });
        const { session, vehicle } = await openCar({
          fake,
          name,
          vin,
          dir,
          http,
          readings,
          clock,
          log,
        });
        targets.push({ provider: session.provider, vehicle, account: name, session });
      }
      const played = await playCars({
        targets,
        readings,
        clock,
        log,
        origin,
        vinA: VIN_A,
        metricsUrl: new URL("/metrics", server.url),
      });
      const record = await bmwTokenStore(dir, "a", log).read();
      return {
        ...played,
        lines,
        injected: plan.injected.map((i) => i.at),
        unhandled,
        signedIn: record !== undefined && fakes[0].auth.isValid(record.access_token) &&
          targets[0].session.tokenStatus().state === "ok",
        tokenRefreshes: fakes[0].auth.counts.refreshes,
        origin: origin / 1000,
        ...(options.scratch ? { scratch: options.scratch } : {}),
      };
    } finally {
      await server.shutdown();
      for (const fake of fakes) await fake.shutdown();
    }
  });
}

/** Car A's values read fault-free at `at` (s since the run's start), by a fresh account. */
async function referenceRead(run: BmwRun, at: number): Promise<string | undefined> {
  const clock = new VirtualClock((run.origin + at) * 1000, 0);
  const fake = new FakeBmw({ now: () => clock.now(), events: i4Day(DAY), vin: VIN_A });
  const dir = await Deno.makeTempDir({ prefix: "ev-bmw-reference-", dir: run.scratch });
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  try {
    const http = new Http({ provider: "bmw", readings, now: () => clock.now() });
    const { session, vehicle } = await openCar({
      fake,
      name: "a",
      vin: VIN_A,
      dir,
      http,
      readings,
      clock,
      log,
    });
    const snapshot = await session.provider.fetch(vehicle);
    return snapshot && values(snapshot);
  } finally {
    await fake.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const baselines = new Map<number, Promise<BmwRun>>();
/** The fault-free run from `startS` every case starting there is compared with (made once). */
export function bmwBaseline(startS = MORNING_S, scratch?: string): Promise<BmwRun> {
  let run = baselines.get(startS);
  if (!run) baselines.set(startS, run = runBmwFaults([], { startS, scratch }));
  return run;
}

/** The report row of one case, against the fault-free run from the same moment. */
export async function bmwFaultRow(c: BmwFaultCase, run: BmwRun): Promise<FaultRow> {
  const base = await bmwBaseline(c.startS, run.scratch);
  const unaffected = JSON.stringify(run.b) === JSON.stringify(base.b);
  const end = Math.max(0, ...c.rules.map((r) => r.until ?? 0), ...run.injected);
  const recovered = run.a.find((p) => p.at >= end && p.outcome === "snapshot");
  const reference = recovered && await referenceRead(run, recovered.at);
  return {
    fault: c.name,
    requests_tried: run.injected.length,
    alive: run.unhandled.length === 0 && run.scrapes.length > 0 &&
      run.scrapes.every((s) => s === 200),
    unaffected,
    recovery_s: recovered ? Math.round((recovered.at - end) * 10) / 10 : null,
    data_lost: !(unaffected && recovered?.values === reference && run.signedIn),
  };
}

const rows = new Map<string, { run: BmwRun; row: FaultRow }>();

/** One case, played and reported (kept for the table). */
export async function runBmwFaultCase(
  c: BmwFaultCase,
  options: { scratch?: string } = {},
): Promise<{ run: BmwRun; row: FaultRow }> {
  const known = rows.get(c.name);
  if (known) return known;
  const run = await runBmwFaults(c.rules, { ...options, startS: c.startS });
  const out = { run, row: await bmwFaultRow(c, run) };
  rows.set(c.name, out);
  return out;
}

/** The BMW rows, played now unless this process already played them. */
export async function bmwFaultRows(
  cases: readonly BmwFaultCase[] = BMW_FAULT_CASES,
  options: { scratch?: string; onRow?: (row: FaultRow) => void } = {},
): Promise<FaultRow[]> {
  const out: FaultRow[] = [];
  for (const c of cases) {
    const { row } = await runBmwFaultCase(c, { scratch: options.scratch });
    options.onRow?.(row);
    out.push(row);
  }
  return out;
}
