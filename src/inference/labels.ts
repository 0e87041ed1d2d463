/**
 * What every scorer pipeline shares after its graphs have run: the continuous outputs
 * (RawScores), their range checks, and their decoding to the platform's label scales
 * (../shared/DESIGN.md, "Scales").
 */
import type { ContentMatch } from '../assessment/wrong-text.js';
import type { AssessmentLabels, ReferenceWord, WordScore } from '../types.js';
import { checkRange } from './outputs.js';

/** Continuous model outputs before rounding to the label scales. */
export interface RawScores {
  /** accuracy, fluency, prosody, completeness, total (0-10) */
  utterance: number[];
  /** per word: accuracy, stress, total */
  words: number[][];
  /** per canonical phone, 0-2 */
  phones: number[];
}

/** Labels, the continuous outputs they were decoded from, and the content match (null when the model has none). */
export interface ScoredUtterance {
  labels: AssessmentLabels;
  raw: RawScores;
  content: ContentMatch | null;
}

/** Default word-stress decision threshold (the manifest's scales.word.stress.threshold wins). */
export const STRESS_THRESHOLD = 7.5;

/** How far outside a scale a raw output may stray (numerical slack) before it is rejected. */
const TOLERANCE = { tenScale: 0.5, phone: 0.1 };

/** Rejects outputs outside their scales (beyond numerical slack) as MODEL_OUTPUT_INVALID. */
export function checkScoreRanges(raw: RawScores): void {
  checkRange('utterance_scores', raw.utterance, 0, 10, TOLERANCE.tenScale);
  checkRange('word_scores', raw.words.flat(), 0, 10, TOLERANCE.tenScale);
  checkRange('phone_scores', raw.phones, 0, 2, TOLERANCE.phone);
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
/** The continuous value on the same 0-10 scale, to 2 decimals. */
const onTen = (v: number): number => Math.round(clamp(v, 0, 10) * 100) / 100;
/** The integer is the rounding of the 2-decimal value a client sees, so 8.496 (shown 8.5) is 9, not
 * 8, and the integer, the continuous score and their proficiency label always agree. */
const toTen = (v: number): number => Math.round(onTen(v));

/** Continuous outputs → the platform's label scales. */
export function decodeLabels(raw: RawScores, words: readonly ReferenceWord[], stressThreshold = STRESS_THRESHOLD): AssessmentLabels {
  const [accuracy, fluency, prosody, completeness, total] = raw.utterance.map(toTen) as [number, number, number, number, number];
  let k = 0;
  const out: WordScore[] = words.map((w, wi) => {
    const [acc, stress, tot] = raw.words[wi]!;
    const phonemes = w.phones.map((symbol) => ({ symbol, accuracy: Math.round(clamp(raw.phones[k++]!, 0, 2) * 10) / 10 }));
    return {
      text: w.text,
      accuracy: toTen(acc!),
      stress: stress! >= stressThreshold ? 10 : 5,
      total: toTen(tot!),
      phonemes,
    };
  });
  const [cAccuracy, cFluency, cProsody, cCompleteness, cTotal] = raw.utterance.map(onTen) as [number, number, number, number, number];
  const continuous = {
    sentence: { accuracy: cAccuracy, fluency: cFluency, prosody: cProsody, completeness: cCompleteness, total: cTotal },
    words: words.map((_w, wi) => ({ accuracy: onTen(raw.words[wi]![0]!), total: onTen(raw.words[wi]![2]!) })),
  };
  return { sentence: { accuracy, fluency, prosody, completeness, total }, words: out, continuous };
}
