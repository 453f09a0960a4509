/**
 * `deno task sessions`: the drives, charges and parked periods the exporter kept, as a table,
 * CSV or JSON.
 */
import { ConfigError, loadConfig } from "../core/config.ts";
import { SessionStore } from "../core/sessions/store.ts";
import { configPath } from "../app/accounts.ts";
import { fail, flags } from "../app/cli.ts";
import { sessionsPath } from "../app/sessions.ts";
import { reportFilter, sessionsOutput } from "../app/sessions_report.ts";
import { PLUGINS } from "../providers/mod.ts";

const HELP = `
deno task sessions [--car VIN] [--kind drive|charge|parked] [--from DATE] [--to DATE]
                   [--last N] [--csv | --json] [--config PATH] [--db PATH]

Lists what \`deno task poll\` recorded in state_dir/sessions.db: each drive (distance, energy
used and how it was measured, efficiency, speeds), charge (energy added and drawn, power,
AC/DC, cost) and parked period (state of charge and energy lost standing), oldest first.

Options:
  --car VIN       one car: its VIN, or the VIN's last characters (as the status page shows)
  --kind KIND     drive, charge or parked only
  --from DATE     sessions starting on or after this day (2026-03-10) or time (ISO 8601)
  --to DATE       …and on or before this day (or before this time)
  --last N        only the newest N
  --csv           CSV with every column (RFC 4180; reads back with the same columns)
  --json          JSON, one object per session with every column
  --config PATH   config file (default: config.yaml if it exists): state_dir, time zone
  --db PATH       the database file instead of <state_dir>/sessions.db
  -h, --help      this text

Days and times in the table are in sessions.timezone of the config (UTC by default); CSV and
JSON carry Unix milliseconds (start_ms, end_ms).

It runs allowed to read the config and to read and write the database file, nothing else: not
the token store beside it in state_dir, no network.
`;

export async function main(args: string[] = Deno.args): Promise<void> {
  const { values } = flags(args, {
    car: { type: "string" },
    kind: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    last: { type: "string" },
    csv: { type: "boolean" },
    json: { type: "boolean" },
    config: { type: "string" },
    db: { type: "string" },
  }, HELP);
  const config = await loadConfig(await configPath(values.config), Deno.env.toObject(), {
    vendors: PLUGINS,
  }).catch((e) => fail(e));
  if (values.csv && values.json) fail(new ConfigError("--csv and --json: choose one"));
  const path = values.db ?? sessionsPath(config);
  const exists = await Deno.stat(path).then(
    (s) => s.isFile,
    (e) =>
      e instanceof Deno.errors.NotFound ? false : fail(
        new ConfigError(
          `cannot read ${path}: ${e.message} — check that this user may read and write ` +
            "the file (or name another with --db)",
        ),
      ),
  );
  if (!exists) {
    fail(
      new ConfigError(
        `no sessions database at ${path}: \`deno task poll\` keeps sessions there ` +
          `(state_dir in the config), or name the file with --db`,
      ),
    );
  }
  let filter;
  try {
    filter = reportFilter({ ...values, timezone: config.sessions.timezone });
  } catch (e) {
    fail(e);
  }
  let store: SessionStore;
  try {
    store = SessionStore.open(path);
  } catch (e) {
    fail(e);
  }
  const sessions = store.list(filter);
  store.close();
  const format = values.csv ? "csv" : values.json ? "json" : "table";
  await Deno.stdout.write(
    new TextEncoder().encode(sessionsOutput(sessions, format, config.sessions.timezone)),
  );
}

if (import.meta.main) await main();
