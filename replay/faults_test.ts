/**
 * The fault suite: two Tesla vehicles replayed from the day cassette on an exact step clock,
 * one of them behind a fault plan. For every fault: no unhandled rejection, the faulty car
 * backs off within bounds and recovers, the other car keeps exactly its fault-free schedule,
 * /metrics answers throughout and counts the fault, a log line names it, and the token and
 * cassette files on disk are byte-identical afterwards.
 */
import "../providers/all.ts";
import {
  assert,
  assertEquals,
  AssertionError,
  assertMatch,
  assertStringIncludes,
} from "../core/testing.ts";
import { StepClock, VirtualClock } from "../core/clock.ts";
import { Http, HttpError } from "../core/http.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { VendorError } from "../core/errors.ts";
import { type Intervals, MAX_RETRY_AFTER_S, nextDelay, runScheduler } from "../core/scheduler.ts";
import { TokenManager, TokenStore } from "../core/tokens.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { startServer } from "../export/server.ts";
import { loadCassette } from "./cassette.ts";
import { type Fault, FaultPlan, type FaultRule, faults, faultyFetch } from "./faults.ts";
import { startFakeServer } from "./fake_server.ts";
import { playUntil, startReplay } from "./session.ts";

const DAY = new URL("../fixtures/tesla/day/cassette.json", import.meta.url);
const QUOTA_BODY = await Deno.readTextFile(
  new URL("../providers/tesla/testdata/error.403-exceeded-limit.json", import.meta.url),
);
const VIN_A = "5YJ3E1EA9PF000001";
const ID_A = "1000000000000001";
/** 07:40 on the day: driving until 08:10, then parked online. */
const START_S = 27_600;
const RUN_S = 1_100;
/** Faults last this long (storms); afterwards the car must recover. */
const STORM_S = 500;
const INTERVALS: Intervals = {
  driving: 60,
  charging: 60,
  online: 120,
  asleep: 300,
  backoff: 30,
  maxBackoff: 240,
};
/** The faulty car's request timeout; the healthy one gets a generous one (a busy machine). */
const TIMEOUT_MS = 150;
const MAX_BODY = 1 << 20;
const VEHICLES = "/api/1/vehicles/**";
const DATA = "/api/1/vehicles/*/vehicle_data";
const DATA_ENDPOINT = "/api/1/vehicles/{id}/vehicle_data";

const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (e) => {
  unhandled.push(e.reason);
  e.preventDefault();
});

interface Poll {
  /** Seconds since the run's start. */
  readonly at: number;
  readonly outcome: "snapshot" | "state" | "woke" | "error";
  readonly kind?: string;
}

interface Run {
  readonly a: Poll[];
  readonly b: Poll[];
  /** /metrics after the run. */
  readonly metrics: string;
  /** Status of every /metrics scrape made while the scheduler ran. */
  readonly scrapes: number[];
  readonly lines: string[];
  readonly injected: number;
}

const storm = (fault: Fault, path = VEHICLES): FaultRule[] => [
  { path, from: 0, until: STORM_S, fault },
];

/** SHA-256 of every file under `dir`. */
async function snapshotDir(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(p));
        out.set(p, new Uint8Array(digest).toHex());
      }
    }
  };
  await walk(dir);
  return out;
}

