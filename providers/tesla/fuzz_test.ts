/**
 * Property tests of the Tesla mapper with fast-check: the reference payload and bodies from
 * the day scenario, mutated (fields removed, types swapped, huge numbers, NaN-like strings,
 * deep nesting, arrays for objects, prototype keys), and wholly random bodies. Whatever
 * arrives, the mapper and the provider throw nothing but VendorError "malformed", no NaN or
 * Infinity comes out, and every value outside its catalog range is dropped and counted.
 *
 * Fixed seed and run count, so a failure reproduces; FUZZ_SEED / FUZZ_RUNS override them for
 * a longer hunt (`FUZZ_RUNS=100000 deno test -A providers/tesla/fuzz_test.ts`).
 */
import fc from "fast-check";
import { assert } from "../../core/testing.ts";
import { inRange, metric } from "../../core/catalog.ts";
import { VirtualClock } from "../../core/clock.ts";
import { VendorError } from "../../core/errors.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { checkRanges, sampleTimeProblem } from "../../core/parse.ts";
import { Readings } from "../../core/readings.ts";
import { pollOnce } from "../../core/scheduler.ts";
import type { Snapshot, VehicleRef } from "../../core/snapshot.ts";
import { collectSeries } from "../../export/series.ts";
import { check, fuzzRun, mutate, mutation, nasty, polluted } from "../../replay/fuzz.ts";
import { createTeslaProvider, mapVehicleData } from "./provider.ts";
import {
  ChargeStateFields,
  ClimateStateFields,
  DriveStateFields,
  LocationFields,
  VehicleConfigFields,
  VehicleStateFields,
} from "./types.ts";

const RUN = fuzzRun(20260310, 600);
/** When the bodies are read (Unix s): after every day cassette's timestamps. */
const NOW = 1_774_000_000;
const vehicle: VehicleRef = { provider: "tesla", id: "1000000000000001", vin: "5YJ3E1EA9PF000001" };
const silent = createLogger({ write: () => {} });

const reference = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/vehicle_data.fleet.json", import.meta.url)),
).response;
/** Every 30th vehicle_data answer of the day: asleep-ish, driving, charging, parked. */
const day = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/tesla/day/cassette.json", import.meta.url)),
).exchanges
  .filter((e: { request: { path: string }; response: { status: number } }) =>
    e.request.path.endsWith("/vehicle_data") && e.response.status === 200
  )
  .filter((_: unknown, i: number) => i % 30 === 0)
  .map((e: { response: { json: { response: unknown } } }) => e.response.json.response);
const SEEDS: unknown[] = [reference, ...day];

/** The fields the mapper reads, by section: most mutations aim here. */
const FIELDS: [string, string][] = Object.entries({
  charge_state: ChargeStateFields,
  drive_state: { ...DriveStateFields, ...LocationFields },
  climate_state: ClimateStateFields,
  vehicle_state: VehicleStateFields,
  vehicle_config: VehicleConfigFields,
}).flatMap(([section, fields]) => Object.keys(fields).map((k): [string, string] => [section, k]));

const mutatedBody = fc.tuple(
  fc.constantFrom(...SEEDS),
  fc.array(mutation(), { minLength: 1, maxLength: 8 }),
).map(([seed, ms]) => mutate(seed, ms, FIELDS));

/** Sections replaced wholesale by random JSON, and bodies that are random JSON throughout. */
const randomBody = fc.oneof(
  fc.record({
    vin: fc.oneof(fc.string(), nasty),
    state: fc.oneof(fc.constantFrom("online", "asleep"), nasty),
    charge_state: fc.oneof(fc.dictionary(fc.string(), nasty), nasty),
    drive_state: fc.oneof(fc.dictionary(fc.string(), nasty), nasty),
    climate_state: fc.oneof(fc.dictionary(fc.string(), nasty), nasty),
    vehicle_state: fc.oneof(fc.dictionary(fc.string(), nasty), nasty),
    vehicle_config: fc.oneof(fc.dictionary(fc.string(), nasty), nasty),
  }, { requiredKeys: [] }),
  fc.jsonValue(),
  nasty,
);

const anyBody = fc.oneof({ weight: 4, arbitrary: mutatedBody }, {
  weight: 1,
  arbitrary: randomBody,
});

/** The checks on one mapped snapshot; returns the range-checked one. */
function checkSnapshot(snapshot: Snapshot, readings: Readings): Snapshot {
  for (const s of snapshot.samples) {
    assert(typeof s.value === "number" && Number.isFinite(s.value), `${s.metric} = ${s.value}`);
    for (const v of Object.values(s.labels ?? {})) assert(typeof v === "string", s.metric);
  }
  const time = snapshot.sampledAt;
  assert(
    sampleTimeProblem(time, snapshot.readAt) === undefined || time === snapshot.readAt,
    `sampledAt ${time} is neither believable nor the read time`,
  );
  for (const st of snapshot.states) {
    const states = metric(st.metric).states ?? [];
    assert(typeof st.state === "string" && states.includes(st.state), `${st.metric}: ${st.state}`);
  }
  for (const v of Object.values(snapshot.info)) assert(typeof v === "string", "info label");

  const report = { provider: "tesla", readings, log: silent };
  const checked = checkRanges(report, snapshot);
  for (const s of snapshot.samples) {
    if (inRange(metric(s.metric), s.value)) continue;
    const counted = readings.counterValue("ev.parse.errors", {
      provider: "tesla",
      field: s.metric,
    });
    assert(counted > 0, `${s.metric} = ${s.value} is out of range and was not counted`);
  }
  for (const s of checked.samples) assert(inRange(metric(s.metric), s.value), s.metric);
  if (!inRange(metric("ev.last_sample.timestamp"), snapshot.sampledAt)) {
    const field = "ev.last_sample.timestamp";
    assert(readings.counterValue("ev.parse.errors", { provider: "tesla", field }) > 0, field);
  }
  readings.record(checked);
  // The exports accept it: known metrics, declared labels, finite values.
  for (const s of collectSeries(readings, { location: true })) {
    assert(Number.isFinite(s.value) && inRange(s.def, s.value), `${s.def.name} = ${s.value}`);
  }
  return checked;
}

