/**
 * The provisioned dashboards: in step with their generator, every PromQL expression parses,
 * stays inside what GreptimeDB's PromQL supports, names only catalog metrics (or ones listed
 * as pending), and returns data from a real Prometheus scraping the replay.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { CATALOG, prometheusName } from "../../core/catalog.ts";
import { assert, assertEquals } from "../../core/testing.ts";
import { teslaDay } from "../../providers/tesla/sim/scenario.ts";
import {
  freeLoopbackPort,
  startPrometheus,
  taskArgs,
  waitFor,
} from "../../scripts/testing_task.ts";
import { renderDashboards, SQL_DASHBOARD_FILE } from "./dashboards.ts";
import { NO_REPLAY_DATA } from "./pending_metrics.ts";

const root = new URL("../../", import.meta.url).pathname;
const dir = new URL("./dashboards/", import.meta.url);

interface Target {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
  readonly instant: boolean;
}

interface Dashboard {
  title: string;
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
  panels: {
    title: string;
    type: string;
    datasource: { uid: string };
    targets: { expr: string; instant: boolean; datasource: { uid: string } }[];
  }[];
}

async function shipped(): Promise<Map<string, Dashboard>> {
  const out = new Map<string, Dashboard>();
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".json")) {
      out.set(e.name, JSON.parse(await Deno.readTextFile(new URL(e.name, dir))));
    }
  }
  return out;
}

/** The dashboards on PromQL (all but the one on GreptimeDB's SQL table). */
async function promql(): Promise<Map<string, Dashboard>> {
  const all = await shipped();
  all.delete(SQL_DASHBOARD_FILE);
  return all;
}

async function targets(): Promise<Target[]> {
  const out: Target[] = [];
  for (const d of (await promql()).values()) {
    for (const p of d.panels) {
      for (const t of p.targets) {
        out.push({ dashboard: d.title, panel: p.title, expr: t.expr, instant: t.instant });
      }
    }
  }
  return out;
}

/**
 * Grafana's variables replaced the way a test can run them: every vehicle, fixed windows, and
 * the units a query is gated on (its imperial twin runs with imperial chosen).
 */
const substitute = (expr: string) =>
  expr.replaceAll("$vin", ".*").replaceAll("$__rate_interval", "30s")
    .replaceAll("$__range", "10m")
    .replaceAll("$units", expr.includes("vector($units) == 1") ? "1" : "0");

const CATALOG_NAMES = new Set(CATALOG.map((m) => prometheusName(m)));

interface Analysis {
  readonly errors: string[];
  readonly metrics: string[];
}

/** Parses with Prometheus' own grammar; reports syntax errors and GreptimeDB-unsafe features. */
function analyse(expr: string): Analysis {
  const errors: string[] = [];
  const metrics: string[] = [];
  const tree = parser.parse(expr);
  const cursor = tree.cursor();
  do {
    const node = cursor.node;
    if (node.type.isError) errors.push(`syntax error at ${node.from}: "${expr.slice(node.from)}"`);
    if (node.name === "At") errors.push("`@` modifier (GreptimeDB has none)");
    if (node.name === "Identifier" && node.parent?.name === "VectorSelector") {
      metrics.push(expr.slice(node.from, node.to));
    }
    if (node.name === "UnquotedLabelMatcher") {
      const label = node.getChild("LabelName");
      const op = node.getChild("MatchOp")?.firstChild?.name;
      if (
        label && expr.slice(label.from, label.to) === "__name__" &&
        (op === "Neq" || op === "NeqRegex")
      ) {
        errors.push("negative __name__ matching (GreptimeDB has none)");
      }
    }
  } while (cursor.next());
  return { errors, metrics };
}

Deno.test("dashboard files are what deploy/grafana/dashboards.ts generates", async () => {
  const expected = renderDashboards();
  const files = [...(await shipped()).keys()].sort();
  assertEquals(files, [...expected.keys()].sort(), "one file per dashboard, no strays");
  for (const [file, text] of expected) {
    const actual = await Deno.readTextFile(new URL(file, dir));
    assert(actual === text, `${file} is stale: run \`deno task dashboards\``);
  }
});

Deno.test("the analysis catches bad PromQL (the checks below can fail)", () => {
  assert(analyse("rate(ev_odometer_meters[5m]").errors.length > 0, "unclosed call");
  assert(analyse("ev_odometer_meters @ 100").errors.some((e) => e.includes("@")));
  assert(analyse('{__name__!="up"}').errors.some((e) => e.includes("__name__")));
  assertEquals(analyse("sum(rate(ev_api_requests_total[5m])) / ev_x").metrics, [
    "ev_api_requests_total",
    "ev_x",
  ]);
});

