/**
 * The deployment files as a user meets them: compose.yaml accepted by docker-compose with
 * every mount present and every image pinned, the systemd unit accepted by systemd-analyze,
 * and the Dockerfile's command line working outside a container.
 */
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../core/config.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../core/testing.ts";
import { freeLoopbackPort, taskArgs, waitFor } from "../scripts/testing_task.ts";

const root = new URL("../", import.meta.url).pathname;

async function run(cmd: string, args: string[], opts: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...opts })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

interface Compose {
  services: Record<string, {
    image?: string;
    build?: unknown;
    restart?: string;
    volumes?: string[];
    healthcheck?: unknown;
    depends_on?: Record<string, { condition: string }>;
    command?: string | string[];
    environment?: Record<string, string>;
    profiles?: string[];
  }>;
  volumes?: Record<string, unknown>;
}

async function composeConfig(env: Record<string, string> = {}): Promise<Compose> {
  const res = await run("docker-compose", ["-f", "compose.yaml", "config"], { cwd: root, env });
  assertEquals(res.code, 0, `docker-compose config failed:\n${res.stderr}`);
  return parseYaml(res.stdout) as Compose;
}

Deno.test("docker-compose accepts compose.yaml; mounts exist, images pinned, restarts set", async () => {
  const config = await composeConfig();
  const names = (profile?: string) =>
    Object.entries(config.services).filter(([, s]) => s.profiles?.[0] === profile)
      .map(([n]) => n).sort();
  assertEquals(names(), ["ev-observer", "grafana", "greptimedb", "prometheus"]);
  // Opt-in profiles (README): off, they add nothing to the stack above.
  assertEquals(names("streaming"), ["fleet-telemetry", "mosquitto", "vehicle-command"]);
  for (const [name, svc] of Object.entries(config.services)) {
    assertEquals(svc.restart, "unless-stopped", `${name} restarts`);
    if (svc.image) {
      const tag = /^[^:@]+(?::([^@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(svc.image)?.[1];
      assert(tag && tag !== "latest" && /\d/.test(tag), `${name}: image ${svc.image} is pinned`);
    } else {
      assert(svc.build, `${name} has an image or a build`);
    }
    for (const volume of svc.volumes ?? []) {
      const source = volume.split(":")[0];
      if (!source.startsWith("/")) {
        assert(source in (config.volumes ?? {}), `${name}: named volume ${source} is declared`);
        continue;
      }
      // Bind mounts: the path must be in the repository (seed defect: a missing folder).
      assert(source.startsWith(root), `${name}: ${source} lies inside the repository`);
      const stat = await Deno.stat(source).catch(() => undefined);
      assert(stat, `${name}: mounted ${source} exists`);
    }
  }
  const ev = config.services["ev-observer"];
  assertEquals(ev.depends_on?.greptimedb.condition, "service_healthy");
  assertEquals(ev.environment?.GREPTIMEDB_URL, "http://greptimedb:4000");
  assertEquals(ev.command, "replay --loop", "the demo runs by default");
  assert(config.services.greptimedb.healthcheck, "GreptimeDB has a health check");
  assert(
    config.services.greptimedb.volumes?.some((v) => v.startsWith("greptimedb-data:")),
    "GreptimeDB keeps its data on a volume",
  );
  const text = await Deno.readTextFile(`${root}compose.yaml`);
  assert(!/\$\{?(UID|GID)\b/.test(text), "no $UID:$GID (unset in most shells)");
});

Deno.test("EV_OBSERVER_COMMAND switches compose to live polling", async () => {
  const live = await composeConfig({
    EV_OBSERVER_COMMAND: "poll --config /etc/ev-observer/config.yaml",
  });
  assertEquals(live.services["ev-observer"].command, "poll --config /etc/ev-observer/config.yaml");
});

Deno.test("the config mounted into the container is valid", async () => {
  const text = await Deno.readTextFile(`${root}deploy/ev-observer/config.yaml`);
  const config = parseConfig(text, {}, "deploy/ev-observer/config.yaml");
  assertEquals(config.listen, "0.0.0.0:9464");
  assertEquals(config.state_dir, "/data");
  assertEquals(config.greptimedb?.url, "http://greptimedb:4000");
});

Deno.test("Grafana provisioning: both data sources, GreptimeDB's PromQL API with its header", async () => {
  const ds = parseYaml(
    await Deno.readTextFile(`${root}deploy/grafana/provisioning/datasources/ev-observer.yaml`),
  ) as { datasources: Record<string, unknown & { uid: string }>[] };
  const byUid = Object.fromEntries(ds.datasources.map((d) => [d.uid, d]));
  const greptime = byUid.greptimedb as Record<string, Record<string, string> & string>;
  assertEquals(greptime.type, "prometheus");
  assertEquals(greptime.url, "http://greptimedb:4000/v1/prometheus/");
  assertEquals(greptime.jsonData.httpHeaderName1, "x-greptime-db-name");
  assertEquals(greptime.secureJsonData.httpHeaderValue1, "public");
  assertEquals((byUid.prometheus as Record<string, string>).url, "http://prometheus:9090/");
  const dash = parseYaml(
    await Deno.readTextFile(`${root}deploy/grafana/provisioning/dashboards/ev-observer.yaml`),
  ) as { providers: { options: { path: string } }[] };
  assertEquals(dash.providers[0].options.path, "/var/lib/grafana/dashboards/ev-observer");
  // The dashboards' default data source is the provisioned GreptimeDB one.
  const overview = JSON.parse(
    await Deno.readTextFile(`${root}deploy/grafana/dashboards/overview.json`),
  );
  assertEquals(overview.templating.list[0].current.value, "greptimedb");
});

Deno.test("systemd-analyze verify accepts deploy/ev-observer.service", async () => {
  const unit = await Deno.readTextFile(`${root}deploy/ev-observer.service`);
  for (
    const key of [
      "DynamicUser=yes",
      "StateDirectory=ev-observer",
      "ConfigurationDirectory=ev-observer",
      "Environment=EV_OBSERVER_STATE_DIR=%S/ev-observer",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
      "Restart=on-failure",
      "KillSignal=SIGTERM",
    ]
  ) assertStringIncludes(unit, `\n${key}\n`);
  assertMatch(unit, /\nStartLimitIntervalSec=\d+\nStartLimitBurst=\d+\n/);
  // verify insists that ExecStart's binary exists; it is installed by the README steps, so
  // the check runs on a copy whose ExecStart points at a stand-in executable.
  const dir = await Deno.makeTempDir({ prefix: "ev-observer-unit-" });
  try {
    const stub = `${dir}/ev-observer`;
    await Deno.writeTextFile(stub, "#!/bin/sh\n", { mode: 0o755 });
    assertStringIncludes(unit, "ExecStart=/usr/local/bin/ev-observer poll ");
    const copy = `${dir}/ev-observer.service`;
    const stubbed = unit.replace("/usr/local/bin/ev-observer", stub);
    await Deno.writeTextFile(copy, stubbed);
    const ok = await run("systemd-analyze", ["verify", copy]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(ok.stderr.trim(), "", "no warnings");
    // The same check rejects a broken unit, so passing means something.
    await Deno.writeTextFile(copy, stubbed.replace("ProtectSystem=strict", "ProtectSystem=bogus"));
    const bad = await run("systemd-analyze", ["verify", copy]);
    assertStringIncludes(bad.stderr, "bogus", "systemd-analyze reports the bad value");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface Dockerfile {
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  env: Record<string, string>;
}

async function dockerfile(): Promise<Dockerfile> {
  const text = (await Deno.readTextFile(`${root}Dockerfile`)).replace(/\\\n\s*/g, "");
  const json = (key: string) => {
    const m = new RegExp(`^${key}\\s+(?:.*?CMD\\s+)?(\\[.*\\])\\s*$`, "m").exec(text);
    assert(m, `Dockerfile has an exec-form ${key}`);
    return JSON.parse(m[1]) as string[];
  };
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^ENV\s+(.*)$/gm)) {
    for (const kv of m[1].trim().split(/\s+/)) {
      const [k, v] = kv.split("=");
      env[k] = v;
    }
  }
  return {
    entrypoint: json("ENTRYPOINT"),
    cmd: json("CMD"),
    healthcheck: json("HEALTHCHECK"),
    env,
  };
}

Deno.test("Dockerfile: pinned base, non-root, volume, the permissions of deno task ev-observer", async () => {
  const text = await Deno.readTextFile(`${root}Dockerfile`);
  assertMatch(text, /^FROM denoland\/deno:debian-\d+\.\d+\.\d+$/m);
  const ci = await Deno.readTextFile(`${root}.ci/run`);
  const version = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assertStringIncludes(text, `FROM denoland/deno:debian-${version}\n`, "same Deno as CI");
  assertMatch(text, /^USER deno$/m);
  assertMatch(text, /^VOLUME \["\/data"\]$/m);
  assertMatch(text, /deno install --frozen/);
  const d = await dockerfile();
  assertEquals(d.entrypoint.slice(0, 2), ["/tini", "--"], "tini forwards signals");
  const perms = (args: string[]) =>
    args.filter((a) => a.startsWith("--allow-") || a === "--no-prompt");
  const task = await taskArgs("ev-observer");
  assertEquals(perms(d.entrypoint), perms(task), "deno task ev-observer's");
  assertEquals(d.entrypoint.at(-1), task.at(-1), "the same entry script");
});

Deno.test({
  name: "the Dockerfile's command line runs the demo outside Docker; healthcheck and SIGTERM work",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const d = await dockerfile();
    const port = freeLoopbackPort();
    const listen = `127.0.0.1:${port}`;
    const env = { ...d.env, EV_OBSERVER_LISTEN: listen, EV_LOG_LEVEL: "warn" };
    // The container's command minus tini (PID 1 inside Docker), from the repo (WORKDIR /app).
    const [deno, ...args] = [...d.entrypoint.slice(2), ...d.cmd];
    assertEquals(deno, "deno");
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      env,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const health = () =>
      run(Deno.execPath(), d.healthcheck.slice(1), {
        cwd: root,
        env: { EV_OBSERVER_LISTEN: listen },
      });
    try {
      assertEquals(d.healthcheck[0], "deno");
      await waitFor("/healthz", async () => (await health()).code === 0 ? true : undefined);
      // The demo's Tesla, and its streamed BMW (which may arrive first).
      const tails = ["000001", "TED001"];
      const status = await waitFor("the Tesla and the BMW on /status.json", async () => {
        const res = await fetch(`http://${listen}/status.json`);
        const body = await res.json();
        const seen = (body.vehicles ?? []).map((v: { vinTail: string }) => v.vinTail);
        return tails.every((t) => seen.includes(t)) ? body : undefined;
      });
      assert(status.vehicles.length >= 2);
      assertStringIncludes(status.mode, "replay of tesla/day");
      const page = await (await fetch(`http://${listen}/`)).text();
      assertStringIncludes(page, 'data-vehicle="tesla/000001"');
    } finally {
      child.kill("SIGTERM");
    }
    const exit = await child.status;
    const stderr = new TextDecoder().decode(
      await new Response(child.stderr).arrayBuffer().catch(() => new ArrayBuffer(0)),
    );
    assertEquals(exit.code, 0, `SIGTERM ends the demo cleanly\n${stderr}`);
    assertEquals((await health()).code, 1, "the healthcheck fails once the exporter is gone");
  },
});
