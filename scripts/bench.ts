/**
 * `deno task bench <name>`: benchmarks on the simulated vendor APIs, on virtual clocks:
 * `tesla-day` (bench/tesla_day.ts) and `volvo-day` (bench/volvo_day.ts).
 */
import { runBench, STRATEGIES, table, TRADEOFF, TRADEOFF_ROWS } from "../bench/tesla_day.ts";
import * as volvo from "../bench/volvo_day.ts";
import { fail, flags } from "./common.ts";

const HELP = `
deno task bench tesla-day|volvo-day [--json] [--in-process]

Plays the reference Tesla day (asleep overnight with two "fake online" blips, a 35-minute
morning drive, a 40-minute evening drive, 3.5 h of 11 kW charging, asleep again) on a
simulated Tesla API, once per polling strategy, each on its own fake car and virtual clock:

  original_demo   the GreptimeTeam demo: products + vehicle_data every 300 s, no state check
  teslamate       TeslaMate's polling intervals and sleep logic (no streaming)
  ev_observer     ev-observer's scheduler with its default config

and then ev-observer at driving_s 15, 30 and 60 (the freshness/requests trade-off). The fake
car's counters are the truth: what Tesla would bill (every answer below 500; summary calls
counted as billed and shown apart), wake_up calls, minutes the car stayed awake only because
of the client, how old the client's data was while driving and charging, and what it saw.

volvo-day plays the scripted Volvo XC40 BEV day (two commutes, AC charging from 41 % to 90 %)
on a simulated Volvo API with Volvo's limits (100 requests a minute, 10,000 a day per API key):

  original_exporter  xaxeu/volvo-vehicle-exporter: 9 endpoints every 300 s
  ev_observer        ev-observer's scheduler with Volvo's pacing and the key's budget

then ev-observer with as many such cars on one key as the day's 10,000 requests allow. The
fake counts every request, the busiest minute, refusals (429/403), and how old the client's
energy state was at each second of the charge.

Options:
  --json          print one JSON object keyed by strategy instead of the tables
  --in-process    talk to the fake without sockets (same answers; default: loopback HTTP)
  -h, --help      this text
`;

async function main() {
  const { values, positionals } = flags(Deno.args, {
    json: { type: "boolean" },
    "in-process": { type: "boolean" },
  }, HELP);
  const name = positionals[0];
  const options = { json: values.json === true, inProcess: values["in-process"] === true };
  if (name === "tesla-day") return await teslaDay(options);
  if (name === "volvo-day") return await volvoDay(options);
  fail(new Error(`unknown benchmark "${name ?? ""}" (known: tesla-day, volvo-day); see --help`));
}

interface Options {
  readonly json: boolean;
  readonly inProcess: boolean;
}

const progress = (o: Options) => (label: string, ms: number) =>
  o.json ? undefined : console.error(`  ${label}: done in ${ms} ms`);

async function teslaDay(o: Options) {
  const all = [...STRATEGIES, ...TRADEOFF];
  const results = await runBench(all, {
    inProcess: o.inProcess,
    onDone: (s, r) => progress(o)(s.label, r.wall_ms),
  });
  if (o.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  console.log("\nThe reference day, three strategies (Fleet list prices; day × 30):\n");
  console.log(table(results, STRATEGIES));
  console.log("\nev-observer: freshness against requests (driving_s):\n");
  console.log(table(results, TRADEOFF, TRADEOFF_ROWS));
}

async function volvoDay(o: Options) {
  const results = await volvo.runBench(volvo.STRATEGIES, {
    inProcess: o.inProcess,
    onDone: (s, r) => progress(o)(s.label, r.wall_ms),
  });
  const n = results.ev_observer.vehicles_per_key;
  const fleet = await volvo.runFleet(n, { inProcess: o.inProcess });
  progress(o)(`ev-observer, ${n} cars on one key`, fleet.wall_ms);
  const all = { ...results, ev_observer_fleet: fleet };
  if (o.json) {
    console.log(JSON.stringify(all, null, 2));
    return;
  }
  console.log("\nThe Volvo XC40 BEV day, one car, one API key:\n");
  console.log(volvo.table(all, volvo.LABELS));
  console.log(`\nev-observer with ${n} such cars on one API key, the whole day:\n`);
  console.log(volvo.table(all, { ev_observer_fleet: `ev-observer × ${n}` }, volvo.FLEET_ROWS));
}

if (import.meta.main) await main();
