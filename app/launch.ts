/**
 * Runs a command with the permissions its config needs and no others (app/permissions.ts).
 *
 * `deno run`: the entry process holds only `--allow-run=deno` and loads no npm code, so a
 * compromised dependency never runs with the power to start Deno with any flags. It starts
 * two children of the same entry script: the plan stage, allowed to read only the config file
 * (and the environment), prints the permission set as JSON; the work stage runs the command
 * with exactly those flags. SIGINT/SIGTERM/SIGHUP are passed to the work stage and its exit
 * code is kept (128 + signal number when a signal ended it).
 *
 * A compiled binary cannot narrow itself this way (its permissions are fixed when it is built,
 * and `--allow-*` given to it are plain arguments), so it runs the command in its own process
 * after checking that what the config needs was granted at build time.
 *
 * No npm import here, nor in anything this module imports.
 */

/** Deno permissions of one command: hosts (`host`, `host:port`), paths, env, sys, programs. */
export interface Permissions {
  readonly net: readonly string[];
  readonly read: readonly string[];
  readonly write: readonly string[];
  /** `true`: every variable (the config's `client_secret_env` may name any). */
  readonly env: true | readonly string[];
  readonly sys: readonly string[];
  readonly run: readonly string[];
}

/** The stage an entry process is in: the launcher (none), the plan, or the work. */
export interface Stage {
  readonly stage?: "plan" | "work";
  /** How the user runs commands (`deno task`, `ev-observer`), for fix commands. */
  readonly invokedAs?: string;
  readonly args: string[];
}

const STAGE = "--stage=";
const AS = "--as=";

/** Takes the launcher's own leading arguments off a child's command line. */
export function stageOf(args: string[]): Stage {
  let rest = args;
  let stage: Stage["stage"];
  let invokedAs: string | undefined;
  while (rest[0]?.startsWith(STAGE) || rest[0]?.startsWith(AS)) {
    const [first, ...others] = rest;
    if (first.startsWith(STAGE)) {
      const value = first.slice(STAGE.length);
      if (value === "plan" || value === "work") stage = value;
    } else invokedAs = first.slice(AS.length);
    rest = others;
  }
  return { stage, invokedAs, args: rest };
}

/** A value Deno's comma-separated permission lists can carry. */
function listable(kind: string, value: string): string {
  if (value === "" || value.includes(",")) {
    throw new Error(
      `cannot allow ${kind} "${value}": Deno's permission lists cannot hold an empty name or ` +
        "a comma; rename it",
    );
  }
  return value;
}

/** `--allow-*` flags for a permission set; an empty list grants nothing. */
export function denoFlags(p: Permissions): string[] {
  const flags: string[] = [];
  const list = (name: string, values: true | readonly string[]) => {
    if (values === true) flags.push(`--allow-${name}`);
    else if (values.length) {
      flags.push(`--allow-${name}=${values.map((v) => listable(name, v)).join(",")}`);
    }
  };
  list("net", p.net);
  list("read", p.read);
  list("write", p.write);
  list("env", p.env);
  list("sys", p.sys);
  list("run", p.run);
  return flags;
}

/** Checks the plan stage's answer has the shape of a permission set (it is JSON from a child). */
export function parsePermissions(text: string): Permissions {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const strings = (key: string): string[] => {
    const v = raw[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      throw new Error(`permission plan: ${key} is not a list of names`);
    }
    return v;
  };
  return {
    net: strings("net"),
    read: strings("read"),
    write: strings("write"),
    env: raw.env === true ? true : strings("env"),
    sys: strings("sys"),
    run: strings("run"),
  };
}

/** The config file a command reads, for the plan stage's one read permission. */
function configArgument(args: string[]): string {
  for (const [i, a] of args.entries()) {
    if (a === "--config" && args[i + 1] !== undefined) return args[i + 1];
    if (a.startsWith("--config=")) return a.slice("--config=".length);
  }
  return "config.yaml";
}

/**
 * V8 options of every child. An exporter allocates steadily and keeps little, so V8's
 * defaults mostly hold garbage:
 * - a young generation of 1 MiB semi-spaces instead of up to 16 saved 10 MiB of a one-car
 *   exporter's 87 MiB RSS, with scrapes at 1,000 cars as fast;
 * - the old generation (and the buffers it holds: the prepared expositions and OTLP points)
 *   collected once it grows by half, not by up to four times: 1,000 cars under 20 scrapers
 *   took 218–229 MiB instead of 281–311, for a tenth more CPU per scrape, /healthz as fast.
 */
export const V8_OPTIONS: readonly string[] = [
  "--max-semi-space-size=1",
  "--heap-growing-percent=50",
];

/**
 * `deno run` options every child shares: no prompt (a missing permission is an error), the
 * V8 options.
 */
export function runOptions(): string[] {
  const config = new URL("../deno.json", import.meta.url);
  return [
    "run",
    "--no-prompt",
    `--v8-flags=${V8_OPTIONS.join(",")}`,
    ...config.protocol === "file:" ? [`--config=${config.pathname}`] : [],
  ];
}

const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_NUMBER: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export interface LaunchOptions {
  /** The entry script (its file path), started again for each stage. */
  readonly entry: string;
  readonly invokedAs: string;
}

/**
 * The plan stage: `entry` started allowed to read only the config file, printing what
 * `command` with `args` needs. Exits (with the stage's code) on a config mistake.
 */
export async function plan(command: string, args: string[], entry: string): Promise<Permissions> {
  const out = await new Deno.Command("deno", {
    args: [
      ...runOptions(),
      `--allow-read=${configArgument(args)}`,
      "--allow-env",
      entry,
      `${STAGE}plan`,
      command,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) Deno.exit(out.code || 1);
  try {
    return parsePermissions(new TextDecoder().decode(out.stdout));
  } catch (err) {
    console.error(`permission plan: ${(err as Error).message}`);
    Deno.exit(1);
  }
}

/**
 * Runs `command` confined: the plan stage, then the work stage with the planned permissions.
 * Exits with the work stage's code; never returns.
 */
export async function launch(command: string, args: string[], o: LaunchOptions): Promise<never> {
  let flags: string[];
  try {
    flags = denoFlags(await plan(command, args, o.entry));
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(2);
  }
  const child = new Deno.Command("deno", {
    args: [
      ...runOptions(),
      ...flags,
      o.entry,
      `${STAGE}work`,
      `${AS}${o.invokedAs}`,
      command,
      ...args,
    ],
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // Already gone: its status follows.
    }
  };
  const listeners = Deno.build.os === "windows"
    ? []
    : FORWARDED.map((s) => [s, forward(s)] as const);
  for (const [s, f] of listeners) Deno.addSignalListener(s, f);
  const status = await child.status;
  for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
  Deno.exit(status.signal ? 128 + (SIGNAL_NUMBER[status.signal] ?? 0) : status.code);
}

/**
 * A compiled binary: checks that every permission the command needs was granted at build time,
 * and says which is missing and how to rebuild otherwise.
 */
export async function checkGranted(p: Permissions): Promise<string[]> {
  const missing: string[] = [];
  const ask = async (what: string, d: Deno.PermissionDescriptor) => {
    if ((await Deno.permissions.query(d)).state !== "granted") missing.push(what);
  };
  for (const host of p.net) await ask(`net ${host}`, { name: "net", host });
  for (const path of p.read) await ask(`read ${path}`, { name: "read", path });
  for (const path of p.write) await ask(`write ${path}`, { name: "write", path });
  return missing;
}