Deno.test("every dashboard query parses, suits GreptimeDB and names catalog metrics", async () => {
  const all = await targets();
  assert(all.length >= 40, `expected many panel queries, found ${all.length}`);
  const problems: string[] = [];
  for (const t of all) {
    const { errors, metrics } = analyse(substitute(t.expr));
    for (const e of errors) problems.push(`${t.dashboard} / ${t.panel}: ${e}`);
    if (!metrics.length) problems.push(`${t.dashboard} / ${t.panel}: names no metric`);
    for (const m of metrics) {
      if (!CATALOG_NAMES.has(m)) {
        problems.push(`${t.dashboard} / ${t.panel}: ${m} is not in core/catalog.ts`);
      }
    }
  }
  for (const name of Object.keys(NO_REPLAY_DATA)) {
    if (!CATALOG_NAMES.has(name)) {
      problems.push(`${name} (pending_metrics.ts) is not in the catalog`);
    }
  }
  assertEquals(problems, []);
});

/** Functions whose PromQL meaning holds only for counters (a gauge's drop is not a reset). */
const COUNTER_FUNCTIONS = new Set(["rate", "irate", "increase", "resets"]);

/** Metrics passed to a counter-only function in `expr`, by function. */
function counterFunctionArguments(expr: string): [string, string][] {
  const out: [string, string][] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.node.name !== "FunctionCall") continue;
    const id = cursor.node.getChild("FunctionIdentifier");
    const fn = id ? expr.slice(id.from, id.to) : "";
    if (!COUNTER_FUNCTIONS.has(fn)) continue;
    const inner = cursor.node.cursor();
    do {
      if (inner.node.name === "Identifier" && inner.node.parent?.name === "VectorSelector") {
        out.push([fn, expr.slice(inner.from, inner.to)]);
      }
    } while (inner.next() && inner.from < cursor.to);
  } while (cursor.next());
  return out;
}

Deno.test("rate, increase and resets are applied to counters only", async () => {
  assertEquals(counterFunctionArguments("resets(ev_charging_energy_added_joules[1h])"), [
    ["resets", "ev_charging_energy_added_joules"],
  ]);
  const kinds = new Map(CATALOG.map((m) => [prometheusName(m), m.kind]));
  const problems: string[] = [];
  for (const t of await targets()) {
    for (const [fn, name] of counterFunctionArguments(substitute(t.expr))) {
      if (kinds.get(name) !== "counter") {
        problems.push(`${t.dashboard} / ${t.panel}: ${fn}() of ${name}, a ${kinds.get(name)}`);
      }
    }
  }
  assertEquals(problems, []);
});

Deno.test("stat, gauge and map panels show the last known value over the whole range", async () => {
  const problems: string[] = [];
  for (const d of (await shipped()).values()) {
    for (const p of d.panels) {
      if (!["stat", "gauge", "geomap"].includes(p.type)) continue;
      for (const t of p.targets) {
        // A plain instant query looks back 5 minutes: a car asleep for longer would show nothing.
        const whole = /\[(\$__range|\d+[hd])\]/.test(t.expr);
        if (!t.instant || !whole) problems.push(`${d.title} / ${p.title}: ${t.expr}`);
      }
    }
  }
  assertEquals(problems, []);
});

Deno.test("units: every length, temperature, pressure and speed panel has an imperial twin", async () => {
  const IMPERIAL: Record<string, string> = {
    lengthkm: "lengthmi",
    celsius: "fahrenheit",
    pressurebar: "pressurepsi",
    velocitykmh: "velocitymph",
    "suffix: Wh/km": "suffix: Wh/mi",
  };
  let twins = 0;
  // The SQL dashboard's twins are checked on SQLite (sessions_sql_dashboard_test.ts).
  for (const d of (await promql()).values()) {
    for (
      const p of d.panels as unknown as {
        title: string;
        // deno-lint-ignore no-explicit-any
        fieldConfig: { defaults: { unit?: string }; overrides: any[] };
        targets: { refId: string; expr: string }[];
      }[]
    ) {
      const unit = p.fieldConfig.defaults.unit;
      if (!unit || !(unit in IMPERIAL)) {
        assert(p.targets.every((t) => !t.expr.includes("$units")), `${d.title} / ${p.title}`);
        continue;
      }
      const half = p.targets.length / 2;
      const metric = p.targets.slice(0, half);
      const imperial = p.targets.slice(half);
      assert(metric.every((t) => t.expr.endsWith("and on() (vector($units) == 0)")), p.title);
      assert(imperial.every((t) => t.expr.endsWith("and on() (vector($units) == 1)")), p.title);
      assertEquals(
        p.fieldConfig.overrides.map((o) => [o.matcher.options, o.properties[0].value]),
        imperial.map((t) => [t.refId, IMPERIAL[unit]]),
        `${d.title} / ${p.title}`,
      );
      twins += imperial.length;
    }
  }
  assert(twins >= 12, `${twins} imperial queries`);
});

