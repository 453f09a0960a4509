/**
 * The BMW i4 day (providers/bmw/sim/scenario.ts) through the real BMW account, as `deno task
 * poll` opens it (app/accounts.ts): the simulated CarData REST API with its 50 calls a day and
 * hourly tokens, and the car's messages published on a real Mosquitto over TLS with a
 * self-signed CA, which the account's stream reads. On a virtual clock `speed` times faster
 * than wall time. Measured: REST calls the fake counted, stream messages published, and how old
 * the newest value ev-observer held was at each second of the drives and the charges.
 */
import type { AccountConfig } from "../core/config.ts";
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import type { Snapshot } from "../core/snapshot.ts";
import { TokenStore } from "../core/tokens.ts";
import { openAccount } from "../app/accounts.ts";
import { type Field, KEYS, telematicSnapshot } from "../providers/bmw/map.ts";
import { FakeBmw, SIM_CLIENT_ID } from "../providers/bmw/sim/fake_bmw.ts";
import { type CarEvent, I4_VIN, i4Day, SIM_GCID, stateAt } from "../providers/bmw/sim/scenario.ts";
import { Mosquitto } from "../replay/mosquitto.ts";
import { p95 } from "./common.ts";

const DAY_MS = 86_400_000;

export interface BmwDayResult {
  readonly rest_calls_per_day: number;
  readonly stream_messages_per_day: number;
  readonly data_age_driving_p95_s: number | null;
  readonly data_age_charging_p95_s: number | null;
  /** CU-429 answers (none while the budget holds). */
  readonly quota_refused: number;
  /** Stream connections: the first, then one per ID token (it lives an hour). */
  readonly stream_connects: number;
  readonly token_refreshes: number;
  /** The REST calls by endpoint template. */
  readonly rest_calls_by_endpoint: Readonly<Record<string, number>>;
}

/** What the CI test checks beside the numbers. */
export interface BmwDayCheck {
  /** Every metric (with its labels) the day's values map to, states included. */
  readonly expected: readonly string[];
  /** Those ev-observer recorded at least once. */
  readonly seen: readonly string[];
  /** Recorded snapshots whose values differ from the simulator's at the same moment. */
  readonly mismatches: readonly string[];
  readonly snapshots: number;
}

