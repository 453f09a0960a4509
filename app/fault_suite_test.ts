/**
 * The fault suite (cases and runner: app/fault_suite.ts, shared with `deno task bench
 * faults`): two vehicles of one vendor (Teslas from the day cassette, or Volvo XC40s on their
 * own API keys) replayed on an exact step clock, one of them behind a fault plan. For every fault: no unhandled rejection, the faulty car backs off
 * within bounds and recovers with the values a fault-free read gives, the other car keeps
 * exactly its fault-free schedule and values, /metrics answers throughout and counts the fault,
 * a log line names it, and the token and cassette files on disk are byte-identical afterwards.
 */
import {
  assert,
  assertEquals,
  AssertionError,
  assertMatch,
  assertReadmeTable,
  assertStringIncludes,
} from "../core/testing.ts";
import { StepClock, VirtualClock } from "../core/clock.ts";
import { Http, HttpError } from "../core/http.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { backoffWait, MAX_RETRY_AFTER_S } from "../core/scheduler.ts";
import { loadCassette } from "../replay/cassette.ts";
import {
  baseline,
  DAY,
  type Expect,
  FAULT_CASES,
  FAULT_POLLING,
  type FaultCase,
  faultRows,
  faultTable,
  FLEETS,
  type Run,
  runFaultCase,
  START_S,
} from "./fault_suite.ts";
import { FaultPlan, faults, faultyFetch } from "../replay/faults.ts";
import { startFakeServer } from "../replay/fake_server.ts";
import { playUntil, startReplay } from "./replay_session.ts";

/** What every run must show: nothing escaped, nothing unanswered, no file touched. */
function intact(r: Run) {
  assertEquals(r.unhandled, [], "no unhandled rejection");
  assertEquals(r.unmatched, [], "every request reached a recorded answer");
  assertEquals(r.files.after, r.files.before, "token and cassette files are unchanged");
}

/** The checks every fault must pass. */
async function survives(c: FaultCase, expect: Expect): Promise<Run> {
  const { run: r, row } = await runFaultCase(c);
  const vendor = c.vendor ?? "tesla";
  const fleet = FLEETS[vendor];
  const base = await baseline({ vendor });
  intact(r);
  assert(r.injected.length > 0, "the fault was injected");
  // The other car keeps exactly its schedule.
  const differs = r.b.findIndex((p, i) => JSON.stringify(p) !== JSON.stringify(base.b[i]));
  assert(
    differs < 0 && r.b.length === base.b.length,
    `the healthy car's polls changed at #${differs}: ${
      JSON.stringify(r.b.slice(differs, differs + 3))
    } vs ${JSON.stringify(base.b.slice(differs, differs + 3))}`,
  );
  assert(r.b.every((p) => p.outcome !== "error"));

  // The faulty car: every error is this fault; the backoff is bounded, grows, then recovers.
  // A partial fault fails no poll: the read goes on with the endpoints that answered.
  const errors = r.a.filter((p) => p.outcome === "error");
  if (expect.partial) assertEquals(errors, [], "no poll failed");
  else assert(errors.length > 0, "the faulty car saw errors");
  if (!expect.partial) assertEquals([...new Set(errors.map((p) => p.kind))], [expect.kind]);
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
  if (expect.storm) {
    assert(
      longest >= 0.8 * FAULT_POLLING.max_backoff_s!,
      `backoff grew to the cap (longest ${longest}s)`,
    );
  }
  const last = r.a.at(-1)!;
  assert(last.outcome === "snapshot", `the faulty car recovered (last poll: ${last.outcome})`);

  // /metrics kept answering and counts the fault.
  assert(r.scrapes.length > 0 && r.scrapes.every((s) => s === 200), `scrapes: ${r.scrapes}`);
  const endpoint = expect.endpoint ?? "/api/1/vehicles/{id}";
  assertStringIncludes(
    r.metrics,
    `ev_api_requests_total{provider="${vendor}",endpoint="${endpoint}",status="${expect.status}"}`,
  );
  if (!expect.partial) {
    assertStringIncludes(
      r.metrics,
      `ev_poll_errors_total{provider="${vendor}",kind="${expect.kind}"} ${errors.length}\n`,
    );
  }
  if (expect.parseField) {
    assertStringIncludes(
      r.metrics,
      `ev_parse_errors_total{provider="${vendor}",field="${expect.parseField}"}`,
    );
  }

  // A log line names it, and no line carries the vehicle's id or VIN.
  const failed = r.lines.filter((l) =>
    l.includes(
      expect.partial ? 'msg="endpoint failed; its last values are kept"' : 'msg="poll failed"',
    )
  );
  if (expect.partial) assert(failed.length > 0, "a log line names the failed endpoint");
  else {assert(
      failed.some((l) => l.includes(`kind=${expect.kind} `)),
      `log names kind=${expect.kind}`,
    );}
  if (expect.log) assert(failed.some((l) => expect.log!.test(l)), `log matches ${expect.log}`);
  for (const l of r.lines) {
    if (l.includes(fleet.vinA) || l.includes(fleet.idA)) {
      throw new AssertionError(`a log line names the vehicle: ${l}`);
    }
  }
  // The report row `deno task bench faults` prints for it.
  assertEquals(
    { alive: row.alive, unaffected: row.unaffected, data_lost: row.data_lost },
    { alive: true, unaffected: true, data_lost: false },
    JSON.stringify(row),
  );
  assert(row.recovery_s !== null && row.recovery_s >= 0, `recovered: ${row.recovery_s}`);
  return r;
}

