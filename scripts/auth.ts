/**
 * `deno task auth <provider>` (or `ev-observer auth <provider>`): signs in to a vendor account
 * and stores its tokens in the token store, or imports them from another tool. What each
 * vendor signs in with, and its own flags, come from its plug-in.
 */
import { type AccountConfig, type Config, ConfigError, loadConfig } from "../core/config.ts";
import { realClock } from "../core/clock.ts";
import { VendorError } from "../core/errors.ts";
import { Http, HttpError } from "../core/http.ts";
import { createLogger, maskSecrets } from "../core/log.ts";
import { AuthorizationError } from "../core/oauth.ts";
import type { VendorFlag, VendorPlugin } from "../core/plugin.ts";
import {
  lineReader,
  openBrowser,
  runSignIn,
  type SignInIO,
  type SignInRequest,
} from "../core/sign_in.ts";
import { PLUGINS } from "../providers/mod.ts";
import { flags } from "../app/flags.ts";

/** The vendors that can sign in here. */
const SIGN_IN = PLUGINS.filter((p) => p.signIn);

/** Every vendor's own flags (`--api`) and token imports (`--import-teslapy FILE`), by flag. */
function vendorFlags(): Map<string, { flag: VendorFlag; owners: VendorPlugin[] }> {
  const all = new Map<string, { flag: VendorFlag; owners: VendorPlugin[] }>();
  const add = (name: string, flag: VendorFlag, plugin: VendorPlugin) => {
    const known = all.get(name);
    if (known) known.owners.push(plugin);
    else all.set(name, { flag, owners: [plugin] });
  };
  for (const plugin of SIGN_IN) {
    for (const [name, flag] of Object.entries(plugin.signInFlags ?? {})) add(name, flag, plugin);
    for (const [name, setup] of Object.entries(plugin.signIn?.setups ?? {})) {
      add(name, { type: "boolean", help: setup.help }, plugin);
    }
    for (const tool of Object.keys(plugin.signIn?.imports ?? {})) {
      add(`import-${tool}`, {
        type: "string",
        value: "FILE",
        help: `import a ${tool} token cache instead of signing in`,
      }, plugin);
    }
  }
  return all;
}

const VENDOR_FLAGS = vendorFlags();

/** The --help lines of the vendor flags, each marked with its vendor(s). */
function vendorHelp(): string {
  return [...VENDOR_FLAGS].map(([name, { flag, owners }]) => {
    const left = `  --${name}${flag.value ? ` ${flag.value}` : ""}`;
    const who = owners.map((o) => o.id[0].toUpperCase() + o.id.slice(1)).join(", ");
    return `${left.padEnd(27)}${who}: ${flag.help}`;
  }).join("\n");
}

const HELP = `
deno task auth <provider> [options]

Signs in to a vendor account in the browser and stores its tokens in <state_dir>/tokens/
(mode 0600). Run it once per account, and again whenever ev-observer reports "sign-in needed".
Providers: ${SIGN_IN.map((p) => p.id).join(", ")}.

Options:
  --account NAME           the config's accounts entry to sign in (default: the only one for
                           this provider, else "default")
  --config PATH            config file (accounts, state_dir)
  --no-browser             only print the address (headless machines, SSH)
  -h, --help               this text
${vendorHelp()}

The address is always printed. For a redirect URI on 127.0.0.1/localhost a one-shot server
receives the answer; otherwise (Tesla's tesla://auth/callback, or a browser on another
machine) paste the address the browser ended on. It runs allowed only the vendor's hosts for
this account, loopback, reading the config, state_dir and an imported file, writing state_dir.
`;

const NAME = /^[A-Za-z0-9_-]+$/;

interface Picked {
  readonly account: AccountConfig;
  readonly label: string;
  readonly inConfig: boolean;
}

/** The config entry to sign in; an account that is not configured yet gets defaults. */
function pickAccount(
  config: Config,
  source: string,
  provider: string,
  name: string | undefined,
): Picked {
  const mine = config.accounts
    .map((account, index) => ({ account, index }))
    .filter((x) => x.account.provider === provider);
  let hit = name === undefined ? undefined : mine.find((x) => x.account.name === name);
  if (name === undefined && mine.length === 1) hit = mine[0];
  if (name === undefined && mine.length > 1) {
    throw new ConfigError(
      `${source} has ${mine.length} ${provider} accounts (${
        mine.map((x) => x.account.name).join(", ")
      }): choose one with --account NAME`,
    );
  }
  if (hit) return { ...hit, label: `${source} accounts[${hit.index}]`, inConfig: true };
  const accountName = name ?? "default";
  if (!NAME.test(accountName)) {
    throw new ConfigError(`--account: "${accountName}" must use letters, digits, - and _ only`);
  }
  return {
    account: { provider, name: accountName, vehicles: [] },
    label: `${provider} account "${accountName}" (no accounts entry in ${source})`,
    inConfig: false,
  };
}

function stdio(noBrowser: boolean): SignInIO {
  let read: (() => Promise<string | undefined>) | undefined;
  return {
    print: (line) => console.log(line),
    readLine: () => (read ??= lineReader(Deno.stdin.readable))(),
    ...(noBrowser ? {} : { openBrowser }),
  };
}

