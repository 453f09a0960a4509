/**
 * `deno task bench <name>`: benchmarks on the simulated vendor APIs, on virtual clocks:
 * `tesla-day` (bench/tesla_day.ts), `volvo-day` (bench/volvo_day.ts), `bmw-day`
 * (bench/bmw_day.ts), `faults`
 * (app/fault_suite.ts), `load` (bench/load.ts) and `fleet` (bench/fleet.ts).
 */
import { runBench, STRATEGIES, table, TRADEOFF, TRADEOFF_ROWS } from "../bench/tesla_day.ts";
import { runStreamingDay, streamingTable } from "../bench/tesla_stream.ts";
import * as volvo from "../bench/volvo_day.ts";
import { bmwDayTable, runBmwDay } from "../bench/bmw_day.ts";
import { loadTable, runLoad } from "../bench/load.ts";
import { type FleetRow, fleetTable, runFleet } from "../bench/fleet.ts";
import { FAULT_CASES, faultRows, faultTable } from "../app/fault_suite.ts";
import { BMW_FAULT_CASES, bmwFaultRows } from "../app/bmw_faults.ts";
import {
  fuzzMapBodies,
  fuzzProvider,
  loadSeeds,
  VOLVO_FUZZ_SEED,
} from "../providers/volvo/sim/fuzz.ts";
import { runSessionsBench, sessionsTable } from "../bench/sessions.ts";
import { fail, flags } from "../app/cli.ts";

