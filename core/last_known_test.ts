/** The persisted last known values: round trip, care on disk, and every way a file goes bad. */
import { assert, assertEquals, assertStringIncludes } from "./testing.ts";
import { VirtualClock } from "./clock.ts";
import { createLogger } from "./log.ts";
import { LAST_KNOWN_FILE, LastKnown } from "./last_known.ts";
import { checkRanges } from "./parse.ts";
import { Readings } from "./readings.ts";
import type { Snapshot, VehicleRef } from "./snapshot.ts";
import { VehiclePlanner } from "./scheduler.ts";

const T0 = 1_773_100_000;
const TESLA: VehicleRef = { provider: "tesla", id: "42", vin: "5YJ3E1EA9PF000001", name: "Demo" };
const VOLVO: VehicleRef = { provider: "volvo", id: "YV1XZ0000P0000002", vin: "YV1XZ0000P0000002" };
const ACCOUNTS = [
  { provider: "tesla", name: "home", vehicles: [] },
  { provider: "volvo", name: "family", vehicles: [] },
];

function charging(at: number, soc: number): Snapshot {
  return {
    vehicle: TESLA,
    sampledAt: at,
    state: "online",
    samples: [
      { metric: "ev.battery.level", value: soc },
      { metric: "ev.battery.range", value: 300_000, labels: { estimate: "rated" } },
      { metric: "ev.odometer", value: 24_000_000 },
      { metric: "ev.charging.power", value: 11_000 },
      { metric: "ev.location.latitude", value: 52.1 },
      { metric: "ev.tire.pressure", value: 290_000, labels: { wheel: "front_left" } },
    ],
    states: [{ metric: "ev.charging.state", state: "charging" }],
    info: { model: "model3", software_version: "2025.44.1" },
  };
}

interface Rig {
  readonly dir: string;
  readonly lines: string[];
  readonly clock: VirtualClock;
  keeper(readings: Readings, extra?: { maxValueAgeS?: number; location?: boolean }): LastKnown;
}

async function rig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "ev-last-known-" });
  const lines: string[] = [];
  const clock = new VirtualClock((T0 + 600) * 1000, 0);
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  return {
    dir,
    lines,
    clock,
    keeper: (readings, extra = {}) =>
      new LastKnown({
        stateDir: `${dir}/state`,
        readings,
        clock,
        log,
        location: extra.location ?? false,
        maxValueAgeS: extra.maxValueAgeS,
      }),
  };
}

/** A Tesla read while charging, then asleep, with its planner's view; a Volvo never read. */
function before(): Readings {
  const readings = new Readings();
  readings.record(charging(T0, 0.62));
  const planner = new VehiclePlanner();
  planner.afterFetch({ driving: false, charging: true, blockers: [] }, T0);
  planner.afterCheck("asleep", T0 + 300);
  readings.setState(TESLA, "asleep");
  readings.setSchedule(TESLA, planner.view(), "home");
  readings.setPollState(TESLA, "sleeping");
  readings.setState(VOLVO, "offline");
  readings.setSchedule(VOLVO, { mode: "asleep", asleepSince: T0 }, "family");
  return readings;
}

