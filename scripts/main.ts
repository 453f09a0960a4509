/**
 * `ev-observer <command>`: the one entry point of the compiled binary and of the container.
 * Each command is a script with `export function main(args)`.
 */

type Main = (args: string[]) => void | Promise<void>;

interface Command {
  readonly about: string;
  readonly load: () => Promise<{ main: Main }>;
}

/** One line per command. Literal import paths so `deno compile` embeds every script. */
export const COMMANDS: Record<string, Command> = {
  poll: {
    about: "poll the configured vehicles live and export their metrics",
    load: () => import("./poll.ts"),
  },
  auth: {
    about: "sign in to a vendor account and store its tokens",
    load: () => import("./auth.ts"),
  },
  record: {
    about: "record a live session into a redacted cassette",
    load: () => import("./record.ts"),
  },
  replay: { about: "play recorded cassettes (the demo)", load: () => import("./replay.ts") },
  catalog: { about: "print the metric catalog", load: () => import("./catalog.ts") },
  sessions: {
    about: "list the drives, charges and parked periods kept (table, CSV, JSON)",
    load: () => import("./sessions.ts"),
  },
  healthcheck: {
    about: "exit 0 when the local exporter answers /healthz",
    load: () => import("./healthcheck.ts"),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`);
  return `ev-observer <command> [options]

Commands:
${lines.join("\n")}

Run \`ev-observer <command> --help\` for a command's options.`;
}

export async function main(args: string[] = Deno.args): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    if (name === undefined) Deno.exit(2);
    return;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    Deno.exit(2);
  }
  const script = await command.load();
  await script.main(rest);
}

if (import.meta.main) await main();
