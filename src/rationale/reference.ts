/**
 * Per-labels look-up tables for mention extraction and agreement: which words the reference has,
 * where each phoneme occurs, and which tokens are labelled as errors. Cached by labels identity
 * because a caller often checks several rationales against the same labels.
 */
import type { AssessmentLabels } from '../types.js';
import { stripStress } from './phonemes.js';

/** Thresholds from DESIGN.md: a word below 8, a phoneme below 1.5, is an error. */
export const WORD_ERROR_BELOW = 8;
export const PHONEME_ERROR_BELOW = 1.5;

export interface PhonemeOccurrence {
  word: number;
  accuracy: number;
}

export interface ReferenceIndex {
  /** Upper-case word text to its indices in labels.words. */
  wordIndices: Map<string, number[]>;
  /** ARPAbet without stress to every occurrence. */
  phonemes: Map<string, PhonemeOccurrence[]>;
  /** Distinct words, for fuzzy matching of misspelt quotes. */
  vocabulary: string[];
  wordErrors: number;
  phonemeErrors: number;
}

const cache = new WeakMap<AssessmentLabels, ReferenceIndex>();

export function indexReference(labels: AssessmentLabels): ReferenceIndex {
  let idx = cache.get(labels);
  if (!idx) {
    idx = buildIndex(labels);
    cache.set(labels, idx);
  }
  return idx;
}

function buildIndex(labels: AssessmentLabels): ReferenceIndex {
  const wordIndices = new Map<string, number[]>();
  const phonemes = new Map<string, PhonemeOccurrence[]>();
  let wordErrors = 0;
  let phonemeErrors = 0;
  labels.words.forEach((w, i) => {
    const text = w.text.toUpperCase();
    const list = wordIndices.get(text);
    if (list) list.push(i);
    else wordIndices.set(text, [i]);
    if (w.accuracy < WORD_ERROR_BELOW) wordErrors++;
    for (const p of w.phonemes) {
      const sym = stripStress(p.symbol.toUpperCase());
      const occ = phonemes.get(sym);
      const entry = { word: i, accuracy: p.accuracy };
      if (occ) occ.push(entry);
      else phonemes.set(sym, [entry]);
      if (p.accuracy < PHONEME_ERROR_BELOW) phonemeErrors++;
    }
  });
  return { wordIndices, phonemes, vocabulary: [...wordIndices.keys()], wordErrors, phonemeErrors };
}

/**
 * The reference word a misspelt quote most likely means: edit distance 1 for words of 4+ letters,
 * 2 for 7+ letters (short words are too easily confused: "THE"/"SHE"). Ties are ambiguous: none.
 */
export function fuzzyWord(index: ReferenceIndex, upper: string): string | undefined {
  const budget = upper.length >= 7 ? 2 : upper.length >= 4 ? 1 : 0;
  if (budget === 0) return undefined;
  let best: string | undefined;
  let bestDist = budget + 1;
  let tie = false;
  for (const cand of index.vocabulary) {
    if (Math.abs(cand.length - upper.length) > budget) continue;
    const d = editDistance(upper, cand, budget);
    if (d < bestDist) {
      best = cand;
      bestDist = d;
      tie = false;
    } else if (d === bestDist) tie = true;
  }
  return best !== undefined && !tie ? best : undefined;
}

/** Levenshtein distance with transpositions counted as 1, stopping early past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  const n = b.length;
  let prev2: number[] = [];
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}
