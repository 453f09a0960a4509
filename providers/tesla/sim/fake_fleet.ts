/**
 * Many simulated Teslas, or one under another identity. The simulated Tesla (fake_api.ts) plays
 * one car, the demo car of the reference day; `renamed` serves it under another VIN and id
 * (requests mapped back, answers rewritten), and `fakeFleet` makes N such cars in-process, each
 * with its own sleep state and its own hour of the day, for the load benchmark.
 */
import type { Clock } from "../../../core/clock.ts";
import { Http } from "../../../core/http.ts";
import type { Logger } from "../../../core/log.ts";
import type { Readings } from "../../../core/readings.ts";
import type { VehicleRef } from "../../../core/snapshot.ts";
import type { Provider } from "../../../core/source.ts";
import { teslaPlugin } from "../mod.ts";
import { FakeTesla } from "./fake_api.ts";
import { withSerial } from "../../../replay/vin.ts";
import { DEMO_ID_S, DEMO_VIN, teslaDay, type TeslaScenario } from "./scenario.ts";

export type Handler = (req: Request) => Promise<Response>;

/** A VIN of the demo's shape with serial `n` and the right check digit. */
export function fleetVin(n: number): string {
  return withSerial(DEMO_VIN, String(n).padStart(6, "0"));
}

/** A vehicle id of the demo's length for car `n`. */
export function fleetId(n: number): string {
  return String(2_000_000_000_000_000 + n);
}

/**
 * `handle` (a FakeTesla's) serving its car as `vin` / `id`: both are mapped back to the demo's
 * in request paths, and the demo's are replaced in every answer.
 */
export function renamed(handle: Handler, vin: string, id: string): Handler {
  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname.replace(`/${vin}`, `/${DEMO_VIN}`).replace(`/${id}`, `/${DEMO_ID_S}`);
    if (path !== url.pathname) {
      url.pathname = path;
      // Vehicle calls carry no body; copying `req` whole would touch its abort signal.
      req = new Request(url, { method: req.method, headers: req.headers });
    }
    const res = await handle(req);
    if (!(res.headers.get("content-type") ?? "").includes("json")) return res;
    const text = (await res.text()).replaceAll(DEMO_VIN, vin).replaceAll(DEMO_ID_S, id);
    return new Response(text, { status: res.status, headers: res.headers });
  };
}

export interface FleetCar {
  readonly vin: string;
  readonly id: string;
  readonly fake: FakeTesla;
  /** A `fetch` answered by this car's fake, in-process. */
  readonly fetch: typeof fetch;
  /** A valid access token for it. */
  readonly token: string;
}

export interface FleetOptions {
  /** The fleet's clock; each car sees it shifted by its own offset. */
  readonly clock: Clock;
  readonly size: number;
  /** Car i runs `i * spreadS` seconds (mod `spanS`) ahead of the clock (default 0: in step). */
  readonly spreadS?: number;
  readonly spanS?: number;
}

/** N simulated Teslas that answer in-process, without sockets. */
export function fakeFleet(options: FleetOptions): FleetCar[] {
  const scenario: TeslaScenario = teslaDay(); // pure: shared; the car state is per fake
  const spread = options.spreadS ?? 0;
  const span = options.spanS ?? Infinity;
  return Array.from({ length: options.size }, (_, i) => {
    const offsetMs = ((i * spread) % span) * 1000;
    const clock: Clock = {
      now: () => options.clock.now() + offsetMs,
      sleep: (ms, signal) => options.clock.sleep(ms, signal),
    };
    const fake = new FakeTesla({ clock, scenario, accessLifetimeS: 30 * 86400 }, false);
    const vin = fleetVin(i + 1);
    const id = fleetId(i + 1);
    const handle = renamed((req) => fake.handle(req), vin, id);
    return {
      vin,
      id,
      fake,
      fetch: (input, init) => handle(new Request(input, init)),
      token: fake.auth.mint().access_token,
    };
  });
}

/** What a fleet car needs to be read like a real account's car. */
export interface FleetWiring {
  readonly clock: Clock;
  readonly readings: Readings;
  readonly log: Logger;
}

/** The real Tesla provider pointed at each simulated car, with the car it lists. */
export function fleetTargets(
  cars: readonly Pick<FleetCar, "fetch" | "token">[],
  { clock, readings, log }: FleetWiring,
): Promise<{ provider: Provider; vehicle: VehicleRef }[]> {
  return Promise.all(cars.map(async (car) => {
    const provider = teslaPlugin.create({
      http: new Http({ provider: "tesla", readings, fetch: car.fetch, now: () => clock.now() })
        .withAuth({ token: () => Promise.resolve(car.token) }),
      readings,
      clock,
      log,
      baseUrl: "http://fake-tesla.invalid",
      location: false,
    });
    const [vehicle] = await provider.listVehicles();
    return { provider, vehicle };
  }));
}
