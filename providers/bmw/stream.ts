/**
 * BMW CarData streaming as a push source: one MQTT connection per account (BMW refuses a
 * second one for the same GCID), over TLS, the GCID as user name and the current ID token as
 * password, subscribed to `<GCID>/<VIN>` for each car. BMW closes the stream when the ID token
 * expires, so the connection is closed and opened again with a fresh token `leadS` before
 * that — the old one always ends before the new one starts. Values go into the account's
 * Telematics (shared with REST) and the whole merged state is recorded.
 *
 * Live: while connected, a car is left to the stream once it has been heard from or polled
 * since the connection came up (a REST read seeds it); an unplanned disconnect makes every
 * car unvouched again, so the scheduler polls REST, within budget, until the stream is back.
 */
import type { IClientOptions, MqttClient } from "mqtt";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/log.ts";
import { checkRanges, type ParseReport, reportField } from "../../core/parse.ts";
import type { Readings } from "../../core/readings.ts";
import { vehicleKey, type VehicleRef } from "../../core/snapshot.ts";
import type { MessageObserver, PushSource } from "../../core/source.ts";
import { PROVIDER } from "./api.ts";
import { type Telematics, telematicSnapshot } from "./map.ts";
import { StreamMessage } from "./types.ts";

/** What a connection needs, fresh from the token manager. */
export interface StreamCredentials {
  readonly gcid: string;
  readonly idToken: string;
  /** ID token expiry, Unix seconds (Infinity: never renewed). */
  readonly expiresAt: number;
}

export interface BmwStreamOptions {
  /** mqtts://host:port */
  readonly url: string;
  readonly credentials: () => Promise<StreamCredentials>;
  readonly account: string;
  /** Only these VINs; every car of the GCID (`<GCID>/+`) when empty. */
  readonly vins: readonly string[];
  /** This process's shard owns the car (core/shard.ts); every car when absent. */
  readonly owns?: (vin: string) => boolean;
  readonly telematics: Telematics;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly location: boolean;
  /** The CA that signed the broker's certificate, when no public CA did. */
  readonly ca?: string;
  /** Reconnect this long before the ID token expires, s (default 300). */
  readonly leadS?: number;
  /** Wait after a failed or dropped connection, ms (default 10 s). */
  readonly retryMs?: number;
}

export class BmwStream implements PushSource {
  readonly id = PROVIDER;
  /** Connections opened so far (each after the previous one ended). */
  connects = 0;
  readonly #o: BmwStreamOptions;
  readonly #report: ParseReport;
  readonly #vouched = new Set<string>();
  readonly #observers: MessageObserver[] = [];
  #up = false;

  constructor(options: BmwStreamOptions) {
    this.#o = options;
    this.#report = { provider: PROVIDER, readings: options.readings, log: options.log };
    this.#setConnected(false);
  }

  get connected(): boolean {
    return this.#up;
  }

  live(vehicle: VehicleRef): boolean {
    return this.#up && this.#vouched.has(vehicle.vin);
  }

  observe(observer: MessageObserver): void {
    this.#observers.push(observer);
  }

