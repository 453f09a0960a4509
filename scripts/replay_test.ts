/** End to end: cassette → fake server → provider → exports, as a user runs it. */
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { pollOnce, runScheduler } from "../core/scheduler.ts";
import { collectSeries } from "../export/series.ts";
import { PrometheusExport } from "../export/prometheus.ts";
import { withoutDurations } from "../export/test_helpers.ts";
import { loadCassette } from "../replay/cassette.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";
import { taskArgs } from "./testing_task.ts";

const root = new URL("../", import.meta.url);
const DAY = new URL("fixtures/tesla/day/cassette.json", root).pathname;
const golden = (name: string) => new URL(`testdata/golden/${name}`, import.meta.url);

/** Plays the day deterministically (instant virtual sleeps) and snapshots /metrics at checkpoints. */
async function exposeAt(checkpoints: number[], location = false): Promise<string[]> {
  const cassette = await loadCassette(DAY);
  const clock = new VirtualClock(cassette.startedAt * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const session = await startReplay({ cassettes: [cassette], clock, readings, log, location });
  const prometheus = new PrometheusExport(readings, { location });
  const out: string[] = [];
  try {
    for (const at of checkpoints) {
      await playUntil(session, { clock, readings, log, origin: cassette.startedAt, at });
      out.push(await prometheus.exposition());
    }
    assertEquals(session.unmatched(), [], "every request had a recorded answer");
  } finally {
    await session.shutdown();
  }
  return out;
}

/** Drops lines that depend on how often we polled, or how fast, rather than on the car. */
const POLL_COUNTS = [
  "ev_api_requests_total",
  "ev_api_billable_requests_total",
  "ev_api_cost_usd_total",
];
const normalize = (text: string) =>
  withoutDurations(text).split("\n").filter((l) => !POLL_COUNTS.some((p) => l.startsWith(p)))
    .join("\n");

Deno.test("golden /metrics while driving, charging and at the end of the replayed day", async () => {
  const names = ["day-0750-driving.prom", "day-2000-charging.prom", "day-end.prom"];
  const texts = await exposeAt([7 * 3600 + 50 * 60, 20 * 3600, 86_399]);
  for (const [i, name] of names.entries()) {
    const actual = normalize(texts[i]);
    if (Deno.env.get("UPDATE_GOLDEN")) {
      await Deno.writeTextFile(golden(name), actual);
      continue;
    }
    const expected = await Deno.readTextFile(golden(name)).catch(() => "");
    assertEquals(actual, expected, `${name} changed: run \`deno task test:update\` if intended`);
  }
  assertStringIncludes(texts[0], 'ev_drive_shift_state{provider="tesla"');
  assert(/ev_vehicle_state\{[^}]*state="asleep"\} 1/.test(texts[2]), "asleep at the end");
  // Asleep, the car keeps its last known values; the sample time says how old they are.
  assert(/^ev_battery_level_ratio\{[^}]*\} 0\.8$/m.test(texts[2]), "last known charge");
  assert(/^ev_odometer_meters\{/m.test(texts[2]), "last known odometer");
});

Deno.test("state of charge rises while charging and location stays off by default", async () => {
  const [a, b] = await exposeAt([19 * 3600, 21 * 3600]);
  const soc = (t: string) => Number(/ev_battery_level_ratio\{[^}]*\} ([\d.]+)/.exec(t)?.[1]);
  assert(soc(b) > soc(a), `SoC ${soc(a)} → ${soc(b)} should rise while charging`);
  assert(!a.includes("ev_location_latitude"), "no location unless enabled");
  const [withLocation] = await exposeAt([7 * 3600 + 50 * 60], true);
  assertStringIncludes(withLocation, "ev_location_latitude_deg{");
});