const opts = { sanitizeOps: true, sanitizeResources: true };

for (const vendor of ["tesla", "volvo"] as const) {
  Deno.test(
    `fault-free baseline (${vendor}): both cars poll on schedule, nothing counted as failed`,
    opts,
    async () => {
      const r = await baseline({ vendor });
      intact(r);
      assert(r.a.length >= 8 && r.b.length >= 8, `${r.a.length} and ${r.b.length} polls`);
      assertEquals(r.a.map((p) => p.at), r.b.map((p) => p.at), "identical cars, same schedule");
      assert(r.a.every((p) => p.outcome === "snapshot"));
      assert(!r.metrics.includes("ev_poll_errors_total{"));
      assert(!r.metrics.includes("ev_parse_errors_total{"));
    },
  );
}

for (const c of FAULT_CASES) {
  const expect = c.expect;
  Deno.test(c.title, opts, async () => {
    if (!expect) {
      // Harmless: the body is still used; nothing is counted as failed.
      const { run: r, row } = await runFaultCase(c);
      const base = await baseline({ vendor: c.vendor });
      intact(r);
      assert(r.injected.length > 0);
      assertEquals(r.a, base.a);
      assertEquals(r.b, base.b);
      assertEquals([row.alive, row.unaffected, row.data_lost], [true, true, false]);
      return;
    }
    const r = await survives(c, expect);
    if (c.rules.some((rule) => rule.fault.kind === "dns")) {
      assert(!r.lines.some((l) => l.includes(".invalid")), "the URL is not in the log");
    }
  });
}

Deno.test("fault plan: nth, windows, sides and path patterns", () => {
  let now = 0;
  const clock = { now: () => now, sleep: () => Promise.resolve() };
  const plan = new FaultPlan([
    { name: "second", method: "GET", path: "/a/*", nth: [2], fault: faults.status(500) },
    { path: "/a/**", from: 10, until: 20, fault: { kind: "hang" } },
    { path: "/a/x", fault: { kind: "dns" } },
  ], { clock, origin: 0 });
  assertEquals(plan.pick("server", "GET", "/a/x"), undefined);
  assertEquals(plan.pick("server", "GET", "/a/x")?.kind, "status");
  assertEquals(plan.pick("server", "POST", "/a/x"), undefined, "method filter");
  now = 10_000;
  assertEquals(plan.pick("server", "GET", "/a/x/y")?.kind, "hang", "** spans segments");
  now = 20_000;
  assertEquals(plan.pick("server", "GET", "/a/x/y"), undefined, "window is [from, until)");
  assertEquals(plan.pick("client", "GET", "/a/x")?.kind, "dns", "client rules only client-side");
  assertEquals(plan.injected.map((i) => [i.rule, i.at]), [["second", 0], ["hang", 10], [
    "dns",
    20,
  ]]);
});

