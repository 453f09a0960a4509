/**
 * The last check before a recording touches disk. It looks through the whole cassette for any
 * value the redactor replaced (raw or URL-, form-, JSON- or base64-encoded), for VIN-shaped
 * strings and e-mail addresses the redactor did not produce, and for real coordinates.
 * Findings name the exchange and the field, never the value.
 */
import type { Cassette } from "./cassette.ts";
import { EMAIL, formsMatcher, type Kind, type Redactor } from "./redact.ts";
import { VIN_SHAPED } from "./vin.ts";

export interface Leak {
  /** Index into `exchanges`; undefined for cassette-level fields and the whole-file scan. */
  readonly exchange?: number;
  /** Field path inside the exchange (or the cassette), e.g. `response.json.response.vin`. */
  readonly field: string;
  /** What was found, never the value itself. */
  readonly what: string;
}

export class LeakError extends Error {
  constructor(readonly target: string, readonly leaks: readonly Leak[]) {
    const lines = leaks.slice(0, 20).map((l) =>
      `  ${l.exchange === undefined ? "cassette" : `exchange ${l.exchange}`}, ${l.field}: ${l.what}`
    );
    if (leaks.length > 20) lines.push(`  … and ${leaks.length - 20} more`);
    super(
      `refusing to write ${target}: redaction left ${leaks.length} value(s) that must not be ` +
        `saved:\n${lines.join("\n")}`,
    );
    this.name = "LeakError";
  }
}

const WHAT: Record<Kind, string> = {
  secret: "a secret seen in this session",
  vin: "a real VIN",
  id: "a real id",
  email: "a real e-mail address",
  phone: "a real phone number",
  name: "a real name",
  place: "a real address or place name",
};

/** Every leak in `cassette`, given what `redactor` learned while recording it. */
export function findLeaks(cassette: Cassette, redactor: Redactor): Leak[] {
  const learned = [...redactor.learned()].filter(({ real }) => !redactor.isPlaceholder(real));
  const { re, lookup } = formsMatcher(
    learned,
    (_real, kind, form) => form.name === "as is" ? WHAT[kind] : `${WHAT[kind]} (${form.name})`,
  );
  const scan = (text: string, isNumber = false): string[] => {
    const found = new Set<string>();
    if (isNumber) {
      // Numbers are replaced whole (see Redactor.sweep), so only a whole match is a leak.
      if (lookup.has(text)) found.add(lookup.get(text)!);
      if (redactor.isRealCoordinate(text)) found.add("a real coordinate");
      return [...found];
    }
    for (const m of re ? text.matchAll(re) : []) found.add(lookup.get(m[0])!);
    for (const m of text.matchAll(VIN_SHAPED)) {
      if (!redactor.isPlaceholder(m[0])) found.add("a VIN-shaped value the redactor did not make");
    }
    for (const m of text.matchAll(EMAIL)) {
      if (!redactor.isPlaceholder(m[0])) found.add("an e-mail address the redactor did not make");
    }
    if (redactor.isRealCoordinate(text)) found.add("a real coordinate");
    return [...found];
  };

  const leaks: Leak[] = [];
  const { exchanges, ...meta } = cassette;
  const visit = (exchange: number | undefined) => (text: string, field: string, num = false) => {
    const found = scan(text, num);
    for (const what of found) leaks.push({ exchange, field, what });
    return found.length > 0;
  };
  walk(meta, "", visit(undefined));
  exchanges.forEach((ex, i) => walk(ex, "", visit(i)));
  if (leaks.length === 0) {
    // Backstop: secrets in the file exactly as it would be written (escaping included).
    const secrets = formsMatcher(learned.filter((l) => l.kind === "secret"), () => WHAT.secret);
    if (secrets.re?.test(JSON.stringify(cassette, null, 1))) {
      leaks.push({ field: "(whole file)", what: WHAT.secret });
    }
  }
  return leaks;
}

/** Throws a LeakError naming every leak (field, not value) if there is any. */
export function assertNoLeaks(cassette: Cassette, redactor: Redactor, target: string): void {
  const leaks = findLeaks(cassette, redactor);
  if (leaks.length) throw new LeakError(target, leaks);
}

/**
 * Calls `visit` with every string, number and key in `value` and its field path. A key that
 * leaks is named by position in the paths, so the message never repeats it.
 */
function walk(
  value: unknown,
  path: string,
  visit: (text: string, field: string, isNumber?: boolean) => boolean,
): void {
  if (typeof value === "string" || typeof value === "number") {
    visit(String(value), path || "(value)", typeof value === "number");
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  } else if (value !== null && typeof value === "object") {
    Object.entries(value).forEach(([k, v], i) => {
      const leaky = visit(k, `${path ? `${path}.` : ""}(key #${i})`);
      const name = leaky ? `(key #${i})` : k;
      walk(v, path ? `${path}.${name}` : name, visit);
    });
  }
}
