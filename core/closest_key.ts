/** The known key a mistyped one was most likely meant to be, for "did you mean …?" hints. */

/**
 * The candidate closest to `word` (compared by each candidate's last dotted part, so
 * `polling.wake_up` matches `wakeup`), or undefined when none is close: at most a third of the
 * word's letters differ (a swap of two neighbours counts once), or one contains the other as
 * whole `_` parts (`base_url` → `api_base_url`). Earlier candidates win ties.
 */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  const w = normal(word);
  let best: { key: string; score: number } | undefined;
  for (const key of candidates) {
    const k = normal(key.slice(key.lastIndexOf(".") + 1));
    let score = distance(w, k);
    if (score > Math.max(1, Math.floor(w.length / 3))) {
      score = containsParts(k, w) || containsParts(w, k) ? w.length : Infinity;
    }
    if (score !== Infinity && (best === undefined || score < best.score)) best = { key, score };
  }
  return best?.key;
}

function normal(key: string): string {
  return key.toLowerCase().replace(/-/g, "_");
}

/** Whether `whole` is `part` with more `_`-separated parts around it. */
function containsParts(whole: string, part: string): boolean {
  return part.length >= 3 && `_${whole}_`.includes(`_${part}_`);
}

/** Edit distance with adjacent swaps (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
