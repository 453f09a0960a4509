/**
 * `deno task auth tesla --telemetry`: tells the owner's cars where to stream and what. It builds
 * the `fleet_telemetry_config` (the account's `telemetry.server`, the field set fitted to
 * `telemetry.budget_usd`), prints the monthly signal estimate and its cost, asks before sending,
 * and sends it through the owner's vehicle-command proxy, which signs it with the app's private
 * key (`POST /api/1/vehicles/fleet_telemetry_config`; the proxy forwards it as
 * `fleet_telemetry_config_jws`). Then it reads back what each car holds from the Fleet API
 * (`GET …/fleet_telemetry_config`: synced, key_paired, limit_reached; `…/fleet_telemetry_errors`)
 * and says, in plain words, what is done and what the owner must still do.
 * https://developer.tesla.com/docs/fleet-api/fleet-telemetry
 *
 * Runs on the stored sign-in (token manager, one HTTP seam); VINs appear as their last six
 * characters only.
 */
import { ConfigError } from "../../core/config.ts";
import { VendorError } from "../../core/errors.ts";
import { Http, HttpError } from "../../core/http.ts";
import type { Logger } from "../../core/log.ts";
import { Readings } from "../../core/readings.ts";
import type { AccountSetup, SignInIO, SignInRequest } from "../../core/sign_in.ts";
import { vinTail, vinTails } from "../../core/snapshot.ts";
import { TokenManager } from "../../core/tokens.ts";
import { classify, TeslaApi } from "./api.ts";
import {
  type TeslaIdentity,
  teslaIdentity,
  teslaRefresh,
  teslaSignInCommand,
  teslaTokenStore,
} from "./identity.ts";
import { FleetBaseUrl } from "./region.ts";
import type { TelemetryKeys } from "./stream_config.ts";
import type { TeslaTokenExtra } from "./types.ts";
import {
  chooseFields,
  COMMUTER_DAY,
  type Estimate,
  type FieldConfig,
  SIGNALS_PER_USD,
} from "./telemetry_fields.ts";

export const CONFIG_ENDPOINT = "/api/1/vehicles/fleet_telemetry_config";
const STATUS_ENDPOINT = "/api/1/vehicles/{vin}/fleet_telemetry_config";
const ERRORS_ENDPOINT = "/api/1/vehicles/{vin}/fleet_telemetry_errors";
/** How long the signed config is valid (its `exp` claim); run the command again before. */
const VALID_DAYS = 365;

/** The config the proxy signs: what the car dials and streams. */
export interface FleetTelemetryConfig {
  readonly hostname: string;
  readonly port: number;
  readonly ca: string;
  readonly exp: number;
  readonly alert_types: readonly string[];
  readonly prefer_typed: boolean;
  readonly fields: Readonly<Record<string, FieldConfig>>;
}

/** The create answer: `{"updated_vehicles":n,"skipped_vehicles":{reason:[vin…]}}`. */
interface CreateAnswer {
  readonly updated_vehicles?: number;
  readonly skipped_vehicles?: Readonly<Record<string, readonly string[]>>;
}

/** The GET answer for one car. */
interface CarStatus {
  readonly synced?: boolean;
  readonly config?: { readonly hostname?: string; readonly port?: number } | null;
  readonly limit_reached?: boolean;
  readonly key_paired?: boolean;
}

interface TelemetryErrorEntry {
  readonly name?: string;
  readonly error?: string;
  readonly error_name?: string;
  readonly created_at?: string;
}

/** Why Tesla skipped a car, and what the owner does about it. */
const SKIPPED: Readonly<Record<string, string>> = {
  missing_key: "this app's virtual key is not on the car. Pair it: open " +
    "https://tesla.com/_ak/<your app's domain> on the phone that has the Tesla app, approve, " +
    "and tap the key card on the car's console; then run this again. (A Model S/X with the " +
    "Intel Atom computer needs no key: turn on Controls → Safety → Allow Third-Party App Data " +
    "Streaming instead.)",
  unsupported_firmware: "its software is too old to stream through the proxy (2024.26 or " +
    "newer; 2025.20 for Intel Atom Model S/X). Install the car's update, then run this again; " +
    "until then it is polled.",
  unsupported_hardware: "this car cannot stream (Model S/X before 2021 without the " +
    "infotainment upgrade). It stays polled; remove it from `vehicles` to stop asking.",
  max_configs: "five apps already stream from this car, the most Tesla allows. Remove one " +
    "in the Tesla app (Security → Third-Party Apps), then run this again.",
};

