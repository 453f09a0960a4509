/**
 * A fast-check fuzz of the Volvo mappers, shared by providers/volvo/fuzz_test.ts (a short
 * seeded run in CI) and `deno task bench volvo-fuzz` (10,000 cases). Seeds are every endpoint
 * body of every Volvo cassette under fixtures/volvo/ and every reference body in
 * providers/volvo/testdata/ (plus the pre-November-2023 tyre shape), mutated with
 * replay/fuzz.ts (values swapped for hostile ones, units and timestamps broken, fields
 * removed, prototype keys) or replaced by random JSON. Whatever arrives:
 *
 * - mapBodies throws nothing; every sample is a finite number of a catalog metric with string
 *   labels, every state one of its state set's, the sample time believable or the read time;
 * - every value outside its catalog range is dropped and counted, and the exports accept what
 *   is stored;
 * - through the real provider and Http seam (bodies as text, some cut short or carrying
 *   literals JSON.stringify never writes), nothing but a VendorError "malformed" escapes, and
 *   pollOnce never throws;
 * - Object.prototype is never polluted.
 */
import fc from "fast-check";
import { inRange, metric } from "../../../core/catalog.ts";
import { VirtualClock } from "../../../core/clock.ts";
import { VendorError } from "../../../core/errors.ts";
import { Http } from "../../../core/http.ts";
import { createLogger } from "../../../core/log.ts";
import { checkRanges, sampleTimeProblem } from "../../../core/parse.ts";
import { Readings } from "../../../core/readings.ts";
import { pollOnce } from "../../../core/scheduler.ts";
import type { Snapshot, VehicleRef } from "../../../core/snapshot.ts";
import { assert } from "../../../core/testing.ts";
import { collectSeries } from "../../../export/series.ts";
import { check, type FuzzRun, mutate, mutation, nasty, polluted } from "../../../replay/fuzz.ts";
import { type EndpointName, ENDPOINTS } from "../api.ts";
import { learn, mapBodies, newFacts, type VehicleFacts } from "../map.ts";
import { createVolvoProvider } from "../provider.ts";
import * as types from "../types.ts";

/** The seed of the CI run and of the bench's 10,000 cases. */
export const VOLVO_FUZZ_SEED = 20260311;
const VIN = "YV1XZEFV0R2000001";
const vehicle: VehicleRef = { provider: "volvo", id: VIN, vin: VIN };
const silent = createLogger({ write: () => {} });
/** When the bodies are read (Unix s): after every timestamp of the seeds. */
const NOW = 1_774_000_000;
const NAMES = Object.keys(ENDPOINTS) as EndpointName[];

/** The fields each mapper reads (its types.ts schema), by endpoint. */
const SCHEMAS: Record<EndpointName, Record<string, unknown>> = {
  "details": types.DetailsFields,
  "doors": types.DoorsFields,
  "windows": types.WindowsFields,
  "engine-status": types.EngineStatusFields,
  "command-accessibility": types.CommandAccessibilityFields,
  "odometer": types.OdometerFields,
  "fuel": types.FuelFields,
  "statistics": types.StatisticsFields,
  "tyres": types.TyresFields,
  "warnings": types.WarningsFields,
  "diagnostics": types.DiagnosticsFields,
  "engine": types.EngineFields,
  "brakes": types.BrakesFields,
  "energy-state": types.EnergyStateFields,
  "energy-capabilities": { getEnergyState: true },
  "location": types.LocationFields,
};

/** Paths in an endpoint's body to its fields and the parts of their value objects. */
const FIELDS = Object.fromEntries(NAMES.map((name) => [
  name,
  Object.keys(SCHEMAS[name]).flatMap((key) =>
    ["", "value", "unit", "timestamp", "updatedAt", "status"].map((part) =>
      part ? [key, part] : [key]
    )
  ),
])) as Record<EndpointName, string[][]>;

/** The endpoint a recorded path belongs to. */
function endpointOf(path: string): EndpointName | undefined {
  return NAMES.find((name) =>
    new RegExp(`^${ENDPOINTS[name].template.replace("{vin}", "[^/]+")}$`).test(path)
  );
}

/** Reference file name → endpoint (vehicle lists, errors and tokens are not bodies). */
function endpointOfFile(file: string): EndpointName | undefined {
  const name = file.replace(/\.json$/, "");
  if (name.startsWith("connected-vehicle.vehicle.")) return "details";
  if (name.startsWith("energy.state")) return "energy-state";
  if (name.startsWith("energy.capabilities")) return "energy-capabilities";
  if (name === "location") return "location";
  const part = name.split(".")[1];
  return NAMES.includes(part as EndpointName) ? part as EndpointName : undefined;
}

type Seeds = Record<EndpointName, unknown[]>;

