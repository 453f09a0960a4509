/**
 * The Provider contract and the registry of providers. Core and export code depend on this
 * file only, never on a vendor folder.
 */
import type { BudgetConfig } from "../core/budget.ts";
import type { Clock } from "../core/clock.ts";
import type { AccountConfig } from "../core/config.ts";
import type { Http } from "../core/http.ts";
import type { Readings } from "../core/readings.ts";
import type { Snapshot, VehicleRef, VehicleState } from "../core/snapshot.ts";
import type { Logger } from "../core/log.ts";
import type { SchedulerConfig } from "../core/scheduler.ts";
import type { TokenStatus } from "../core/tokens.ts";
import type { PriceList } from "../core/usage.ts";
import type { FakeHook } from "../replay/fake_server.ts";

export interface ProviderContext {
  readonly http: Http;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  /** Vendor API base URL (live host, or the fake server in replay). */
  readonly baseUrl: string;
  /** Returns a valid access token for the account (refreshing as needed). */
  readonly accessToken: () => Promise<string>;
  /**
   * The API answered 401 to `rejected`: returns a refreshed token for one retry
   * (`TokenManager.onUnauthorized`). Absent in replay, where the token is static.
   */
  readonly onUnauthorized?: (rejected: string) => Promise<string>;
  /** Export latitude/longitude/heading only when the user asked for it. */
  readonly location: boolean;
  /** The account's config entry (vendor settings such as Volvo's `vcc_api_key`). */
  readonly account?: AccountConfig;
}

/** What one `fetch` reads. */
export interface FetchOptions {
  /**
   * Only these endpoints (names from `Provider.endpoints`); the snapshot is then partial and
   * the readings store merges it. All of them when absent.
   */
  readonly endpoints?: readonly string[];
}

/**
 * How fast an endpoint's values change, so a budget-aware scheduler can poll each at its own
 * rate: `charging` fast while charging, `use` while the car is in use (doors, engine), `trip`
 * after the car moved (odometer, location), `slow` (diagnostics, tyres), `static` (facts).
 */
export type EndpointPace = "charging" | "use" | "trip" | "slow" | "static";

export interface EndpointSpec {
  readonly name: string;
  readonly pace: EndpointPace;
}

/** Result of a cheap check that never wakes the car. */
export interface StateCheck {
  readonly state: VehicleState;
}

export interface Provider {
  readonly id: string;
  listVehicles(): Promise<VehicleRef[]>;
  /** Cheap state check that does not wake the vehicle or keep it awake. */
  checkState(vehicle: VehicleRef): Promise<StateCheck>;
  /** Full read; only call when the vehicle is online. Returns undefined if it fell asleep. */
  fetch(vehicle: VehicleRef, options?: FetchOptions): Promise<Snapshot | undefined>;
  /** Endpoints a provider can read one by one (absent: `fetch` always reads everything). */
  readonly endpoints?: readonly EndpointSpec[];
  /** Requests one `checkState` costs (default 1; 0 when the vendor needs no check call). */
  readonly requestsPerCheck?: number;
  /** Asks a sleeping vehicle to wake up (costly); the scheduler calls it only if configured. */
  wake?(vehicle: VehicleRef): Promise<void>;
}

export type ProviderFactory = (ctx: ProviderContext) => Provider;

/** What the scripts need to know about a provider. */
export interface ProviderEntry {
  readonly id: string;
  readonly create: ProviderFactory;
  /** Vendor behaviour for the fake server in replay. */
  readonly fakeHook?: FakeHook;
  /** Account settings replay and tests use in place of the user's (placeholder secrets). */
  readonly replayAccount?: Readonly<Record<string, string>>;
  /** Opens a configured account for live polling (tokens from the token store). */
  readonly openAccount?: (deps: AccountDeps) => Promise<AccountSession>;
  /** How the vendor bills requests, when it does (drives the usage meter and budget). */
  readonly pricing?: PriceList;
  /** API base URL when the account config names none. */
  readonly defaultBaseUrl?: string;
  /** The vendor's own limits, when the account sets no `budget` (Volvo: per API key). */
  readonly defaultBudget?: BudgetConfig;
  /**
   * Accounts with the same key share one budget (Volvo: the `vcc_api_key`, whose limits
   * hold for every account and car using it). Absent: one budget per account.
   */
  readonly budgetKey?: (account: AccountConfig) => string | undefined;
  /** Scheduler settings for this vendor over the common `polling` ones. */
  readonly scheduler?: Partial<SchedulerConfig>;
}

/** What `deno task poll` hands a provider to open one `accounts` entry. */
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
}

/** One live account: its provider, and its token state for the health metrics. */
export interface AccountSession {
  readonly provider: Provider;
  /** `sign_in_needed` / `missing` mean: run `signInCommand`. */
  tokenStatus(): TokenStatus;
  readonly signInCommand: string;
}

const registry = new Map<string, ProviderEntry>();

export function registerProvider(entry: ProviderEntry): void {
  registry.set(entry.id, entry);
}

/** The provider with this id; the error lists the known ones. */
export function providerEntry(id: string): ProviderEntry {
  const entry = registry.get(id);
  if (!entry) {
    throw new Error(`unknown provider "${id}" (known: ${[...registry.keys()].join(", ")})`);
  }
  return entry;
}

/** The account replay and tests hand a provider: no user secrets, the provider's placeholders. */
export function replayAccount(entry: ProviderEntry): AccountConfig {
  return { provider: entry.id, name: "replay", vehicles: [], ...entry.replayAccount };
}
