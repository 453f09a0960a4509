/** The wiring: a session finished while polling reaches GreptimeDB's SQL API at once. */
import { VirtualClock } from "../core/clock.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { assertEquals } from "../core/testing.ts";
import { snapshot, T0 } from "../core/sessions/testdata/rig.ts";
import { SESSIONS_TABLE } from "../export/greptime_sessions.ts";
import { startFakeGreptime } from "../export/testdata/fake_greptimedb.ts";
import { startSessions } from "./sessions.ts";

Deno.test("startSessions: a finished drive is sent to GreptimeDB, kept in the store", async () => {
  const fake = startFakeGreptime();
  const config = parseConfig(`greptimedb: { url: "${fake.url}" }\nsessions: { stop_gap_s: 300 }`);
  const clock = new VirtualClock(T0 * 1000, 0);
  const readings = new Readings();
  const sessions = await startSessions(config, {
    readings,
    clock,
    log: createLogger({ level: "error" }),
    path: ":memory:",
  });
  try {
    const at = (minute: number, r: Parameters<typeof snapshot>[1]) => {
      clock.advance((T0 + minute * 60) * 1000 - clock.now());
      readings.record(snapshot(T0 + minute * 60, r));
    };
    at(0, { km: 10, kwh: 50 });
    for (let m = 1; m <= 20; m++) at(m, { drive: true, km: 10 + m, kwh: 50 - m * 0.15 });
    at(21, { km: 30, kwh: 47 });
    at(40, { km: 30, kwh: 47 });
    await sessions!.close();
    const rows = fake.rows(SESSIONS_TABLE);
    assertEquals(rows.map((r) => [r.kind, r.distance_km]), [["drive", 20]]);
  } finally {
    await fake.close();
  }
});