const HELP = `
deno task bench tesla-day|volvo-day [--json] [--in-process]
deno task bench bmw-day [--json]
deno task bench faults [--json] [--only NAME,NAME]
deno task bench load [--json] [--vehicles N] [--clients N] [--seconds S]
deno task bench volvo-fuzz [--runs N] [--seed S]
deno task bench sessions [--json]
deno task bench fleet [--json] [--vehicles N,N] [--seconds S]

Plays the reference Tesla day (asleep overnight with two "fake online" blips, a 35-minute
morning drive, a 40-minute evening drive, 3.5 h of 11 kW charging, asleep again) on a
simulated Tesla API, once per polling strategy, each on its own fake car and virtual clock:

  original_demo   the GreptimeTeam demo: products + vehicle_data every 300 s, no state check
  teslamate       TeslaMate's polling intervals and sleep logic (no streaming)
  ev_observer     ev-observer's scheduler with its default config (a Fleet account: $10/month)

then ev-observer at driving_s 15, 30 and 60 without a budget (the freshness/requests
trade-off), and ev_observer_streaming: the day published by the fleet-telemetry emulator
through a real Mosquitto (started from /usr/sbin/mosquitto), polling only as the fallback. The fake
car's counters are the truth: what Tesla would bill (every answer below 500; summary calls
counted as billed and shown apart), wake_up calls, minutes the car stayed awake only because
of the client, how old the client's data was while driving and charging, and what it saw.

volvo-day plays the scripted Volvo XC40 BEV day (two commutes, AC charging from 41 % to 90 %)
on a simulated Volvo API with Volvo's limits (100 requests a minute, 10,000 a day per API key):

  original_exporter  xaxeu/volvo-vehicle-exporter: 9 endpoints every 300 s
  ev_observer        ev-observer's scheduler with Volvo's pacing and the key's budget

then ev-observer with as many such cars on one key as the day's 10,000 requests allow, and
the curve: 1 to 30 such cars on one key (the JSON's ev_observer_curve). The fake counts every request, the busiest minute, refusals (429/403), and how old the client's
energy state was at each second of the charge.

bmw-day plays the scripted BMW i4 day (a commute, a trip with a DC fast charge, an AC charge at
home) through the BMW account as \`deno task poll\` opens it: the simulated CarData REST API (50
calls a day, hourly tokens) and the car's messages on a real Mosquitto over TLS with a
self-signed CA (started from /usr/sbin/mosquitto). Prints REST calls, stream messages, and the
p95 age of the newest value held during the drives and the charges.

faults: the fault plan (500/502/503/504 storms, hangs, resets, DNS failure, broken and huge
bodies, 401, 429, quota…), each on two replayed cars, one of them behind the fault, on an exact
virtual clock. Per fault: requests the faulty car sent into it, whether the process stayed
alive (no unhandled rejection, /metrics answered every scrape), whether the other car kept its
fault-free schedule and values, virtual seconds from the fault's end to the next good read,
and whether any data was lost (must be none). Then the BMW rows (app/bmw_faults.ts): two BMW
accounts on the simulated CarData API, the same columns.

load: starts the exporter's server in a child process polling N simulated Teslas (default
200) on a fast virtual clock, and sends /metrics, / and /status.json from N concurrent clients
(default 50) for S seconds (default 20) after a warm-up. Prints requests, errors, requests/s
and p50/p99 latency per path, p99 under load against one client alone, the polls made
meanwhile, and the server's memory in the first and last third of the run. The figures depend
on the machine; compare ratios, not absolute numbers.

volvo-fuzz: the fast-check fuzz of the Volvo mappers (providers/volvo/sim/fuzz.ts), 10,000
cases of each property by default: mapBodies on mutated and random bodies, and the provider
and pollOnce on those bodies as text. Prints the seed and counts; a failure names the seed
and count that reproduce it (also with FUZZ_SEED / FUZZ_RUNS on the test).
sessions: replays the Tesla reference day (as a running exporter sees it, and from a cold
start), the Volvo BEV and PHEV days (the PHEV also with its usable capacity configured) and the
Tesla stress days (a red light and a DC fast charge inside one drive, four days parked in the
cold, an AC charge through 90 minutes offline) with the polling default, and compares the drives,
charges and parked periods found with what the simulators did: counts (missed, split,
invented) and the error of distance, energy used, energy added, vampire drain and the capacity
estimate.
fleet: for 1, 10, 100 and 1,000 simulated Teslas (or --vehicles), all charging, simulated in a
process of their own and read over HTTP by the exporter's real poller in another: RSS steady and
peak, /metrics p50/p99 with one client and with 20 (gzip accepted, as Prometheus asks; the time
to the answer's last byte), /healthz p99 while the 20 scrape (S seconds, default 10), how late a
5 ms timer in the exporter fired meanwhile and during one OTLP push (the longest event-loop
stall), exposition bytes, and that push decoded: its points against the series of /metrics.
Where /usr/bin/python3 imports prometheus_client (Debian: python3-prometheus-client), the Python
baseline (bench/fleet_baseline.py) reads the same cars and gets the same scrapes, as "python"
rows. --json prints {"rows": [...]}.

Options:
  --json          print JSON (tesla-day, volvo-day: one object keyed by strategy)
  --in-process    tesla-day, volvo-day: talk to the fake without sockets (default: loopback)
  --only NAMES    faults: only these faults (names as in the table's first column)
  --vehicles N    load: simulated vehicles (default 200); fleet: sizes, comma-separated
  --clients N     load: concurrent clients (default 50)
  --seconds S     load: measured seconds (default 20, after a fifth of that as warm-up)
  --runs N        volvo-fuzz: cases per property (default 10000)
  --seed S        volvo-fuzz: the seed (default 20260311, the test's)
  -h, --help      this text
`;

async function main() {
  const { values, positionals } = flags(Deno.args, {
    json: { type: "boolean" },
    "in-process": { type: "boolean" },
    only: { type: "string" },
    vehicles: { type: "string" },
    clients: { type: "string" },
    seconds: { type: "string" },
    runs: { type: "string" },
    seed: { type: "string" },
  }, HELP);
  const name = positionals[0];
  const options = { json: values.json === true, inProcess: values["in-process"] === true };
  if (name === "tesla-day") return await teslaDay(options);
  if (name === "volvo-day") return await volvoDay(options);
  if (name === "bmw-day") return await bmwDay(options);
  if (name === "faults") return await faults(options.json, values.only);
  if (name === "load") return await load(options.json, values);
  if (name === "volvo-fuzz") return await volvoFuzz(values);
  if (name === "sessions") return await sessions(options.json);
  if (name === "fleet") return await fleet(options.json, values);
  fail(
    new Error(
      `unknown benchmark "${
        name ?? ""
      }" (known: tesla-day, volvo-day, bmw-day, faults, load, volvo-fuzz, sessions, fleet); see --help`,
    ),
  );
}

