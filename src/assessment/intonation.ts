/**
 * Intonation feedback from a stored pitch contour (Assessment.timeline's pitch): the reading's
 * median pitch and pitch span, MONOTONE, and each word's pitch against the reading's. Read-time
 * arithmetic over the stored contour, so the thresholds can change without re-assessing anything.
 */
import type { PitchTrack } from '../types.js';

/**
 * A span (90th minus 10th percentile) under this many semitones is MONOTONE. A convention: the
 * dataset's prosody scores barely follow pitch span (Spearman .12 on train/), so nothing could be
 * fitted; 6.5% of train/ readings of four or more words are MONOTONE (scripts/eval/intonation.ts).
 */
export const MONOTONE_SPAN_SEMITONES = 2;
/** Under this much voicing there is too little tune to judge. */
export const MIN_VOICED_MS = 500;

export type IntonationErrorType = 'MONOTONE';

export interface PitchPoint {
  timeMs: number;
  hz: number;
  /** relative to the reading's median */
  semitones: number;
}

export interface Intonation {
  medianPitchHz: number | null;
  pitchSpanSemitones: number | null;
  voicedMs: number;
  errorTypes: IntonationErrorType[];
  contour: PitchPoint[];
}

export interface WordPitch {
  meanSemitones: number;
  spanSemitones: number;
  voicedMs: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const hzOf = (semitonesAbove100: number): number => 100 * 2 ** (semitonesAbove100 / 12);

/** The q-quantile of sorted values, interpolated between neighbours. */
function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

function voiced(track: PitchTrack): { timeMs: number; st: number }[] {
  return track.semitones.flatMap((st, t) => (st === null ? [] : [{ timeMs: track.firstMs + t * track.hopMs, st }]));
}

/** The reading's median pitch in semitones above 100 Hz; null without voicing. */
export function medianSemitones(track: PitchTrack): number | null {
  const sorted = voiced(track).map((f) => f.st).sort((a, b) => a - b);
  return sorted.length ? quantile(sorted, 0.5) : null;
}

export function intonationOf(track: PitchTrack): Intonation {
  const frames = voiced(track);
  const sorted = frames.map((f) => f.st).sort((a, b) => a - b);
  const voicedMs = frames.length * track.hopMs;
  if (!sorted.length) return { medianPitchHz: null, pitchSpanSemitones: null, voicedMs, errorTypes: [], contour: [] };
  const centre = quantile(sorted, 0.5);
  // rounded before the comparison: the span reported is the span judged (2.3 − 0.3 is 1.9999999999999998)
  const span = round2(quantile(sorted, 0.9) - quantile(sorted, 0.1));
  return {
    medianPitchHz: round1(hzOf(centre)),
    pitchSpanSemitones: span,
    voicedMs,
    errorTypes: voicedMs >= MIN_VOICED_MS && span < MONOTONE_SPAN_SEMITONES ? ['MONOTONE'] : [],
    contour: frames.map((f) => ({ timeMs: f.timeMs, hz: round1(hzOf(f.st)), semitones: round2(f.st - centre) })),
  };
}

/** The voiced frames centred in [startMs, endMs), against the reading's median; null without any. */
export function wordPitch(track: PitchTrack, startMs: number, endMs: number, centre: number): WordPitch | null {
  // only the word's own frames are visited: a resolver asks this for every word of a reading
  const first = Math.max(0, Math.ceil((startMs - track.firstMs) / track.hopMs));
  const last = Math.min(track.semitones.length, Math.ceil((endMs - track.firstMs) / track.hopMs));
  const inWord = track.semitones.slice(first, last).filter((v): v is number => v !== null);
  if (!inWord.length) return null;
  const mean = inWord.reduce((a, b) => a + b, 0) / inWord.length;
  return {
    meanSemitones: round2(mean - centre),
    spanSemitones: round2(Math.max(...inWord) - Math.min(...inWord)),
    voicedMs: inWord.length * track.hopMs,
  };
}