Deno.test("a restart gets back every vehicle's values, sample time, state and scheduler view", async () => {
  const r = await rig();
  try {
    const readings = before();
    await r.keeper(readings).save();
    const after = new Readings();
    assertEquals(await r.keeper(after).restore(ACCOUNTS), 2);
    const tesla = after.vehicles.get("tesla/5YJ3E1EA9PF000001")!;
    const old = readings.vehicles.get("tesla/5YJ3E1EA9PF000001")!;
    assertEquals(tesla.lastSampleAt, T0, "the original sample time");
    assertEquals(tesla.state, "asleep");
    assertEquals(tesla.live, false, "restored values are not live");
    assertEquals(tesla.schedule, { mode: "asleep", asleepSince: T0 + 300, busyAt: T0 });
    assertEquals(tesla.account, "home");
    assertEquals(tesla.pollState, "sleeping");
    assertEquals(tesla.info, old.info);
    // Everything but the position (location is off): it never reaches the disk.
    const { samples, ...rest } = old.snapshot!;
    assertEquals(tesla.snapshot, {
      ...rest,
      samples: samples.filter((s) => s.metric !== "ev.location.latitude"),
    });
    const volvo = after.vehicles.get("volvo/YV1XZ0000P0000002")!;
    assertEquals([volvo.state, volvo.snapshot, volvo.lastSampleAt], [
      "offline",
      undefined,
      undefined,
    ]);
    // The planner resumes from it: asleep, not a car never seen.
    const planner = new VehiclePlanner();
    assert(planner.resume(tesla.schedule!));
    assertEquals(planner.mode, "asleep");
    const restored = r.lines.find((l) => l.includes("restored last known values"))!;
    assertStringIncludes(restored, "vehicles=2");
    assertStringIncludes(restored, 'newest_age="10 min"');
    assert(!r.lines.join("\n").includes(TESLA.vin), "no VIN in the log");
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("the file: mode 0600, no temp file left, rewritten only when something changed", async () => {
  const r = await rig();
  try {
    const readings = before();
    const keeper = r.keeper(readings, { location: true });
    await keeper.save();
    const path = `${r.dir}/state/${LAST_KNOWN_FILE}`;
    assertEquals(keeper.path, path);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals([...Deno.readDirSync(`${r.dir}/state`)].map((e) => e.name), [LAST_KNOWN_FILE]);
    assertStringIncludes(await Deno.readTextFile(path), "ev.location.latitude", "location: true");
    const mtime = (await Deno.stat(path)).mtime;
    await new Promise((res) => setTimeout(res, 20));
    await keeper.save();
    assertEquals((await Deno.stat(path)).mtime, mtime, "nothing changed: no write");
    readings.record(charging(T0 + 60, 0.63));
    await keeper.save();
    assert((await Deno.stat(path)).mtime! > mtime!, "a new read: written");
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("a corrupt file is set aside with a warning and the exporter starts without it", async () => {
  for (
    const [what, text] of [
      ["torn", '{"version":1,"savedAt":17731000'],
      ["wrong shape", '{"version":1,"savedAt":1,"vehicles":[{"vehicle":{}}]}'],
      ["other version", '{"version":99,"vehicles":[]}'],
      ["empty", ""],
    ]
  ) {
    const r = await rig();
    try {
      await Deno.mkdir(`${r.dir}/state`);
      await Deno.writeTextFile(`${r.dir}/state/${LAST_KNOWN_FILE}`, text);
      const readings = new Readings();
      const keeper = r.keeper(readings);
      assertEquals(await keeper.restore(ACCOUNTS), 0, what);
      assertEquals(readings.vehicles.size, 0);
      const warning = r.lines.find((l) => l.includes("unreadable: set aside"));
      assert(warning, `${what}: a warning`);
      const names = [...Deno.readDirSync(`${r.dir}/state`)].map((e) => e.name);
      assertEquals(names.length, 1);
      assert(names[0].startsWith(`${LAST_KNOWN_FILE}.corrupt-`), names[0]);
      assertEquals(await Deno.readTextFile(`${r.dir}/state/${names[0]}`), text, "kept as it was");
      // The next save writes a good file beside it.
      readings.record(charging(T0, 0.5));
      await keeper.save();
      assertEquals(await r.keeper(new Readings()).restore(ACCOUNTS), 1, what);
    } finally {
      await Deno.remove(r.dir, { recursive: true });
    }
  }
});

Deno.test("values the catalog no longer knows are left out; the rest comes back", async () => {
  const r = await rig();
  try {
    await r.keeper(before()).save();
    const path = `${r.dir}/state/${LAST_KNOWN_FILE}`;
    const file = JSON.parse(await Deno.readTextFile(path));
    const snap = file.vehicles[0].snapshot;
    snap.samples.push({ metric: "ev.renamed.since", value: 1 });
    snap.samples.push({ metric: "ev.battery.level", value: 7 }); // outside the catalog range
    snap.samples.push({ metric: "ev.odometer", value: 1, labels: { bogus: "x" } });
    snap.samples.push({ metric: "ev.last_sample.timestamp", value: 1 }); // derived, not sampled
    snap.states.push({ metric: "ev.charging.state", state: "warp" });
    await Deno.writeTextFile(path, JSON.stringify(file));
    const readings = new Readings();
    assertEquals(await r.keeper(readings).restore(ACCOUNTS), 2);
    const tesla = readings.vehicles.get("tesla/5YJ3E1EA9PF000001")!;
    assertEquals(tesla.snapshot!.samples.length, 5);
    assertEquals(tesla.snapshot!.states.length, 1);
    assertStringIncludes(r.lines.join("\n"), "values=5");
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("a sample time that cannot be true never reaches the file, nor sticks when restored", async () => {
  const r = await rig();
  try {
    const FUTURE = 4_070_908_800; // 2099: a vendor clock gone wrong
    // Through the path every poll takes: refused, counted, and the read's time used instead.
    const readings = new Readings();
    const report = { provider: "tesla", readings, log: createLogger({ write: () => {} }) };
    readings.record(checkRanges(report, { ...charging(FUTURE, 0.62), readAt: T0 }));
    const keeper = r.keeper(readings);
    await keeper.save();
    const path = `${r.dir}/state/${LAST_KNOWN_FILE}`;
    const saved = JSON.parse(await Deno.readTextFile(path));
    assertEquals(
      [saved.vehicles[0].lastSampleAt, saved.vehicles[0].snapshot.sampledAt],
      [T0, T0],
    );

    // A file that has one anyway (an older version, or this machine's clock set back since):
    // the restore refuses it, and the next read's time counts, not the saved one.
    for (const [what, bad] of [["2099", FUTURE], ["1970", 86_400]] as const) {
      saved.vehicles[0].lastSampleAt = bad;
      saved.vehicles[0].snapshot.sampledAt = bad;
      await Deno.writeTextFile(path, JSON.stringify(saved));
      const after = new Readings();
      const again = r.keeper(after);
      assertEquals(await again.restore(ACCOUNTS), 1, what);
      const tesla = after.vehicles.get("tesla/5YJ3E1EA9PF000001")!;
      assertEquals([tesla.lastSampleAt, tesla.snapshot], [undefined, undefined], what);
      assertEquals(tesla.info, saved.vehicles[0].info, `${what}: the rest comes back`);
      assertStringIncludes(r.lines.join("\n"), "saved sample time cannot be true");
      after.record({ ...charging(T0 + 60, 0.63), partial: { sources: ["charge"] } });
      assertEquals(tesla.lastSampleAt, T0 + 60, what);
      await again.save();
      const rewritten = JSON.parse(await Deno.readTextFile(path));
      assertEquals(rewritten.vehicles[0].lastSampleAt, T0 + 60, what);
      assertEquals(rewritten.vehicles[0].snapshot.sampledAt, T0 + 60, what);
    }
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("vehicles that left the config or the account are dropped, with a log line", async () => {
  const r = await rig();
  try {
    await r.keeper(before()).save();
    const readings = new Readings();
    // The Volvo account is gone from the config; the Tesla account lists no car any more.
    const keeper = r.keeper(readings);
    assertEquals(await keeper.restore([ACCOUNTS[0]]), 1);
    assertStringIncludes(r.lines.join("\n"), "no longer in the config");
    keeper.listed("home", "tesla", []);
    assertEquals(readings.vehicles.size, 0);
    assertStringIncludes(r.lines.join("\n"), "no longer in the account");
    // A config that picks other VINs drops it too.
    const picky = r.keeper(new Readings());
    assertEquals(await picky.restore([{ ...ACCOUNTS[0], vehicles: ["OTHER"] }]), 0);
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("max_value_age: values older than it go at restore and later, state and age stay", async () => {
  const r = await rig();
  try {
    await r.keeper(before()).save();
    const readings = new Readings();
    const keeper = r.keeper(readings, { maxValueAgeS: 3600 });
    await keeper.restore(ACCOUNTS);
    const tesla = readings.vehicles.get("tesla/5YJ3E1EA9PF000001")!;
    assert(tesla.snapshot, "10 minutes old: kept");
    r.clock.advance(3600 * 1000);
    keeper.expire();
    assertEquals(tesla.snapshot, undefined, "70 minutes old: gone");
    assertEquals(tesla.lastSampleAt, T0, "the sample time stays: it says why");
    const line = r.lines.find((l) => l.includes("older than max_value_age"))!;
    assertStringIncludes(line, 'age="70 min"');
    assertStringIncludes(line, 'max_value_age="60 min"');
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("a save that fails is logged once, never thrown, and retried", async () => {
  const r = await rig();
  try {
    await Deno.writeTextFile(`${r.dir}/state`, "a file where the folder should be");
    const readings = before();
    const keeper = r.keeper(readings);
    await keeper.save();
    readings.record(charging(T0 + 60, 0.63));
    await keeper.save();
    assertEquals(r.lines.filter((l) => l.includes("cannot save")).length, 1);
    await Deno.remove(`${r.dir}/state`);
    await keeper.save();
    assertStringIncludes(r.lines.join("\n"), "saved again");
    assertEquals(await r.keeper(new Readings()).restore(ACCOUNTS), 2);
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("start saves every few seconds of clock time; stop writes the last change", async () => {
  const r = await rig();
  try {
    const readings = new Readings();
    const keeper = new LastKnown({
      stateDir: `${r.dir}/state`,
      readings,
      clock: { now: () => r.clock.now(), sleep: (_, signal) => tick(signal) },
      log: createLogger({ write: () => {} }),
      location: false,
    });
    let wake = () => {};
    const tick = (signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        wake = resolve;
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    const path = `${r.dir}/state/${LAST_KNOWN_FILE}`;
    keeper.start();
    readings.record(charging(T0, 0.5));
    wake();
    for (let i = 0; i < 100 && !(await exists(path)); i++) {
      await new Promise((s) => setTimeout(s, 5));
    }
    assert(await exists(path), "saved on the tick");
    readings.record(charging(T0 + 60, 0.51));
    await keeper.stop();
    const after = new Readings();
    await r.keeper(after).restore(ACCOUNTS);
    assertEquals(after.vehicles.get("tesla/5YJ3E1EA9PF000001")!.lastSampleAt, T0 + 60);
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
