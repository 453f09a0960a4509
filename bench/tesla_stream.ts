/**
 * The reference day streamed: the fleet-telemetry emulator publishes the simulated car's day
 * through a real Mosquitto, ev-observer's stream and scheduler run as `deno task poll` runs
 * them, on a virtual clock `speed` times faster than wall time, against the simulated Tesla
 * API. Measured like tesla-day: what the fake billed, plus the streamed signals (Tesla bills
 * them at 150,000 per US$1) and how old the newest streamed value was during drives and the
 * charge. `deno task bench tesla-day` runs it as `ev_observer_streaming` (about 2.5 minutes at
 * speed 600).
 */
import { VirtualClock } from "../core/clock.ts";
import { createLogger } from "../core/log.ts";
import { pollAccounts } from "../core/poller.ts";
import { Readings } from "../core/readings.ts";
import { stateValue } from "../core/snapshot.ts";
import { FLEET_PRICES } from "../providers/tesla/pricing.ts";
import { teslaPricing } from "../providers/tesla/pricing.ts";
import { createTeslaProvider } from "../providers/tesla/provider.ts";
import { TeslaStream } from "../providers/tesla/stream.ts";
import { FakeTesla } from "../providers/tesla/sim/fake_api.ts";
import { MOSQUITTO, Mosquitto } from "../replay/mosquitto.ts";
import { TelemetryPublisher } from "../providers/tesla/sim/publisher.ts";
import { teslaDay, type TeslaScenario } from "../providers/tesla/sim/scenario.ts";
import { type Message, TelemetryEmulator } from "../providers/tesla/sim/telemetry.ts";
import { agesEachSecond, dayHttp, p95, round } from "./common.ts";

export const SIGNALS_PER_USD = 150_000;

export interface StreamingResult {
  readonly billable_requests: number;
  readonly signals_per_day: number;
  /** Signals and requests × 30, before the $10 monthly credit. */
  readonly usd_per_month: number;
  readonly drive_start_detection_s: number | null;
  readonly data_age_driving_p95_s: number | null;
  readonly data_age_charging_p95_s: number | null;
  readonly drives_detected: number;
  readonly charges_detected: number;
  readonly wake_calls: number;
  readonly broker: string;
}

export interface StreamingDayOptions {
  readonly speed?: number;
  readonly scratch?: string;
  /** Called before the day starts with what records its readings (bench sessions watches). */
  readonly attach?: (readings: Readings, clock: VirtualClock) => void;
  /** The simulated days (the reference day by default). */
  readonly scenario?: TeslaScenario;
}