Deno.test("the demo day: after each car's first read, its charge, range and odometer never go", async () => {
  const cassettes = await Promise.all(
    ["tesla/day", "volvo/xc40-bev-day"].map((c) =>
      loadCassette(new URL(`fixtures/${c}/cassette.json`, root).pathname)
    ),
  );
  const origin = Math.min(...cassettes.map((c) => c.startedAt));
  const end = Math.max(...cassettes.map((c) => c.startedAt + c.duration));
  const clock = new VirtualClock(origin * 1000, 0);
  const readings = new Readings();
  const log = createLogger({ write: () => {} });
  const session = await startReplay({ cassettes, clock, readings, log, location: false });
  const controller = new AbortController();
  const read = new Set<string>();
  const missing: string[] = [];
  const asleepWithValues = new Set<string>();
  let checks = 0;
  try {
    await runScheduler({
      targets: session.targets,
      readings,
      clock,
      log,
      signal: controller.signal,
      onPoll: (_, outcome) => {
        if (outcome.kind === "snapshot") read.add(outcome.snapshot.vehicle.provider);
        // What /metrics renders at this virtual moment.
        const series = collectSeries(readings);
        for (const entry of readings.vehicles.values()) {
          const { provider } = entry.vehicle;
          if (!read.has(provider)) continue;
          checks++;
          for (const name of ["ev.battery.level", "ev.battery.range", "ev.odometer"]) {
            const has = series.some((s) => s.def.name === name && s.labels.provider === provider);
            if (!has) missing.push(`${provider} ${name} at ${clock.now() / 1000 - origin} s`);
          }
          if (entry.state !== "online") asleepWithValues.add(`${provider} ${entry.state}`);
        }
        if (clock.now() / 1000 >= end) controller.abort();
      },
    });
  } finally {
    await session.shutdown();
  }
  assertEquals(missing.slice(0, 5), [], `${missing.length} moments without a value`);
  assertEquals([...read].sort(), ["tesla", "volvo"]);
  assert(checks > 200, `checked ${checks} moments`);
  assert(asleepWithValues.has("tesla asleep"), "the Tesla slept, values kept");
});

async function run(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("replay"), ...args],
    cwd: root.pathname,
    env: { EV_LOG_LEVEL: "warn", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("`deno task replay --once --print` prints an exposition promtool accepts", async () => {
  const { code, stdout, stderr } = await run(["--once", "--print"]);
  assertEquals(code, 0, stderr);
  // The demo keeps its promise: a Tesla day and a Volvo day, both on /metrics.
  for (const provider of ["tesla", "volvo"]) {
    assertStringIncludes(stdout, `ev_battery_level_ratio{provider="${provider}"`);
  }
  const lint = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = lint.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdout));
  await w.close();
  const res = await lint.output();
  const report = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
  assertEquals(report.trim(), "", "promtool check metrics reports nothing");
  assertEquals(res.code, 0);
});

