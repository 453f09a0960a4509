/**
 * Plays a cassette's streamed messages into an MQTT broker at their recorded times on the
 * replay's clock (virtual, so a recorded day streams in a minute at 1440×), the way the vendor's
 * server published them: QoS 1, in recorded order, never retained. The real consumer subscribed
 * to the same broker cannot tell it from live. Vendor-neutral: topics and payloads as recorded.
 */
import type { MqttClient } from "mqtt";
import { type Clock, participate } from "../core/clock.ts";
import type { CassetteMessage } from "./cassette.ts";

/** While the cassette has nothing left, the clock is looked at this often (virtual ms). */
const IDLE_MS = 60_000;

export class StreamPlayer {
  /** Messages published so far (all passes). */
  published = 0;
  #next = 0;
  /** Cassette seconds up to which everything is published. */
  #upTo = -Infinity;

  private constructor(
    readonly client: MqttClient,
    readonly messages: readonly CassetteMessage[],
    /** The cassette's `startedAt`, Unix seconds. */
    readonly startedAt: number,
  ) {}

  static async connect(
    url: string,
    messages: readonly CassetteMessage[],
    startedAt: number,
    clientId: string,
  ): Promise<StreamPlayer> {
    const { default: mqtt } = await import("mqtt");
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId,
      reconnectPeriod: 0,
    });
    return new StreamPlayer(client, [...messages].sort((a, b) => a.at - b.at), startedAt);
  }

  /** Cassette seconds of the next message to publish (undefined: all published). */
  get nextAt(): number | undefined {
    return this.messages[this.#next]?.at;
  }

  /**
   * Publishes every message recorded at or before `t` (cassette seconds) not published yet.
   * A `t` before what was published (the clock went back: `replay --loop`) starts a new pass:
   * what was recorded up to `t` is published again, at once.
   */
  async publishUntil(t: number): Promise<number> {
    if (t < this.#upTo) this.#next = 0;
    this.#upTo = t;
    let n = 0;
    while (this.#next < this.messages.length && this.messages[this.#next].at <= t) {
      const m = this.messages[this.#next++];
      await this.client.publishAsync(m.topic, m.payload, { qos: 1 });
      n++;
    }
    this.published += n;
    return n;
  }

  /** Publishes each message when `clock` reaches its time, until `signal` aborts. */
  async run(clock: Clock, signal: AbortSignal): Promise<void> {
    const turn = participate(clock);
    try {
      while (!signal.aborted) {
        const t = clock.now() / 1000 - this.startedAt;
        await this.publishUntil(t);
        const next = this.nextAt;
        const wait = next === undefined ? IDLE_MS : Math.min(IDLE_MS, (next - t) * 1000);
        await turn.sleep(Math.max(0, wait), signal).catch(() => {});
      }
    } finally {
      turn.leave();
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