Deno.test("Sessions started counts every charge begun in the range (promtool on exact series)", async () => {
  const charging = (await shipped()).get("charging.json")!;
  const panel = charging.panels.find((p) => p.title === "Sessions started")!;
  const expr = panel.targets[0].expr.replaceAll("$vin", ".*").replaceAll("$__range", "2h");
  const dir = await Deno.makeTempDir({ prefix: "ev-sessions-" });
  try {
    // Five-minute samples over two hours: a charge already running when the range starts is not
    // counted (its unplug resets the energy added: resets() counts that); two begin inside it,
    // one from 0 kWh and one resumed on the same plug-in, and resets() sees neither.
    const vin = 'vin="V1", provider="tesla"';
    await Deno.writeTextFile(
      `${dir}/test.yml`,
      JSON.stringify({
        evaluation_interval: "5m",
        tests: [{
          interval: "5m",
          input_series: [
            {
              series: `ev_charging_state{${vin}, state="charging"}`,
              values: "1 1 0 0 0 0 0 0 1 1 1 0 0 0 0 0 0 1 1 1 1 0 0 0 0 0",
            },
            {
              series: `ev_charging_energy_added_joules{${vin}}`,
              values: "5 6 6 0 0 0 0 0 1 2 2 2 2 2 2 2 2 2 3 4 5 5 5 5 5 5",
            },
          ],
          promql_expr_test: [
            { expr, eval_time: "125m", exp_samples: [{ labels: '{vin="V1"}', value: 2 }] },
            {
              expr: `sum by (vin) (resets(ev_charging_energy_added_joules[2h]))`,
              eval_time: "125m",
              exp_samples: [{ labels: '{vin="V1"}', value: 1 }],
            },
            // Within the first charge only: none begun.
            {
              expr: expr.replaceAll("[2h]", "[5m]").replace("offset 2h", "offset 5m"),
              eval_time: "5m",
              exp_samples: [{ labels: '{vin="V1"}', value: 0 }],
            },
          ],
        }],
      }),
    );
    const out = await new Deno.Command("promtool", {
      args: ["test", "rules", `${dir}/test.yml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every panel uses the $datasource variable and every dashboard has $vin", async () => {
  for (const [file, d] of await promql()) {
    const names = d.templating.list.map((v) => v.name);
    assertEquals(names, ["datasource", "vin", "units"], file);
    const vin = d.templating.list[1];
    assertEquals(analyse(vin.definition!.replace(/^label_values\((\w+),.*$/, "$1")).metrics, [
      "ev_vehicle_info",
    ]);
    for (const p of d.panels) {
      assertEquals(p.datasource.uid, "${datasource}", `${file} / ${p.title}`);
      for (const t of p.targets) assertEquals(t.datasource.uid, "${datasource}");
    }
  }
});

Deno.test({
  name: "every panel query returns data from Prometheus scraping replays of the day",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const day = teslaDay();
    const base = await taskArgs("replay");
    // Three replays at once: the morning drive (with location), the evening charge, and two
    // edge-case cassettes that cause parse errors and failed requests.
    const runs = [
      ["--location", "--speed", "60", "--start", String(day.drives[0].start + 30)],
      ["--speed", "120", "--start", String(day.charges[0].start + 60)],
      [
        "--fixtures",
        "fixtures/tesla/malformed-types/cassette.json",
        "--fixtures",
        "fixtures/tesla/html-error/cassette.json",
        "--loop",
        "--speed",
        "60",
      ],
    ];
    // An OTLP sink for the third replay, so the export counters have data too.
    const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      await req.arrayBuffer();
      return new Response(null, { status: 200 });
    });
    const otlp = {
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${sink.addr.port}/v1/otlp/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: "1000",
    };
    const ports = runs.map(() => freeLoopbackPort());
    const replays = runs.map((args, i) =>
      new Deno.Command(Deno.execPath(), {
        args: [...base, ...args, "--listen", `127.0.0.1:${ports[i]}`],
        cwd: root,
        env: { EV_LOG_LEVEL: "error", ...(i === 2 ? otlp : {}) },
        stdout: "null",
        stderr: "null",
      }).spawn()
    );
    const prometheus = await startPrometheus(ports.map((p) => `127.0.0.1:${p}`));
    const start = Date.now() / 1000;
    const query = async (t: Target) => {
      const expr = encodeURIComponent(substitute(t.expr));
      const now = Date.now() / 1000;
      const url = t.instant
        ? `${prometheus.url}/api/v1/query?query=${expr}&time=${now}`
        : `${prometheus.url}/api/v1/query_range?query=${expr}&start=${start}&end=${now}&step=1`;
      const body = await (await fetch(url)).json();
      if (body.status !== "success") throw new Error(`${t.panel}: ${body.error}`);
      return body.data.result as unknown[];
    };
    const checked = (await targets()).filter((t) =>
      !analyse(substitute(t.expr)).metrics.some((m) => m in NO_REPLAY_DATA)
    );
    let empty: string[] = [];
    try {
      await waitFor("every panel query to return data", async () => {
        empty = [];
        for (const t of checked) {
          if (!(await query(t)).length) empty.push(`${t.dashboard} / ${t.panel}: ${t.expr}`);
        }
        return empty.length ? undefined : true;
      }, 160).catch((err) => {
        throw new Error(`${err.message}; still empty:\n${empty.join("\n")}`);
      });
      assert(checked.length >= 35, `checked ${checked.length} queries`);
    } finally {
      for (const r of replays) r.kill("SIGTERM");
      await Promise.all(replays.map((r) => r.status));
      await prometheus.stop();
      await sink.shutdown();
    }
  },
});
