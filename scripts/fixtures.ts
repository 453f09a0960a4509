/**
 * Writes the scripted cassettes of every vendor simulator in providers/sims.ts: for Tesla the
 * reference day, the edge cases (providers/tesla/sim/scenario.ts) and the streamed day
 * (stream_cassette.ts), for Volvo the three days (providers/volvo/sim/scenario.ts), for BMW
 * the i4 day (providers/bmw/sim/cassette.ts). Run from the project root:
 *
 *   deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts
 *
 * (Read access is needed too: the atomic rename asks for it.)
 *
 * The cassettes are generated, never edited by hand: the scenario tests (tesla, volvo) and
 * scripts/fixtures_test.ts fail when a file on disk differs from what this script would write.
 */
import { SIMS } from "../providers/sims.ts";
import { Cassette, saveCassette, writeAtomically } from "../replay/cassette.ts";
import { flags } from "../app/flags.ts";

const HELP = `
deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts [options]

Writes the scripted Tesla cassettes: fixtures/tesla/day/cassette.json (the reference day),
fixtures/tesla/stream-day/cassette.json (the same day over Fleet Telemetry) and the edge
cases fixtures/tesla/{asleep-408,nulls,extra-fields,malformed-types,missing-sections,
truncated,html-error}/cassette.json; the Volvo days
fixtures/volvo/{xc40-bev-day,xc90-phev-day,xc60-petrol-day}/cassette.json; and the BMW day
fixtures/bmw/i4-day/cassette.json (REST and stream messages). Deterministic: running it
twice writes the same bytes.

Options:
  --out DIR    fixtures folder (default: fixtures)
  -h, --help   this text
`;

/** Cassettes above this size are written one exchange per line instead of indented. */
const INDENTED_LIMIT = 1_000_000;

/**
 * The same atomic write as saveCassette, but one exchange (and one message) per line: the
 * reference day is too big indented (over 3 MB) and still reads and diffs well this way.
 * Plain JSON either way.
 */
async function saveCompact(path: string, cassette: Cassette): Promise<number> {
  const { exchanges, messages, ...meta } = Cassette.parse(cassette);
  const head = JSON.stringify(meta, null, 1).replace(/\n}$/, "");
  const list = (name: string, items: readonly unknown[]) =>
    `,\n "${name}": [\n${items.map((x) => JSON.stringify(x)).join(",\n")}\n ]`;
  const text = `${head}${list("exchanges", exchanges)}${
    messages ? list("messages", messages) : ""
  }\n}\n`;
  await writeAtomically(path, text);
  return new TextEncoder().encode(text).length;
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = flags(args, { out: { type: "string" } }, HELP);
  if (positionals.length > 0) {
    console.error(
      `Unexpected argument '${positionals[0]}'. This command does not take positional arguments\n` +
        "Run with --help to see the options.",
    );
    Deno.exit(2);
  }
  const out = values.out ?? "fixtures";
  const cassettes = SIMS.flatMap((sim) => Object.entries(sim.cassettes?.() ?? {}));
  for (const [rel, cassette] of cassettes) {
    const path = `${out}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const indented = JSON.stringify(Cassette.parse(cassette), null, 1) + "\n";
    let written = new TextEncoder().encode(indented).length;
    if (written > INDENTED_LIMIT) written = await saveCompact(path, cassette);
    else await saveCassette(path, cassette);
    const messages = cassette.messages ? `, ${cassette.messages.length} messages` : "";
    console.log(
      `${path}: ${cassette.exchanges.length} exchanges${messages}, ${
        (written / 1024).toFixed(0)
      } KiB`,
    );
  }
}

if (import.meta.main) await main(Deno.args);
