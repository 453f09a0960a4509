/**
 * Redaction at record time: turns vendor exchanges into ones that are safe to commit, share and
 * attach to a bug report, yet still replay. One `Redactor` holds one cassette's mapping, so a
 * real value always gets the same placeholder (bodies, paths and query strings agree).
 *
 * Redaction rules (applied to paths, query strings, form and JSON bodies, response bodies and
 * kept headers, including URL-encoded, JSON-escaped and JSON-inside-a-JSON-string forms):
 *
 * 1. Secrets become `redacted-<field>-<n>`: values under keys ending in `token`/`tokens`
 *    (access, refresh and id tokens, Tesla's vehicle `tokens`), `code_verifier`,
 *    `code_challenge`, `client_secret`, `secret`, `password`, `api_key`/`vcc-api-key`,
 *    `cookie`, `authorization`, `assertion`, `pin`; `code` in query strings and forms (in JSON
 *    only when it is not an UPPER_CASE error code like Volvo's `NOT_SUPPORTED`). A JWT becomes
 *    an unsigned JWT keeping only `exp iat nbf iss scp scope ou_code` and the origins in `aud`.
 * 2. Secret headers are learned, never stored: `authorization` (a Bearer token; for Basic the
 *    base64, the `client_id:secret` pair and the secret), `cookie` and `set-cookie` values,
 *    and any header named like `*api-key*`, `*token*`, `*secret*`, `*session*`, `x-auth*`
 *    (`vcc-api-key`). `Bearer x`/`Basic x` and `key=value` pairs are also found in free text.
 *    (The recorder stores no request headers, and of response headers only `content-type`,
 *    `retry-after` and `ratelimit-*`.)
 * 3. Every secret learned anywhere is replaced wherever else it appears: raw, percent- and
 *    form-encoded, JSON-escaped once or twice, base64. Strings holding JSON are parsed and
 *    redacted recursively, so a token inside a JSON string inside a JSON string is caught.
 * 4. VINs (`vin` keys, and any VIN-shaped token in any string, path segment or key) become a
 *    fake VIN with the same positions 1–8, 10 and 11 (make, model, year, plant), a new serial
 *    at 12–17 (sequential per cassette, or an HMAC of a secret `vinSeed` for VINs that stay
 *    the same across cassettes) and a valid check digit at 9.
 * 5. Ids (`id`, `id_s`, `uuid`, `din`, BMW's `gcid`, keys ending `_id`/`_ids`/`Id`: Tesla `id`,
 *    `vehicle_id`, `user_id`, energy-site and client ids) become 900000001, 900000002… (as
 *    numbers or digit strings, so Tesla's `id` and `id_s` agree; ids beyond 2^53 are read
 *    exactly) or `id-<n>` for non-numeric ids. Templated path segments (`{id}` in
 *    `/api/1/vehicles/{id}`, `{vin}`) get the same placeholders as the bodies.
 * 6. E-mail addresses anywhere become `user<n>@example.com`; phone numbers (`phone`/`mobile`
 *    keys, and `+` international or `(555) 555-5555` forms in any string) `+1 555 01nn`.
 * 7. Names (`display_name`, `vehicle_name`, `site_name`, nick/first/last/full/user/owner
 *    names, the paired phone's `a2dp_source_name`) become `Demo name <n>`; addresses and
 *    route destinations `Demo place <n>`.
 * 8. Coordinates (keys ending `latitude`/`longitude` such as `native_latitude` and
 *    `active_route_longitude`, `lat`/`lon`/`lng`, GeoJSON `coordinates`, and the `value` of a
 *    `{value, unit, timestamp}` entry under such a key, as BMW sends) are moved to a demo
 *    place: value − first value seen + demo origin (Brandenburg Gate, 52.5163 N 13.3777 E), so
 *    a drive keeps its shape and distances. Exactly 0 (no fix) stays 0. Not with
 *    `keepLocation`, which keeps coordinates (and only coordinates) as recorded.
 * 9. A value learned under one key (an id, a name, an e-mail) is replaced wherever else it
 *    appears: as a whole word when it has at least 6 characters, otherwise only where a whole
 *    string equals it (shorter values are too common to chase through text).
 * 10. Before anything is written, the guard (guard.ts) scans the whole cassette for every
 *    learned secret or personal value of 6+ characters in all the encodings above, for
 *    VIN-shaped strings and e-mail addresses this redactor did not produce, and for real
 *    coordinates; if it finds one, nothing is written and the error names the exchange index
 *    and field path, never the value.
 */
