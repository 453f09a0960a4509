/**
 * `deno task bench <name>`: benchmarks on the simulated vendor APIs, on virtual clocks.
 * Only `tesla-day` so far (bench/tesla_day.ts).
 */
import { runBench, STRATEGIES, table, TRADEOFF, TRADEOFF_ROWS } from "../bench/tesla_day.ts";
import { fail, flags } from "./common.ts";

const HELP = `
deno task bench tesla-day [--json] [--in-process]

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
  if (name !== "tesla-day") {
    fail(new Error(`unknown benchmark "${name ?? ""}" (known: tesla-day); see --help`));
  }
  const progress = (label: string, ms: number) =>
    values.json ? undefined : console.error(`  ${label}: done in ${ms} ms`);
  const all = [...STRATEGIES, ...TRADEOFF];
  const results = await runBench(all, {
    inProcess: values["in-process"],
    onDone: (s, r) => progress(s.label, r.wall_ms),
  });
  if (values.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  console.log("\nThe reference day, three strategies (Fleet list prices; day × 30):\n");
  console.log(table(results, STRATEGIES));
  console.log("\nev-observer: freshness against requests (driving_s):\n");
  console.log(table(results, TRADEOFF, TRADEOFF_ROWS));
}

if (import.meta.main) await main();
