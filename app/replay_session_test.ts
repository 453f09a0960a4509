/** Replay opens accounts the way live polling does: the vendor's own pace applies. */
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { runScheduler } from "../core/scheduler.ts";
import { DEFAULT_SCHEDULER } from "../core/scheduler_config.ts";
import { assert, assertEquals } from "../core/testing.ts";
import { loadCassette } from "../replay/cassette.ts";
import { vendorPlugin } from "../providers/mod.ts";
import { startReplay } from "./replay_session.ts";

const fixture = (path: string) => new URL(`../fixtures/${path}/cassette.json`, import.meta.url);

Deno.test("replay: a Volvo is paced like a Volvo, a Tesla like a Tesla", async () => {
  const cassettes = await Promise.all(
    ["tesla/day", "volvo/xc40-bev-day"].map((p) => loadCassette(fixture(p).pathname)),
  );
  const origin = Math.min(...cassettes.map((c) => c.startedAt));
  const end = Math.max(...cassettes.map((c) => c.startedAt + c.duration));
  const clock = new VirtualClock(origin * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ level: "error" });
  const session = await startReplay({ cassettes, clock, readings, log, location: false });
  try {
    const volvo = vendorPlugin("volvo").scheduler!;
    assertEquals(
      session.targets.map((t) => [t.vehicle.provider, t.config?.driving_s]),
      [["tesla", undefined], ["volvo", volvo.driving_s]],
    );
    /** The planned wait after each read that saw the car driving, by provider. */
    const waits = new Map<string, Set<number>>();
    const controller = new AbortController();
    await runScheduler({
      targets: session.targets,
      readings,
      clock,
      log,
      signal: controller.signal,
      onPoll: (target, outcome, plan) => {
        if (clock.now() / 1000 >= end) controller.abort();
        if (outcome.kind !== "snapshot" || plan.reason !== "driving") return;
        const set = waits.get(target.vehicle.provider) ?? new Set();
        waits.set(target.vehicle.provider, set.add(plan.inS));
      },
    });
    assertEquals([...waits.get("volvo") ?? []], [volvo.driving_s], "Volvo: its own pace");
    assertEquals(
      [...waits.get("tesla") ?? []],
      [DEFAULT_SCHEDULER.driving_s],
      "Tesla: the default",
    );
    assert(volvo.driving_s !== DEFAULT_SCHEDULER.driving_s, "the two paces differ");
    assertEquals(session.unmatched(), []);
  } finally {
    await session.shutdown();
  }
});
