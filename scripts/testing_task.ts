/** Test helper: the exact command line of a `deno task`, run as one direct child process. */

import { freeLoopbackPort } from "../core/listen.ts";

export { freeLoopbackPort };

const root = new URL("../", import.meta.url);

/** `deno.json` task `name` split into arguments for Deno.execPath() (no shell, no wrapper). */
export async function taskArgs(name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const task: string = config.tasks[name];
  const parts = task.split(/\s+/);
  if (parts[0] !== "deno" || /[|&;<>]/.test(task)) {
    throw new Error(`task ${name} is not a plain deno command`);
  }
  return parts.slice(1);
}

export const projectRoot = root.pathname;

/**
 * `deno task name` as arguments for Deno.execPath() that work from any directory (a test's
 * temp dir playing the project): deno.json named, script paths absolute.
 */
export async function taskCommand(name: string): Promise<string[]> {
  const [run, ...rest] = await taskArgs(name);
  const absolute = rest.map((a) => a.endsWith(".ts") ? root.pathname + a : a);
  return [run, `--config=${root.pathname}deno.json`, ...absolute];
}

/** Polls `fn` every 250 ms until it returns a value; throws after `tries` attempts. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  tries = 120,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface TestPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** Debian's Prometheus on loopback, scraping `targets` every second, in a temp directory. */
export async function startPrometheus(targets: string[]): Promise<TestPrometheus> {
  const port = freeLoopbackPort();
  const dir = await Deno.makeTempDir({ prefix: "ev-observer-prom-" });
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ev-observer
    static_configs: [{ targets: ${JSON.stringify(targets)} }]
`,
  );
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