Deno.test("fuzz: mapVehicleData on mutated and random bodies", async () => {
  await check(fc.tuple(anyBody, fc.boolean()), ([body, location]) => {
    const readings = new Readings();
    const report = { provider: "tesla", readings, log: silent };
    let snapshot: Snapshot;
    try {
      snapshot = mapVehicleData(vehicle, body, { report, location, now: NOW });
    } catch (err) {
      const notObject = body === null || typeof body !== "object" || Array.isArray(body);
      assert(
        err instanceof VendorError && err.kind === "malformed" && notObject,
        `mapVehicleData threw ${(err as Error)?.name}: ${(err as Error)?.message}`,
      );
      return;
    }
    checkSnapshot(snapshot, readings);
    assert(!polluted(), "Object.prototype was polluted");
  }, RUN);
});

/** A provider whose vendor answers `vehicle_data` with `text` (and the summary with online). */
function providerAnswering(text: string, readings: Readings) {
  const fake: typeof fetch = (input) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    const body = path.endsWith("/vehicle_data")
      ? text
      : JSON.stringify({ response: { state: "online" } });
    return Promise.resolve(
      new Response(body, { status: 200, headers: { "content-type": "application/json" } }),
    );
  };
  return createTeslaProvider({
    http: new Http({ provider: "tesla", readings, fetch: fake }).withAuth({
      token: () => Promise.resolve("fuzz-token"),
    }),
    readings,
    clock: new VirtualClock(NOW * 1000, 0),
    log: silent,
    baseUrl: "http://tesla.test",
    location: false,
  });
}

/** Literals JSON.stringify cannot write but a vendor's bytes can hold. */
const rawLiteral = fc.constantFrom(
  "1e309",
  "-1e309",
  "-0",
  "1E400",
  "0.0000",
  "12345678901234567890",
);

const bodyText = fc.tuple(anyBody, fc.nat(), rawLiteral, fc.nat(), fc.boolean()).map(
  ([body, nthNumber, literal, cut, truncate]) => {
    let text = JSON.stringify({ response: body }) ?? "";
    let n = 0;
    // Swap the nth number literal for one JSON.stringify would never write.
    text = text.replace(
      /(?<=:)-?\d+(\.\d+)?(e[+-]?\d+)?/gi,
      (m) => n++ === nthNumber % 50 ? literal : m,
    );
    return truncate ? text.slice(0, cut % (text.length + 1)) : text;
  },
);

Deno.test("fuzz: the provider and pollOnce never throw past the provider", async () => {
  await check(bodyText, async (text) => {
    const readings = new Readings();
    const provider = providerAnswering(text, readings);
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
      assert(outcome.error instanceof VendorError && outcome.error.kind === "malformed");
    } else if (outcome.kind === "snapshot") {
      for (const s of outcome.snapshot.samples) assert(inRange(metric(s.metric), s.value));
    }
    assert(!polluted(), "Object.prototype was polluted");
  }, RUN);
});

Deno.test("fuzz: deeply nested and enormous bodies", async () => {
  const readings = new Readings();
  for (
    const text of [
      `{"response":${"[".repeat(200_000)}${"]".repeat(200_000)}}`,
      `{"response":{"charge_state":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}}`,
      `{"response":{"charge_state":{"battery_level":${"9".repeat(400)}}}}`,
    ]
  ) {
    const outcome = await pollOnce(
      { provider: providerAnswering(text, readings), vehicle },
      readings,
      silent,
    );
    assert(outcome.kind !== "error" || outcome.error instanceof VendorError, text.slice(0, 40));
    if (outcome.kind === "snapshot") checkSnapshot(outcome.snapshot, readings);
  }
});

Deno.test("examples: out-of-range, overflowing and prototype-named values are counted", async () => {
  const body = structuredClone(reference);
  body.charge_state.battery_level = 5000; // 50 as a ratio: a unit mistake
  body.charge_state.battery_range = 1e306; // Infinity in meters
  body.charge_state.charging_state = "constructor";
  body.drive_state.shift_state = "__proto__";
  const readings = new Readings();
  const provider = providerAnswering(JSON.stringify({ response: body }), readings);
  const outcome = await pollOnce({ provider, vehicle }, readings, silent);
  assert(outcome.kind === "snapshot");
  const s = outcome.snapshot;
  const count = (field: string) =>
    readings.counterValue("ev.parse.errors", { provider: "tesla", field });
  assert(!s.samples.some((x) => x.metric === "ev.battery.level"), "dropped");
  assert(count("ev.battery.level") === 1, "counted under the metric's name");
  const rated = s.samples.find((x) =>
    x.metric === "ev.battery.range" && x.labels?.estimate === "rated"
  );
  assert(rated === undefined && count("ev.battery.range") === 1, "overflow counted");
  assert(count("charge_state.charging_state") === 1 && count("drive_state.shift_state") === 1);
  assert(
    s.states.every((x) => x.state === "unknown"),
    `prototype names map to "unknown": ${JSON.stringify(s.states)}`,
  );
});