export interface SetupOptions {
  /** `--yes`: send without asking. */
  readonly yes: boolean;
  /** `--proxy URL` over `telemetry.proxy.url`. */
  readonly proxyUrl?: string;
  /** `--proxy-ca FILE` over `telemetry.proxy.ca_file`. */
  readonly proxyCa?: string;
}

export function setupOptions(options: SignInRequest["options"]): SetupOptions {
  const str = (v: unknown) => typeof v === "string" ? v : undefined;
  const proxyUrl = str(options.proxy);
  const proxyCa = str(options["proxy-ca"]);
  return {
    yes: options.yes === true,
    ...(proxyUrl !== undefined ? { proxyUrl } : {}),
    ...(proxyCa !== undefined ? { proxyCa } : {}),
  };
}

/** A failure the owner can act on: the message says what happened and the fix. */
export class SetupError extends Error {
  override name = "SetupError";
}

/** What `run` needs beyond the sign-in request (tests pass their own fetch for the proxy). */
export interface SetupDeps {
  /** The proxy's fetch; by default one trusting `proxy.ca_file`. */
  readonly proxyFetch?: typeof fetch;
}

/** The resolved settings: where to send, what the car dials, the budget. */
interface Plan {
  readonly identity: TeslaIdentity;
  readonly proxyUrl: string;
  readonly proxyCa?: string;
  readonly server: { readonly hostname: string; readonly port: number; readonly ca: string };
  readonly budgetUsd: number;
}

async function readPem(path: string, key: string, fail: (k: string, m: string) => Error) {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw fail(key, `cannot read ${path}: ${(e as Error).name}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw fail(key, `${path} holds no PEM certificate`);
  }
  return text;
}

async function resolvePlan(request: SignInRequest, options: SetupOptions): Promise<Plan> {
  const identity = teslaIdentity(request.account, {
    label: request.label,
    env: request.env,
    location: request.location,
  });
  const fail = (key: string, message: string) =>
    new ConfigError(`${request.label}.${key}: ${message}`);
  if (identity.api !== "fleet") {
    throw fail(
      "api",
      "Fleet Telemetry needs the Fleet API (your own developer app): set api: fleet and sign " +
        "in again",
    );
  }
  const telemetry: TelemetryKeys | undefined = identity.settings.telemetry;
  if (!telemetry) {
    throw fail(
      "telemetry",
      "missing: add a telemetry block (broker_url, server, proxy; README → Tesla → Streaming)",
    );
  }
  if (!telemetry.server) {
    throw fail(
      "telemetry.server",
      "missing: the public host name and port of your fleet-telemetry server, as the car " +
        "dials it, and ca_file (its certificate chain)",
    );
  }
  if (!telemetry.server.ca_file) {
    throw fail(
      "telemetry.server.ca_file",
      "missing: the PEM chain of your fleet-telemetry server's certificate (the car checks " +
        "the server against it)",
    );
  }
  const proxyUrl = options.proxyUrl ?? telemetry.proxy?.url;
  if (!proxyUrl) {
    throw fail(
      "telemetry.proxy.url",
      "missing: the address of your vehicle-command proxy (e.g. https://127.0.0.1:4443), " +
        "or pass --proxy URL",
    );
  }
  try {
    const u = new URL(proxyUrl);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error();
  } catch {
    throw new ConfigError(`--proxy: "${proxyUrl}" is not an https:// address`);
  }
  const caPath = options.proxyCa ?? telemetry.proxy?.ca_file;
  const proxyCa = caPath === undefined ? undefined : await readPem(
    caPath,
    options.proxyCa !== undefined ? "--proxy-ca" : "telemetry.proxy.ca_file",
    options.proxyCa !== undefined ? (k, m) => new ConfigError(`${k}: ${m}`) : fail,
  );
  const ca = await readPem(telemetry.server.ca_file, "telemetry.server.ca_file", fail);
  return {
    identity,
    proxyUrl: proxyUrl.replace(/\/+$/, ""),
    ...(proxyCa !== undefined ? { proxyCa } : {}),
    server: { hostname: telemetry.server.hostname, port: telemetry.server.port, ca },
    budgetUsd: telemetry.budget_usd,
  };
}

