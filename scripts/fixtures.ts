/**
 * Writes the scripted Tesla cassettes (the reference day and the edge cases) from
 * providers/tesla/sim/scenario.ts, and the Volvo days from providers/volvo/sim/scenario.ts. Run
 * from the project root:
 *
 *   deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts
 *
 * (Read access is needed too: the atomic rename asks for it.)
 *
 * The cassettes are generated, never edited by hand: the scenario tests (tesla, volvo) fail
 * when a file on disk differs from what this script would write now.
 */
import { parseArgs } from "node:util";
import { Cassette, saveCassette, writeAtomically } from "../replay/cassette.ts";
import { bundledCassettes } from "../providers/tesla/sim/scenario.ts";
import { volvoCassettes } from "../providers/volvo/sim/scenario.ts";

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
  let out = "fixtures";
  try {
    const { values } = parseArgs({
      args,
      options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) {
      console.log(HELP.trim());
      return;
    }
    out = values.out ?? out;
  } catch (err) {
    console.error(`${(err as Error).message}\nRun with --help to see the options.`);
    Deno.exit(2);
  }
  for (const [rel, cassette] of Object.entries({ ...bundledCassettes(), ...volvoCassettes() })) {
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
