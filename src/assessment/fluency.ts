/**
 * Temporal fluency measures of one assessment, from what its model's alignment stored: the words'
 * start and end times and the pauses between them. They are what lies behind a fluency score, as
 * L2 fluency research and products such as Speechace report them: speech rate and articulation rate
 * (syllables per second with and without pauses), mean length of run, phonation-time ratio, pauses.
 *
 * Syllables are counted as the vowels of each spoken word's reference pronunciation (the phones the
 * model scored), which is what the learner was asked to say. OMITTED words count neither as words
 * nor as syllables. The speaking time runs from the first spoken word's start to the last one's
 * end, so silence before and after the reading does not lower the rates.
 */
import { isVowel } from '../text/phones.js';
import type { ReferenceWord } from '../types.js';

export interface TimedWord {
  index: number;
  startMs: number | null;
  endMs: number | null;
  errorType: string | null;
}

export interface TimedPause {
  startMs: number;
  endMs: number;
}

export interface FluencyMetrics {
  wordCount: number;
  syllableCount: number;
  speakingMs: number;
  articulationMs: number;
  wordsPerMinute: number;
  speechRate: number;
  articulationRate: number;
  pauseCount: number;
  totalPauseMs: number;
  longestPauseMs: number;
  meanLengthOfRun: number;
  phonationTimeRatio: number;
}

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** The measures, or null when no spoken word has a time (HUMAN labels, models without an alignment). */
export function fluencyMetrics(words: TimedWord[], reference: ReferenceWord[], pauses: TimedPause[]): FluencyMetrics | null {
  const spoken = words.filter((w): w is TimedWord & { startMs: number; endMs: number } =>
    w.startMs != null && w.endMs != null && w.errorType !== 'OMITTED');
  if (spoken.length === 0) return null;
  const start = Math.min(...spoken.map((w) => w.startMs));
  const end = Math.max(...spoken.map((w) => w.endMs));
  const speakingMs = end - start;
  if (speakingMs <= 0) return null;
  const inside = pauses.filter((p) => p.startMs >= start && p.endMs <= end && p.endMs > p.startMs);
  const pauseLengths = inside.map((p) => p.endMs - p.startMs);
  const totalPauseMs = pauseLengths.reduce((a, b) => a + b, 0);
  const articulationMs = Math.max(1, speakingMs - totalPauseMs);
  const syllableCount = spoken.reduce((n, w) => n + (reference[w.index]?.phones.filter(isVowel).length ?? 0), 0);
  return {
    wordCount: spoken.length,
    syllableCount,
    speakingMs,
    articulationMs,
    wordsPerMinute: round((spoken.length * 60_000) / speakingMs, 1),
    speechRate: round((syllableCount * 1000) / speakingMs, 2),
    articulationRate: round((syllableCount * 1000) / articulationMs, 2),
    pauseCount: inside.length,
    totalPauseMs,
    longestPauseMs: pauseLengths.length ? Math.max(...pauseLengths) : 0,
    meanLengthOfRun: round(syllableCount / (inside.length + 1), 2),
    phonationTimeRatio: round(articulationMs / speakingMs, 3),
  };
}