interface Options {
  readonly json: boolean;
  readonly inProcess: boolean;
}

const progress = (o: Options) => (label: string, ms: number) =>
  o.json ? undefined : console.error(`  ${label}: done in ${ms} ms`);

async function teslaDay(o: Options) {
  // The trade-off's first column is the default strategy itself: run once.
  const all = [
    ...STRATEGIES,
    ...TRADEOFF.filter((t) => !STRATEGIES.some((s) => s.name === t.name)),
  ];
  const results = await runBench(all, {
    inProcess: o.inProcess,
    onDone: (s, r) => progress(o)(s.label, r.wall_ms),
  });
  const t0 = performance.now();
  const streaming = await withScratch((scratch) => runStreamingDay({ scratch }));
  progress(o)("ev-observer, streaming", Math.round(performance.now() - t0));
  if (o.json) {
    console.log(JSON.stringify({ ...results, ev_observer_streaming: streaming }, null, 2));
    return;
  }
  console.log("\nThe reference day, three strategies (Fleet list prices; day × 30):\n");
  console.log(table(results, STRATEGIES));
  console.log("\nev-observer: freshness against requests (driving_s):\n");
  console.log(table(results, TRADEOFF, TRADEOFF_ROWS));
  console.log(`\nStreaming (Fleet Telemetry through ${streaming.broker}):\n`);
  console.log(streamingTable(streaming, results.ev_observer));
}

async function volvoDay(o: Options) {
  const results = await volvo.runBench(volvo.STRATEGIES, {
    inProcess: o.inProcess,
    onDone: (s, r) => progress(o)(s.label, r.wall_ms),
  });
  const n = results.ev_observer.vehicles_per_key;
  const fleet = await volvo.runFleet(n, { inProcess: o.inProcess });
  progress(o)(`ev-observer, ${n} cars on one key`, fleet.wall_ms);
  const curve = await volvo.runCurve({
    inProcess: o.inProcess,
    onPoint: (p, ms) => progress(o)(`ev-observer, ${p.vehicles} cars on one key`, ms),
  });
  const all = { ...results, ev_observer_fleet: fleet };
  if (o.json) {
    console.log(JSON.stringify({ ...all, ev_observer_curve: curve }, null, 2));
    return;
  }
  console.log("\nThe Volvo XC40 BEV day, one car, one API key:\n");
  console.log(volvo.table(all, volvo.LABELS));
  console.log(`\nev-observer with ${n} such cars on one API key, the whole day:\n`);
  console.log(volvo.table(all, { ev_observer_fleet: `ev-observer × ${n}` }, volvo.FLEET_ROWS));
  console.log("\nCars on one API key, the whole day (they drive and charge at the same time):\n");
  console.log(volvo.curveTable(curve));
}

async function bmwDay(o: Options) {
  // Its broker's and token's scratch folder goes under ./state (the task may write there only).
  const hadState = await Deno.stat("./state").then(() => true, () => false);
  const t0 = performance.now();
  const { result } = await runBmwDay({ scratch: "./state" });
  if (!hadState) await Deno.remove("./state", { recursive: true }).catch(() => {});
  progress(o)("ev-observer, BMW i4 day", Math.round(performance.now() - t0));
  if (o.json) return console.log(JSON.stringify({ ev_observer: result }, null, 2));
  console.log(`\nThe BMW i4 day, REST and the stream:\n\n${bmwDayTable(result)}`);
}

