/**
 * How sure the scorer is, in the terms a rationale needs: the probability that a human rater calls
 * a word or phoneme an error, and the probability of each sentence band, for a predicted score.
 * Estimated on out-of-fold predictions over SpeechOcean762 train/ speaker folds
 * (scripts/train/rationale_calibration.py) and shipped beside the model bundle as
 * `rationale-calibration.json`; this module is its one codec. The writer (generate.ts) decides from
 * it what to assert, hedge or leave out; the checker (hedges.ts) from it whether a hedge holds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AssessmentLabels } from '../types.js';
import { PHONEME_ERROR_BELOW, WORD_ERROR_BELOW } from './reference.js';

export type SentenceAspect = 'accuracy' | 'fluency' | 'prosody' | 'total';
const SENTENCE_ASPECTS: readonly SentenceAspect[] = ['accuracy', 'fluency', 'prosody', 'total'];

/** A non-increasing step curve: pError[i] holds from at[i] up to at[i + 1]. */
export interface ErrorCurve {
  at: number[];
  pError: number[];
}

export interface BandCurve {
  at: number[];
  pLow: number[];
  pHigh: number[];
}

/**
 * What the writer asserts, hedges or leaves out: a token is criticised plainly from `assertFrom`,
 * with a hedge ("probably") from `hedgeFrom` (the checker accepts the hedge there, and only there).
 */
export interface TokenPolicy {
  assertFrom: number;
  hedgeFrom: number;
}

export interface RationaleCalibration {
  word: ErrorCurve & TokenPolicy;
  phoneme: ErrorCurve & TokenPolicy;
  sentence: Record<SentenceAspect, BandCurve>;
}

export class RationaleCalibrationFormatError extends Error {}

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new RationaleCalibrationFormatError(`${what} must be a non-empty array of numbers`);
  }
  return v as number[];
}

function probability(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RationaleCalibrationFormatError(`${what} must be a number in [0, 1]`);
  return v;
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RationaleCalibrationFormatError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function parseCurve(v: unknown, what: string): ErrorCurve & TokenPolicy {
  const o = record(v, what);
  const at = numbers(o.at, `${what}.at`);
  const pError = numbers(o.pError, `${what}.pError`).map((p, i) => probability(p, `${what}.pError[${i}]`));
  if (pError.length !== at.length) throw new RationaleCalibrationFormatError(`${what}: at and pError differ in length`);
  const policy = record(o.policy, `${what}.policy`);
  const assertFrom = probability(policy.assertFrom, `${what}.policy.assertFrom`);
  const hedgeFrom = probability(policy.hedgeFrom, `${what}.policy.hedgeFrom`);
  if (hedgeFrom > assertFrom) throw new RationaleCalibrationFormatError(`${what}.policy: hedgeFrom above assertFrom`);
  return { at, pError, assertFrom, hedgeFrom };
}

function parseBands(v: unknown, what: string): BandCurve {
  const o = record(v, what);
  const at = numbers(o.at, `${what}.at`);
  const pLow = numbers(o.pLow, `${what}.pLow`);
  const pHigh = numbers(o.pHigh, `${what}.pHigh`);
  if (pLow.length !== at.length || pHigh.length !== at.length) throw new RationaleCalibrationFormatError(`${what}: lengths differ`);
  return { at, pLow, pHigh };
}

/** The JSON file's codec (the table written by scripts/train/rationale_calibration.py). */
export function parseRationaleCalibration(json: unknown): RationaleCalibration {
  const o = record(json, 'calibration');
  if (o.version !== 1) throw new RationaleCalibrationFormatError('calibration.version must be 1');
  const s = record(o.sentence, 'calibration.sentence');
  const sentence = Object.fromEntries(SENTENCE_ASPECTS.map((a) => [a, parseBands(s[a], `sentence.${a}`)])) as Record<SentenceAspect, BandCurve>;
  return { word: parseCurve(o.word, 'word'), phoneme: parseCurve(o.phoneme, 'phoneme'), sentence };
}

/**
 * No table (a bundle without one): certainty as the thresholds say, so nothing is hedged and the
 * writer falls back to criticising exactly the tokens labelled as errors.
 */
export const THRESHOLD_ONLY: RationaleCalibration = (() => {
  const step = (below: number): ErrorCurve & TokenPolicy => ({ at: [0, below], pError: [1, 0], assertFrom: 0.5, hedgeFrom: 0.5 });
  const bands: BandCurve = { at: [0, 4.5, 7.5], pLow: [1, 0, 0], pHigh: [0, 0, 1] };
  return { word: step(WORD_ERROR_BELOW), phoneme: step(PHONEME_ERROR_BELOW), sentence: { accuracy: bands, fluency: bands, prosody: bands, total: bands } };
})();

let loaded: RationaleCalibration | undefined;

/** The default bundle's table (models/default/rationale-calibration.json), read once. */
export function defaultCalibration(): RationaleCalibration {
  if (!loaded) {
    const file = fileURLToPath(new URL('../../models/default/rationale-calibration.json', import.meta.url));
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = null; // no table shipped: thresholds only
    }
    loaded = text === null ? THRESHOLD_ONLY : parseRationaleCalibration(JSON.parse(text));
  }
  return loaded;
}

function stepAt(at: number[], values: number[], x: number): number {
  let i = 0;
  while (i + 1 < at.length && at[i + 1]! <= x + 1e-9) i++;
  return values[i]!;
}

/** P(a rater calls this word an error | the model's continuous accuracy). */
export function wordErrorProbability(c: RationaleCalibration, predicted: number): number {
  return stepAt(c.word.at, c.word.pError, predicted);
}

export function phonemeErrorProbability(c: RationaleCalibration, predicted: number): number {
  return stepAt(c.phoneme.at, c.phoneme.pError, predicted);
}

export interface BandProbabilities {
  low: number;
  mid: number;
  high: number;
}

export function bandProbabilities(c: RationaleCalibration, aspect: SentenceAspect, predicted: number): BandProbabilities {
  const b = c.sentence[aspect];
  const low = stepAt(b.at, b.pLow, predicted);
  const high = Math.min(stepAt(b.at, b.pHigh, predicted), 1 - low);
  return { low, high, mid: Math.max(0, 1 - low - high) };
}

/** The word's prediction before rounding when the model gave one (labels.continuous), else its label. */
export function predictedWordAccuracy(labels: AssessmentLabels, i: number): number {
  return labels.continuous?.words[i]?.accuracy ?? labels.words[i]!.accuracy;
}

/** Model predictions carry their continuous scores; human labels do not, and are never hedged against. */
export function isPrediction(labels: AssessmentLabels): boolean {
  return labels.continuous !== undefined;
}