Deno.test(
  "faulty fetch: real DNS, refused and reset failures reach Http as network errors",
  opts,
  async () => {
    const cassette = await loadCassette(DAY.pathname);
    const clock = new StepClock((cassette.startedAt + START_S) * 1000);
    const plan = new FaultPlan([
      { path: "/api/1/products", nth: [1], fault: { kind: "dns" } },
      { path: "/api/1/products", nth: [2], fault: { kind: "refused" } },
      { path: "/api/1/products", nth: [3], fault: { kind: "reset" } },
    ], { clock });
    const fake = startFakeServer({ cassette, clock, faults: plan });
    const readings = new Readings();
    const http = new Http({
      provider: "tesla",
      readings,
      fetch: faultyFetch(plan),
      timeoutMs: 2000,
    });
    try {
      const send = () =>
        http.send({
          method: "GET",
          url: `${fake.url}/api/1/products`,
          endpoint: "/api/1/products",
        });
      // kind "network", not "timeout": each fails for its own reason.
      for (const cause of [/dns error/, /Connect|refused/i, /connection|closed|reset|message/i]) {
        const err = await send().then(() => undefined, (e) => e);
        assert(err instanceof HttpError && err.kind === "network", String(err));
        assertMatch(err.message, cause);
        assert(!err.message.includes(fake.url) && !err.message.includes(".invalid"), err.message);
      }
      assertEquals((await send()).status, 200, "the fourth request goes through");
      assertEquals(
        readings.counterValue("ev.api.requests", {
          provider: "tesla",
          endpoint: "/api/1/products",
          status: "network_error",
        }),
        3,
      );
    } finally {
      await fake.shutdown();
    }
  },
);

Deno.test("backoff: grows per error up to the cap, with jitter both ways, bounded Retry-After", () => {
  const POLLING_BACKOFF = { backoff_s: 30, max_backoff_s: 240 };
  for (let streak = 1; streak <= 12; streak++) {
    const base = Math.min(
      POLLING_BACKOFF.max_backoff_s,
      POLLING_BACKOFF.backoff_s * 2 ** (streak - 1),
    );
    const delays = Array.from(
      { length: 400 },
      () => backoffWait(streak, undefined, POLLING_BACKOFF),
    );
    const lo = Math.min(...delays);
    const hi = Math.max(...delays);
    assert(lo >= 0.8 * base && hi <= 1.2 * base, `streak ${streak}: ${lo}–${hi} around ${base}`);
    assert(lo < 0.95 * base && hi > 1.05 * base, `streak ${streak}: jitter spreads both ways`);
  }
  const waits = Array.from({ length: 400 }, () => backoffWait(1, 60, POLLING_BACKOFF));
  assert(Math.min(...waits) >= 60 && Math.max(...waits) <= 66, "Retry-After plus up to 10 %");
  assert(new Set(waits).size > 300, "cars told the same Retry-After spread out");
  const bogus = backoffWait(1, 10 * 365 * 86_400, POLLING_BACKOFF);
  assert(bogus <= MAX_RETRY_AFTER_S * 1.1, `a ten-year Retry-After waits ${bogus}s`);
});

Deno.test("catalog ranges hold every value of every bundled cassette", async () => {
  const root = new URL("../fixtures/", import.meta.url);
  const paths: string[] = [];
  for await (const vendor of Deno.readDir(root)) {
    if (!vendor.isDirectory) continue;
    for await (const scenario of Deno.readDir(new URL(`${vendor.name}/`, root))) {
      const path = new URL(`${vendor.name}/${scenario.name}/cassette.json`, root).pathname;
      if (scenario.isDirectory) paths.push(path);
    }
  }
  assert(paths.length >= 4, `found ${paths.length} cassettes`);
  for (const path of paths) {
    const cassette = await loadCassette(path);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const readings = new Readings();
    const log = createLogger({ write: () => {} });
    const session = await startReplay({
      cassettes: [cassette],
      clock,
      readings,
      log,
      location: true,
    });
    try {
      await playUntil(session, {
        clock,
        readings,
        log,
        origin: cassette.startedAt,
        at: cassette.duration,
        // Every 5 minutes: each state of the day is seen, in a fraction of the polls.
        config: {
          ...FAULT_POLLING,
          driving_s: 300,
          charging_min_s: 300,
          charging_max_s: 300,
          online_s: 300,
          asleep_s: 600,
        },
      });
    } finally {
      await session.shutdown();
    }
    const rejected = [...readings.counters.values()]
      .filter((c) => c.metric === "ev.parse.errors" && c.labels.field.startsWith("ev."))
      .map((c) => `${c.labels.field} ×${c.value}`);
    assertEquals(rejected, [], `${path}: values outside their catalog range`);
  }
});

Deno.test("bench faults: every row alive, unaffected, nothing lost; the README quotes the table", async () => {
  const report = await faultRows(); // the rows of the tests above, or played now when filtered
  assertEquals(report.map((r) => r.fault), FAULT_CASES.map((c) => c.name));
  for (const row of report) {
    assert(row.alive && row.unaffected && !row.data_lost, JSON.stringify(row));
    assert(row.recovery_s !== null, `${row.fault}: recovered`);
  }
  await assertReadmeTable(new URL("../README.md", import.meta.url), "faults", faultTable(report));
});