import { createHmac } from "node:crypto";
import { registerSecret } from "../core/log.ts";
import { isVinShaped, toVinShape, VIN_SHAPED, withSerial } from "./vin.ts";

export interface LatLon {
  readonly latitude: number;
  readonly longitude: number;
}

/** Brandenburg Gate, Berlin: a public square nobody lives at. */
export const DEMO_ORIGIN: LatLon = { latitude: 52.5163, longitude: 13.3777 };

export interface RedactorOptions {
  /** Keep coordinates as recorded (the user's explicit choice). */
  readonly keepLocation?: boolean;
  readonly demoOrigin?: LatLon;
  /** Secret seed: with it a real VIN maps to the same fake VIN in every cassette. */
  readonly vinSeed?: string;
}

export type Kind = "secret" | "vin" | "id" | "email" | "phone" | "name" | "place";

/** Values this long are chased through all text (and checked by the guard). */
export const MIN_WORD = 6;
/** Shorter values are replaced only where a whole string equals them (if at least this long). */
const MIN_EXACT = 4;
const ID_BASE = 900_000_000;

type Rule = Kind | "code" | "latitude" | "longitude" | undefined;

const SECRET_KEYS = new Set([
  "codeverifier",
  "codechallenge",
  "clientsecret",
  "secret",
  "password",
  "passwd",
  "apikey",
  "vccapikey",
  "xapikey",
  "cookie",
  "setcookie",
  "authorization",
  "assertion",
  "clientassertion",
  "privatekey",
  "pin",
]);
const NAME_KEYS = new Set([
  "displayname",
  "vehiclename",
  "sitename",
  "nickname",
  "firstname",
  "lastname",
  "fullname",
  "givenname",
  "familyname",
  "username",
  "ownername",
  "a2dpsourcename",
]);

/** What a key's value is. `where` is "form" for query strings and form bodies. */
function ruleFor(key: string, where: "json" | "form"): Rule {
  const n = key.toLowerCase().replace(/[-_\s]/g, "");
  if (n.endsWith("token") || n.endsWith("tokens") || SECRET_KEYS.has(n)) return "secret";
  if (n === "code") return where === "form" ? "secret" : "code";
  if (n === "vin" || /(_vin|[a-z]Vin)$/.test(key)) return "vin";
  if (
    key === "id" || n === "ids" || n === "uuid" || n === "din" || n === "gcid" ||
    /_ids?$/i.test(key) ||
    /[a-z0-9](Id|ID|Ids)$/.test(key)
  ) return "id";
  if (n.includes("email")) return "email";
  if (n.includes("phone") || n.includes("mobile") || n === "msisdn") return "phone";
  if (NAME_KEYS.has(n)) return "name";
  if (n.includes("address") || n.endsWith("destination") || n === "street") return "place";
  if (n.endsWith("latitude") || n === "lat") return "latitude";
  if (n.endsWith("longitude") || n === "lon" || n === "lng") return "longitude";
  return undefined;
}

