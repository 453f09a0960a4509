/**
 * The BMW provider: every REST call counts against 50 a day, so a read is one call (the
 * telematic data of the account's container); the vehicle list and each car's basic data are
 * read at start and again after a day, and the container is found or created once per run.
 * map.ts turns the values into a snapshot.
 */
import { VendorError } from "../../core/errors.ts";
import { type ParseReport, reportField } from "../../core/parse.ts";
import type { Labels, VehicleRef } from "../../core/snapshot.ts";
import type { Provider, ProviderContext } from "../../core/source.ts";
import { BmwApi, CONTAINER_NAME, PROVIDER } from "./api.ts";
import { TELEMATIC_KEYS, Telematics, telematicSnapshot } from "./map.ts";
import { BasicData, ContainerList, TelematicData, VehicleMappings } from "./types.ts";

const DAY_MS = 86_400_000;

export function createBmwProvider(ctx: ProviderContext, telematics = new Telematics()): Provider {
  const api = new BmwApi(ctx);
  const report: ParseReport = { provider: PROVIDER, readings: ctx.readings, log: ctx.log };
  let container: Promise<string> | undefined;
  const basicReadAt = new Map<string, number>();

  /** Our container: the active one named ev-observer, or a new one (at most 10 per user). */
  const containerId = () => {
    container ??= (async () => {
      const list = ContainerList.safeParse(await api.containers());
      if (!list.success) throw new VendorError("malformed", "containers: unexpected body");
      const ours = list.data.containers.find((c) =>
        c.name === CONTAINER_NAME && (c.state ?? "ACTIVE") === "ACTIVE"
      );
      if (ours) return ours.containerId;
      const made = ContainerList.shape.containers.element.safeParse(
        await api.createContainer(TELEMATIC_KEYS),
      );
      if (!made.success) throw new VendorError("malformed", "container creation: no containerId");
      ctx.log.info("created the CarData container ev-observer reads", {
        keys: TELEMATIC_KEYS.length,
      });
      return made.data.containerId;
    })().catch((err) => {
      container = undefined; // the next read tries again
      throw err;
    });
    return container;
  };

  const readBasic = async (vin: string) => {
    const at = basicReadAt.get(vin);
    if (at !== undefined && ctx.clock.now() - at < DAY_MS) return;
    basicReadAt.set(vin, ctx.clock.now());
    const body = BasicData.safeParse(await api.basicData(vin));
    if (!body.success) return reportField(report, "basicData", "unexpected body");
    const info: Labels = {};
    if (body.data.brand) info.brand = body.data.brand;
    if (body.data.modelName) info.model = body.data.modelName;
    telematics.setInfo(vin, info);
  };

  return {
    id: PROVIDER,
    async listVehicles(): Promise<VehicleRef[]> {
      const list = VehicleMappings.safeParse(await api.mappings());
      if (!list.success) {
        reportField(report, "mappings", "expected a list of {vin, mappingType}");
        throw new VendorError("malformed", "vehicle mappings: not a list of vehicles");
      }
      const only = ctx.account?.vehicles ?? [];
      // Only the main user (PRIMARY) of a car gets its data.
      return list.data
        .filter((m) => (m.mappingType ?? "PRIMARY") === "PRIMARY")
        .filter((m) => only.length === 0 || only.includes(m.vin))
        .map((m) => ({ provider: PROVIDER, id: m.vin, vin: m.vin }));
    },
    // No call tells whether the car sleeps, and reading never wakes it: nothing to check.
    checkState: () => Promise.resolve({ state: "online" }),
    requestsPerCheck: 0,
    async fetch(vehicle: VehicleRef) {
      await readBasic(vehicle.vin).catch((err) => {
        if (err instanceof VendorError && err.kind === "quota") throw err;
        ctx.log.warn("basic data not read", { error: (err as Error).message });
      });
      const body = TelematicData.safeParse(
        await api.telematicData(vehicle.vin, await containerId()),
      );
      if (!body.success) {
        reportField(report, "telematicData", "expected {telematicData: {…}}");
        throw new VendorError("malformed", "telematicData: unexpected body");
      }
      telematics.merge(vehicle.vin, body.data.telematicData, ctx.clock.now(), report);
      return telematicSnapshot(vehicle, telematics.fields(vehicle.vin), {
        location: ctx.location,
        report,
        info: telematics.info(vehicle.vin),
      });
    },
  };
}
