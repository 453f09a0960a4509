/**
 * Writes the scripted cassettes of every vendor simulator in providers/sims.ts: for Tesla the
 * reference day and the edge cases (providers/tesla/sim/scenario.ts), for Volvo the three days
 * (providers/volvo/sim/scenario.ts). Run from the project root:
 *
 *   deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts
 *
 * (Read access is needed too: the atomic rename asks for it.)
 *
 * The cassettes are generated, never edited by hand: the scenario tests (tesla, volvo) fail
 * when a file on disk differs from what this script would write now.
 */
import { SIMS } from "../providers/sims.ts";
import { Cassette, saveCassette, writeAtomically } from "../replay/cassette.ts";
import { flags } from "../app/flags.ts";

const HELP = `
deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts [options]

Writes the scripted Tesla cassettes: fixtures/tesla/day/cassette.json (the reference day)
and the edge cases fixtures/tesla/{asleep-408,nulls,extra-fields,malformed-types,
missing-sections,truncated,html-error}/cassette.json, and the Volvo days
fixtures/volvo/{xc40-bev-day,xc90-phev-day,xc60-petrol-day}/cassette.json. Deterministic:
running it twice writes the same bytes.

Options:
  --out DIR    fixtures folder (default: fixtures)
  -h, --help   this text
`;

/** Cassettes above this size are written one exchange per line instead of indented. */
const INDENTED_LIMIT = 1_000_000;

/**
 * The same atomic write as saveCassette, but one exchange per line: the reference day is too
 * big indented (over 3 MB) and still reads and diffs well this way. Plain JSON either way.
 */
async function saveCompact(path: string, cassette: Cassette): Promise<number> {
  const { exchanges, ...meta } = Cassette.parse(cassette);
  const head = JSON.stringify(meta, null, 1).replace(/\n}$/, "");
  const lines = exchanges.map((ex) => JSON.stringify(ex)).join(",\n");
  const text = `${head},\n "exchanges": [\n${lines}\n ]\n}\n`;
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
    console.log(
      `${path}: ${cassette.exchanges.length} exchanges, ${(written / 1024).toFixed(0)} KiB`,
    );
  }
}

if (import.meta.main) await main(Deno.args);
