import { assert, assertEquals } from "./testing.ts";
import { createLogger } from "./log.ts";
import { checkRanges, EARLIEST_SAMPLE_S, SAMPLE_TIME_SKEW_S } from "./parse.ts";
import { Readings } from "./readings.ts";
import { type Snapshot, vehicleKey } from "./snapshot.ts";

const vehicle = { provider: "volvo", id: "V", vin: "V" };
/** 2026-03-10T00:00:00Z */
const T0 = 1_773_100_800;
const silent = createLogger({ write: () => {} });

function store() {
  const readings = new Readings();
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const report = { provider: "volvo", readings, log };
  /** One partial read of `source` at `readAt` claiming vendor time `sampledAt`, as polled. */
  const read = (sampledAt: number, readAt: number | undefined, source = "energy-state") => {
    const snapshot: Snapshot = {
      vehicle,
      sampledAt,
      ...(readAt === undefined ? {} : { readAt }),
      state: "online",
      samples: [{ metric: "ev.battery.level", value: 0.5, source }],
      states: [],
      info: {},
      partial: { sources: [source] },
    };
    return readings.record(checkRanges(report, snapshot));
  };
  const entry = () => readings.vehicles.get(vehicleKey(vehicle))!;
  const refused = () =>
    readings.counterValue("ev.parse.errors", {
      provider: "volvo",
      field: "ev.last_sample.timestamp",
    });
  return { readings, read, entry, refused, lines };
}

Deno.test("a sample time in the future is refused, counted, and the next good read takes over", () => {
  const { read, entry, refused, lines } = store();
  read(T0 - 60, T0);
  assertEquals(entry().lastSampleAt, T0 - 60);
  // One endpoint claims 2099: more than the skew ahead of the moment it was read.
  const stored = read(Date.UTC(2099, 0, 1) / 1000, T0 + 60, "odometer");
  assertEquals(refused(), 1);
  assert(stored.sampledAt <= T0 + 60 + SAMPLE_TIME_SKEW_S, `stored ${stored.sampledAt}`);
  assert(lines.some((l) => l.includes("ahead of this machine's clock")), "the log says why");
  // Seven later good reads: freshness follows them, nothing was pinned.
  for (let i = 1; i <= 7; i++) read(T0 + 120 * i, T0 + 120 * i + 5);
  assertEquals(entry().lastSampleAt, T0 + 840);
  assertEquals(entry().snapshot?.sampledAt, T0 + 840);
  assertEquals(refused(), 1);
});

Deno.test("a sample time a little ahead (clock skew) is kept; before any connected car is refused", () => {
  const { read, entry, refused } = store();
  read(T0 + SAMPLE_TIME_SKEW_S - 1, T0);
  assertEquals([entry().lastSampleAt, refused()], [T0 + SAMPLE_TIME_SKEW_S - 1, 0]);
  const { read: read2, entry: entry2, refused: refused2 } = store();
  read2(EARLIEST_SAMPLE_S - 1, T0); // e.g. seconds sent where milliseconds belong
  assertEquals(refused2(), 1);
  assertEquals(entry2().lastSampleAt, T0, "the time it was read instead");
});

Deno.test("a year-9999 time (no read time known) never sticks: the next good read restores freshness", () => {
  const { read, entry, refused } = store();
  read(T0, undefined);
  read(Date.UTC(9999, 0, 1) / 1000, undefined, "odometer");
  assertEquals(refused(), 1);
  read(T0 + 600, undefined);
  assertEquals(entry().lastSampleAt, T0 + 600);
  assertEquals(entry().snapshot?.sampledAt, T0 + 600);
});

Deno.test("checkRanges keeps a good snapshot as it is", () => {
  const readings = new Readings();
  const s: Snapshot = {
    vehicle,
    sampledAt: T0,
    readAt: T0 + 10,
    state: "online",
    samples: [{ metric: "ev.battery.level", value: 0.5 }],
    states: [],
    info: {},
  };
  assertEquals(checkRanges({ provider: "volvo", readings, log: silent }, s), s);
  assertEquals(readings.counters.size, 0);
});
