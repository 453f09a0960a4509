/**
 * `deno task replay` flags that are wrong together or out of range are refused with the flag
 * and the fix, and `--once` fails when the OTLP backend did not take the push (so it serves
 * as a connection check).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../core/testing.ts";
import { freeLoopbackPort, projectRoot, taskArgs } from "./testing_task.ts";

async function replay(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs("replay"), ...args],
    cwd: projectRoot,
    env: { NO_COLOR: "1", EV_LOG_LEVEL: "warn", OTEL_EXPORTER_OTLP_TIMEOUT: "2000", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("replay --once exits non-zero and says why when the OTLP backend refuses or is down", async () => {
  const refusing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      await req.body?.cancel();
      return new Response("database ev does not exist", { status: 400 });
    },
  );
  try {
    const url = `http://127.0.0.1:${refusing.addr.port}/v1/otlp/v1/metrics`;
    const refused = await replay(["--once"], { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: url });
    assertEquals(refused.code, 1, refused.stderr);
    assertStringIncludes(refused.stderr, "OTLP export failed (");
    assertStringIncludes(refused.stderr, "check that the backend runs");
  } finally {
    await refusing.shutdown();
  }
  const down = await replay(["--once"], {
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${freeLoopbackPort()}/v1/metrics`,
  });
  assertEquals(down.code, 1, down.stderr);
  assertMatch(down.stderr, /connection refused/i);
  assertStringIncludes(down.stderr, "OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT or greptimedb.url");
});

Deno.test("replay --start: minutes past 59 and times past the cassette's end are refused", async () => {
  for (const start of ["25:99", "7:60", "-5", "abc", "07:5"]) {
    const { code, stderr } = await replay(["--once", `--start=${start}`]);
    assertEquals(code, 2, `${start}: ${stderr}`);
    assertStringIncludes(stderr, `--start: expected seconds or HH:MM (minutes 00–59)`);
    assertStringIncludes(stderr, `got "${start}"`);
  }
  const late = await replay(["--once", "--start", "25:00"]);
  assertEquals(late.code, 2, late.stderr);
  assertStringIncludes(late.stderr, "--start 25:00: the cassettes last");
  assertStringIncludes(late.stderr, "start before their end");
  const ok = await replay(["--once", "--print", "--start", "20:00"]);
  assertEquals(ok.code, 0, ok.stderr);
  assert(ok.stdout.includes('ev_charging_state{provider="tesla"'));
});

Deno.test("replay --print without --once is refused, naming the fix", async () => {
  const { code, stderr, stdout } = await replay(["--print"]);
  assertEquals(code, 2, stderr);
  assertStringIncludes(stderr, "--print prints the exposition of one poll cycle: add --once");
  assertEquals(stdout, "");
});

Deno.test("replay --tesla-stream: the Tesla day through Fleet Telemetry beside the BMW stream; refused beside --fixtures", async () => {
  const streamed = await replay(["--once", "--print", "--tesla-stream"], { EV_LOG_LEVEL: "info" });
  assertEquals(streamed.code, 0, streamed.stderr);
  assertStringIncludes(streamed.stderr, "cassettes=tesla/stream-day,volvo/xc40-bev-day,bmw/i4-day");
  for (const provider of ["tesla", "bmw"]) {
    assertStringIncludes(
      streamed.stdout,
      `ev_stream_connected{provider="${provider}",account="replay"} 1`,
    );
  }
  // 07:50, the morning drive, as the stream had it.
  assertStringIncludes(streamed.stdout, 'ev_drive_shift_state{provider="tesla"');
  const both = await replay([
    "--once",
    "--tesla-stream",
    "--fixtures",
    "fixtures/tesla/day/cassette.json",
  ]);
  assertEquals(both.code, 2, both.stderr);
  assertStringIncludes(both.stderr, "--fixtures fixtures/tesla/stream-day/cassette.json");
});
