/**
 * Publishes emulated fleet-telemetry messages to a broker the way the server's dispatcher does
 * (Paho: MQTT 3.1.1, the configured QoS, never retained).
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Message } from "./telemetry.ts";

export class TelemetryPublisher {
  private constructor(readonly client: MqttClient) {}

  static async connect(
    url: string,
    options: { username?: string; password?: string; ca?: string } = {},
  ): Promise<TelemetryPublisher> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId: "fleet-telemetry",
      reconnectPeriod: 0,
      ...options,
    });
    return new TelemetryPublisher(client);
  }

  /** Publishes in order at QoS 1 (as Tesla's own integration test configures it). */
  async publish(messages: readonly Pick<Message, "topic" | "payload">[]): Promise<void> {
    for (const m of messages) await this.client.publishAsync(m.topic, m.payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