/** Every body of every Volvo cassette and reference file, by endpoint (envelopes removed). */
export async function loadSeeds(): Promise<Seeds> {
  const seeds = Object.fromEntries(NAMES.map((n) => [n, [] as unknown[]])) as Seeds;
  const add = (name: EndpointName, json: unknown) => {
    const body = ENDPOINTS[name].wrapped ? (json as { data?: unknown })?.data : json;
    const text = JSON.stringify(body);
    if (body !== undefined && !seeds[name].some((b) => JSON.stringify(b) === text)) {
      seeds[name].push(body);
    }
  };
  const fixtures = new URL("../../../fixtures/volvo/", import.meta.url);
  for await (const scenario of Deno.readDir(fixtures)) {
    if (!scenario.isDirectory) continue;
    const cassette = JSON.parse(
      await Deno.readTextFile(new URL(`${scenario.name}/cassette.json`, fixtures)),
    );
    for (const ex of cassette.exchanges) {
      const name = ex.request.method === "GET" ? endpointOf(ex.request.path) : undefined;
      if (name && ex.response.status === 200) add(name, ex.response.json);
    }
  }
  const testdata = new URL("../testdata/", import.meta.url);
  for await (const file of Deno.readDir(testdata)) {
    const name = file.name.endsWith(".json") ? endpointOfFile(file.name) : undefined;
    if (name) add(name, JSON.parse(await Deno.readTextFile(new URL(file.name, testdata))));
  }
  // The pre-November-2023 tyre shape (hand-written from the field names of that era).
  add("tyres", {
    data: Object.fromEntries(types.LEGACY_TYRES.map((key) => [key, {
      name: key,
      value: "NORMAL",
      timestamp: "2023-06-12T07:14:03.000Z",
    }])),
  });
  return seeds;
}

/** A value object a Volvo field might hold instead of a good one. */
const valueObject: fc.Arbitrary<unknown> = fc.record({
  value: fc.oneof(nasty, fc.constantFrom("OPEN", "LOCKED", "NORMAL", "CHARGING", "1e306")),
  unit: fc.oneof(fc.constantFrom("km", "mi", "kW", "watts", "%", "months", "h", "l"), nasty),
  timestamp: fc.oneof(
    fc.constantFrom("2099-01-01T00:00:00Z", "1970-01-21T06:00:00Z", "yesterday", ""),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    nasty,
  ),
  updatedAt: fc.oneof(fc.constantFrom("9999-12-31T23:59:59Z", "2024-03-05T08:38:44Z"), nasty),
  status: fc.constantFrom("OK", "ERROR", "ok", undefined),
  code: fc.oneof(fc.constantFrom("NOT_SUPPORTED", "__proto__"), nasty),
}, { requiredKeys: [] });

function arbitraries(seeds: Seeds) {
  const present = NAMES.filter((n) => seeds[n].length > 0);
  // Endpoint names come from the provider, never from the vendor: only the bodies are mutated.
  const mutations = fc.array(mutation(fc.oneof(valueObject, nasty)), { maxLength: 6 });
  const mutated = fc.uniqueArray(fc.constantFrom(...present), { minLength: 1 }).chain((names) =>
    fc.tuple(
      ...names.map((n) => fc.tuple(fc.nat({ max: seeds[n].length - 1 }), mutations)),
    ).map((picks) =>
      Object.fromEntries(
        names.map((n, i) => [n, mutate(seeds[n][picks[i][0]], picks[i][1], FIELDS[n])]),
      ) as Partial<Record<EndpointName, unknown>>
    )
  );
  const random = fc.dictionary(fc.constantFrom(...NAMES), fc.oneof(nasty, fc.jsonValue()), {
    minKeys: 1,
  }) as fc.Arbitrary<Partial<Record<EndpointName, unknown>>>;
  const bodies = fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 1, arbitrary: random });
  return { bodies };
}

/** The checks on one mapped snapshot; records it and checks what the exports see. */
function checkSnapshot(snapshot: Snapshot, readings: Readings): void {
  for (const s of snapshot.samples) {
    assert(typeof s.value === "number" && Number.isFinite(s.value), `${s.metric} = ${s.value}`);
    for (const v of Object.values(s.labels ?? {})) assert(typeof v === "string", s.metric);
  }
  for (const st of snapshot.states) {
    const states = metric(st.metric).states ?? [];
    assert(typeof st.state === "string" && states.includes(st.state), `${st.metric}: ${st.state}`);
  }
  for (const v of Object.values(snapshot.info)) assert(typeof v === "string", "info label");
  const time = snapshot.sampledAt;
  assert(
    sampleTimeProblem(time, snapshot.readAt) === undefined || time === snapshot.readAt,
    `sampledAt ${time} is neither believable nor the read time`,
  );
  const checked = checkRanges({ provider: "volvo", readings, log: silent }, snapshot);
  for (const s of snapshot.samples) {
    if (inRange(metric(s.metric), s.value)) continue;
    const field = s.metric;
    assert(
      readings.counterValue("ev.parse.errors", { provider: "volvo", field }) > 0,
      `${s.metric} = ${s.value} is out of range and was not counted`,
    );
  }
  readings.record(checked);
  for (const s of collectSeries(readings, { location: true })) {
    assert(Number.isFinite(s.value) && inRange(s.def, s.value), `${s.def.name} = ${s.value}`);
  }
}