  polled(vehicle: VehicleRef): void {
    if (this.#up) this.#vouched.add(vehicle.vin);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { default: mqtt } = await import("mqtt");
    while (!signal.aborted) {
      let planned = false;
      try {
        const creds = await this.#o.credentials();
        const client = mqtt.connect(this.#o.url, this.#options(creds));
        this.connects++;
        const renewInMs = Math.max(
          1000,
          (creds.expiresAt - (this.#o.leadS ?? 300)) * 1000 - this.#o.clock.now(),
        );
        planned = await this.#session(client, creds.gcid, renewInMs, signal);
        await client.endAsync(true); // the old connection ends before a new one starts
      } catch (err) {
        this.#o.log.warn("stream: cannot connect", { error: (err as Error).message });
      }
      if (!planned) this.#down(!signal.aborted);
      if (!planned && !signal.aborted) {
        await this.#o.clock.sleep(this.#o.retryMs ?? 10_000, signal).catch(() => {});
      }
    }
    this.#down(false);
  }

  #options(creds: StreamCredentials): IClientOptions {
    return {
      protocolVersion: 4,
      // A persistent session under the GCID: a broker that keeps it queues what the car sends
      // while the hourly renewal reconnects, instead of dropping it (peers use clean sessions;
      // whether BMW's broker keeps sessions is not confirmed, and a clean one loses nothing more).
      clean: false,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // reconnects happen here, one connection at a time
      clientId: creds.gcid,
      username: creds.gcid,
      password: creds.idToken,
      ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}),
      rejectUnauthorized: true,
    };
  }

  /**
   * Runs one connection until it is time to renew (true), or it closed, failed or the run was
   * stopped (false).
   */
  #session(
    client: MqttClient,
    gcid: string,
    renewInMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      // On the clock, not a timer: on a virtual clock the renewal comes at the virtual hour.
      const renewal = new AbortController();
      if (Number.isFinite(renewInMs)) {
        this.#o.clock.sleep(renewInMs, renewal.signal).then(() => finish(true), () => {});
      }
      const onAbort = () => finish(false);
      const finish = (renew: boolean) => {
        renewal.abort();
        signal.removeEventListener("abort", onAbort);
        resolve(renew);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      client.on("connect", async () => {
        const topics = this.#o.vins.length
          ? this.#o.vins.map((vin) => `${gcid}/${vin}`)
          : [`${gcid}/+`];
        try {
          const granted = await client.subscribeAsync(topics, { qos: 1 });
          if (granted.some((g) => g.qos >= 0x80)) throw new Error("subscription refused");
        } catch (err) {
          this.#o.log.error("stream: subscription failed", { error: (err as Error).message });
          return finish(false);
        }
        this.#up = true;
        this.#setConnected(true);
        this.#o.log.info("stream connected", { topics: topics.length });
      });
      client.on("message", (topic, payload) => {
        try {
          for (const observe of this.#observers) observe(topic, payload);
        } catch (err) {
          reportField(this.#report, "stream.message", (err as Error).message);
        }
        this.receive(payload);
      });
      client.on("error", (err) => {
        this.#o.log.warn("stream error", { error: err.message });
      });
      client.on("close", () => finish(false));
    });
  }

  /** `unplanned`: the connection was lost, not closed because the run was stopped. */
  #down(unplanned: boolean): void {
    this.#vouched.clear(); // whatever happened meanwhile went unseen
    if (!this.#up) return;
    this.#up = false;
    this.#setConnected(false);
    if (!unplanned) return;
    this.#o.log.warn("stream disconnected: REST polling within the budget until it is back");
  }

  /**
   * One message as it arrived on `<GCID>/<VIN>` (the fuzz tests hand payloads in here too):
   * whatever it holds, it is counted as a parse error under its field, never thrown.
   */
  receive(payload: Uint8Array): void {
    try {
      this.#message(payload);
    } catch (err) {
      reportField(this.#report, "stream.message", (err as Error).message);
    }
  }

  #message(payload: Uint8Array): void {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return reportField(this.#report, "stream.message", "not JSON");
    }
    const msg = StreamMessage.safeParse(raw);
    if (!msg.success) return reportField(this.#report, "stream.message", "expected {vin, data}");
    const { vin, data } = msg.data;
    if (this.#o.vins.length && !this.#o.vins.includes(vin)) return;
    if (this.#o.owns && !this.#o.owns(vin)) return; // another shard's car
    this.#vouched.add(vin);
    const t = this.#o.telematics;
    t.merge(vin, data, this.#o.clock.now(), this.#report);
    const vehicle = this.#o.readings.vehicles.get(vehicleKey({ provider: PROVIDER, vin }))
      ?.vehicle ?? { provider: PROVIDER, id: vin, vin };
    const snapshot = telematicSnapshot(vehicle, t.fields(vin), {
      location: this.#o.location,
      report: this.#report,
      info: t.info(vin),
    });
    this.#o.readings.record(checkRanges(this.#report, snapshot));
  }

  #setConnected(up: boolean): void {
    this.#o.readings.setGauge(
      "ev.stream.connected",
      { provider: PROVIDER, account: this.#o.account },
      up ? 1 : 0,
    );
  }
}
