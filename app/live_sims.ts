/**
 * The simulated Tesla and Volvo for `deno task demo:live` (test rig, never product code): each
 * fake API with its sign-in server (providers/<vendor>/sim/) on loopback, its scripted day
 * moved to today and running on the real clock: at 14:30 the cars do what they do at 14:30 of
 * the scripted day, and every time in their answers is today's. Writes the config that points
 * a live `poll` and `auth` at them.
 */
import { freeLoopbackPort } from "../core/listen.ts";
import { VirtualClock } from "../core/clock.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { DAY_START } from "../providers/tesla/sim/scenario.ts";
import { FAKE_API_KEY, FakeVolvo } from "../providers/volvo/sim/fake_api.ts";
import { DAY_START as VOLVO_DAY_START } from "../providers/volvo/sim/scenario.ts";

const DAY_MS = 86_400_000;
/** Times this far around the scripted day are the day's; others (odometers…) are left alone. */
const WINDOW_S = 14 * 86_400;

/**
 * From the scripted day to now, in milliseconds: whole days (so at 14:30 UTC the cars do what
 * they do at 14:30), or, with `atS`, so that now is `atS` seconds into the scripted day.
 */
export function shiftToToday(dayStartS: number, nowMs = Date.now(), atS?: number): number {
  if (atS !== undefined) return nowMs - (dayStartS + atS) * 1000;
  return Math.floor(nowMs / DAY_MS) * DAY_MS - dayStartS * 1000;
}

/**
 * Moves every time of the scripted day in a JSON answer by `shiftMs`: Unix seconds and
 * milliseconds (Tesla) and ISO 8601 strings (Volvo).
 */
export function shiftTimes(value: unknown, dayStartS: number, shiftMs: number): unknown {
  const near = (s: number) => Math.abs(s - dayStartS) < WINDOW_S;
  if (typeof value === "number") {
    if (near(value)) return value + shiftMs / 1000;
    if (near(value / 1000)) return value + shiftMs;
    return value;
  }
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) && near(ms / 1000) ? new Date(ms + shiftMs).toISOString() : value;
  }
  if (Array.isArray(value)) return value.map((v) => shiftTimes(v, dayStartS, shiftMs));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, shiftTimes(v, dayStartS, shiftMs)]),
    );
  }
  return value;
}

/** A loopback server answering with `handle`, its JSON times moved to today. */
function serveShifted(
  handle: (req: Request) => Promise<Response>,
  dayStartS: number,
  shiftMs: number,
  port = 0,
) {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const res = await handle(req);
    if (!res.headers.get("content-type")?.includes("json")) return res;
    const body = shiftTimes(await res.json(), dayStartS, shiftMs);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(JSON.stringify(body), { status: res.status, headers });
  });
}

export interface LiveSims {
  readonly tesla: string;
  readonly volvo: string;
  /** The config file for `poll` and `auth` (state_dir beside it). */
  readonly config: string;
  shutdown(): Promise<void>;
}

/** The Volvo application the demo signs in with (a fake's, so its secret is no secret). */
const DEMO_VOLVO_APP = { clientId: "demo-live", clientSecret: "demo-live-client-secret" };

/**
 * Starts both simulated vendors and writes `<dir>/config.yaml` (state_dir `<dir>/state`).
 * Tesla's access tokens last 15 minutes here (Volvo's 5, as Volvo's do) so refreshes show.
 */
export async function startLiveSims(dir: string, atS?: number): Promise<LiveSims> {
  const teslaShift = shiftToToday(DAY_START, Date.now(), atS);
  const tesla = new FakeTesla({
    clock: new VirtualClock(Date.now() - teslaShift, 1),
    accessLifetimeS: 900,
  }, false);
  const volvoShift = shiftToToday(VOLVO_DAY_START, Date.now(), atS);
  const redirect = `http://127.0.0.1:${freeLoopbackPort()}/callback`;
  const volvo = new FakeVolvo({
    clock: new VirtualClock(Date.now() - volvoShift, 1),
    client: { ...DEMO_VOLVO_APP, redirectUris: [redirect] },
  }, false);
  const servers = [
    serveShifted((r) => tesla.handle(r), DAY_START, teslaShift),
    serveShifted((r) => volvo.handle(r), VOLVO_DAY_START, volvoShift),
  ];
  const [teslaUrl, volvoUrl] = servers.map((s) => `http://127.0.0.1:${s.addr.port}`);
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    config,
    `# deno task demo:live: the simulated Tesla and Volvo on loopback (providers/*/sim/).
state_dir: ${dir}/state
accounts:
  - provider: tesla
    name: demo
    auth_host: ${teslaUrl}
    api_base_url: ${teslaUrl}
  - provider: volvo
    name: demo
    client_id: ${DEMO_VOLVO_APP.clientId}
    client_secret: ${DEMO_VOLVO_APP.clientSecret}
    redirect_uri: ${redirect}
    vcc_api_key: ${FAKE_API_KEY}
    auth_host: ${volvoUrl}
    api_base_url: ${volvoUrl}
`,
    { mode: 0o600 },
  );
  return {
    tesla: teslaUrl,
    volvo: volvoUrl,
    config,
    shutdown: async () => {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}