export const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** `+` international numbers, or North American (555) 555-5555 with separators. */
const PHONE = /(?<![\w+.])(?:\+\d[\d ().-]{6,18}\d|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b)(?![\w.])/g;
const AUTH_IN_TEXT = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/-]+=*)/gi;
const AUTH_PREFIX = /^(Bearer|Basic)\s+(\S+)$/i;
/** `key=value` in URLs, forms, cookies and logs. */
const PARAM_IN_TEXT = /(^|[?&;#\s])([A-Za-z][\w.[\]-]*)=([^&#\s"'<>;]*)/g;
/** `"key":"value"` in JSON that could not be parsed (embedded in HTML, escaped once or more). */
const JSON_PAIR_IN_TEXT = /(\\*)"([A-Za-z_][\w-]*)\1"\s*:\s*\1"([^]*?)(?<!\\)\1"/g;
const ERROR_CODE = /^[A-Z0-9_.-]+$|^\d+$/;
const GEO_TYPES = new Set([
  "Point",
  "MultiPoint",
  "LineString",
  "MultiLineString",
  "Polygon",
  "MultiPolygon",
]);
const JWT_CLAIMS = ["exp", "iat", "nbf", "iss", "scp", "scope", "ou_code"];

export class Redactor {
  readonly keepLocation: boolean;
  readonly #origin: LatLon;
  readonly #seed?: string;
  /** real value → placeholder, for every kind. */
  readonly #map = new Map<string, string>();
  readonly #kinds = new Map<string, Kind>();
  readonly #placeholders = new Set<string>();
  readonly #counts: Record<Kind, number> = {
    secret: 0,
    vin: 0,
    id: 0,
    email: 0,
    phone: 0,
    name: 0,
    place: 0,
  };
  readonly #first: { latitude?: number; longitude?: number } = {};
  readonly #realCoordinates = new Set<string>();
  #sweeper?: { re?: RegExp; lookup: Map<string, string> };

  constructor(options: RedactorOptions = {}) {
    this.keepLocation = options.keepLocation ?? false;
    this.#origin = options.demoOrigin ?? DEMO_ORIGIN;
    this.#seed = options.vinSeed;
  }

  // ── learning from headers ──────────────────────────────────────────────────────────────

  /** Learns every secret in these headers (they are never stored, only remembered). */
  learnHeaders(headers: Headers | Readonly<Record<string, string>>): void {
    const list = headers instanceof Headers ? [...headers] : Object.entries(headers);
    const cookies = headers instanceof Headers ? headers.getSetCookie() : [];
    for (const [name, value] of list) {
      const n = name.toLowerCase();
      if (n === "set-cookie") {
        if (!(headers instanceof Headers)) cookies.push(value);
      } else if (n === "cookie") cookies.push(...value.split(";"));
      else if (n === "authorization" || n === "proxy-authorization") this.secret(value.trim(), n);
      else if (/api-?key|token|secret|session|^x-auth/.test(n)) this.secret(value, n);
    }
    for (const cookie of cookies) {
      const [pair] = cookie.split(";");
      const eq = pair.indexOf("=");
      this.secret(pair.slice(eq + 1).trim(), "cookie");
    }
  }

  // ── one value of a known kind ──────────────────────────────────────────────────────────

  /** A secret's placeholder (learning it). `Bearer x`/`Basic x` keep their scheme word. */
  secret(value: string, label = "secret"): string {
    const scheme = AUTH_PREFIX.exec(value);
    if (scheme) return `${scheme[1]} ${this.#credential(scheme[1], scheme[2])}`;
    return this.#value("secret", value, (n) => fakeJwt(value, n) ?? `redacted-${slug(label)}-${n}`);
  }

  /** Fake VIN for a real one: same make/model/year/plant, new serial, valid check digit. */
  vin(value: string): string {
    const base = isVinShaped(value) ? value : toVinShape(value);
    return this.#value("vin", value, (n) => {
      for (let attempt = 0;; attempt++) {
        const fake = withSerial(base, this.#serial(value, n, attempt));
        if (fake !== base && !this.#placeholders.has(fake) && !this.#map.has(fake)) return fake;
      }
    });
  }

  /** Placeholder id; numbers and digit strings get the same number-like placeholder. */
  id(value: string | number | bigint): string | number {
    const real = String(value);
    const p = this.#value("id", real, (n) => /^\d+$/.test(real) ? String(ID_BASE + n) : `id-${n}`);
    return typeof value !== "string" && /^\d+$/.test(p) ? Number(p) : p;
  }

  email(value: string): string {
    return this.#value("email", value, (n) => `user${n}@example.com`);
  }

  phone(value: string): string {
    return this.#value("phone", value, (n) => `+1 555 01${String(n % 100).padStart(2, "0")}`);
  }

  name(value: string): string {
    return this.#value("name", value, (n) => `Demo name ${n}`);
  }

  place(value: string): string {
    return this.#value("place", value, (n) => `Demo place ${n}`);
  }

  latitude(value: number): number {
    const v = this.#shift("latitude", value);
    return Math.max(-90, Math.min(90, v));
  }

  longitude(value: number): number {
    const v = this.#shift("longitude", value);
    return v > 180 ? v - 360 : v < -180 ? v + 360 : v;
  }

  // ── structures ─────────────────────────────────────────────────────────────────────────

  /**
   * A request path; segments under a `{param}` of the endpoint template are ids or VINs and
   * get the same placeholders as the bodies. Other segments get the text rules.
   */
  path(pathname: string, template?: string): string {
    const segments = pathname.split("/");
    const tpl = template?.startsWith("/") ? template.split("/") : [];
    const fits = tpl.length === segments.length;
    return segments.map((segment, i) => {
      if (!segment) return segment;
      const raw = decode(segment);
      const param = fits ? /^\{(.+)\}$/.exec(tpl[i])?.[1] : undefined;
      const out = param === undefined
        ? this.text(raw)
        : /vin/i.test(param) || isVinShaped(raw)
        ? this.vin(raw)
        : String(this.id(raw));
      return out === raw ? segment : encodeURIComponent(out);
    }).join("/");
  }

  /** One query-string or form field, decoded. */
  param(key: string, value: string): string {
    return this.#leaf(key, value, "form") as string;
  }

  /** A parsed JSON value (from `parseJsonExact`), redacted by key and by content. */
  json(value: unknown, key = ""): unknown {
    if (Array.isArray(value)) return value.map((v) => this.json(v, key));
    if (value !== null && typeof value === "object") {
      const obj = value as Record<string, unknown>;
      const geometry = !this.keepLocation && typeof obj.type === "string" &&
        GEO_TYPES.has(obj.type) && Array.isArray(obj.coordinates);
      const out: Record<string, unknown> = {};
      // A `{value, unit, timestamp}` entry (BMW CarData, Volvo) is its key's value: a
      // `…latitude` key's entry holds a coordinate, an id key's an id.
      const wrapped = key !== "" && ruleFor(key, "json") !== undefined;
      for (const [k, v] of Object.entries(obj)) {
        const rule = wrapped && k === "value" ? key : k;
        out[this.#key(k)] = geometry && k === "coordinates"
          ? this.#positions(v)
          : this.json(v, rule);
      }
      return out;
    }
    return this.#leaf(key, value, "json");
  }

  /** Free text: nested JSON, `key=value` pairs, auth headers, VINs, e-mails, phones. */
  text(s: string): string {
    if (s.length < MIN_EXACT || this.#placeholders.has(s)) return s;
    const exact = this.#map.get(s);
    if (exact !== undefined) return exact;
    const nested = parseNestedJson(s);
    if (nested !== undefined) return JSON.stringify(this.json(nested));
    const out = s
      .replace(AUTH_IN_TEXT, (_m, scheme, cred) => `${scheme} ${this.#credential(scheme, cred)}`)
      .replace(PARAM_IN_TEXT, (m, lead, key, value) => {
        const raw = decode(value.replace(/\+/g, " "));
        const r = this.param(key, raw);
        return r === raw ? m : `${lead}${key}=${encodeURIComponent(r)}`;
      })
      .replace(JSON_PAIR_IN_TEXT, (m, esc, key, value) => {
        // Without a rule the value may hold JSON escaped one level deeper: look inside.
        const r = ruleFor(key, "json") === undefined
          ? this.text(value)
          : String(this.#leaf(key, value, "json"));
        return r === value ? m : `${esc}"${key}${esc}":${esc}"${r}${esc}"`;
      })
      .replace(VIN_SHAPED, (v) => this.vin(v))
      .replace(EMAIL, (e) => this.email(e))
      .replace(PHONE, (p) => p.replace(/\D/g, "").length >= 8 ? this.phone(p) : p);
    return this.#sweepText(out);
  }

  /** Replaces every value learned so far wherever it still appears (deep; keys too). */
  sweep<T>(value: T): T {
    if (typeof value === "string") return this.#sweepText(value) as T;
    if (typeof value === "number") return this.#sweepNumber(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.sweep(v)) as T;
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [this.#sweepText(k), this.sweep(v)]),
      ) as T;
    }
    return value;
  }

  // ── what the guard needs ───────────────────────────────────────────────────────────────

  /** Real values replaced so far, with their kind. Never print these. */
  *learned(): Iterable<{ readonly real: string; readonly kind: Kind }> {
    for (const [real, kind] of this.#kinds) yield { real, kind };
  }

  isPlaceholder(value: string): boolean {
    return this.#placeholders.has(value);
  }

  /** Whether `value` is the decimal form of a real coordinate this redactor moved. */
  isRealCoordinate(value: string): boolean {
    return this.#realCoordinates.has(value);
  }

  /** How many distinct values of each kind were replaced, and coordinates moved. */
  counts(): Readonly<Record<Kind, number>> & { readonly coordinates: number } {
    return { ...this.#counts, coordinates: this.#realCoordinates.size };
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  #leaf(key: string, value: unknown, where: "json" | "form"): unknown {
    const rule = ruleFor(key, where);
    if (typeof value === "string") {
      if (value === "") return value;
      switch (rule) {
        case "secret":
          return this.secret(value, key);
        case "code":
          return ERROR_CODE.test(value) ? value : this.secret(value, key);
        case "vin":
          return this.vin(value);
        case "id":
          return String(this.id(value));
        case "email":
        case "phone":
        case "name":
        case "place":
          return this[rule](value);
        case "latitude":
        case "longitude": {
          const n = Number(value);
          if (value.trim() !== "" && Number.isFinite(n)) return String(this[rule](n));
        }
      }
      return this.text(value);
    }
    if (typeof value === "number" || typeof value === "bigint") {
      if (rule === "id") return this.id(value);
      if (rule === "latitude" || rule === "longitude") return this[rule](Number(value));
      return this.#sweepNumber(value);
    }
    return value;
  }

  /** Known placeholder, or a new one from `make(n)` for the n-th value of this kind. */
  #value(kind: Kind, value: string, make: (n: number) => string): string {
    if (value === "" || this.#placeholders.has(value)) return value;
    const known = this.#map.get(value);
    if (known !== undefined) return known;
    const placeholder = make(this.#counts[kind] + 1);
    this.#counts[kind]++;
    this.#map.set(value, placeholder);
    this.#kinds.set(value, kind);
    this.#placeholders.add(placeholder);
    this.#sweeper = undefined;
    if (kind === "secret") registerSecret(value); // logs mask it too
    return placeholder;
  }

  /** Placeholder for the credential of an Authorization scheme; Basic reveals a client secret. */
  #credential(scheme: string, credential: string): string {
    if (scheme.toLowerCase() === "basic") {
      const pair = decodeBase64(credential);
      const colon = pair?.indexOf(":") ?? -1;
      if (pair !== undefined && colon > 0) {
        this.id(pair.slice(0, colon));
        this.secret(pair.slice(colon + 1), "client_secret");
        this.secret(pair, "basic_pair");
      }
      return this.#value("secret", credential, (n) => `redacted-basic-${n}`);
    }
    return this.#value(
      "secret",
      credential,
      (n) => fakeJwt(credential, n) ?? `redacted-bearer-${n}`,
    );
  }

  /** Sequential by order of first sight, or keyed by the real VIN alone when seeded. */
  #serial(real: string, n: number, attempt: number): string {
    if (this.#seed === undefined) return String((n + attempt) % 1_000_000).padStart(6, "0");
    const digest = createHmac("sha256", this.#seed).update(`${real}#${attempt}`).digest();
    return String(digest.readUInt32BE(0) % 1_000_000).padStart(6, "0");
  }

  #shift(axis: "latitude" | "longitude", value: number): number {
    if (this.keepLocation || !Number.isFinite(value) || value === 0) return value;
    this.#realCoordinates.add(String(value));
    const first = this.#first[axis] ??= value;
    return this.#origin[axis] + (value - first);
  }

  /** GeoJSON positions: [longitude, latitude, altitude?], nested for lines and polygons. */
  #positions(value: unknown): unknown {
    if (!Array.isArray(value)) return this.json(value);
    if (value.length >= 2 && typeof value[0] === "number" && typeof value[1] === "number") {
      return [this.longitude(value[0]), this.latitude(value[1]), ...value.slice(2)];
    }
    return value.map((v) => this.#positions(v));
  }

  #key(key: string): string {
    const out = key.replace(VIN_SHAPED, (v) => this.vin(v)).replace(EMAIL, (e) => this.email(e));
    return this.#sweepText(out);
  }

  #sweepNumber(value: number | bigint): number {
    const real = String(value);
    if (real.length >= MIN_WORD && this.#kinds.get(real) === "id") {
      const p = this.#map.get(real)!;
      if (/^\d+$/.test(p)) return Number(p);
    }
    return Number(value);
  }

  #sweepText(s: string): string {
    if (s.length >= MIN_EXACT && this.#map.has(s)) return this.#map.get(s)!;
    const { re, lookup } = this.#sweeper ??= this.#buildSweeper();
    return re ? s.replace(re, (m) => lookup.get(m) ?? m) : s;
  }

  #buildSweeper(): { re?: RegExp; lookup: Map<string, string> } {
    const learned = [...this.#kinds].map(([real, kind]) => ({ real, kind }));
    return formsMatcher(learned, (real, _kind, form) => form.encode(this.#map.get(real)!));
  }
}

/**
 * One regex that finds any form of any learned value of at least MIN_WORD characters (longest
 * first; ids, names and other words only as whole words, secrets anywhere), and a lookup from
 * the matched text to `pick(...)` for it.
 */
export function formsMatcher<T>(
  learned: Iterable<{ readonly real: string; readonly kind: Kind }>,
  pick: (real: string, kind: Kind, form: ValueForm) => T,
): { re?: RegExp; lookup: Map<string, T> } {
  const lookup = new Map<string, T>();
  const alternatives: { form: string; bounded: boolean }[] = [];
  for (const { real, kind } of learned) {
    if (real.length < MIN_WORD) continue;
    const bounded = kind !== "secret" || /^\d+$/.test(real);
    for (const form of valueForms(real, kind)) {
      if (lookup.has(form.form)) continue;
      lookup.set(form.form, pick(real, kind, form));
      alternatives.push({ form: form.form, bounded });
    }
  }
  if (alternatives.length === 0) return { lookup };
  alternatives.sort((a, b) => b.form.length - a.form.length);
  const source = alternatives.map(({ form, bounded }) =>
    bounded ? `(?<![A-Za-z0-9])${escapeRegExp(form)}(?![A-Za-z0-9])` : escapeRegExp(form)
  ).join("|");
  return { re: new RegExp(source, "g"), lookup };
}

export interface ValueForm {
  readonly form: string;
  /** How it is encoded, for messages ("URL-encoded"). */
  readonly name: string;
  /** Writes a placeholder in the same encoding. */
  readonly encode: (placeholder: string) => string;
}

/** The forms a value can take in a recording, each with how to write its placeholder there. */
export function valueForms(
  value: string,
  kind: Kind,
): ValueForm[] {
  const same = (p: string) => p;
  const json1 = (s: string) => JSON.stringify(s).slice(1, -1);
  const json2 = (s: string) => JSON.stringify(JSON.stringify(s)).slice(3, -3);
  const form = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  const url = encodeURIComponent(value);
  const forms: ValueForm[] = [
    { form: value, name: "as is", encode: same },
    { form: json1(value), name: "JSON-escaped", encode: json1 },
    { form: json2(value), name: "JSON-escaped twice", encode: json2 },
    { form: url, name: "URL-encoded", encode: encodeURIComponent },
    {
      form: url.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
      name: "URL-encoded",
      encode: encodeURIComponent,
    },
    { form: form(value), name: "form-encoded", encode: form },
  ];
  if (kind === "secret") {
    const b64 = encodeBase64(value);
    forms.push(
      { form: b64, name: "base64", encode: same },
      { form: b64.replace(/=+$/, ""), name: "base64", encode: same },
    );
  }
  if (kind === "vin") {
    forms.push({ form: value.toLowerCase(), name: "lower case", encode: (p) => p.toLowerCase() });
  }
  const seen = new Set<string>();
  return forms.filter((f) => f.form.length > 0 && !seen.has(f.form) && seen.add(f.form));
}

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint) so long ids map correctly. */
export function parseJsonExact(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    const value = JSON.parse(
      text,
      (_key, v, context?: { source?: string }) =>
        typeof v === "number" && !Number.isSafeInteger(v) && /^-?\d+$/.test(context?.source ?? "")
          ? BigInt(context!.source!)
          : v,
    );
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

function parseNestedJson(s: string): unknown {
  const t = s.trim();
  const looks = (t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"));
  if (!looks) return undefined;
  const parsed = parseJsonExact(t);
  return parsed.ok && parsed.value !== null && typeof parsed.value === "object"
    ? parsed.value
    : undefined;
}

/** An unsigned JWT keeping only claims that say when and for what, never who. */
function fakeJwt(value: string, n: number): string | undefined {
  const parts = value.split(".");
  if (parts.length !== 3) return undefined;
  const header = decodeJson(parts[0]);
  const payload = decodeJson(parts[1]);
  if (!isRecord(header) || typeof header.alg !== "string" || !isRecord(payload)) return undefined;
  const kept: Record<string, unknown> = {};
  for (const claim of JWT_CLAIMS) if (claim in payload) kept[claim] = payload[claim];
  const aud = [payload.aud].flat().filter((a): a is string => typeof a === "string")
    .map((a) => URL.canParse(a) ? new URL(a).origin : undefined)
    .filter((a) => a !== undefined && a !== "null");
  if (aud.length) kept.aud = aud.length === 1 ? aud[0] : aud;
  kept.jti = `redacted-${n}`;
  const enc = (o: unknown) =>
    encodeBase64(JSON.stringify(o)).replace(/=+$/, "")
      .replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(kept)}.redacted`;
}

function decodeJson(b64url: string): unknown {
  const text = decodeBase64(b64url.replace(/-/g, "+").replace(/_/g, "/"));
  if (text === undefined) return undefined;
  const parsed = parseJsonExact(text);
  return parsed.ok ? parsed.value : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function encodeBase64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}

function decodeBase64(s: string): string | undefined {
  try {
    const padded = s + "=".repeat((4 - s.length % 4) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function slug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "") || "secret";
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