/** A fetch that trusts the proxy's own certificate (it is self-signed as a rule). */
function caFetch(pem: string): typeof fetch {
  const client = Deno.createHttpClient({ caCerts: [pem] });
  return (input, init) => fetch(input, { ...init, client });
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const count = (n: number) => Math.round(n).toLocaleString("en-US");
const cars = (n: number) => `${n} car${n === 1 ? "" : "s"}`;

/** The unit of a field's `minimum_delta` (Tesla's units; Location in metres). */
const DELTA_UNITS: Readonly<Record<string, string>> = {
  VehicleSpeed: " mph",
  Location: " m",
  GpsHeading: "°",
  Odometer: " mi",
  Soc: " %",
  BatteryLevel: " %",
  EstBatteryRange: " mi",
  RatedRange: " mi",
  IdealBatteryRange: " mi",
  EnergyRemaining: " kWh",
  ACChargingPower: " kW",
  DCChargingPower: " kW",
  ACChargingEnergyIn: " kWh",
  DCChargingEnergyIn: " kWh",
  ChargerVoltage: " V",
  ChargeAmps: " A",
  TimeToFullCharge: " h",
  InsideTemp: " °C",
  OutsideTemp: " °C",
  ModuleTempMin: " °C",
  ModuleTempMax: " °C",
  TpmsPressureFl: " bar",
  TpmsPressureFr: " bar",
  TpmsPressureRl: " bar",
  TpmsPressureRr: " bar",
};

/** One line per field: how often, and its share of the month. */
function fieldLines(fields: Readonly<Record<string, FieldConfig>>, est: Estimate): string[] {
  return Object.entries(fields).map(([field, c]) => {
    const delta = c.minimum_delta !== undefined
      ? `, when it moves ${c.minimum_delta}${DELTA_UNITS[field] ?? ""}`
      : "";
    const left = `  ${field.padEnd(20)} every ${c.interval_seconds} s${delta}`;
    return `${left.padEnd(62)} ≈ ${count(est.perField[field])}/month`;
  });
}

/** Replaces every VIN in Tesla's text by its tail. */
function redact(text: string, vins: readonly string[]): string {
  let out = text;
  for (const vin of vins) out = out.replaceAll(vin, `…${vinTail(vin)}`);
  // VINs Tesla names that we did not send.
  return vinTails(out);
}

/** The plain-words meaning of one fleet_telemetry_errors entry, with the fix. */
export function explainTelemetryError(entry: TelemetryErrorEntry, plan: Pick<Plan, "server">) {
  const text = `${entry.error_name ?? entry.name ?? ""} ${entry.error ?? ""}`;
  const where = `${plan.server.hostname}:${plan.server.port}`;
  if (/x509|certificate|tls|handshake/i.test(text)) {
    return `the car could not verify ${where}: telemetry.server.ca_file must be the full ` +
      "chain of the server's certificate, and the certificate must name " +
      `${plan.server.hostname}. Fix it and run this again.`;
  }
  if (/dial tcp|unreachable|refused|no such host|timeout|i\/o timeout/i.test(text)) {
    return `the car could not reach ${where}: the server must be reachable from the ` +
      "internet at that name and port (DNS, port forwarding, firewall), and fleet-telemetry " +
      "must be running.";
  }
  return "the car reported an error; see your fleet-telemetry server's log at the time " +
    "shown.";
}

/** Runs the whole setup for one account; returns the exit code (0: every car is set up). */
export async function runTelemetrySetup(
  request: SignInRequest,
  io: SignInIO,
  deps: SetupDeps = {},
): Promise<number> {
  const options = setupOptions(request.options);
  const plan = await resolvePlan(request, options);
  const { identity } = plan;
  const { clock, log } = request;
  const store = teslaTokenStore(request.stateDir, identity.account, log);
  const signIn = teslaSignInCommand(identity.account, request.configPath);
  const tokens = new TokenManager({
    store,
    refresh: teslaRefresh(identity, request.http, clock),
    signInCommand: signIn,
    clock,
    log,
  });
  const status = await tokens.load();
  if (status.state !== "ok") {
    throw new SetupError(
      `tesla account "${identity.account}" is not signed in (${status.state}): run ` +
        `\`${signIn}\` first`,
    );
  }
  if ((await tokens.record()).extra.api !== "fleet") {
    throw new SetupError(
      `tesla account "${identity.account}" was signed in for the Owner API: run \`${signIn}\``,
    );
  }
  const http = request.http.withAuth(tokens.httpAuth());
  const api = teslaFleetApi(http, tokens, store, identity, request, log);

  const vins = await accountVins(request.account.vehicles ?? [], api);
  if (!vins.length) {
    throw new SetupError(
      `tesla account "${identity.account}" has no cars: nothing to configure`,
    );
  }
  const choice = chooseFields(plan.budgetUsd, vins.length);
  if ("slowest" in choice) {
    throw new ConfigError(
      `${request.label}.telemetry.budget_usd: ${usd(plan.budgetUsd)} a month is too little ` +
        `for ${cars(vins.length)}: even the slowest field set costs about ` +
        `${usd(choice.slowest.usd)}. Raise budget_usd to at least that.`,
    );
  }
  const config: FleetTelemetryConfig = {
    hostname: plan.server.hostname,
    port: plan.server.port,
    ca: plan.server.ca,
    exp: Math.floor(clock.now() / 1000) + VALID_DAYS * 86400,
    alert_types: ["service"],
    prefer_typed: true,
    fields: choice.fields,
  };

  const est = choice.estimate;
  const tails = vins.map((v) => `…${vinTail(v)}`).join(", ");
  io.print(
    `Fleet Telemetry for tesla account "${identity.account}": ${cars(vins.length)} ` +
      `(${tails}), streaming to ${plan.server.hostname}:${plan.server.port}.`,
  );
  io.print("");
  io.print(
    `Fields (${
      choice.factor === 1 ? "the default set" : `the default set at ${choice.factor}× its intervals`
    }, fitted to telemetry.budget_usd ${usd(plan.budgetUsd)} a month):`,
  );
  for (const line of fieldLines(config.fields, est)) io.print(line);
  io.print("");
  const use = COMMUTER_DAY;
  io.print(
    `Estimate: ≈ ${count(est.total)} signals a month for ${cars(vins.length)} ` +
      `(${
        vins.length > 1 ? `${count(est.perCar)} each, ` : ""
      }in a month of ${use.drives} drives ` +
      `(${Math.round(use.seconds.driving / 60)} min) and a ` +
      `${use.seconds.charging / 3600} h charge a day)`,
  );
  io.print(
    `          ≈ ${usd(est.usd)} a month at ${
      count(SIGNALS_PER_USD)
    } signals per $1, before Tesla's $10 monthly credit (shared with polling).`,
  );
  io.print(
    `The configuration is valid for ${VALID_DAYS} days (until ${
      new Date(config.exp * 1000).toISOString().slice(0, 10)
    }); run this again before then.`,
  );
  io.print("");
  if (!options.yes) {
    io.print(`Send it through the vehicle-command proxy at ${plan.proxyUrl}? [y/N]`);
    const answer = (await io.readLine())?.trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
      io.print("Nothing was sent.");
      return 1;
    }
  }

  const proxyHttp = new Http(
    {
      ...request.http.options,
      ...(deps.proxyFetch
        ? { fetch: deps.proxyFetch }
        : plan.proxyCa
        ? { fetch: caFetch(plan.proxyCa) }
        : {}),
    },
    tokens.httpAuth(),
  );
  const created = await sendThroughProxy(
    proxyHttp,
    plan,
    { vins, config },
    api,
    signIn,
    clock.now(),
  );
  return await report(created, vins, api, plan, io);
}

