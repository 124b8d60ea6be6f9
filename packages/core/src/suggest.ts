/** Levenshtein distance between two strings (insertions, deletions and substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate nearest to `word` within `maxDistance` edits (the first of equals), for "did you mean …" (case aside); undefined when none is that near. */
export function closest(word: string, candidates: readonly string[], maxDistance = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * The key meant by an unknown `key`: the nearest valid one within 2 edits, else one it is the
 * start of (`max_queue_delay` for `max_queue_delay_us`, a unit left off); undefined when none.
 */
export function suggestKey(key: string, valid: readonly string[]): string | undefined {
  return closest(key, valid) ?? (key.length >= 4 ? valid.find((v) => v.toLowerCase().startsWith(key.toLowerCase())) : undefined);
}
