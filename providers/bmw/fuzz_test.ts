/**
 * Property tests of the BMW mapping with fast-check, for both ways values arrive: REST
 * `telematicData` bodies (as text, so broken JSON too) and stream messages (as payload bytes).
 * Seeds are the simulated i4's state while driving, charging and parked, mutated (entries
 * removed, types swapped, huge numbers, NaN-like strings, prototype keys, timestamps from 1970
 * to the year 275760) or replaced by random JSON. Whatever arrives: the provider throws nothing
 * but VendorError "malformed", the stream throws nothing at all, no NaN or Infinity and no
 * out-of-range value is stored, every rejected entry is counted under its key, an entry that is
 * not a value leaves the stored value as it was, and the next good values are stored as sent
 * (a bad timestamp cannot freeze a key).
 *
 * Fixed seed and run count; FUZZ_SEED / FUZZ_RUNS override them (`FUZZ_RUNS=100000 deno test -A
 * providers/bmw/fuzz_test.ts`). A real Mosquitto carries a batch of them at the end.
 */
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { assert, assertEquals } from "../../core/testing.ts";
import { inRange, metric } from "../../core/catalog.ts";
import { VirtualClock } from "../../core/clock.ts";
import { VendorError } from "../../core/errors.ts";
import { Http } from "../../core/http.ts";
import { createLogger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import { pollOnce } from "../../core/scheduler.ts";
import type { VehicleRef } from "../../core/snapshot.ts";
import { collectSeries } from "../../export/series.ts";
import { check, fuzzRun, mutate, mutation, nasty, polluted } from "../../replay/fuzz.ts";
import { Mosquitto } from "../../replay/mosquitto.ts";
import { waitFor } from "../../scripts/testing_task.ts";
import { type Field, TELEMATIC_KEYS, Telematics } from "./map.ts";
import { createBmwProvider } from "./provider.ts";
import { I4_VIN, i4Day, SIM_GCID, stateAt } from "./sim/scenario.ts";
import { BmwStream } from "./stream.ts";
import { TelematicEntry } from "./types.ts";

const RUN = fuzzRun(20260611, 1000);
const DAY = Date.UTC(2026, 5, 10);
const H = 3_600_000;
const EVENTS = i4Day(DAY);
/** Driving, DC charging, AC charging, parked at night. */
const MOMENTS = [8 * H, 13.9 * H, 19.2 * H, 23 * H].map((t) => DAY + t);
const vehicle: VehicleRef = { provider: "bmw", id: I4_VIN, vin: I4_VIN };
const silent = createLogger({ write: () => {} });

type Entries = Record<string, { value: string; unit: string | null; timestamp: string }>;

/** The car's values at `t` as CarData sends them, every time stamped `stampAt` when given. */
function entries(t: number, stampAt?: number): Entries {
  const out: Entries = {};
  for (const [key, e] of stateAt(EVENTS, t)) {
    out[key] = {
      value: e.value,
      unit: e.unit ?? null,
      timestamp: new Date(stampAt ?? e.at).toISOString(),
    };
  }
  return out;
}

/** Timestamps a broken car or cloud might send. */
const timestamp = fc.oneof(
  fc.constantFrom(
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00.000Z",
    "1970-01-01T00:00:00Z",
    "2007-12-31T23:59:59Z",
    "2026-06-10T12:00:00",
    "2026-06-10",
    "not a time",
    "",
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

/** What an entry's value, unit or timestamp might hold instead. */
const entryPart = fc.oneof(nasty, timestamp);

function fieldPaths(root: string): string[][] {
  return TELEMATIC_KEYS.flatMap((k) => [
    [root, k, "value"],
    [root, k, "unit"],
    [root, k, "timestamp"],
    [root, k],
  ]);
}

const mutatedData = (root: string) =>
  fc.tuple(
    fc.constantFrom(...MOMENTS),
    fc.array(mutation(entryPart), { minLength: 1, maxLength: 8 }),
  ).map(([t, ms]) => ({ t, body: mutate({ [root]: entries(t) }, ms, fieldPaths(root)) }));

const randomData = (root: string) =>
  fc.tuple(
    fc.constantFrom(...MOMENTS),
    fc.oneof(
      fc.record({ [root]: fc.dictionary(fc.constantFrom(...TELEMATIC_KEYS), nasty) }),
      fc.record({ [root]: nasty }),
      fc.jsonValue(),
      nasty,
    ),
  ).map(([t, body]) => ({ t, body }));

/** A body (REST: `telematicData`; stream: `data`) as text: sometimes cut short. */
const bodyText = (root: string, wrap: (body: unknown) => unknown) =>
  fc.tuple(
    fc.oneof({ weight: 4, arbitrary: mutatedData(root) }, {
      weight: 1,
      arbitrary: randomData(root),
    }),
    fc.nat(),
    fc.boolean(),
  ).map(([{ t, body }, cut, truncate]) => {
    const text = JSON.stringify(wrap(body)) ?? "";
    return { t, text: truncate ? text.slice(0, cut % (text.length + 1)) : text };
  });

/** The entries of a body that are values (what merge may take), by key. */
function valid(text: string, root: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return out;
  }
  const data = (body as Record<string, unknown> | null)?.[root];
  if (data === null || typeof data !== "object" || Array.isArray(data)) return out;
  for (const [key, raw] of Object.entries(data)) {
    if (TelematicEntry.safeParse(raw).success) out.set(key, raw);
  }
  return out;
}

/** Nothing stored is NaN, infinite, outside its range, or an unknown state. */
function checkStored(readings: Readings) {
  const stored = readings.vehicles.get(`bmw/${I4_VIN}`)?.snapshot;
  if (stored) {
    for (const s of stored.samples) {
      assert(inRange(metric(s.metric), s.value), `${s.metric} = ${s.value} stored`);
    }
    for (const st of stored.states) {
      assert((metric(st.metric).states ?? []).includes(st.state), `${st.metric}: ${st.state}`);
    }
  }
  for (const s of collectSeries(readings, { location: true })) {
    assert(Number.isFinite(s.value) && inRange(s.def, s.value), `${s.def.name} = ${s.value}`);
  }
  assert(!polluted(), "Object.prototype was polluted");
}

/** After a bad body: each stored key the body held no value for is as the good read left it. */
function checkKept(
  before: ReadonlyMap<string, Field>,
  after: ReadonlyMap<string, Field>,
  text: string,
  root: string,
  readings: Readings,
) {
  const taken = valid(text, root);
  for (const [key, field] of before) {
    if (taken.has(key)) continue;
    assertEquals(after.get(key), field, `${key} changed by an entry that is not a value`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  const data = (body as Record<string, unknown> | null)?.[root];
  if (data === null || typeof data !== "object" || Array.isArray(data)) return;
  for (const key of Object.keys(data)) {
    // zod's record drops a `__proto__` key before the mapper sees it: nothing to count.
    if (taken.has(key) || key === "__proto__") continue;
    const counted = readings.counterValue("ev.parse.errors", { provider: "bmw", field: key });
    assert(counted > 0, `${key}: a rejected entry is counted under its key`);
  }
}

/** Every key of the good values at `t`, stamped `stampAt`, is stored as sent. */
function checkHealed(fields: ReadonlyMap<string, Field>, t: number, stampAt: number): string[] {
  const wrong: string[] = [];
  for (const [key, e] of Object.entries(entries(t, stampAt))) {
    const want: Field = { value: e.value, ...(e.unit ? { unit: e.unit } : {}), at: stampAt };
    if (JSON.stringify(fields.get(key)) !== JSON.stringify(want)) wrong.push(key);
  }
  return wrong;
}

/** A BMW provider whose API answers `telematicData` with whatever `answer.text` holds. */
function providerAnswering(answer: { text: string }, clock: VirtualClock, readings: Readings) {
  const fake: typeof fetch = (input) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    const body = path.endsWith("/telematicData")
      ? answer.text
      : path === "/customers/containers"
      ? JSON.stringify({ containers: [{ containerId: "c1", name: "ev-observer" }] })
      : JSON.stringify({ brand: "BMW", modelName: "i4 eDrive40" });
    return Promise.resolve(
      new Response(body, { status: 200, headers: { "content-type": "application/json" } }),
    );
  };
  const telematics = new Telematics();
  const provider = createBmwProvider({
    http: new Http({ provider: "bmw", readings, fetch: fake }).withAuth({
      token: () => Promise.resolve("fuzz-token"),
    }),
    readings,
    clock,
    log: silent,
    baseUrl: "http://bmw.test",
    location: true,
  }, telematics);
  return { provider, telematics };
}

Deno.test("fuzz (BMW REST): telematicData bodies never throw past the provider, never damage stored values", async () => {
  await check(bodyText("telematicData", (b) => b), async ({ t, text }) => {
    const readings = new Readings();
    const clock = new VirtualClock(t, 0);
    const answer = { text: JSON.stringify({ telematicData: entries(t) }) };
    const { provider, telematics } = providerAnswering(answer, clock, readings);
    const target = { provider, vehicle };
    assertEquals((await pollOnce(target, readings, silent)).kind, "snapshot");
    const before = new Map(telematics.fields(I4_VIN));

    clock.advance(60_000);
    answer.text = text;
    // As the scheduler reads it: range-checked, stored, any error caught and counted.
    const outcome = await pollOnce(target, readings, silent);
    if (outcome.kind === "error") {
      assert(
        outcome.error instanceof VendorError && outcome.error.kind === "malformed",
        `the read failed with ${(outcome.error as Error)?.name}: ${
          (outcome.error as Error)?.message
        }`,
      );
    }
    checkKept(before, telematics.fields(I4_VIN), text, "telematicData", readings);
    checkStored(readings);

    // The next good values, a day on, are stored as sent: nothing bad lingers.
    clock.advance(86_400_000);
    answer.text = JSON.stringify({ telematicData: entries(t, clock.now()) });
    assertEquals((await pollOnce(target, readings, silent)).kind, "snapshot");
    assertEquals(checkHealed(telematics.fields(I4_VIN), t, clock.now()), [], "not stored as sent");
    checkStored(readings);
  }, RUN);
});

function streamFor(readings: Readings, clock: VirtualClock) {
  const telematics = new Telematics();
  const stream = new BmwStream({
    url: "mqtts://127.0.0.1:1",
    credentials: () => Promise.reject(new Error("not connected in this test")),
    account: "fuzz",
    vins: [I4_VIN],
    telematics,
    readings,
    clock,
    log: silent,
    location: true,
  });
  return { stream, telematics };
}

const message = (data: unknown) => ({
  vin: I4_VIN,
  entityId: SIM_GCID,
  topic: I4_VIN,
  timestamp: "2026-06-10T08:00:00.000Z",
  data,
});
const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("fuzz (BMW stream): any payload is counted, never thrown, never damages stored values", async () => {
  await check(
    bodyText("data", (b) => ({ ...message(undefined), ...(b as object) })),
    ({ t, text }) => {
      const readings = new Readings();
      const clock = new VirtualClock(t, 0);
      const { stream, telematics } = streamFor(readings, clock);
      stream.receive(encode(JSON.stringify(message(entries(t)))));
      const before = new Map(telematics.fields(I4_VIN));
      clock.advance(60_000);
      stream.receive(encode(text));
      checkKept(before, telematics.fields(I4_VIN), text, "data", readings);
      checkStored(readings);
      clock.advance(86_400_000);
      stream.receive(encode(JSON.stringify(message(entries(t, clock.now())))));
      assertEquals(checkHealed(telematics.fields(I4_VIN), t, clock.now()), [], "not as sent");
      checkStored(readings);
    },
    RUN,
  );
});

Deno.test("BMW stream on a real Mosquitto: 300 broken payloads, then one good message, stored as sent", async () => {
  const broker = await Mosquitto.start({ tls: true });
  const readings = new Readings();
  const now = Date.now();
  const clock = new VirtualClock(now, 1);
  const telematics = new Telematics();
  const stream = new BmwStream({
    url: broker.url,
    credentials: () =>
      Promise.resolve({ gcid: SIM_GCID, idToken: "fuzz-id-token", expiresAt: now / 1000 + 3600 }),
    account: "fuzz",
    vins: [I4_VIN],
    telematics,
    readings,
    clock,
    log: silent,
    location: true,
    ca: broker.caPem,
  });
  const stop = new AbortController();
  const running = stream.run(stop.signal);
  const { default: mqtt } = await import("mqtt");
  const client = await mqtt.connectAsync(broker.url, { ca: broker.caPem, clientId: "car" });
  try {
    await waitFor("the stream", () => Promise.resolve(stream.connected || undefined), 40);
    const payloads = fc.sample(
      bodyText("data", (b) => ({ ...message(undefined), ...(b as object) })),
      {
        seed: RUN.seed,
        numRuns: 300,
      },
    );
    for (const p of payloads) await client.publishAsync(`${SIM_GCID}/${I4_VIN}`, p.text);
    // Sent as text too: bytes that are not UTF-8 JSON at all.
    await client.publishAsync(`${SIM_GCID}/${I4_VIN}`, Buffer.from([0xff, 0xfe, 0x00, 0x7b]));
    const t = MOMENTS[1];
    // A minute ahead (within the clock skew allowed): newer than any broken entry without a
    // time, which is stamped on arrival.
    const stamp = clock.now() + 60_000;
    const good = JSON.stringify(message(entries(t, stamp)));
    await client.publishAsync(`${SIM_GCID}/${I4_VIN}`, good, { qos: 1 });
    await waitFor(
      "the good message",
      () =>
        Promise.resolve(checkHealed(telematics.fields(I4_VIN), t, stamp).length === 0 || undefined),
      40,
    );
    checkStored(readings);
    assert(stream.connected, "still connected");
    assert(
      readings.counterValue("ev.parse.errors", { provider: "bmw", field: "stream.message" }) > 0,
      "broken messages counted under stream.message",
    );
  } finally {
    await client.endAsync();
    stop.abort();
    await running;
    await broker.close();
  }
});