/** The account's Fleet API, on its regional host. */
function teslaFleetApi(
  http: Http,
  tokens: TokenManager<TeslaTokenExtra>,
  store: ReturnType<typeof teslaTokenStore>,
  identity: TeslaIdentity,
  request: SignInRequest,
  log: Logger,
): TeslaApi {
  const base = new FleetBaseUrl({
    discoveryBase: identity.apiBaseUrl,
    tokens,
    store,
    http: request.http,
    clock: request.clock,
    log,
  });
  return new TeslaApi({
    http,
    readings: new Readings(),
    clock: request.clock,
    log,
    baseUrl: identity.apiBaseUrl,
    location: false,
  }, base);
}

/** The configured VINs, or every car of the account. */
async function accountVins(configured: readonly string[], api: TeslaApi): Promise<string[]> {
  if (configured.length) return [...configured];
  const products = await api.products().catch((err) => {
    throw new SetupError(`cannot list the account's cars: ${(err as Error).message}`);
  });
  return (Array.isArray(products) ? products : [])
    .map((p) => (p as { vin?: unknown }).vin)
    .filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** POSTs the config to the proxy; every failure becomes a SetupError naming the fix. */
async function sendThroughProxy(
  http: Http,
  plan: Plan,
  body: { vins: string[]; config: FleetTelemetryConfig },
  api: TeslaApi,
  signIn: string,
  nowMs: number,
): Promise<CreateAnswer> {
  const where = `the vehicle-command proxy at ${plan.proxyUrl}`;
  let res;
  try {
    res = await http.send({
      method: "POST",
      url: plan.proxyUrl + CONFIG_ENDPOINT,
      endpoint: CONFIG_ENDPOINT,
      category: "commands",
      bearer: true,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    if (!(err instanceof HttpError)) {
      // The proxy answered 401 and refreshing the token failed too.
      throw new SetupError(
        `${where} refused the token, and refreshing it failed (${message(err)}): run ` +
          `\`${signIn}\`, then this again.`,
      );
    }
    const tls = /certificate|tls|ssl|UnknownIssuer|handshake/i.test(err.message);
    throw new SetupError(
      tls
        ? `${where} has a certificate this machine does not trust (${err.message}). Set ` +
          "telemetry.proxy.ca_file (or --proxy-ca) to the proxy's certificate, e.g. " +
          "deploy/streaming/certs/proxy.pem."
        : `cannot reach ${where} (${err.message}). Start it (docker compose --profile ` +
          "streaming up -d vehicle-command) or fix telemetry.proxy.url / --proxy.",
    );
  }
  if (res.status >= 200 && res.status < 300) {
    try {
      return api.unwrap(res, CONFIG_ENDPOINT) as CreateAnswer;
    } catch {
      throw new SetupError(
        `${where} answered ${res.status} without Tesla's {"response": …} body: is that ` +
          "address the proxy (tesla-http-proxy)?",
      );
    }
  }
  const error = classify(res, CONFIG_ENDPOINT, nowMs);
  const detail = redact(errorText(res.text), body.vins);
  const said = `${where} refused the configuration: HTTP ${res.status}${
    detail ? ` (${detail})` : ""
  }`;
  throw new SetupError(`${said}. ${refusalFix(res.status, error, signIn)}`);
}

function errorText(text: string): string {
  try {
    const body = JSON.parse(text);
    return [body?.error, body?.error_description].filter((x) => x).join(": ").slice(0, 300);
  } catch {
    return text.trim().slice(0, 200);
  }
}

function refusalFix(status: number, error: VendorError, signIn: string): string {
  if (error.kind === "sign_in_needed" || status === 401) {
    return `The sign-in is not accepted: run \`${signIn}\`, then this again.`;
  }
  if (error.kind === "quota") {
    return "Your app's Fleet API billing limit is reached: raise it at developer.tesla.com " +
      "(Dashboard → your app → Billing), then run this again.";
  }
  if (error.kind === "rate_limited") {
    return "Tesla limits how often this may be sent: wait a few minutes and run it again.";
  }
  if (status === 403) {
    return "Tesla does not let this app configure the car: check that the app is registered " +
      "in your region (partner_accounts), that the token has the vehicle_device_data scope, " +
      "and that the proxy holds the key pair whose public key your domain serves.";
  }
  if (status === 404) {
    return "That address does not serve the proxy's API: check telemetry.proxy.url.";
  }
  if (status === 400 || status === 422) {
    return "Tesla or the proxy rejected the configuration itself: the message above names " +
      "the field; check telemetry.server (host name, port, ca_file).";
  }
  if (status >= 500) {
    return "The proxy or Tesla failed: see the proxy's log (docker compose logs " +
      "vehicle-command) and try again.";
  }
  return "See the proxy's log (docker compose logs vehicle-command).";
}

/** Prints what Tesla did per car; returns 0 when every car took the config and is paired. */
async function report(
  created: CreateAnswer,
  vins: readonly string[],
  api: TeslaApi,
  plan: Plan,
  io: SignInIO,
): Promise<number> {
  let problems = 0;
  const skipped = new Map<string, string>();
  for (const [reason, list] of Object.entries(created.skipped_vehicles ?? {})) {
    for (const vin of list ?? []) if (!skipped.has(vin)) skipped.set(vin, reason);
  }
  io.print(
    `Sent: Tesla took the configuration for ${created.updated_vehicles ?? 0} of ` +
      `${cars(vins.length)}.`,
  );
  for (const vin of vins) {
    const tail = `…${vinTail(vin)}`;
    const reason = skipped.get(vin);
    if (reason) {
      problems++;
      io.print(
        `${tail}: skipped (${reason}): ${
          SKIPPED[reason] ?? "Tesla gave this reason; see developer.tesla.com."
        }`,
      );
      continue;
    }
    const path = (what: string) => `/api/1/vehicles/${encodeURIComponent(vin)}/${what}`;
    let status: CarStatus;
    try {
      status = await api.get(path("fleet_telemetry_config"), STATUS_ENDPOINT) as CarStatus;
    } catch (err) {
      problems++;
      io.print(`${tail}: could not read its configuration back: ${redact(message(err), vins)}`);
      continue;
    }
    for (const line of statusLines(status, plan)) {
      if (line.problem) problems++;
      io.print(`${tail}: ${line.text}`);
    }
    let errors: TelemetryErrorEntry[] = [];
    try {
      const body = await api.get(path("fleet_telemetry_errors"), ERRORS_ENDPOINT) as {
        fleet_telemetry_errors?: TelemetryErrorEntry[];
      };
      errors = Array.isArray(body?.fleet_telemetry_errors) ? body.fleet_telemetry_errors : [];
    } catch (err) {
      io.print(`${tail}: could not read its streaming errors: ${redact(message(err), vins)}`);
    }
    for (const e of errors) {
      problems++;
      const what = redact(e.error ?? e.error_name ?? "(no text)", vins);
      io.print(
        `${tail}: error reported${e.created_at ? ` at ${e.created_at}` : ""}: ${what} — ` +
          explainTelemetryError(e, plan),
      );
    }
  }
  io.print("");
  io.print(
    problems === 0
      ? "Done. The cars stream once they adopt it; the first values reach your broker when " +
        "a car wakes (open the Tesla app to wake it now)."
      : "Not done yet: fix what is listed above, then run this again.",
  );
  return problems === 0 ? 0 : 1;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The GET answer in plain words; `problem` lines make the command fail. */
function statusLines(status: CarStatus, plan: Plan): { text: string; problem: boolean }[] {
  const lines: { text: string; problem: boolean }[] = [];
  if (status.key_paired === false) {
    lines.push({ text: `key_paired false: ${SKIPPED.missing_key}`, problem: true });
  }
  if (status.limit_reached === true) {
    lines.push({
      text: "limit_reached: this car holds as many streaming configurations as Tesla allows, " +
        "and ours may not be used. Remove another app's in the Tesla app (Security → " +
        "Third-Party Apps), or, if your billing limit was reached, raise it at " +
        "developer.tesla.com (Tesla does not restore a config it removed): then run this " +
        "again.",
      problem: true,
    });
  }
  if (status.config === null || status.config === undefined) {
    lines.push({
      text: "holds no configuration of this app (Tesla removed it or never stored it): run " +
        "this again; if it stays empty, check limit_reached and the key.",
      problem: true,
    });
  } else if (
    status.config.hostname !== plan.server.hostname ||
    (status.config.port ?? 443) !== plan.server.port
  ) {
    lines.push({
      text: `its configuration points to ${status.config.hostname}:${status.config.port}, ` +
        `not ${plan.server.hostname}:${plan.server.port}: run this again.`,
      problem: true,
    });
  }
  if (status.synced === true) {
    lines.push({ text: "synced: the car uses this configuration.", problem: false });
  } else {
    lines.push({
      text: "not synced yet: the car takes the configuration the next time it connects to " +
        "Tesla (wake it with the Tesla app; this can take a few hours). Run this again later " +
        "to check.",
      problem: false,
    });
  }
  if (status.key_paired === true) {
    lines.push({ text: "key_paired: this app's key is on the car.", problem: false });
  }
  return lines;
}

/** The plug-in's `--telemetry` step, its extra hosts (the proxy) and files (certificates). */
export const telemetrySetup: AccountSetup = {
  help: "send the cars their Fleet Telemetry configuration (through the proxy) and report",
  run: (request, io) => runTelemetrySetup(request, io),
  hosts(account, options) {
    const o = setupOptions(options);
    const url = o.proxyUrl ?? telemetryOf(account)?.proxy?.url;
    try {
      return url ? [new URL(url).origin] : [];
    } catch {
      return []; // the command names the bad address
    }
  },
  files(account, options) {
    const o = setupOptions(options);
    const t = telemetryOf(account);
    return [o.proxyCa ?? t?.proxy?.ca_file, t?.server?.ca_file].filter((f): f is string =>
      f !== undefined
    );
  },
};

function telemetryOf(account: SignInRequest["account"]): TelemetryKeys | undefined {
  const t = (account as { telemetry?: unknown }).telemetry;
  return t && typeof t === "object" ? t as TelemetryKeys : undefined;
}