/** Plays both cars for RUN_S seconds with `rules` on car A; checks the files on disk. */
async function run(rules: FaultRule[]): Promise<Run> {
  unhandled.length = 0;
  const dir = await Deno.makeTempDir({ prefix: "ev-faults-" });
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  try {
    const dayText = await Deno.readTextFile(DAY);
    await Deno.writeTextFile(`${dir}/a.json`, dayText);
    await Deno.writeTextFile(
      `${dir}/b.json`,
      dayText.replaceAll(VIN_A, "5YJ3E1EA9PF000002").replaceAll(ID_A, "1000000000000002"),
    );
    const store = new TokenStore({ stateDir: dir, provider: "tesla", account: "faults", log });
    await store.save({
      access_token: "fault-suite-access-token",
      refresh_token: "fault-suite-refresh-token",
      expires_at: 4_000_000_000,
      obtained_at: 1_773_000_000,
      token_type: "Bearer",
      extra: {},
    });
    const before = await snapshotDir(dir);

    const cassettes = [await loadCassette(`${dir}/a.json`), await loadCassette(`${dir}/b.json`)];
    const origin = (cassettes[0].startedAt + START_S) * 1000;
    const clock = new StepClock(origin);
    const plan = new FaultPlan(rules, { clock, log });
    const tokens = new TokenManager({
      store,
      clock,
      log,
      refresh: () => Promise.reject(new Error("no refresh expected in the fault suite")),
      signInCommand: "deno task auth tesla --account faults",
    });
    const readings = new Readings();
    const session = await startReplay({
      cassettes,
      clock,
      readings,
      log,
      location: false,
      faults: [plan],
      http: [{ timeoutMs: TIMEOUT_MS, maxBodyBytes: MAX_BODY }, { timeoutMs: 30_000 }],
      accessToken: () => tokens.accessToken(),
    });
    const server = startServer({
      hostname: "127.0.0.1",
      port: 0,
      prometheus: new PrometheusExport(readings),
      log,
    });
    const metricsUrl = new URL("/metrics", server.url);
    const a: Poll[] = [];
    const b: Poll[] = [];
    const scrapes: number[] = [];
    let running = true;
    try {
      const scraper = (async () => {
        while (running) {
          const res = await fetch(metricsUrl);
          await res.body?.cancel();
          scrapes.push(res.status);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const controller = new AbortController();
      const done = runScheduler({
        targets: session.targets,
        readings,
        clock,
        log,
        intervals: INTERVALS,
        signal: controller.signal,
        onPoll: (target, outcome) => {
          const poll: Poll = {
            at: (clock.now() - origin) / 1000,
            outcome: outcome.kind,
            kind: outcome.kind === "error" ? (outcome.error as HttpError).kind : undefined,
          };
          (target.vehicle.vin === VIN_A ? a : b).push(poll);
        },
      });
      await clock.run(origin + RUN_S * 1000, session.targets.length);
      controller.abort();
      await done;
      running = false;
      await scraper;
      const metrics = await (await fetch(metricsUrl)).text();
      assertEquals(session.unmatched(), [], "every request reached a recorded answer");
      assertEquals(unhandled, [], "no unhandled rejection");
      return { a, b, metrics, scrapes, lines, injected: plan.injected.length };
    } finally {
      running = false;
      await server.shutdown();
      await session.shutdown();
      assertEquals(await snapshotDir(dir), before, "token and cassette files are unchanged");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

let baselineRun: Promise<Run> | undefined;
const baseline = () => (baselineRun ??= run([]));

interface Expect {
  /** `status` label of ev_api_requests_total the fault shows up under. */
  readonly status: string;
  /** `kind` of the poll error (ev_poll_errors_total, log). */
  readonly kind: string;
  /** Text the "poll failed" log line carries. */
  readonly log?: RegExp;
  /** The wait the vendor asked for, s. */
  readonly retryAfterS?: number;
  /** A storm long enough for the backoff to reach its cap. */
  readonly storm?: boolean;
  /** Field of ev_parse_errors_total that counts it. */
  readonly parseField?: string;
  readonly endpoint?: string;
}

/** The checks every fault must pass. */
async function survives(rules: FaultRule[], expect: Expect): Promise<Run> {
  const r = await run(rules);
  const base = await baseline();
  assert(r.injected > 0, "the fault was injected");

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
    const backoff = Math.min(INTERVALS.maxBackoff, INTERVALS.backoff * 2 ** (streak - 1));
    const retry = expect.retryAfterS ?? 0;
    const low = Math.max(retry, 0.8 * backoff);
    const high = Math.max(retry * 1.1, 1.2 * backoff);
    assert(
      delay >= low - 1e-6 && delay <= high + 1e-6,
      `error #${streak} at ${r.a[i].at}s: next poll after ${delay}s, expected ${low}–${high}s`,
    );
  }
  if (expect.storm) {
    assert(longest >= 0.8 * INTERVALS.maxBackoff, `backoff grew to the cap (longest ${longest}s)`);
  }
  const last = r.a.at(-1)!;
  assert(last.outcome === "snapshot", `the faulty car recovered (last poll: ${last.outcome})`);

  // /metrics kept answering and counts the fault.
  assert(r.scrapes.length > 0 && r.scrapes.every((s) => s === 200), `scrapes: ${r.scrapes}`);
  const endpoint = expect.endpoint ?? "/api/1/vehicles/{id}";
  assertStringIncludes(
    r.metrics,
    `ev_api_requests_total{provider="tesla",endpoint="${endpoint}",status="${expect.status}"}`,
  );
  assertStringIncludes(
    r.metrics,
    `ev_poll_errors_total{provider="tesla",kind="${expect.kind}"} ${errors.length}\n`,
  );
  if (expect.parseField) {
    assertStringIncludes(
      r.metrics,
      `ev_parse_errors_total{provider="tesla",field="${expect.parseField}"}`,
    );
  }

  // A log line names it, and no line carries the vehicle's id or VIN.
  const failed = r.lines.filter((l) => l.includes('msg="poll failed"'));
  assert(failed.some((l) => l.includes(`kind=${expect.kind} `)), `log names kind=${expect.kind}`);
  if (expect.log) assert(failed.some((l) => expect.log!.test(l)), `log matches ${expect.log}`);
  for (const l of r.lines) {
    if (l.includes(VIN_A) || l.includes(ID_A)) {
      throw new AssertionError(`a log line names the vehicle: ${l}`);
    }
  }
  return r;
}

const opts = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "fault-free baseline: both cars poll on schedule, nothing counted as failed",
  opts,
  async () => {
    const r = await baseline();
    assert(r.a.length > 10 && r.b.length > 10);
    assertEquals(r.a.map((p) => p.at), r.b.map((p) => p.at), "identical cars, identical schedule");
    assert(r.a.every((p) => p.outcome === "snapshot"));
    assert(!r.metrics.includes("ev_poll_errors_total{"));
  },
);

for (const status of [500, 502, 503, 504]) {
  Deno.test(`fault: ${status} storm`, opts, async () => {
    await survives(storm(faults.status(status)), {
      status: String(status),
      kind: "server",
      log: new RegExp(`Tesla answered ${status}`),
      storm: true,
    });
  });
}

Deno.test("fault: 503 with Retry-After is waited out", opts, async () => {
  await survives(storm(faults.status(503, undefined, { "retry-after": "200" })), {
    status: "503",
    kind: "server",
    retryAfterS: 200,
  });
});

Deno.test("fault: HTML error page from a proxy (502)", opts, async () => {
  await survives(storm(faults.htmlError(502)), { status: "502", kind: "server", storm: true });
});

Deno.test("fault: hung server (never answers): the timeout fires", opts, async () => {
  await survives(storm({ kind: "hang" }), {
    status: "timeout",
    kind: "timeout",
    log: /no answer within 150 ms/,
    storm: true,
  });
});

Deno.test("fault: silent socket (accepted, never answered): the timeout fires", opts, async () => {
  await survives(storm({ kind: "silent" }), { status: "timeout", kind: "timeout", storm: true });
});

Deno.test("fault: slow body (headers, then a trickle): the timeout fires", opts, async () => {
  await survives(storm({ kind: "slow_body", chunkBytes: 8, intervalMs: 40 }), {
    status: "timeout",
    kind: "timeout",
    storm: true,
  });
});

Deno.test("fault: connection reset before any answer", opts, async () => {
  await survives(storm({ kind: "reset" }), { status: "network_error", kind: "network" });
});

Deno.test("fault: connection reset in the middle of the body", opts, async () => {
  await survives(storm({ kind: "reset_body" }), {
    status: "network_error",
    kind: "network",
    log: /error reading a body/,
  });
});

Deno.test("fault: connection refused", opts, async () => {
  await survives(storm({ kind: "refused" }), { status: "network_error", kind: "network" });
});

Deno.test("fault: DNS failure (a real .invalid host), reported without the URL", opts, async () => {
  const r = await survives(storm({ kind: "dns" }), {
    status: "network_error",
    kind: "network",
    log: /dns error/,
    storm: true,
  });
  assert(!r.lines.some((l) => l.includes(".invalid")), "the URL is not in the log");
});

Deno.test("fault: truncated JSON", opts, async () => {
  await survives(storm({ kind: "truncate", keep: 0.6 }, DATA), {
    status: "200",
    kind: "malformed",
    endpoint: DATA_ENDPOINT,
    parseField: DATA_ENDPOINT,
  });
});

Deno.test("fault: malformed JSON", opts, async () => {
  await survives(storm({ kind: "malformed" }, DATA), {
    status: "200",
    kind: "malformed",
    endpoint: DATA_ENDPOINT,
    parseField: DATA_ENDPOINT,
  });
});

Deno.test("fault: an HTML page with status 200 and a text/html type", opts, async () => {
  const html = "<!doctype html><title>Maintenance</title><h1>Back soon</h1>";
  await survives(storm({ kind: "content_type", contentType: "text/html", body: html }, DATA), {
    status: "200",
    kind: "malformed",
    endpoint: DATA_ENDPOINT,
    parseField: DATA_ENDPOINT,
    log: /body is not JSON/,
  });
});

Deno.test("fault: valid JSON under a wrong content type is used as is", opts, async () => {
  const r = await run(storm({ kind: "content_type", contentType: "text/plain" }, DATA));
  const base = await baseline();
  assert(r.injected > 0);
  assertEquals(r.a, base.a, "the body is still used; nothing is counted as failed");
  assertEquals(r.b, base.b);
});

Deno.test("fault: a body far over the cap (streamed, no length) is refused", opts, async () => {
  await survives(storm({ kind: "huge", bytes: 16 * MAX_BODY }, DATA), {
    status: "too_large",
    kind: "too_large",
    endpoint: DATA_ENDPOINT,
    log: /exceeds the 1048576-byte limit/,
  });
});

Deno.test("fault: a body far over the cap (declared length) is refused unread", opts, async () => {
  await survives(storm({ kind: "huge", bytes: 256 * MAX_BODY, declareLength: true }, DATA), {
    status: "too_large",
    kind: "too_large",
    endpoint: DATA_ENDPOINT,
    log: /of 268435456 bytes exceeds/,
  });
});

Deno.test("fault: 401 in the middle of a session", opts, async () => {
  const body = { response: null, error: "token expired (401)", error_description: "" };
  await survives([{ path: DATA, nth: [3, 4], fault: faults.status(401, body) }], {
    status: "401",
    kind: "unauthorized",
    endpoint: DATA_ENDPOINT,
    log: /access token rejected/,
  });
});

Deno.test("fault: 429 with Retry-After is honoured", opts, async () => {
  await survives(storm(faults.rateLimited(120)), {
    status: "429",
    kind: "rate_limited",
    retryAfterS: 120,
  });
});

Deno.test("fault: 429 without Retry-After waits the default 300 s", opts, async () => {
  await survives(storm(faults.rateLimited()), {
    status: "429",
    kind: "rate_limited",
    retryAfterS: 300,
  });
});

Deno.test("fault: quota exhausted (Tesla 403 EXCEEDED_LIMIT)", opts, async () => {
  await survives(storm(faults.status(403, QUOTA_BODY)), {
    status: "403",
    kind: "quota",
    retryAfterS: 900,
    log: /billing limit/,
  });
});

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
  const error = (retryAfterS?: number) => ({
    kind: "error" as const,
    error: new VendorError("server", "x", { retryAfterS }),
  });
  for (let streak = 1; streak <= 12; streak++) {
    const base = Math.min(INTERVALS.maxBackoff, INTERVALS.backoff * 2 ** (streak - 1));
    const delays = Array.from({ length: 400 }, () => nextDelay(error(), INTERVALS, streak));
    const lo = Math.min(...delays);
    const hi = Math.max(...delays);
    assert(lo >= 0.8 * base && hi <= 1.2 * base, `streak ${streak}: ${lo}–${hi} around ${base}`);
    assert(lo < 0.95 * base && hi > 1.05 * base, `streak ${streak}: jitter spreads both ways`);
  }
  const waits = Array.from({ length: 400 }, () => nextDelay(error(60), INTERVALS, 1));
  assert(Math.min(...waits) >= 60 && Math.max(...waits) <= 66, "Retry-After plus up to 10 %");
  assert(new Set(waits).size > 300, "cars told the same Retry-After spread out");
  const bogus = nextDelay(error(10 * 365 * 86_400), INTERVALS, 1);
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
        intervals: { ...INTERVALS, driving: 300, charging: 300, online: 300, asleep: 600 },
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
