/**
 * The BMW rows of the fault suite (app/bmw_faults.ts): two BMW accounts on the simulated
 * CarData API on an exact step clock, car A behind a fault. For every fault: nothing escapes,
 * car A backs off within bounds (or waits the pause the answer asks for) and recovers with the
 * values a fault-free read gives, car B keeps exactly its fault-free polls and values, /metrics
 * answers throughout and counts the fault (parse errors under their field), a log line names
 * it, and car A is still signed in. Then the stream's broker dies: REST takes over within the
 * budget, and the stream comes back by itself.
 */
import {
  assert,
  assertEquals,
  AssertionError,
  assertReadmeTable,
  assertStringIncludes,
} from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { Http } from "../core/http.ts";
import { createLogger } from "../core/log.ts";
import { pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import { bmwTokenStore } from "../providers/bmw/identity.ts";
import { bmwPlugin } from "../providers/bmw/mod.ts";
import type { BmwStream } from "../providers/bmw/stream.ts";
import { FakeBmw, SIM_CLIENT_ID } from "../providers/bmw/sim/fake_bmw.ts";
import { I4_VIN } from "../providers/bmw/sim/scenario.ts";
import { Mosquitto } from "../replay/mosquitto.ts";
import { waitFor } from "../scripts/testing_task.ts";
import {
  BMW_FAULT_CASES,
  bmwBaseline,
  bmwFaultRows,
  type BmwRun,
  runBmwFaultCase,
} from "./bmw_faults.ts";
import { FAULT_POLLING, faultTable } from "./fault_suite.ts";

const opts = { sanitizeOps: true, sanitizeResources: true };

function intact(r: BmwRun) {
  assertEquals(r.unhandled, [], "no unhandled rejection");
  assert(r.scrapes.length > 0 && r.scrapes.every((s) => s === 200), `scrapes: ${r.scrapes}`);
  assert(r.signedIn, "car A is still signed in");
}

Deno.test(
  "fault-free baseline (BMW): both cars poll on schedule, nothing counted as failed",
  opts,
  async () => {
    const r = await bmwBaseline();
    intact(r);
    assert(r.a.length >= 8 && r.b.length >= 8, `${r.a.length} and ${r.b.length} polls`);
    assertEquals(r.a.map((p) => p.at), r.b.map((p) => p.at), "identical cars, same schedule");
    assert(r.a.every((p) => p.outcome === "snapshot"));
    assert(!r.metrics.includes("ev_poll_errors_total{"));
    assert(!r.metrics.includes("ev_parse_errors_total{"));
    assertEquals(r.tokenRefreshes, 0);
  },
);

for (const c of BMW_FAULT_CASES) {
  Deno.test(c.title, opts, async () => {
    const { run: r, row } = await runBmwFaultCase(c);
    const base = await bmwBaseline(c.startS);
    intact(r);
    assert(r.injected.length > 0, "the fault was injected");
    assertEquals(r.b, base.b, "the healthy car keeps its fault-free polls and values");
    assertEquals(
      { alive: row.alive, unaffected: row.unaffected, data_lost: row.data_lost },
      { alive: true, unaffected: true, data_lost: false },
      JSON.stringify(row),
    );
    assert(row.recovery_s !== null && row.recovery_s >= 0, `recovered: ${row.recovery_s}`);
    const expect = c.expect;
    if (!expect) {
      // Harmless: one refresh, and the read it interrupted goes through.
      assertEquals(r.a, base.a);
      assertEquals(r.tokenRefreshes, 1);
      return;
    }
    const errors = r.a.filter((p) => p.outcome === "error");
    assert(errors.length > 0, "the faulty car saw errors");
    assertEquals([...new Set(errors.map((p) => p.kind))], [expect.kind]);
    let streak = 0;
    let longest = 0;
    for (let i = 0; i + 1 < r.a.length; i++) {
      if (r.a[i].outcome !== "error") {
        streak = 0;
        continue;
      }
      streak++;
      const delay = r.a[i + 1].at - r.a[i].at;
      longest = Math.max(longest, delay);
      const backoff = Math.min(
        FAULT_POLLING.max_backoff_s!,
        FAULT_POLLING.backoff_s! * 2 ** (streak - 1),
      );
      const retry = expect.retryAfterS ?? 0;
      const low = Math.max(retry, 0.8 * backoff);
      const high = Math.max(retry * 1.1, 1.2 * backoff);
      assert(
        delay >= low - 1e-6 && delay <= high + 1e-6,
        `error #${streak} at ${r.a[i].at}s: next poll after ${delay}s, expected ${low}–${high}s`,
      );
    }
    if (expect.storm) assert(longest >= 0.8 * FAULT_POLLING.max_backoff_s!, `longest ${longest}s`);
    // Recovered: a read, or after it a state check (which costs BMW no call).
    assert(r.a.at(-1)!.outcome !== "error", "the faulty car recovered");
    assertStringIncludes(
      r.metrics,
      `ev_api_requests_total{provider="bmw",endpoint="${expect.endpoint}",status="${expect.status}"}`,
    );
    assertStringIncludes(
      r.metrics,
      `ev_poll_errors_total{provider="bmw",kind="${expect.kind}"} ${errors.length}\n`,
    );
    if (expect.parseField) {
      assertStringIncludes(
        r.metrics,
        `ev_parse_errors_total{provider="bmw",field="${expect.parseField}"}`,
      );
    }
    const failed = r.lines.filter((l) => l.includes('msg="poll failed"'));
    assert(failed.some((l) => l.includes(`kind=${expect.kind} `)), `log names kind=${expect.kind}`);
    if (expect.log) assert(failed.some((l) => expect.log!.test(l)), `log matches ${expect.log}`);
    for (const l of r.lines) {
      if (l.includes(I4_VIN)) throw new AssertionError(`a log line names the vehicle: ${l}`);
    }
    if (expect.kind === "quota") {
      // Paused, not signed out: no call until 00:00 UTC, and no refresh spent on it.
      assertEquals(r.injected.length, 1, "one refused call, then quiet until midnight");
      assertEquals(r.tokenRefreshes, 0);
    }
  });
}

Deno.test("bench faults, BMW rows: every row alive, unaffected, nothing lost; the README quotes them", async () => {
  const rows = await bmwFaultRows(); // the rows of the tests above, or played now when filtered
  for (const row of rows) {
    assert(row.alive && row.unaffected && !row.data_lost, JSON.stringify(row));
    assert(row.recovery_s !== null, `${row.fault}: recovered`);
  }
  await assertReadmeTable(new URL("../README.md", import.meta.url), "bmw-faults", faultTable(rows));
});

Deno.test("BMW dead broker: REST polling within the budget while the stream is down, the stream back by itself", async () => {
  const start = Date.UTC(2026, 5, 10, 8);
  const clock = new VirtualClock(start, 60);
  const fake = new FakeBmw({ now: () => clock.now() });
  const broker = await Mosquitto.start({ tls: true });
  const dir = await Deno.makeTempDir({ prefix: "bmw-dead-broker-" });
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const readings = new Readings();
  const stop = new AbortController();
  try {
    await bmwTokenStore(dir, "home", log).save(fake.signIn());
    await Deno.writeTextFile(`${dir}/ca.pem`, broker.caPem!);
    const session = await bmwPlugin.openAccount!({
      account: {
        provider: "bmw",
        name: "home",
        vehicles: [I4_VIN],
        client_id: SIM_CLIENT_ID,
        auth_host: fake.url,
        api_base_url: fake.url,
        stream_url: broker.url,
        ca_file: `${dir}/ca.pem`,
      },
      label: "config.yaml accounts[0]",
      stateDir: dir,
      env: {},
      http: new Http({ provider: "bmw", readings, now: () => clock.now() }),
      readings,
      clock,
      log,
      location: false,
    });
    const stream = session.stream as BmwStream;
    const running = pollAccounts({
      accounts: [{
        name: "home",
        provider: session.provider,
        vins: [I4_VIN],
        stream,
        // Driving: the REST pace while the stream is down is BMW's 15 minutes.
        config: bmwPlugin.scheduler,
      }],
      readings,
      clock,
      log,
      config: {},
      signal: stop.signal,
    });
    const calls = () => fake.calls.byEndpoint["/customers/vehicles/{vin}/telematicData"] ?? 0;
    await waitFor("the stream", () => Promise.resolve(stream.connected || undefined), 40);
    // The seed read, then nothing while the stream is up.
    await new Promise((r) => setTimeout(r, 1500));
    const whileUp = calls();
    assertEquals(whileUp, 1, "one seed read, then the stream");

    await broker.stop(); // SIGKILL: the connection drops without a goodbye
    await waitFor("the stream down", () => Promise.resolve(!stream.connected || undefined), 40);
    const down = clock.now();
    await waitFor("REST polls", () => Promise.resolve(calls() > whileUp || undefined), 120);
    const polled = calls() - whileUp;
    const hours = (clock.now() - down) / 3_600_000;
    // BMW's pace: one read every 15 minutes at most, far inside 50 a day.
    assert(polled <= Math.ceil(hours * 4) + 1, `${polled} reads in ${hours.toFixed(2)} h`);
    assert(lines.some((l) => l.includes("stream disconnected: REST polling")), "logged");

    await broker.start();
    await waitFor("the stream back", () => Promise.resolve(stream.connected || undefined), 80);
    const back = calls();
    await new Promise((r) => setTimeout(r, 1500));
    assert(calls() <= back + 1, "REST stops once the stream is back (the read under way aside)");
    assert(stream.connects >= 2, `${stream.connects} connections`);
    assertEquals(session.tokenStatus().state, "ok");
    assert(!lines.some((l) => l.includes(I4_VIN)), "no log line names the VIN");
    stop.abort();
    await running;
  } finally {
    stop.abort();
    await fake.shutdown();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