export async function runBmwDay(
  options: { speed?: number; scratch?: string } = {},
): Promise<{ result: BmwDayResult; check: BmwDayCheck }> {
  const speed = options.speed ?? 600;
  const dayStart = Date.UTC(2026, 5, 10);
  const endMs = dayStart + DAY_MS;
  const events = i4Day(dayStart);
  const clock = new VirtualClock(dayStart, speed);
  if (options.scratch) await Deno.mkdir(options.scratch, { recursive: true });
  const dir = await Deno.makeTempDir({ prefix: "ev-bmw-day-", dir: options.scratch });
  // Any user name and password: the ID token changes every hour, and this run measures the
  // stream's traffic (the broker checking the token is providers/bmw/token_rotation_test.ts).
  const broker = await Mosquitto.start({ tls: true, parent: dir });
  const fake = new FakeBmw({ now: () => clock.now(), events });
  const log = createLogger({ write: () => {} });
  const readings = new Readings();
  const stop = new AbortController();
  const published: CarEvent[] = [];
  /** When each snapshot reached the store (virtual ms) and the time of its newest value. */
  const stored: { at: number; snapshot: Snapshot }[] = [];
  readings.onSnapshot((snapshot) => stored.push({ at: clock.now(), snapshot }));
  let publisher: { endAsync(): Promise<unknown> } | undefined;
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, broker.caPem!);
    await new TokenStore({ stateDir: dir, provider: "bmw", account: "bench", log })
      .save(fake.signIn());
    const account = {
      provider: "bmw",
      name: "bench",
      vehicles: [],
      client_id: SIM_CLIENT_ID,
      auth_host: fake.url,
      api_base_url: fake.url,
      // The broker's certificate names 127.0.0.1 too; the bench may reach 127.0.0.1 only.
      stream_url: `mqtts://127.0.0.1:${broker.port}`,
      ca_file: `${dir}/ca.pem`,
    } as unknown as AccountConfig;
    const opened = await openAccount(account, 0, {
      location: true,
      stateDir: dir,
      env: {},
      readings,
      clock,
      log,
      invokedAs: "deno task",
      budgets: new Map(),
      http: {
        fetch: (input, init) =>
          clock.now() >= endMs
            ? Promise.reject(new Error("the benchmark day is over"))
            : fetch(input, init),
      },
    });
    const { default: mqtt } = await import("mqtt");
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      ca: broker.caPem,
      clientId: "bmw-day-car",
    });
    publisher = client;
    // The car: each event published when the virtual clock reaches it.
    const car = (async () => {
      let next = 0;
      while (clock.now() < endMs && !stop.signal.aborted) {
        while (next < events.length && events[next].at <= clock.now()) {
          const e = events[next++];
          await client.publishAsync(`${SIM_GCID}/${I4_VIN}`, streamPayload(e), { qos: 1 });
          published.push(e);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      stop.abort();
    })();
    await pollAccounts({
      accounts: [opened.run],
      readings,
      clock,
      log,
      config: {},
      signal: stop.signal,
    });
    await car;
    const stream = opened.run.stream as { connects?: number } | undefined;
    const intervals = dayIntervals(events);
    const ages = (list: readonly Interval[]) => agesHeld(stored, list);
    const result: BmwDayResult = {
      rest_calls_per_day: fake.calls.total,
      stream_messages_per_day: published.length,
      data_age_driving_p95_s: p95(ages(intervals.driving)),
      data_age_charging_p95_s: p95(ages(intervals.charging)),
      quota_refused: fake.calls.quotaRefused,
      stream_connects: stream?.connects ?? 0,
      token_refreshes: fake.auth.counts.refreshes,
      rest_calls_by_endpoint: { ...fake.calls.byEndpoint },
    };
    return { result, check: checkValues(events, stored.map((s) => s.snapshot)) };
  } finally {
    stop.abort();
    await publisher?.endAsync();
    await fake.shutdown();
    await broker.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A message as CarData streams it on `<GCID>/<VIN>`. */
function streamPayload(e: CarEvent): string {
  const timestamp = new Date(e.at).toISOString();
  const data: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(e.data)) {
    data[key] = { timestamp, value: entry.value, ...(entry.unit ? { unit: entry.unit } : {}) };
  }
  return JSON.stringify({ vin: I4_VIN, entityId: SIM_GCID, topic: I4_VIN, timestamp, data });
}

interface Interval {
  /** ms */
  readonly start: number;
  readonly end: number;
}

/** The drives (moving until parked) and the charges (active until ended) of the day. */
export function dayIntervals(events: readonly CarEvent[]) {
  const driving: Interval[] = [];
  const charging: Interval[] = [];
  let drive: number | undefined;
  let charge: number | undefined;
  for (const e of events) {
    const moving = e.data[KEYS.moving]?.value;
    if (moving === "true") drive ??= e.at;
    if (moving === "false" && drive !== undefined) {
      driving.push({ start: drive, end: e.at });
      drive = undefined;
    }
    const status = e.data[KEYS.chargingStatus]?.value;
    if (status === "CHARGINGACTIVE") charge ??= e.at;
    if (status === "CHARGINGENDED" && charge !== undefined) {
      charging.push({ start: charge, end: e.at });
      charge = undefined;
    }
  }
  return { driving, charging };
}

/** At each second of the intervals, the age of the newest value the store held, s. */
function agesHeld(
  stored: readonly { at: number; snapshot: Snapshot }[],
  intervals: readonly Interval[],
): number[] {
  const out: number[] = [];
  for (const { start, end } of intervals) {
    let i = 0;
    let newest = -Infinity;
    for (let t = start; t < end; t += 1000) {
      while (i < stored.length && stored[i].at <= t) {
        newest = Math.max(newest, stored[i++].snapshot.sampledAt * 1000);
      }
      out.push((t - newest) / 1000);
    }
  }
  return out;
}

const sampleKey = (s: { metric: string; labels?: Record<string, string> }) =>
  `${s.metric}${s.labels ? JSON.stringify(s.labels) : ""}`;

/** Every recorded snapshot against the simulator's state at its time, and the metrics seen. */
function checkValues(events: readonly CarEvent[], snapshots: readonly Snapshot[]): BmwDayCheck {
  const vehicle = { provider: "bmw", id: I4_VIN, vin: I4_VIN };
  const report = { provider: "bmw", readings: new Readings(), log: createLogger({ write() {} }) };
  const truthAt = (ms: number) => {
    const fields = new Map<string, Field>();
    for (const [key, e] of stateAt(events, ms)) {
      fields.set(key, { value: e.value, ...(e.unit ? { unit: e.unit } : {}), at: e.at });
    }
    return telematicSnapshot(vehicle, fields, { location: true, report });
  };
  const expected = new Set<string>();
  const keys = (x: Snapshot) => [...x.samples.map(sampleKey), ...x.states.map((s) => s.metric)];
  for (const e of events) for (const k of keys(truthAt(e.at))) expected.add(k);
  const seen = new Set<string>();
  const mismatches: string[] = [];
  for (const snap of snapshots) {
    for (const k of keys(snap)) seen.add(k);
    const truth = truthAt(snap.sampledAt * 1000);
    const values = (x: Snapshot) =>
      JSON.stringify({
        samples: x.samples.map((s) => [sampleKey(s), s.value]).sort(),
        states: x.states.map((s) => [s.metric, s.state]).sort(),
      });
    if (values(snap) !== values(truth)) {
      mismatches.push(`${new Date(snap.sampledAt * 1000).toISOString()}: ${values(snap)}`);
    }
  }
  return {
    expected: [...expected].sort(),
    seen: [...seen].filter((k) => expected.has(k)).sort(),
    mismatches,
    snapshots: snapshots.length,
  };
}

const ROWS: readonly [Exclude<keyof BmwDayResult, "rest_calls_by_endpoint">, string][] = [
  ["rest_calls_per_day", "REST calls (BMW allows 50 a day)"],
  ["stream_messages_per_day", "stream messages"],
  ["data_age_driving_p95_s", "data age driving p95 (s)"],
  ["data_age_charging_p95_s", "data age charging p95 (s)"],
  ["quota_refused", "CU-429 answers"],
  ["stream_connects", "stream connections"],
  ["token_refreshes", "token refreshes"],
];

/** The README's BMW table. */
export function bmwDayTable(r: BmwDayResult): string {
  return [
    "| BMW i4 day | ev-observer |",
    "|---|---:|",
    ...ROWS.map(([key, label]) => `| ${label} | ${r[key] ?? "—"} |`),
  ].join("\n");
}
