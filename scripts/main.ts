/**
 * `ev-observer <command>`: the one entry point of the compiled binary, the container and the
 * `deno task`s that run the product. Each command is a script with `export function main(args)`,
 * run with the permissions its config needs (app/launch.ts). Imports no npm code: this
 * process may start Deno.
 */
import { checkGranted, launch, stageOf } from "../app/launch.ts";

type Main = (args: string[], invokedAs: string) => void | Promise<void>;

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

export async function main(
  argv: string[] = Deno.args,
  invokedAs = "ev-observer",
): Promise<void> {
  const stage = stageOf(argv);
  const [name, ...rest] = stage.args;
  if (stage.stage === "plan") {
    const { printPermissions } = await import("../app/permissions.ts");
    return await printPermissions(name, rest);
  }
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
  if (stage.stage === undefined && !Deno.build.standalone) {
    await launch(name, rest, { entry: new URL(import.meta.url).pathname, invokedAs });
  }
  if (Deno.build.standalone) await standalone(name, rest);
  // Loaded only here: the launcher itself loads no npm code.
  if (stage.stage === "work") (await import("../app/cli.ts")).stopWithParent();
  const script = await command.load();
  await script.main(rest, stage.invokedAs ?? invokedAs);
}

/** A compiled binary runs the command itself, once it knows its permissions are enough. */
async function standalone(name: string, args: string[]): Promise<void> {
  const { permissionsFor } = await import("../app/permissions.ts");
  const needed = await permissionsFor(name, args, Deno.env.toObject()).catch((e) => {
    console.error((e as Error).message);
    Deno.exit(2);
  });
  const missing = await checkGranted(needed);
  if (missing.length === 0) return;
  console.error(
    `this binary was built without permission for ${missing.join(", ")}, which the config ` +
      `needs: rebuild it for this config with \`deno task compile --config PATH\``,
  );
  Deno.exit(2);
}

if (import.meta.main) await main();
