/**
 * `deno task demo:live`: the live path without a car. Starts the simulated Tesla and Volvo
 * (app/live_sims.ts) in a child allowed loopback and its own folder only, signs in to both
 * with the real `auth` command against their fake sign-in servers, then runs the real `poll`
 * on them until Ctrl-C. Imports no npm code: this process may start Deno.
 */
import { flags } from "../app/flags.ts";
import { runOptions } from "../app/launch.ts";

const HELP = `
deno task demo:live [--listen ADDR] [--at HH:MM]

Runs ev-observer live against a simulated Tesla and Volvo on this machine: their APIs and
sign-in servers, playing their scripted days moved to today, on the real clock. Signs in to
both with \`deno task auth\` (the fake sign-in), then runs \`deno task poll\` until Ctrl-C:
the scheduler, token refresh (Volvo's tokens last 5 minutes, the demo Tesla's 15), /metrics,
the status page, and OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or GREPTIMEDB_URL is set. Its
config and tokens live in state/demo-live/<run>/ and are removed at the end.

Options:
  --listen ADDR   the status page and /metrics (default 127.0.0.1:9464)
  --at HH:MM      start at this moment of the scripted days (default: now's time of day, UTC;
                  at night the cars sleep), e.g. --at 07:30 just before the morning drive
  -h, --help      this text
`;

const FOLDER = "state/demo-live";
const ENTRY = new URL(import.meta.url).pathname;
const TASK = new URL("./task.ts", import.meta.url).pathname;

/** Reads a child's stdout line by line, for what it prints to the user. */
function lines(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    /** Everything up to the first match of `re`; throws if the stream ends first. */
    async until(re: RegExp): Promise<RegExpMatchArray> {
      for (;;) {
        const m = buffer.match(re);
        if (m) {
          buffer = buffer.slice(m.index! + m[0].length);
          return m;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`ended before ${re}`);
        buffer += value;
      }
    },
    async rest(): Promise<string> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return buffer;
        buffer += value;
      }
    },
  };
}

/** The fake sign-in signs in at once: the authorize URL answers with its redirect. */
async function authorize(url: string): Promise<string> {
  const res = await fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`the fake sign-in answered ${res.status}`);
  return location;
}

/**
 * `deno task auth <vendor>` against the fake sign-in, as a user would: open the address,
 * then paste where the browser ended (Tesla) or let the browser reach the callback (Volvo).
 */
async function signIn(vendor: "tesla" | "volvo", config: string): Promise<void> {
  const child = new Deno.Command("deno", {
    args: [
      ...runOptions(),
      "--allow-run=deno",
      TASK,
      "auth",
      vendor,
      "--config",
      config,
      "--no-browser",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = lines(child.stdout);
  const stderr = new Response(child.stderr).text();
  try {
    const url = (await out.until(/(http:\/\/127\.0\.0\.1:\d+\/\S*author\S+)/))[1];
    const landed = await authorize(url);
    if (vendor === "tesla") {
      await out.until(/Paste the address/);
      const stdin = child.stdin.getWriter();
      await stdin.write(new TextEncoder().encode(`${landed}\n`));
      await stdin.close();
    } else {
      await out.until(/Waiting up to/);
      const res = await fetch(landed); // the browser reaching the one-shot callback server
      await res.body?.cancel();
      await child.stdin.close();
    }
    const signed = (await out.until(/Signed in: [^\n]*/))[0];
    await out.rest();
    const status = await child.status;
    if (!status.success) throw new Error(`exit ${status.code}`);
    console.log(`  ${signed}`);
  } catch (err) {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    throw new Error(`deno task auth ${vendor} failed (${(err as Error).message}): ${await stderr}`);
  }
}

/** The simulators' child: starts them, prints their addresses, stops on a signal. */
async function sims(dir: string, at: string | undefined): Promise<void> {
  const { startLiveSims } = await import("../app/live_sims.ts");
  const live = await startLiveSims(dir, at === undefined ? undefined : Number(at));
  const stop = Promise.withResolvers<void>();
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => stop.resolve());
  console.log(JSON.stringify({ tesla: live.tesla, volvo: live.volvo, config: live.config }));
  await stop.promise;
  await live.shutdown();
  Deno.exit(0);
}

/** `HH:MM` → seconds into the day; a clear error otherwise. */
function clockTime(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) {
    console.error(`--at: expected a time of day such as 07:30, got "${text}"`);
    Deno.exit(2);
  }
  return Number(m[1]) * 3600 + Number(m[2]) * 60;
}

async function main(args: string[]): Promise<void> {
  if (args[0] === "--stage=sims") return await sims(args[1], args[2]);
  const { values } = flags(args, { listen: { type: "string" }, at: { type: "string" } }, HELP);
  const listen = values.listen ?? "127.0.0.1:9464";
  const at = values.at === undefined ? undefined : clockTime(values.at);
  const dir = `${FOLDER}/${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const simulators = new Deno.Command("deno", {
    args: [
      ...runOptions(),
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      ENTRY,
      "--stage=sims",
      dir,
      ...(at === undefined ? [] : [String(at)]),
    ],
    stdin: "null",
    stdout: "piped",
  }).spawn();
  let code = 1;
  try {
    const started = JSON.parse((await lines(simulators.stdout).until(/\{.*\}/))[0]);
    console.log(`Simulated Tesla on ${started.tesla}, simulated Volvo on ${started.volvo}.`);
    console.log("Signing in to both with deno task auth (their fake sign-in servers):");
    await signIn("tesla", started.config);
    await signIn("volvo", started.config);
    console.log(`
Polling them with deno task poll --config ${started.config}:
  status page  http://${listen}/
  metrics      http://${listen}/metrics
Try meanwhile: deno task auth tesla --config ${started.config}   (sign in again)
Ctrl-C stops (and removes ${dir}).
`);
    const poll = new Deno.Command("deno", {
      args: [
        ...runOptions(),
        "--allow-run=deno",
        TASK,
        "poll",
        "--config",
        started.config,
        "--listen",
        listen,
      ],
      stdin: "null",
    }).spawn();
    const forward = (signal: Deno.Signal) => () => {
      try {
        poll.kill(signal);
      } catch {
        // Already gone.
      }
    };
    const listeners = (["SIGINT", "SIGTERM"] as const).map((s) => [s, forward(s)] as const);
    for (const [s, f] of listeners) Deno.addSignalListener(s, f);
    code = (await poll.status).code;
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
  } catch (err) {
    console.error((err as Error).message);
  } finally {
    try {
      simulators.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await simulators.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(FOLDER).catch(() => {}); // only when no other run is in it
  }
  Deno.exit(code);
}

if (import.meta.main) await main(Deno.args);
