/**
 * Tesla Fleet Telemetry from the owner's MQTT broker, as a push source: the owner's
 * fleet-telemetry server publishes every streamed value there (its MQTT dispatcher), and this
 * consumer subscribes (MQTT 5, TLS and a password when configured) for the account's cars and
 * records what arrives in the same store as polled readings.
 *
 * - Grouping: fields of one vehicle record arrive as separate messages, in random order, within
 *   milliseconds; the car sends at most one record per 500 ms bucket. A car's messages are
 *   gathered until it has been quiet for `groupMs` and then recorded as one snapshot, stamped
 *   with the arrival time (MQTT carries no sample time).
 * - The backlog: after an outage the car delivers up to 5,000 buffered messages at once, which
 *   look exactly like live data. They arrive as one burst, so they become one group, and only
 *   the newest value of each field (the car's state when the buffer ended) is recorded: no
 *   intermediate value, no replayed drive. The odometer never goes down, whatever order the
 *   burst came in, and never below a value a poll stored meanwhile.
 * - Connectivity: CONNECTED/DISCONNECTED records (per connection id: a new socket may register
 *   before the old one is gone) drive the vehicle state, online or asleep.
 * - Live: a car is left to the stream (not polled) while the broker connection is up and the
 *   stream has vouched for the car since it subscribed: a message from it, or a poll that found
 *   it asleep (its wake will come through the stream). A car the stream calls online but that is
 *   silent for `silence_s`, or asleep for `recheck_s`, is polled once more.
 */
import type { IClientOptions, ISubscriptionGrant, MqttClient } from "mqtt";
import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/log.ts";
import { checkRanges, type ParseReport, reportField } from "../../core/parse.ts";
import type { Readings } from "../../core/readings.ts";
import {
  type Snapshot,
  vehicleKey,
  type VehicleRef,
  type VehicleState,
  vinTail,
} from "../../core/snapshot.ts";
import type { MessageObserver, PushSource } from "../../core/source.ts";
import { milesToMeters } from "../../core/units.ts";
import { PROVIDER } from "./api.ts";
import type { TelemetrySettings } from "./stream_config.ts";
import {
  decodeConnectivity,
  decodeField,
  type FieldValue,
  parseTopic,
  streamSnapshot,
} from "./stream_map.ts";

export interface TeslaStreamOptions {
  readonly settings: TelemetrySettings;
  /** The account name (metrics labels). */
  readonly account: string;
  /** Only these VINs; every VIN under the topic base when empty. */
  readonly vins: readonly string[];
  /** This process's shard owns the car (core/shard.ts); every car when absent. */
  readonly owns?: (vin: string) => boolean;
  readonly readings: Readings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly location: boolean;
  /** Quiet time that closes a car's group of messages into one snapshot, ms (default 200). */
  readonly groupMs?: number;
  /** A group is recorded after this long even if messages keep coming, ms (default 30 s). */
  readonly maxGroupMs?: number;
  /** Wait before reconnecting to the broker, ms (default 5 s). */
  readonly reconnectMs?: number;
}

interface Car {
  readonly vin: string;
  /** Newest value per field. */
  readonly fields: Map<string, FieldValue>;
  /** Messages in the open group, and how many of them repeated a field of the group. */
  pending: number;
  repeats: number;
  readonly inGroup: Set<string>;
  groupStartedAt: number;
  lastAt: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Open fleet-telemetry connections of the car (connectivity records). */
  readonly connections: Set<string>;
  /** What the stream says: online (connected or sending) or asleep. */
  online: boolean;
  /** When the stream last vouched for the car since it subscribed, ms; unset: it has not. */
  vouchedAt?: number;
  /** Highest odometer seen, miles. */
  odometerMi?: number;
  readonly alerts: Map<string, string>;
}

type Fault = "unreachable" | "auth" | "tls" | "refused" | "protocol";

export class TeslaStream implements PushSource {
  readonly id = PROVIDER;
  readonly #o: TeslaStreamOptions;
  readonly #cars = new Map<string, Car>();
  readonly #report: ParseReport;
  readonly #groupMs: number;
  readonly #maxGroupMs: number;
  readonly #observers: MessageObserver[] = [];
  #up = false;
  #lastFault?: string;