/** mapBodies on mutated and random bodies, facts learnt first as the provider does. */
export async function fuzzMapBodies(run: FuzzRun, seeds?: Seeds): Promise<void> {
  const { bodies } = arbitraries(seeds ?? await loadSeeds());
  await check(bodies, (all) => {
    const readings = new Readings();
    const report = { provider: "volvo", readings, log: silent };
    const facts: VehicleFacts = newFacts();
    for (const name of Object.keys(all) as EndpointName[]) learn(facts, name, all[name], report);
    const snapshot = mapBodies(vehicle, all, { report, facts, now: NOW });
    checkSnapshot(snapshot, readings);
    assert(!polluted(), "Object.prototype was polluted");
  }, run);
}

/** Literals JSON.stringify cannot write but a vendor's bytes can hold. */
const rawLiteral = fc.constantFrom("1e309", "-1e309", "-0", "1E400", "12345678901234567890");

/**
 * A provider whose endpoints answer 200 with their text in `texts`; the others with a good
 * recorded body, so a read meets hostile and sound answers side by side.
 */
function providerAnswering(
  texts: Partial<Record<EndpointName, string>>,
  seeds: Seeds,
  readings: Readings,
) {
  const fake: typeof fetch = (input) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    if (path === "/connected-vehicle/v2/vehicles") {
      return Promise.resolve(Response.json({ data: [{ vin: VIN }] }));
    }
    const name = endpointOf(path)!;
    const sound = ENDPOINTS[name].wrapped ? { data: seeds[name][0] } : seeds[name][0];
    const text = texts[name] ?? JSON.stringify(sound);
    return Promise.resolve(
      new Response(text, { status: 200, headers: { "content-type": "application/json" } }),
    );
  };
  return createVolvoProvider({
    http: new Http({ provider: "volvo", readings, fetch: fake }).withAuth({
      token: () => Promise.resolve("fuzz-token"),
    }),
    readings,
    clock: new VirtualClock(NOW * 1000, 0),
    log: silent,
    baseUrl: "http://volvo.test",
    location: true,
    account: { provider: "volvo", name: "fuzz", vehicles: [], vcc_api_key: "fuzz-api-key" },
  });
}

/** The provider and pollOnce on the bodies as text, some cut short or with raw literals. */
export async function fuzzProvider(run: FuzzRun, given?: Seeds): Promise<void> {
  const seeds = given ?? await loadSeeds();
  const { bodies } = arbitraries(seeds);
  const texts = fc.tuple(bodies, fc.nat(), rawLiteral, fc.nat(), fc.boolean()).map(
    ([all, nth, literal, cut, truncate]) =>
      Object.fromEntries(
        (Object.keys(all) as EndpointName[]).map((name) => {
          const wrapped = ENDPOINTS[name].wrapped ? { data: all[name] } : all[name];
          let text = JSON.stringify(wrapped) ?? "";
          let n = 0;
          text = text.replace(
            /(?<=:)-?\d+(\.\d+)?(e[+-]?\d+)?/gi,
            (m) => n++ === nth % 50 ? literal : m,
          );
          return [name, truncate ? text.slice(0, cut % (text.length + 1)) : text];
        }),
      ) as Partial<Record<EndpointName, string>>,
  );
  await check(texts, async (answers) => {
    const readings = new Readings();
    const provider = providerAnswering(answers, seeds, readings);
    try {
      const snapshot = await provider.fetch(vehicle);
      if (snapshot) checkSnapshot(snapshot, readings);
    } catch (err) {
      assert(
        err instanceof VendorError && err.kind === "malformed",
        `provider.fetch threw ${(err as Error)?.name}: ${(err as Error)?.message}`,
      );
    }
    const outcome = await pollOnce({ provider, vehicle }, readings, silent);
    if (outcome.kind === "error") {
      assert(
        outcome.error instanceof VendorError && outcome.error.kind === "malformed",
        `pollOnce: ${outcome.error.message}`,
      );
    } else if (outcome.kind === "snapshot") {
      for (const s of outcome.snapshot.samples) assert(inRange(metric(s.metric), s.value));
    }
    assert(!polluted(), "Object.prototype was polluted");
  }, run);
}