async function faults(json: boolean, only: string | undefined) {
  const names = only?.split(",").map((n) => n.trim()).filter(Boolean);
  const known = [...FAULT_CASES, ...BMW_FAULT_CASES].map((c) => c.name);
  const unknown = names?.filter((n) => !known.includes(n));
  if (unknown?.length) fail(new Error(`unknown fault "${unknown[0]}"; known: ${known}`));
  const picked = <C extends { name: string }>(all: readonly C[]) =>
    names ? all.filter((c) => names.includes(c.name)) : all;
  // Scratch files under ./state (the task may write there only); no empty folder left behind.
  const hadState = await Deno.stat("./state").then(() => true, () => false);
  const onRow = (r: { fault: string }) => json ? undefined : console.error(`  ${r.fault}: done`);
  const rows = [
    ...await faultRows(picked(FAULT_CASES), { scratch: "./state", onRow }),
    ...await bmwFaultRows(picked(BMW_FAULT_CASES), { scratch: "./state", onRow }),
  ];
  if (!hadState) await Deno.remove("./state").catch(() => {});
  if (json) console.log(JSON.stringify(rows, null, 2));
  else console.log(`\nFaults on one of two cars:\n\n${faultTable(rows)}`);
  if (rows.some((r) => !r.alive || !r.unaffected || r.data_lost)) Deno.exit(1);
}

async function load(json: boolean, values: Record<string, string | boolean | undefined>) {
  const number = (name: string, fallback: number) => {
    const raw = values[name];
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n <= 0) fail(new Error(`--${name}: expected a positive number`));
    return n;
  };
  const seconds = number("seconds", 20);
  const report = await runLoad({
    vehicles: Math.round(number("vehicles", 200)),
    clients: Math.round(number("clients", 50)),
    durationMs: seconds * 1000,
    warmupMs: seconds * 200,
    deno: "deno", // the task may run `deno` only
  });
  console.log(json ? JSON.stringify(report, null, 2) : `\n${loadTable(report)}`);
  if (report.total.errors > 0) Deno.exit(1);
}

async function volvoFuzz(values: Record<string, string | boolean | undefined>) {
  const integer = (name: string, fallback: number) => {
    const n = values[name] === undefined ? fallback : Number(values[name]);
    if (!Number.isInteger(n) || n < 0) fail(new Error(`--${name}: expected a whole number`));
    return n;
  };
  const run = { seed: integer("seed", VOLVO_FUZZ_SEED), runs: integer("runs", 10_000) };
  const seeds = await loadSeeds();
  const bodies = Object.values(seeds).reduce((n, b) => n + b.length, 0);
  for (const [label, fuzz] of [["mapBodies", fuzzMapBodies], ["provider", fuzzProvider]] as const) {
    const started = performance.now();
    await fuzz(run, seeds);
    const s = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${label}: ${run.runs} cases clean (seed ${run.seed}, ${bodies} seed bodies, ${s} s)`,
    );
  }
}

/** A broker's scratch folder goes under ./state (the task may write there only). */
async function withScratch<T>(f: (scratch: string) => Promise<T>): Promise<T> {
  const hadState = await Deno.stat("./state").then(() => true, () => false);
  await Deno.mkdir("./state", { recursive: true });
  try {
    return await f("./state");
  } finally {
    if (!hadState) await Deno.remove("./state").catch(() => {});
  }
}

async function sessions(json: boolean) {
  const results = await withScratch((scratch) =>
    runSessionsBench(
      undefined,
      (r) => json ? undefined : console.error(`  ${r.name}: done`),
      { scratch },
    )
  );
  if (json) return console.log(JSON.stringify(results, null, 2));
  const table = sessionsTable(results.scenarios);
  console.log(`\nSessions found against the simulators' truth:\n\n${table}`);
}

async function fleet(json: boolean, values: Record<string, string | boolean | undefined>) {
  const raw = typeof values.vehicles === "string" ? values.vehicles : "1,10,100,1000";
  const sizes = raw.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) {
    fail(new Error("--vehicles: expected sizes like 1,10,100,1000"));
  }
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    fail(new Error("--seconds: expected a positive number"));
  }
  const result = await runFleet({ sizes, seconds, deno: "deno" });
  const { rows } = result;
  console.log(json ? JSON.stringify(result, null, 2) : `\n${fleetTable(result)}`);
  const lost = (r: FleetRow) => r.impl === "ev-observer" && r.otlp_points !== r.series;
  if (rows.some((r) => r.errors > 0 || lost(r))) Deno.exit(1);
}

if (import.meta.main) await main();
