/**
 * Wrong-text pairs: a recording paired with another utterance's reference text of similar length,
 * as a learner who reads the wrong line of an exercise would submit it. Used to train the
 * content-match model (scripts/train/content-match.ts, on train/) and to measure it
 * (scripts/eval/diagnostics-wrong-text.ts), with the same rule both times.
 */

export interface PairCandidate {
  /** The reference words, upper-case. */
  words: readonly string[];
  /** Canonical phone count of the text. */
  phones: number;
}

/** How far the other text's phone count may be from the recording's own: 15%, at least 2 phones. */
const LENGTH_SLACK = 0.15;

/** Deterministic hash of a string and a draw number (FNV-1a), for reproducible choices. */
function hash(s: string, draw: number): number {
  let h = 0x811c9dc5 ^ draw;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Indices of `count` other texts of similar length for utterance `i` (distinct texts, never the
 * recording's own wording); the nearest lengths when too few are within the slack. `lengthSlack`
 * Infinity draws from every other text whatever its length.
 */
export function wrongTexts(all: readonly PairCandidate[], i: number, count: number, key: string, lengthSlack = LENGTH_SLACK): number[] {
  const own = all[i]!;
  const ownText = own.words.join(' ');
  const slack = Math.max(2, Math.round(lengthSlack * own.phones));
  const seen = new Set<string>([ownText]);
  const others = all.flatMap((c, j) => {
    const text = c.words.join(' ');
    if (seen.has(text)) return [];
    seen.add(text);
    return [{ j, distance: Math.abs(c.phones - own.phones) }];
  });
  const near = others.filter((o) => o.distance <= slack);
  const pool = near.length >= count ? near : [...others].sort((a, b) => a.distance - b.distance).slice(0, Math.max(count, near.length));
  const chosen: number[] = [];
  for (let draw = 0; chosen.length < Math.min(count, pool.length); draw++) {
    const pick = pool[hash(key, draw) % pool.length]!.j;
    if (!chosen.includes(pick)) chosen.push(pick);
  }
  return chosen;
}