  constructor(options: TeslaStreamOptions) {
    this.#o = options;
    this.#groupMs = options.groupMs ?? 200;
    this.#maxGroupMs = options.maxGroupMs ?? 30_000;
    this.#report = { provider: PROVIDER, readings: options.readings, log: options.log };
    this.#setConnected(false);
  }

  /** Connected and subscribed. */
  get connected(): boolean {
    return this.#up;
  }

  live(vehicle: VehicleRef): boolean {
    if (!this.#up) return false;
    const car = this.#cars.get(vehicle.vin);
    if (car?.vouchedAt === undefined) return false;
    const { silenceS, recheckS } = this.#o.settings;
    return this.#o.clock.now() - car.vouchedAt < (car.online ? silenceS : recheckS) * 1000;
  }

  observe(observer: MessageObserver): void {
    this.#observers.push(observer);
  }

  polled(vehicle: VehicleRef, state: VehicleState): void {
    if (!this.#up || !this.#wanted(vehicle.vin)) return;
    if (state !== "asleep" && state !== "offline") return;
    const car = this.#car(vehicle.vin);
    car.online = false;
    car.connections.clear();
    car.vouchedAt = this.#o.clock.now();
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { settings } = this.#o;
    const options: IClientOptions = {
      protocolVersion: 5,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: this.#o.reconnectMs ?? 5000,
      clientId: settings.clientId ?? `ev-observer-${crypto.randomUUID().slice(0, 8)}`,
      ...(settings.username !== undefined ? { username: settings.username } : {}),
      ...(settings.password !== undefined ? { password: settings.password } : {}),
      ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
      rejectUnauthorized: true,
    };
    // Loaded only here: the library reads the environment as it loads, and an account without
    // a stream (or a child process with narrow permissions) must not need that.
    const { default: mqtt } = await import("mqtt");
    const client = mqtt.connect(settings.brokerUrl, options);
    client.on("connect", () => this.#subscribe(client));
    client.on("close", () => this.#down());
    client.on("error", (err) => this.#fault(err));
    client.on("message", (topic, payload) => {
      try {
        for (const observe of this.#observers) observe(topic, payload);
        this.#message(topic, payload);
      } catch (err) {
        // A bug in handling one message must not stop the stream.
        reportField(this.#report, "telemetry.message", (err as Error).message);
      }
    });
    await new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve(), { once: true })
    );
    for (const car of this.#cars.values()) clearTimeout(car.timer);
    await client.endAsync(true);
    this.#down();
  }

  /** Records every open group now (tests, shutdown). */
  flush(): void {
    for (const car of this.#cars.values()) this.#flush(car);
  }

  get #broker(): string {
    const url = new URL(this.#o.settings.brokerUrl);
    return `${url.hostname}:${
      url.port || (url.protocol === "mqtt:" || url.protocol === "tcp:" ? 1883 : 8883)
    }`;
  }

  #topics(): string[] {
    const base = this.#o.settings.topicBase;
    const vins = this.#o.vins.length ? this.#o.vins : ["+"];
    return vins.flatMap((vin) => [
      `${base}/${vin}/v/+`,
      `${base}/${vin}/connectivity`,
      `${base}/${vin}/alerts/+/current`,
      `${base}/${vin}/errors/+`,
    ]);
  }

  async #subscribe(client: MqttClient): Promise<void> {
    let granted: ISubscriptionGrant[];
    try {
      granted = await client.subscribeAsync(this.#topics(), { qos: 1 });
    } catch (err) {
      this.#fault(err as Error);
      return;
    }
    // MQTT 5 reason codes of 0x80 and above refuse the subscription (the broker's ACL).
    if (granted.some((g) => g.qos >= 0x80)) {
      this.#count("refused");
      this.#logFault(
        "refused",
        `the broker refused the subscription to ${this.#o.settings.topicBase}/…: let user ` +
          `"${this.#o.settings.username ?? "(anonymous)"}" read ${this.#o.settings.topicBase}/# ` +
          "in the broker's ACL",
      );
      return;
    }
    // Nothing heard while away counts: every car must be vouched for again.
    for (const car of this.#cars.values()) car.vouchedAt = undefined;
    this.#up = true;
    this.#lastFault = undefined;
    this.#setConnected(true);
    this.#o.log.info("stream connected", {
      broker: this.#broker,
      topic_base: this.#o.settings.topicBase,
    });
  }

  #down(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#setConnected(false);
    this.flush();
    this.#o.log.warn("stream disconnected: its cars are polled until it is back", {
      broker: this.#broker,
    });
  }

  #fault(err: Error & { code?: string | number }): void {
    const kind = faultKind(err);
    this.#count(kind);
    this.#logFault(kind, faultMessage(kind, err, this.#broker));
  }

