/**
 * Calibrated hedges (README "Hedges"): "“CALL” was probably a little unclear" claims less than
 * "“CALL” was unclear". Against a model's own predictions, a hedged critique of a word or phoneme
 * holds when the label calls it an error, or when the calibrated probability that a rater would
 * (calibration.ts) is at least the table's `hedgeFrom`. Nothing else changes: a hedge on a token
 * the model is confident is right is still an unsupported critique, a hedge never excuses praise,
 * and against human labels (no continuous predictions) a hedged critique is judged as a plain one.
 */
import type { AssessmentLabels } from '../types.js';
import {
  defaultCalibration, isPrediction, phonemeErrorProbability, predictedWordAccuracy, wordErrorProbability, type RationaleCalibration,
} from './calibration.js';
import { toArpabet } from './phonemes.js';
import type { PhonemeOccurrence, ReferenceIndex } from './reference.js';

/** Words and phrases that mark a critique as a probability, not a finding. */
export const HEDGE_MARKERS = ['probably', 'possibly', 'perhaps', 'maybe', 'may', 'might', 'likely', 'seemed', 'seems'] as const;
const HEDGE_RE = new RegExp(`\\b(?:${HEDGE_MARKERS.join('|')})\\b`, 'i');
const SENTENCE_RE = /[^.!?\n]+[.!?]?/g;
const QUOTED_RE = /["“”'‘’]([A-Za-z][A-Za-z']*)["“”'‘’]|\b([A-Z][A-Z']+|[AI])\b/g;
const PHONEME_RE = /\/([^/\s]{1,4})\//g;

export interface HedgedTokens {
  words: Set<string>;
  phonemes: Set<string>;
}

/** The reference words (quoted or UPPER-CASE) and /phonemes/ named in sentences that carry a hedge. */
export function hedgedTokens(rationale: string, ref: ReferenceIndex): HedgedTokens {
  const out: HedgedTokens = { words: new Set(), phonemes: new Set() };
  for (const sentence of rationale.match(SENTENCE_RE) ?? []) {
    if (!HEDGE_RE.test(sentence)) continue;
    for (const m of sentence.matchAll(QUOTED_RE)) {
      const w = (m[1] ?? m[2])!.toUpperCase();
      if (ref.wordIndices.has(w)) out.words.add(w);
    }
    for (const m of sentence.matchAll(PHONEME_RE)) {
      const p = toArpabet(m[1]!);
      if (p) out.phonemes.add(p);
    }
  }
  return out;
}

export interface HedgeSupport {
  /** A criticised word the labels do not call an error, hedged where the calibration allows it. */
  word(key: string): boolean;
  /** Likewise for a criticised phoneme, over its occurrences in scope. */
  phoneme(key: string, occurrences: PhonemeOccurrence[]): boolean;
}

const NONE: HedgeSupport = { word: () => false, phoneme: () => false };

export function hedgeSupport(
  rationale: string, labels: AssessmentLabels, ref: ReferenceIndex, calibration: RationaleCalibration = defaultCalibration(),
): HedgeSupport {
  if (!isPrediction(labels)) return NONE;
  const hedged = hedgedTokens(rationale, ref);
  if (hedged.words.size === 0 && hedged.phonemes.size === 0) return NONE;
  return {
    word: (key) => hedged.words.has(key) && (ref.wordIndices.get(key) ?? []).some(
      (i) => wordErrorProbability(calibration, predictedWordAccuracy(labels, i)) >= calibration.word.hedgeFrom,
    ),
    phoneme: (key, occurrences) => hedged.phonemes.has(key) && occurrences.some(
      (o) => phonemeErrorProbability(calibration, o.accuracy) >= calibration.phoneme.hedgeFrom,
    ),
  };
}
