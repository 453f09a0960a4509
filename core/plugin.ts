/**
 * What a vendor plugs in: one object per vendor, registered once (providers/mod.ts), carrying
 * everything the entry points need — how to create its source, open a live account, sign in
 * (with its own command-line options), what it bills, which budget it shares, its default
 * host and pace. Entry points never name a vendor.
 */
import type { BudgetConfig } from "./budget.ts";
import type { Clock } from "./clock.ts";
import type { AccountConfig } from "./config.ts";
import type { Http } from "./http.ts";
import type { Logger } from "./log.ts";
import type { Readings } from "./readings.ts";
import type { SchedulerConfig } from "./scheduler_config.ts";
import type { SignInProvider } from "./sign_in.ts";
import type { Provider, ProviderFactory, PushSource } from "./source.ts";
import type { TokenStatus } from "./tokens.ts";
import type { PriceList } from "./usage.ts";

/** A vendor's own `deno task auth` flag (e.g. Tesla's `--api owner|fleet`). */
export interface VendorFlag {
  readonly type: "string" | "boolean";
  /** The value's placeholder in --help (`owner|fleet`, `EMAIL`); none for booleans. */
  readonly value?: string;
  /** One line for --help. */
  readonly help: string;
}

export interface VendorPlugin {
  /** The `provider:` value in the config, the token file's folder, the metrics label. */
  readonly id: string;
  /**
   * The keys of an `accounts` entry this vendor reads beyond the common ones (core/config.ts:
   * provider, name, vehicles, api_base_url, budget, polling). The config refuses any other key
   * in its entries, naming the closest one; the values are checked where the vendor reads them.
   */
  readonly accountKeys: readonly string[];
  readonly create: ProviderFactory;
  /** Opens a configured account for live polling (tokens from the token store). */
  readonly openAccount?: (deps: AccountDeps) => Promise<AccountSession>;
  /** `deno task auth <id>`: the sign-in plan, and token imports from other tools. */
  readonly signIn?: SignInProvider;
  /** Flags only this vendor's sign-in takes, by name (without `--`). */
  readonly signInFlags?: Readonly<Record<string, VendorFlag>>;
  /** How the vendor bills requests, when it does (drives the usage meter and budget). */
  readonly pricing?: PriceList;
  /** API base URL when the account config names none. */
  readonly defaultBaseUrl?: string;
  /**
   * Every origin (URL) this account's sign-in, refresh and polling reach, from its settings:
   * the entry points allow these hosts and no other vendor host. An entry the plug-in cannot
   * read yet gives [] (its error comes when the account opens).
   */
  readonly hosts?: (account: AccountConfig) => string[];
  /** Files outside the config and state_dir this account reads (a stream's CA file). */
  readonly files?: (account: AccountConfig) => string[];
  /**
   * The budget of an account that sets no `budget`: the vendor's own limits (Volvo: per API
   * key), or what keeps it free (Tesla Fleet: the monthly credit). Undefined: unlimited.
   */
  readonly defaultBudget?: BudgetConfig | ((account: AccountConfig) => BudgetConfig | undefined);
  /**
   * Accounts with the same key share one budget (Volvo: the `vcc_api_key`, whose limits
   * hold for every account and car using it). Absent: one budget per account.
   */
  readonly budgetKey?: (account: AccountConfig) => string | undefined;
  /** Scheduler settings for this vendor over the common `polling` ones. */
  readonly scheduler?: Partial<SchedulerConfig>;
}

/** What the account wiring hands a plug-in to open one `accounts` entry. */
export interface AccountDeps {
  readonly account: AccountConfig;
  /** Where the entry sits, for messages (e.g. `config.yaml accounts[0]`). */
  readonly label: string;
  /** The config's `state_dir` (token files live in its `tokens/` folder). */
  readonly stateDir: string;
  /** The config file the user named, so fix commands name it too. */
  readonly configPath?: string;
  /** How the user runs commands: `deno task` (default) or `ev-observer`; fixes start so. */
  readonly invokedAs?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly http: Http;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly location: boolean;
  /** Whether this process's shard owns a car (core/shard.ts): a stream drops the others'. */
  readonly owns?: (vin: string) => boolean;
}

/** One live account: its source(s), and its token state for the health metrics. */
export interface AccountSession {
  readonly provider: Provider;
  /** The account's stream, for vendors that push (the scheduler skips what it delivers). */
  readonly stream?: PushSource;
  /** `sign_in_needed` / `missing` mean: run `signInCommand`. */
  tokenStatus(): TokenStatus;
  readonly signInCommand: string;
}

/** The budget an account that sets none gets from its vendor (undefined: unlimited). */
export function defaultBudgetOf(
  plugin: Pick<VendorPlugin, "defaultBudget">,
  account: AccountConfig,
): BudgetConfig | undefined {
  const d = plugin.defaultBudget;
  return typeof d === "function" ? d(account) : d;
}