Deno.test("replay --once posts OTLP protobuf to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", async () => {
  const received: { path: string; type: string | null; bytes: number }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    received.push({
      path: new URL(req.url).pathname,
      type: req.headers.get("content-type"),
      bytes: body.byteLength,
    });
    return new Response(null, { status: 200 });
  });
  try {
    const port = (server.addr as Deno.NetAddr).port;
    const { code, stderr } = await run(["--once"], {
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${port}/v1/otlp/v1/metrics`,
    });
    assertEquals(code, 0, stderr);
    assert(received.length >= 1, "one export at least");
    assertEquals(received[0].path, "/v1/otlp/v1/metrics");
    assertEquals(received[0].type, "application/x-protobuf");
    assert(received[0].bytes > 500);
  } finally {
    await server.shutdown();
  }
});

Deno.test("unknown flag and bad cassette fail with a clear message", async () => {
  const flag = await run(["--sped", "2"]);
  assertEquals(flag.code, 2);
  assertStringIncludes(flag.stderr, "--help");
  const missing = await run(["--once", "--fixtures", "fixtures/nope.json"]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "fixtures/nope.json");
});

const EDGE_CASES: [string, string[], number?][] = [
  ["asleep-408", []],
  ["nulls", []],
  ["extra-fields", []],
  ["malformed-types", ["charge_state.battery_level"]],
  // Sections left out are no error (older firmware, cached data): their metrics are absent.
  ["missing-sections", []],
  ["truncated", ["/api/1/vehicles/{id}/vehicle_data"]],
  // 502 with an HTML page first (a server fault, retried), a 200 HTML maintenance page later.
  ["html-error", [], 0],
  ["html-error", ["/api/1/vehicles/{id}/vehicle_data"], 300],
];

for (const [scenario, fields, at] of EDGE_CASES) {
  Deno.test(`edge case ${scenario}${at ? ` at ${at} s` : ""}: named errors, no crash`, async () => {
    const cassette = await loadCassette(
      new URL(`fixtures/tesla/${scenario}/cassette.json`, root).pathname,
    );
    const clock = new VirtualClock((cassette.startedAt + (at ?? cassette.sampleAt)) * 1000, 0);
    const readings = new Readings();
    const lines: string[] = [];
    const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
    const session = await startReplay({
      cassettes: [cassette],
      clock,
      readings,
      log,
      location: false,
    });
    try {
      for (const target of session.targets) await pollOnce(target, readings, log);
      const text = await new PrometheusExport(readings, { location: false }).exposition();
      assertStringIncludes(text, "ev_vehicle_state{");
      const errors = [...readings.counters.values()].filter((c) => c.metric === "ev.parse.errors")
        .map((c) => c.labels.field);
      for (const f of fields) {
        assert(errors.includes(f), `${scenario}: expected parse error for ${f}, got ${errors}`);
        assert(lines.some((l) => l.includes(f)), `${scenario}: a log line names ${f}`);
      }
      if (fields.length === 0) assertEquals(errors, [], `${scenario}: no parse errors`);
      assertEquals(session.unmatched(), []);
    } finally {
      await session.shutdown();
    }
  });
}

Deno.test("replay --serve prints the fake API's base URL and answers like the vendor", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("replay"), "--serve", "--start", "07:50"],
    cwd: root.pathname,
    env: { EV_LOG_LEVEL: "warn" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/http:\/\/127\.0\.0\.1:\d+/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1];
    assertStringIncludes(text, "tesla/day");
    const summary = await (await fetch(`${url}/api/1/vehicles/1000000000000001`)).json();
    assertEquals(summary.response.state, "online");
    const unexpected = await fetch(`${url}/api/1/nothing-here`);
    await unexpected.body?.cancel();
    assertEquals(unexpected.status, 599, "an unexpected request fails loudly");
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    assertEquals(status.code, 1, "the unmatched request makes --serve exit non-zero");
  }
});

Deno.test("the bundled demo without Mosquitto plays its polled days and says what it left out", async () => {
  const { withoutBroker } = await import("./replay.ts");
  const days = await Promise.all(
    ["tesla/day", "volvo/xc40-bev-day", "bmw/i4-day"].map((d) =>
      loadCassette(new URL(`../fixtures/${d}/cassette.json`, import.meta.url).pathname)
    ),
  );
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const missing = "/nonexistent/mosquitto";
  const kept = await withoutBroker(days, log, missing);
  assertEquals(kept.map((c) => c.vendor), ["tesla", "volvo"]);
  assertEquals(lines.length, 1);
  assertStringIncludes(lines[0], "bmw/i4-day");
  assertStringIncludes(lines[0], "apt-get install mosquitto");
  // With the broker installed nothing is left out; with only streamed days there is no demo.
  assertEquals((await withoutBroker(days, log)).length, 3);
  const streamedOnly = days.filter((c) => c.messages?.length);
  const err = await withoutBroker(streamedOnly, log, missing).then(() => undefined, (e) => e);
  assert(err instanceof Error && err.message.includes("mosquitto"));
});
