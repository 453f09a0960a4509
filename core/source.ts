/**
 * The vehicle-source contract every vendor implements. It lives in core, below the scheduler,
 * the exports and the scripts that use it; a vendor folder implements it and never the other
 * way round.
 *
 * Two kinds of source deliver readings into the same store (`Readings`):
 * - a pull source (`Provider`): the scheduler asks it, with a cheap state check that never
 *   wakes the car, a full read only when the car is online, and optional capabilities
 *   (endpoint-by-endpoint reads, wake);
 * - a push source (`PushSource`): the vendor streams readings (Tesla Fleet Telemetry, BMW
 *   CarData); the scheduler does not poll a vehicle while its stream is live, and polls again
 *   (within budget) when it is not.
 */
import type { Clock } from "./clock.ts";
import type { AccountConfig } from "./config.ts";
import type { Http } from "./http.ts";
import type { Logger } from "./log.ts";
import type { Readings } from "./readings.ts";
import type { Snapshot, VehicleRef, VehicleState } from "./snapshot.ts";

/** What a source is given: the seam, the store, the clock, and its account. */
export interface ProviderContext {
  readonly http: Http;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  /** Vendor API base URL (live host, or the fake server in replay). */
  readonly baseUrl: string;
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
 * rate: `charging` fast while charging, `driving` what shows the car driving (engine running),
 * `use` while the car is in use (doors, windows), `trip` after the car moved (odometer,
 * location), `slow` (diagnostics, tyres), `static` (facts).
 */
export type EndpointPace = "charging" | "driving" | "use" | "trip" | "slow" | "static";

export interface EndpointSpec {
  readonly name: string;
  readonly pace: EndpointPace;
}

/** Result of a cheap check that never wakes the car. */
export interface StateCheck {
  readonly state: VehicleState;
}

/** A pull source: the scheduler decides when to ask it what. */
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

/**
 * A push source: it delivers readings into `ctx.readings` (`record` for values, `setState`
 * for online/asleep) as the vendor sends them, until `signal` aborts.
 */
export interface PushSource {
  readonly id: string;
  /** Connects and delivers until `signal` aborts; reconnects on its own while running. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * The vehicle's stream is live now: its readings arrive without asking, so the scheduler
   * makes no data request for it. False while disconnected or when the car never streamed.
   */
  live(vehicle: VehicleRef): boolean;
  /**
   * What a poll found while the stream was not live. A car the stream cannot vouch for (the
   * broker was away, so a wake may have gone unseen) and that a poll finds asleep can be left
   * to the stream again: its next wake comes through the stream.
   */
  polled?(vehicle: VehicleRef, state: VehicleState): void;
  /** Sees every message as it arrives, before it is handled (`record` captures it here). */
  observe?(observer: MessageObserver): void;
}

/** A streamed message as it came off the wire: its topic and raw payload. */
export type MessageObserver = (topic: string, payload: Uint8Array) => void;
