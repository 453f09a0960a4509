/**
 * The Volvo provider: lists the account's vehicles and reads endpoints one request at a time;
 * map.ts turns the bodies into a snapshot.
 *
 * One Volvo "poll" is many requests (one per endpoint), and a key's quota is shared by all its
 * cars, so `fetch` can read any subset of endpoints (`fetch(v, {endpoints})`). Its snapshot is
 * always partial: it names the endpoints it read, and the readings store merges it into what
 * it holds (core/snapshot.ts mergeSnapshot). An endpoint that failed keeps its last values.
 */
import { z } from "zod";
import { ConfigError } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import { HttpError } from "../../core/http.ts";
import { registerSecret } from "../../core/log.ts";
import { type ParseReport, reportField } from "../../core/parse.ts";
import type { VehicleRef } from "../../core/snapshot.ts";
import type { EndpointSpec, FetchOptions, Provider, ProviderContext } from "../../core/source.ts";
import { type EndpointName, ENDPOINTS, PROVIDER, VolvoApi, VolvoError } from "./api.ts";
import { energyGives, learn, mapBodies, newFacts, type VehicleFacts } from "./map.ts";
import { VehicleList } from "./types.ts";

/** The Volvo settings of an account entry in the config file. */
export const VolvoAccount = z.object({
  /** "VCC API key – Primary" of the application at developer.volvocars.com. */
  vcc_api_key: z.string().min(1),
}).loose();

/** Endpoints in the order a full read asks them: facts first, they decide what follows. */
const ALL = Object.keys(ENDPOINTS) as EndpointName[];
const FIRST: EndpointName[] = ["details", "energy-capabilities"];
const FULL_ORDER: EndpointName[] = [...FIRST, ...ALL.filter((n) => !FIRST.includes(n))];

export function createVolvoProvider(ctx: ProviderContext): Provider {
  const account = VolvoAccount.safeParse(ctx.account ?? {});
  if (!account.success) {
    throw new ConfigError(
      `accounts[${ctx.account?.name ?? "?"}] (provider volvo): vcc_api_key is required — the ` +
        `"VCC API key – Primary" of your application at developer.volvocars.com`,
    );
  }
  const apiKey = account.data.vcc_api_key;
  registerSecret(apiKey);
  const api = new VolvoApi(ctx, apiKey);
  const report: ParseReport = { provider: PROVIDER, readings: ctx.readings, log: ctx.log };
  const facts = new Map<string, VehicleFacts>();
  const goneLogged = new Set<string>();

  /** Whether to ask `name` now (re-checked before each request: earlier answers teach facts). */
  const wanted = (name: EndpointName, f: VehicleFacts, full: boolean): boolean => {
    if (f.unsupported.has(name)) return false;
    if (name === "location") return ctx.location;
    if (name === "energy-state") return f.capabilities?.getEnergyState.isSupported !== false;
    if (!full) return true;
    if (name === "details") return !f.details;
    if (name === "energy-capabilities") return f.capabilities === undefined;
    // A BEV's /fuel only repeats the state of charge Energy v2 already gave.
    if (name === "fuel") return !(isElectric(f) && energyGives(f, "batteryChargeLevel"));
    return true;
  };

  return {
    id: PROVIDER,
    endpoints: ALL.map((name): EndpointSpec => ({ name, pace: ENDPOINTS[name].pace })),
    async listVehicles() {
      const list = VehicleList.safeParse(await api.vehicles());
      if (!list.success) {
        reportField(report, "vehicles.data", "expected a list of {vin}");
        throw new VendorError("malformed", "vehicles: data is not a list of vehicles");
      }
      const only = ctx.account?.vehicles ?? [];
      return list.data
        .filter((v) => only.length === 0 || only.includes(v.vin))
        .map((v) => ({ provider: PROVIDER, id: v.vin, vin: v.vin }));
    },
    // Volvo answers from its cloud whether the car sleeps or not, and reading never wakes it:
    // there is nothing to check first. Connectivity comes with the snapshot.
    checkState: () => Promise.resolve({ state: "online" }),
    requestsPerCheck: 0,
    async fetch(vehicle: VehicleRef, options?: FetchOptions) {
      const f = facts.get(vehicle.vin) ?? newFacts();
      facts.set(vehicle.vin, f);
      const full = options?.endpoints === undefined;
      const order = full ? FULL_ORDER : endpointNames(options.endpoints!);
      const bodies: Partial<Record<EndpointName, unknown>> = {};
      let failure: Error | undefined;
      for (const name of order) {
        if (!wanted(name, f, full)) continue;
        try {
          bodies[name] = await api.read(name, vehicle.vin);
          learn(f, name, bodies[name], report);
        } catch (err) {
          if (!endpointOnly(err)) {
            logGone(err);
            throw err;
          }
          failure = err as Error;
          if (err instanceof VolvoError && err.reason === "unsupported") {
            f.unsupported.add(name);
            ctx.log.info("endpoint not available for this vehicle; not asked again", {
              endpoint: ENDPOINTS[name].template,
            });
          } else {
            ctx.log.warn("endpoint failed; its last values are kept", {
              endpoint: ENDPOINTS[name].template,
              error: (err as Error).message,
            });
          }
        }
      }
      if (Object.keys(bodies).length === 0 && failure) throw failure;
      return mapBodies(vehicle, bodies, { report, facts: f, now: ctx.clock.now() / 1000 });
    },
  };

  function logGone(err: unknown) {
    if (!(err instanceof VolvoError) || err.reason !== "gone") return;
    const endpoint = err.options.endpoint ?? "?";
    if (goneLogged.has(endpoint)) return;
    goneLogged.add(endpoint);
    ctx.log.error(err.message, { endpoint });
  }
}

function endpointNames(names: readonly string[]): EndpointName[] {
  for (const n of names) {
    if (!(n in ENDPOINTS)) {
      throw new Error(`unknown Volvo endpoint "${n}" (known: ${ALL.join(", ")})`);
    }
  }
  return names as EndpointName[];
}

/**
 * Errors that concern one endpoint only (a 404 for an unsupported resource, a 5xx, a bad body):
 * the other endpoints are still read. Quota, rate limit, tokens, the API key and network
 * failures concern every request, so the read stops at once and spends no more quota.
 */
function endpointOnly(err: unknown): boolean {
  if (err instanceof HttpError) return false;
  if (err instanceof VolvoError) {
    return err.reason === "unsupported" || err.reason === "server" || err.kind === "malformed";
  }
  return err instanceof VendorError && err.kind === "malformed";
}

const isElectric = (f: VehicleFacts) => f.fuelType === "ELECTRIC" || f.fuelType === "NONE";
