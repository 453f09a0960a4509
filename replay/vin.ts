/**
 * VIN helpers (ISO 3779; check digit per 49 CFR 565.15): shape, check digit, and the fake VINs
 * the redactor puts in recordings.
 */

/** Transliteration of VIN characters to numbers (I, O and Q never occur in a VIN). */
// deno-fmt-ignore
const VALUES: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
  "0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/**
 * A VIN-shaped token in text: 17 VIN characters, not part of a longer word, with at least one
 * letter (all-digit runs are numeric ids or timestamps, handled by the id rules) and at least
 * one digit (all-letter runs are words).
 */
export const VIN_SHAPED =
  /(?<![A-Za-z0-9])(?=[A-HJ-NPR-Z0-9]{0,16}[A-HJ-NPR-Z])(?=[A-HJ-NPR-Z0-9]{0,16}[0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])/g;

export function isVinShaped(value: string): boolean {
  return value.length === 17 && new RegExp(`^${VIN_SHAPED.source}$`).test(value);
}

/** The check digit (position 9) that `vin` should carry: "0"–"9" or "X". */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = VALUES[vin[i]];
    if (v === undefined) throw new Error(`not a VIN character at position ${i + 1}`);
    sum += v * WEIGHTS[i];
  }
  const r = sum % 11;
  return r === 10 ? "X" : String(r);
}

/** 17 VIN characters whose position 9 is the correct check digit. */
export function isValidVin(vin: string): boolean {
  return /^[A-HJ-NPR-Z0-9]{17}$/.test(vin) && vin[8] === vinCheckDigit(vin);
}

/**
 * Coerces any identifier stored under a `vin` key into 17 VIN characters (uppercase, I/O/Q
 * mapped to 1/0/0, other characters to 0, padded or cut), so even a malformed vendor value
 * gets a fake VIN of the right shape.
 */
export function toVinShape(value: string): string {
  const chars = value.toUpperCase().replace(/I/g, "1").replace(/[OQ]/g, "0")
    .replace(/[^A-HJ-NPR-Z0-9]/g, "0");
  return chars.padEnd(17, "0").slice(0, 17);
}

/**
 * The same VIN with serial `serial` (positions 12–17, six digits) and the check digit
 * recomputed. WMI (1–3), descriptor (4–8), model year (10) and plant (11) stay, so a fake
 * still decodes to the same make, model and year.
 */
export function withSerial(vin: string, serial: string): string {
  if (!/^\d{6}$/.test(serial)) throw new Error("a VIN serial here is six digits");
  const draft = vin.slice(0, 8) + "0" + vin.slice(9, 11) + serial;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}