export async function runStreamingDay(
  options: StreamingDayOptions = {},
): Promise<StreamingResult> {
  const speed = options.speed ?? 600;
  const day = options.scenario ?? teslaDay();
  const broker = await Mosquitto.start({ parent: options.scratch });
  const clock = new VirtualClock(day.startedAt * 1000, speed);
  const endMs = (day.startedAt + day.duration) * 1000;
  const fake = new FakeTesla({ clock, scenario: day, accessLifetimeS: 3 * 86400 });
  const readings = new Readings();
  options.attach?.(readings, clock);
  const log = createLogger({ write: () => {} });
  const { http } = dayHttp({
    provider: "tesla",
    pricing: teslaPricing,
    clock,
    endMs,
    fetch,
    readings,
  });
  const token = fake.auth.mint().access_token;
  const provider = createTeslaProvider({
    http: http.withAuth({ token: () => Promise.resolve(token) }),
    readings,
    clock,
    log,
    baseUrl: fake.url,
    location: false,
  });
  const stream = new TeslaStream({
    settings: { brokerUrl: broker.url, topicBase: "telemetry", silenceS: 1800, recheckS: 14400 },
    account: "bench",
    vins: [day.vin],
    readings,
    clock,
    log,
    location: false,
    groupMs: 20,
  });
  const stop = new AbortController();
  const emulator = new TelemetryEmulator({ scenario: day });
  const publisher = await TelemetryPublisher.connect(broker.url);
  /** What ev-observer recorded (streamed or polled): were the drives and the charge seen? */
  const recorded: { t: number; shift?: string; charging?: string }[] = [];
  readings.onSnapshot((s) =>
    recorded.push({
      t: clock.now() / 1000 - day.startedAt,
      shift: stateValue(s, "ev.drive.shift_state"),
      charging: stateValue(s, "ev.charging.state"),
    })
  );
  const published: Message[] = [];
  const car = (async () => {
    let next = 0;
    while (next < day.duration && !stop.signal.aborted) {
      const now = Math.min(day.duration, Math.floor(clock.now() / 1000 - day.startedAt));
      const messages: Message[] = [];
      while (next < now) messages.push(...emulator.step(next++));
      published.push(...messages);
      await publisher.publish(messages);
      await new Promise((r) => setTimeout(r, 5));
    }
    stop.abort();
  })();
  try {
    await pollAccounts({
      accounts: [{ name: "bench", provider, vins: [day.vin], stream }],
      readings,
      clock,
      log,
      config: {},
      signal: stop.signal,
    });
    await car;
  } finally {
    stop.abort();
    await publisher.close();
    await fake.shutdown();
    await broker.close();
  }
  // Freshness by the car's own schedule: at this speed-up a millisecond of delivery is most of
  // a virtual second, so ages measured on arrival would show the benchmark, not the stream.
  const data = published.filter((m) => m.topic.includes("/v/"));
  const ages = (intervals: readonly { start: number; end: number }[]) =>
    agesEachSecond(data.map((m) => m.t), intervals);
  const gearD = (from: number, to: number) =>
    data.find((m) =>
      m.t >= from && m.t < to && m.topic.endsWith("/v/Gear") &&
      m.payload === '"ShiftStateD"'
    )?.t;
  const seen = (from: number, to: number, ok: (r: typeof recorded[number]) => boolean) =>
    recorded.find((r) => r.t >= from && r.t < to && ok(r))?.t;
  const driveSeen = day.drives.map((d) => seen(d.start, d.end, (r) => r.shift === "drive"));
  const chargeSeen = day.charges.map((c) => seen(c.start, c.end, (r) => r.charging === "charging"));
  const delays = day.drives.map((d) => (gearD(d.start, d.end) ?? Infinity) - d.start);
  const worst = Math.max(...delays);
  const billing = fake.billing;
  const billable = billing.data + billing.wakes + billing.commands;
  const usdDay = billing.data * FLEET_PRICES.data + billing.wakes * FLEET_PRICES.wakes +
    emulator.signals / SIGNALS_PER_USD;
  return {
    billable_requests: billable,
    signals_per_day: emulator.signals,
    usd_per_month: round(usdDay * 30, 2),
    drive_start_detection_s: Number.isFinite(worst) ? round(worst, 1) : null,
    data_age_driving_p95_s: p95(ages(day.drives)),
    data_age_charging_p95_s: p95(ages(day.charges)),
    drives_detected: driveSeen.filter((t) => t !== undefined).length,
    charges_detected: chargeSeen.filter((t) => t !== undefined).length,
    wake_calls: fake.car.wakeCalls,
    broker: await mosquittoVersion(),
  };
}

/** "mosquitto version 2.0.11" (the first line of its help). */
async function mosquittoVersion(): Promise<string> {
  const out = await new Deno.Command(MOSQUITTO, { args: ["-h"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
}

const ROWS: readonly [keyof StreamingResult, string][] = [
  ["billable_requests", "billable requests"],
  ["signals_per_day", "streamed signals"],
  ["usd_per_month", "USD/month (before $10 credit)"],
  ["drive_start_detection_s", "drive start detection, worst (s)"],
  ["data_age_driving_p95_s", "data age driving p95 (s)"],
  ["data_age_charging_p95_s", "data age charging p95 (s)"],
  ["drives_detected", "drives detected (of 2)"],
  ["charges_detected", "charges detected (of 1)"],
  ["wake_calls", "wake_up calls"],
];

/** The README's streaming table: the streamed day beside the polling default's. */
export function streamingTable(
  streaming: StreamingResult,
  polling: Partial<Record<keyof StreamingResult, unknown>>,
): string {
  const fmt = (v: unknown) => v === undefined ? "—" : v === null ? "missed" : String(v);
  return [
    "| reference day | streaming + polling fallback | polling (default) |",
    "|---|---:|---:|",
    ...ROWS.map(([key, label]) => `| ${label} | ${fmt(streaming[key])} | ${fmt(polling[key])} |`),
  ].join("\n");
}