  /** One log line per fault until it changes (a broker that stays down retries every 5 s). */
  #logFault(kind: Fault, message: string): void {
    const key = `${kind}:${message}`;
    if (this.#lastFault === key) return;
    this.#lastFault = key;
    this.#o.log.error("stream: " + message, { kind, broker: this.#broker });
  }

  #count(kind: Fault): void {
    this.#o.readings.count("ev.stream.errors", {
      provider: PROVIDER,
      account: this.#o.account,
      kind,
    });
  }

  #setConnected(up: boolean): void {
    this.#o.readings.setGauge(
      "ev.stream.connected",
      { provider: PROVIDER, account: this.#o.account },
      up ? 1 : 0,
    );
  }

  #wanted(vin: string): boolean {
    return (this.#o.vins.length === 0 || this.#o.vins.includes(vin)) &&
      (this.#o.owns?.(vin) ?? true);
  }

  #car(vin: string): Car {
    let car = this.#cars.get(vin);
    if (!car) {
      car = {
        vin,
        fields: new Map(),
        pending: 0,
        repeats: 0,
        inGroup: new Set(),
        groupStartedAt: 0,
        lastAt: 0,
        connections: new Set(),
        online: false,
        alerts: new Map(),
      };
      this.#cars.set(vin, car);
    }
    return car;
  }

  /** The store's ref for the car when polling listed it (its API id and name), else by VIN. */
  #vehicle(vin: string): VehicleRef {
    return this.#o.readings.vehicles.get(vehicleKey({ provider: PROVIDER, vin }))?.vehicle ??
      { provider: PROVIDER, id: vin, vin };
  }

  #message(topic: string, payload: Uint8Array): void {
    const t = parseTopic(topic, this.#o.settings.topicBase);
    if (!t) return reportField(this.#report, "telemetry.topic", "not a fleet-telemetry topic");
    if (!this.#wanted(t.vin)) return;
    const car = this.#car(t.vin);
    const now = this.#o.clock.now();
    switch (t.kind) {
      case "data":
        return this.#data(car, t.field, payload, now);
      case "connectivity":
        return this.#connectivity(car, payload, now);
      case "alert":
        return this.#alert(car, t.name, payload);
      case "error":
        this.#o.log.warn("fleet-telemetry reported a vehicle error", {
          vehicle: vinTail(car.vin),
          error: t.name,
        });
        return;
    }
  }

  #data(car: Car, field: string, payload: Uint8Array, now: number): void {
    const decoded = decodeField(field, payload);
    if (decoded.ok === false) {
      return reportField(this.#report, `telemetry.${field}`, decoded.problem);
    }
    car.vouchedAt = now;
    car.online = true;
    if (decoded.ok === "ignored") return;
    let value = decoded.value;
    if (field === "Odometer" && typeof value === "number") {
      // A burst may come in any order: the odometer only goes up.
      car.odometerMi = Math.max(car.odometerMi ?? value, value);
      value = car.odometerMi;
    }
    if (car.pending === 0) car.groupStartedAt = now;
    if (car.inGroup.has(field)) car.repeats++;
    car.inGroup.add(field);
    car.pending++;
    car.lastAt = now;
    car.fields.set(field, value);
    clearTimeout(car.timer);
    if (now - car.groupStartedAt >= this.#maxGroupMs) return this.#flush(car);
    car.timer = setTimeout(() => this.#flush(car), this.#groupMs);
  }

  #flush(car: Car): void {
    clearTimeout(car.timer);
    car.timer = undefined;
    if (car.pending === 0) return;
    if (car.repeats > 0) {
      this.#o.log.info("backlog replayed: recorded the newest value of each field", {
        vehicle: vinTail(car.vin),
        messages: car.pending,
      });
    }
    car.pending = 0;
    car.repeats = 0;
    car.inGroup.clear();
    const vehicle = this.#vehicle(car.vin);
    const snapshot = this.#notBelowStored(
      streamSnapshot(vehicle, car.fields, {
        location: this.#o.location,
        sampledAt: car.lastAt / 1000,
      }),
    );
    this.#o.readings.record(checkRanges(this.#report, snapshot));
  }

  /** The odometer a poll stored meanwhile may be newer than the stream's last one. */
  #notBelowStored(snapshot: Snapshot): Snapshot {
    const stored = this.#o.readings.vehicles.get(vehicleKey(snapshot.vehicle))?.snapshot;
    const before = stored?.samples.find((s) => s.metric === "ev.odometer")?.value;
    if (before === undefined) return snapshot;
    const samples = snapshot.samples.map((s) =>
      s.metric === "ev.odometer" && s.value < before ? { ...s, value: before } : s
    );
    const car = this.#cars.get(snapshot.vehicle.vin);
    if (car) car.odometerMi = Math.max(car.odometerMi ?? 0, before / milesToMeters(1));
    return { ...snapshot, samples };
  }

  #connectivity(car: Car, payload: Uint8Array, now: number): void {
    const c = decodeConnectivity(payload);
    if (!c) return reportField(this.#report, "telemetry.connectivity", "unexpected payload");
    car.vouchedAt = now;
    if (c.connected) car.connections.add(c.connectionId);
    else car.connections.delete(c.connectionId);
    const online = car.connections.size > 0;
    const vehicle = this.#vehicle(car.vin);
    if (online) {
      car.online = true;
      this.#o.readings.setState(vehicle, "online");
      return;
    }
    // The socket closed: what the car sent before it is recorded first.
    this.#flush(car);
    car.online = false;
    // Asleep and offline look the same here; asleep is by far the common case.
    this.#o.readings.setState(vehicle, "asleep");
  }

  #alert(car: Car, name: string, payload: Uint8Array): void {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return reportField(this.#report, "telemetry.alerts", "not JSON");
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      return reportField(this.#report, "telemetry.alerts", "expected an object");
    }
    const { StartedAt, EndedAt } = raw as Record<string, unknown>;
    const key = `${StartedAt}/${EndedAt}`;
    if (car.alerts.get(name) === key) return;
    car.alerts.set(name, key);
    this.#o.log.info("vehicle alert", {
      vehicle: vinTail(car.vin),
      alert: name,
      active: EndedAt === undefined,
    });
  }
}

function faultKind(err: Error & { code?: string | number }): Fault {
  const code = String(err.code ?? "");
  const text = `${code} ${err.message}`;
  // CONNACK: 4/5 (MQTT 3.1.1), 134/135 (MQTT 5): bad user name or password, not authorized.
  if (["4", "5", "134", "135"].includes(code) || /not authori[sz]ed|bad user ?name/i.test(text)) {
    return "auth";
  }
  if (/cert|tls|ssl|handshake|UnknownIssuer|self.signed/i.test(text)) return "tls";
  if (
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|refused|timed? ?out|dns/i.test(text)
  ) {
    return "unreachable";
  }
  return "protocol";
}

function faultMessage(kind: Fault, err: Error, broker: string): string {
  switch (kind) {
    case "auth":
      return "the broker refused the user name or password: check telemetry.username and the " +
        "variable telemetry.password_env names";
    case "tls":
      return `TLS with the broker failed (${err.message}): set telemetry.ca_file to the CA that ` +
        "signed the broker's certificate, and connect by the name in that certificate";
    case "unreachable":
      return `cannot reach the broker at ${broker} (${err.message}): is it running, and is ` +
        "telemetry.broker_url right?";
    default:
      return `the broker connection failed: ${err.message}`;
  }
}