function nextSteps(
  picked: Picked,
  provider: string,
  api: string | undefined,
  config: string | undefined,
  invokedAs: string,
) {
  const lines: string[] = [];
  if (!picked.inConfig) {
    lines.push(
      `Add the account to ${config ?? "your config file (see config.example.yaml)"}:`,
      "",
      "  accounts:",
      `    - provider: ${provider}`,
      `      name: ${picked.account.name}`,
      ...(api ? [`      api: ${api}`] : []),
      "",
    );
  }
  lines.push("Next, start polling:", "", `  ${invokedAs} poll --config ${config ?? "config.yaml"}`);
  return lines;
}

/** One clear sentence per failure, no stack trace; exit 2 for configuration mistakes. */
function explain(err: unknown): { message: string; code: number } {
  const text = (e: Error) => maskSecrets(e.message);
  if (err instanceof ConfigError) return { message: text(err), code: 2 };
  if (err instanceof AuthorizationError) {
    return { message: `sign-in failed: ${text(err)}`, code: 1 };
  }
  if (err instanceof VendorError) {
    const hint = err.kind === "sign_in_needed"
      ? "\nThe sign-in code was refused (expired, already used, or not from this sign-in): " +
        "run the command again and paste the new address promptly."
      : "";
    return { message: `sign-in failed: ${text(err)}${hint}`, code: 1 };
  }
  if (err instanceof HttpError) {
    return { message: `sign-in failed: cannot reach ${err.endpoint}: ${text(err)}`, code: 1 };
  }
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    return {
      message: `${text(err as Error)}\nauth is allowed the account's hosts, loopback, the ` +
        "config file, state_dir and the imported file only: check the file's owner and mode, " +
        "or name the file with --config / state_dir.",
      code: 1,
    };
  }
  return { message: err instanceof Error ? text(err) : String(err), code: 1 };
}

async function signIn(args: string[], invokedAs: string): Promise<void> {
  const own = Object.fromEntries(
    [...VENDOR_FLAGS].map(([name, { flag }]) => [name, { type: flag.type }]),
  ) as Record<string, { type: "string" | "boolean" }>;
  const { values, positionals } = flags(args, {
    account: { type: "string" },
    config: { type: "string" },
    "no-browser": { type: "boolean" },
    ...own,
  }, HELP);
  const [providerId, ...extra] = positionals;
  const entry = SIGN_IN.find((p) => p.id === providerId);
  if (!entry?.signIn || extra.length) {
    throw new ConfigError(
      `${providerId === undefined ? "name a provider" : `unknown provider "${positionals}"`}: ` +
        `deno task auth <${SIGN_IN.map((p) => p.id).join("|")}> (see --help)`,
    );
  }
  const given = values as Record<string, string | boolean | undefined>;
  const options: Record<string, string | boolean> = {};
  for (const [name, { owners }] of VENDOR_FLAGS) {
    if (given[name] === undefined) continue;
    if (!owners.includes(entry)) {
      throw new ConfigError(
        `--${name} is a ${
          owners.map((o) => o.id).join("/")
        } option; ${providerId} has no such option`,
      );
    }
    options[name] = given[name]!;
  }
  const env = Deno.env.toObject();
  const config = await loadConfig(values.config, env, { vendors: PLUGINS });
  const picked = pickAccount(config, values.config ?? "the config", providerId!, values.account);
  const log = createLogger({ level: config.log_level });
  const request: SignInRequest = {
    account: picked.account,
    label: picked.label,
    stateDir: config.state_dir,
    ...(values.config !== undefined ? { configPath: values.config } : {}),
    env,
    http: new Http({ provider: providerId! }),
    clock: realClock,
    log,
    location: config.location,
    options,
  };
  const api = typeof options.api === "string" ? options.api : undefined;
  const next = () => nextSteps(picked, providerId!, api, values.config, invokedAs);

  for (const [tool, importer] of Object.entries(entry.signIn.imports ?? {})) {
    const file = options[`import-${tool}`];
    if (typeof file !== "string") continue;
    const result = await importer(file, request);
    console.log(`imported ${result.accounts} account${result.accounts === 1 ? "" : "s"}`);
    for (const line of [...result.notes, "", ...next()]) console.log(line);
    return;
  }

  for (const [name, setup] of Object.entries(entry.signIn.setups ?? {})) {
    if (options[name] !== true) continue;
    // Uses the stored sign-in: no browser.
    const code = await setup.run(request, stdio(true));
    if (code !== 0) Deno.exit(code);
    return;
  }

  const plan = entry.signIn.plan(request);
  const record = await runSignIn(plan, stdio(values["no-browser"] === true));
  console.log("");
  console.log(
    `Signed in: ${providerId} account "${picked.account.name}", ${plan.describe(record)}.`,
  );
  console.log(`Tokens saved to ${plan.store.path} (mode 0600).`);
  console.log("");
  for (const line of next()) console.log(line);
}

/**
 * Runs the command and exits (a pending read of stdin, the paste that the callback server
 * beat, must not keep the process alive). `invokedAs` prefixes the printed next command.
 */
export async function main(args: string[] = Deno.args, invokedAs = "ev-observer"): Promise<void> {
  try {
    await signIn(args, invokedAs);
  } catch (err) {
    const { message, code } = explain(err);
    console.error(message);
    Deno.exit(code);
  }
  Deno.exit(0);
}

if (import.meta.main) await main(Deno.args, "deno task");
