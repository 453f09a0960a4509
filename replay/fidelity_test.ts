/**
 * Record → replay fidelity: the real Tesla provider and scheduler, recorded while they play the
 * bundled day on the fake server, replay from the recording to the same /metrics (with the
 * recording's placeholders in place of the VIN and name).
 */
import { assert, assertEquals, assertNotEquals } from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { withoutDurations } from "../export/test_helpers.ts";
import { type Cassette, loadCassette } from "./cassette.ts";
import { Recorder } from "./recorder.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";

const DAY = new URL("../fixtures/tesla/day/cassette.json", import.meta.url).pathname;
/** Driving, charging, and the end of the day. */
const CHECKPOINTS = [7 * 3600 + 50 * 60, 20 * 3600, 86_399];

/** Plays `cassette` with instant virtual sleeps and snapshots /metrics at each checkpoint. */
async function expositions(cassette: Cassette, recorder?: (clock: VirtualClock) => Recorder) {
  const clock = new VirtualClock(cassette.startedAt * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const rec = recorder?.(clock);
  const session = await startReplay({
    cassettes: [cassette],
    clock,
    readings,
    log,
    location: false,
    onHttp: (http) => rec?.attach(http),
  });
  const prometheus = new PrometheusExport(readings, { location: false });
  const texts: string[] = [];
  try {
    for (const at of CHECKPOINTS) {
      await playUntil(session, { clock, readings, log, origin: cassette.startedAt, at });
      texts.push(withoutDurations(await prometheus.exposition()));
    }
    assertEquals(session.unmatched(), []);
  } finally {
    await session.shutdown();
  }
  return { texts, recorder: rec };
}

Deno.test("fidelity: a recording of the day replays to the same /metrics", async () => {
  const day = await loadCassette(DAY);
  const live = await expositions(
    day,
    (clock) => new Recorder({ clock, vendor: day.vendor, scenario: "day-recorded" }),
  );
  const recorder = live.recorder!;
  const dir = await Deno.makeTempDir({ prefix: "fidelity_test_" });
  try {
    const path = `${dir}/cassette.json`;
    await recorder.save(path);
    const recorded = await loadCassette(path);
    assert(recorded.exchanges.length > 100, `${recorded.exchanges.length} exchanges recorded`);
    const replayed = await expositions(recorded);
    for (const [i, text] of live.texts.entries()) {
      const expected = recorder.redactor.sweep(text); // the live run's VIN and name, redacted
      assertNotEquals(expected, text, "the exposition carries redacted labels");
      assertEquals(replayed.texts[i], expected, `checkpoint ${CHECKPOINTS[i]} s`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
