/**
 * The shard deployments as a cluster and a host would take them: the Kubernetes manifests
 * checked against the Kubernetes API schemas (kubernetes-models), the Prometheus configs by
 * promtool (and their relabeling by promtool's own service discovery), the two-shard compose
 * variant by docker-compose. No cluster runs here: the schemas are the check.
 */
import { parse as parseYaml } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { parseConfig } from "../core/config.ts";
import { parseShardText } from "../core/shard.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../core/testing.ts";

const root = new URL("../", import.meta.url).pathname;
const k8s = `${root}deploy/kubernetes`;

async function manifest<T>(file: string): Promise<T> {
  return parseYaml(await Deno.readTextFile(`${k8s}/${file}`)) as T;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A pinned tag: not `latest`, with a version number in it. */
function assertPinned(image: string) {
  const tag = /^[^@]+:([^:/@]+)(?:@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
  assert(tag && tag !== "latest" && /\d/.test(tag), `image ${image} is pinned`);
}

Deno.test("Kubernetes manifests pass the API schemas; the validator rejects a broken one", async () => {
  const set = new StatefulSet(await manifest("statefulset.yaml"));
  const service = new Service(await manifest("service.yaml"));
  const config = new ConfigMap(await manifest("configmap.yaml"));
  for (const object of [set, service, config]) object.validate();
  // The same check fails on a mistake, so passing means something.
  const broken = new StatefulSet(await manifest("statefulset.yaml"));
  (broken.spec as unknown as Record<string, unknown>).replicas = "three";
  assertStringIncludes(assertThrows(() => broken.validate()).message, "replicas must be integer");
});

Deno.test("StatefulSet: the pod ordinal is the shard index, of as many shards as pods", async () => {
  const set = new StatefulSet(await manifest("statefulset.yaml"));
  const spec = set.spec!;
  const pod = spec.template.spec!;
  const [container] = pod.containers;
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
  assertEquals(
    env.POD_INDEX.valueFrom?.fieldRef?.fieldPath,
    "metadata.labels['apps.kubernetes.io/pod-index']",
  );
  const shard = parseShardText(env.EV_OBSERVER_SHARD.value!.replace("$(POD_INDEX)", "0"));
  assertEquals(shard?.count, spec.replicas, "the shard count is the number of pods");
  // Kubernetes expands $(VAR) only from variables defined earlier in the list.
  const names = container.env!.map((e) => e.name);
  assert(names.indexOf("POD_INDEX") < names.indexOf("EV_OBSERVER_SHARD"), "POD_INDEX first");
  assert(names.indexOf("POD_NAME") < names.indexOf("OTEL_RESOURCE_ATTRIBUTES"), "POD_NAME first");
  assertStringIncludes(env.OTEL_RESOURCE_ATTRIBUTES.value!, "service.instance.id=$(POD_NAME)");
  assertPinned(container.image!);
  assertEquals(container.args, ["poll", "--config", "/etc/ev-observer/config.yaml"]);
  assert(container.resources?.limits?.memory && container.resources.limits.cpu, "limits set");
  assert(container.resources?.requests?.memory, "requests set");
  assertEquals(container.livenessProbe?.httpGet?.path, "/healthz");
  assertEquals(container.livenessProbe?.httpGet?.port, "metrics");
  assertEquals(container.ports?.find((p) => p.name === "metrics")?.containerPort, 9464);
  // Each pod its own volume at state_dir, and the ConfigMap's file where --config points.
  const [claim] = spec.volumeClaimTemplates!;
  const mounts = Object.fromEntries(container.volumeMounts!.map((m) => [m.name, m.mountPath]));
  assertEquals(mounts[claim.metadata!.name!], "/data");
  assertEquals(mounts.config, "/etc/ev-observer");
  const configVolume = pod.volumes!.find((v) => v.name === "config");
  const map = new ConfigMap(await manifest("configmap.yaml"));
  assertEquals(configVolume?.configMap?.name, map.metadata?.name);
  const parsed = parseConfig(map.data!["config.yaml"], { EV_OBSERVER_SHARD: "2/3" }, "configmap");
  assertEquals(parsed.state_dir, "/data");
  assertEquals(parsed.listen, "0.0.0.0:9464");
  assertEquals(parsed.shard, { index: 2, count: 3 });
  assertMatch(parsed.greptimedb!.url, /^http:\/\/greptimedb-frontend\./);
  assertEquals(pod.securityContext?.runAsUser, 1993, "the image's deno user");
  // The headless Service selects these pods on their metrics port.
  const service = new Service(await manifest("service.yaml"));
  assertEquals(service.spec?.clusterIP, "None");
  assertEquals(spec.serviceName, service.metadata?.name);
  for (const [k, v] of Object.entries(service.spec!.selector!)) {
    assertEquals(set.spec!.template.metadata!.labels![k], v, `selector ${k}`);
  }
  assertEquals(service.spec?.ports?.[0].name, "metrics");
});

Deno.test("promtool accepts both shard scrape configs; the Kubernetes one labels each pod's shard", async () => {
  for (const file of ["deploy/prometheus.kubernetes.yml", "deploy/prometheus.shards.yml"]) {
    const res = await run("promtool", ["check", "config", file]);
    assertEquals(res.code, 0, `${file}: ${res.stdout}${res.stderr}`);
  }
  // The job's own relabeling, evaluated by promtool on the names the SRV record gives.
  const config = parseYaml(
    await Deno.readTextFile(`${root}deploy/prometheus.kubernetes.yml`),
  ) as { scrape_configs: Record<string, unknown>[] };
  const job = config.scrape_configs[0];
  const srv = (job.dns_sd_configs as { names: string[] }[])[0].names[0];
  const domain = srv.replace(/^_metrics\._tcp\./, "");
  delete job.dns_sd_configs;
  job.static_configs = [0, 1, 12].map((i) => ({ targets: [`ev-observer-${i}.${domain}.:9464`] }));
  const dir = await Deno.makeTempDir({ prefix: "ev-shards-prom-" });
  try {
    await Deno.writeTextFile(`${dir}/prometheus.yml`, JSON.stringify(config));
    const res = await run("promtool", [
      "check",
      "service-discovery",
      "--timeout=2s",
      `${dir}/prometheus.yml`,
      String(job.job_name),
    ]);
    assertEquals(res.code, 0, res.stderr);
    const targets = JSON.parse(res.stdout) as { labels: Record<string, string> }[];
    const got = targets.map((t) => `${t.labels.pod} ${t.labels.shard}`).sort();
    assertEquals(got, ["ev-observer-0 0", "ev-observer-1 1", "ev-observer-12 12"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

interface Compose {
  services: Record<string, {
    command?: string;
    environment?: Record<string, string>;
    volumes?: string[];
    ports?: { published: number; target: number }[];
  }>;
}

Deno.test("docker-compose: two shards over compose.yaml, one state volume, both scraped", async () => {
  const res = await run("docker-compose", [
    "-f",
    "compose.yaml",
    "-f",
    "deploy/compose.shards.yaml",
    "config",
  ]);
  assertEquals(res.code, 0, `docker-compose config failed:\n${res.stderr}`);
  const { services } = parseYaml(res.stdout) as Compose;
  const shards = ["ev-observer", "ev-observer-1"].map((name) => services[name]);
  assertEquals(shards.map((s) => s.environment?.EV_OBSERVER_SHARD), ["0/2", "1/2"]);
  const ids = shards.map((s) => s.environment?.OTEL_RESOURCE_ATTRIBUTES);
  assertEquals(new Set(ids).size, 2, "each shard its own service.instance.id");
  for (const s of shards) {
    assertEquals(s.command, "poll --config /etc/ev-observer/config.yaml");
    assertEquals(s.environment?.GREPTIMEDB_URL, "http://greptimedb:4000");
    assert(s.volumes?.includes("ev-observer-data:/data:rw"), "the shared state volume");
  }
  const published = shards.map((s) => s.ports?.[0].published);
  assertEquals(new Set(published).size, 2, "each shard on its own host port");
  const prom = services.prometheus.volumes!.find((v) =>
    v.endsWith(":/etc/prometheus/prometheus.yml:ro")
  );
  assert(prom?.startsWith(`${root}deploy/prometheus.shards.yml:`), prom);
  const scrape = parseYaml(await Deno.readTextFile(`${root}deploy/prometheus.shards.yml`)) as {
    scrape_configs: { static_configs: { targets: string[]; labels: { shard: string } }[] }[];
  };
  const targets = scrape.scrape_configs[0].static_configs.map((c) =>
    `${c.targets[0]} ${c.labels.shard}`
  );
  assertEquals(targets, ["ev-observer:9464 0", "ev-observer-1:9464 1"]);
  // compose.yaml alone still runs the one-process demo (docker-compose 1.29 lists the
  // streaming profile's services too; they start only with --profile streaming).
  const plain = await run("docker-compose", ["-f", "compose.yaml", "config", "--services"]);
  assertEquals(plain.stdout.trim().split("\n").sort(), [
    "ev-observer",
    "fleet-telemetry",
    "grafana",
    "greptimedb",
    "mosquitto",
    "prometheus",
    "vehicle-command",
  ]);
});
