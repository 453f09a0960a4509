/** VIN helpers for scripted fixtures: fake VINs must still be well-formed. */

/** Transliteration of letters for the check digit (I, O and Q never occur in a VIN). */
// deno-fmt-ignore
const VALUES: Record<string, number> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/** The ISO 3779 / North American check digit (position 9) of a 17-character VIN. */
export function vinCheckDigit(vin: string): string {
  const upper = vin.toUpperCase();
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(upper)) throw new Error(`not a VIN: ${vin}`);
  const sum = [...upper].reduce(
    (acc, ch, i) => acc + (/\d/.test(ch) ? Number(ch) : VALUES[ch]) * WEIGHTS[i],
    0,
  );
  return sum % 11 === 10 ? "X" : String(sum % 11);
}

/** `draft` with its check digit put in position 9 (whatever stood there). */
export function withCheckDigit(draft: string): string {
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}
