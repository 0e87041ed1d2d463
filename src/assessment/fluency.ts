/**
 * Temporal fluency measures of one assessment, from what its model's alignment stored: the words'
 * start and end times and the pauses between them. They are what lies behind a fluency score, as
 * L2 fluency research and products such as Speechace report them: speech rate and articulation rate
 * (syllables per second with and without pauses), mean length of run, phonation-time ratio, pauses.
 *
 * Syllables are counted as the vowels of each spoken word's reference pronunciation (the phones the
 * model scored), which is what the learner was asked to say. OMITTED words count neither as words
 * nor as syllables, and the time the alignment gave them is silence. The speaking time runs from the
 * first spoken word's start to the last one's end, so silence before and after the reading does not
 * lower the rates. A pause is a silence of PAUSE_MS or more between two spoken words; inserted
 * speech heard there (a filler, an extra word) is speech, not silence.
 */
import { isVowel } from '../text/phones.js';
import type { AssessmentLabels, ReferenceWord } from '../types.js';

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

/** The pause length Assessment.pauses and the fluency features count (models/default/diagnostics.json pauseMs). */
export const PAUSE_MS = 200;

type Span = { startMs: number; endMs: number };

/** The spans merged where they overlap or touch, in order. */
function union(spans: Span[]): Span[] {
  const sorted = spans.filter((x) => x.endMs > x.startMs).sort((a, b) => a.startMs - b.startMs);
  const out: Span[] = [];
  for (const x of sorted) {
    const last = out.at(-1);
    if (last && x.startMs <= last.endMs) last.endMs = Math.max(last.endMs, x.endMs);
    else out.push({ ...x });
  }
  return out;
}

const clip = (x: Span, to: Span): Span => ({ startMs: Math.max(x.startMs, to.startMs), endMs: Math.min(x.endMs, to.endMs) });
const length = (spans: Span[]) => spans.reduce((n, x) => n + x.endMs - x.startMs, 0);

/**
 * The silence between two spoken words: the alignment's pauses in that gap and the time it gave
 * to words skipped there (a skipped word was not said), less any inserted speech heard in it.
 * Pauses are found per gap between reference words, so a skipped word would otherwise cut one
 * silence in two, and an insertion inside a pause would count as silence.
 */
export function silenceBetween(gap: Span, pauses: Span[], skipped: Span[], inserted: Span[]): number {
  const silent = union([...pauses, ...skipped].map((x) => clip(x, gap)));
  const speech = union(inserted.map((x) => clip(x, gap)));
  return length(silent) - silent.reduce((n, x) => n + length(speech.map((y) => clip(y, x)).filter((y) => y.endMs > y.startMs)), 0);
}

/**
 * The measures, or null when there is nothing to measure: no spoken word with a time (HUMAN labels,
 * models without an alignment, every word skipped) or no time between the first and the last.
 */
export function fluencyMetrics(words: TimedWord[], reference: ReferenceWord[], pauses: TimedPause[], inserted: TimedPause[] = []): FluencyMetrics | null {
  const timed = words.filter((w): w is TimedWord & { startMs: number; endMs: number } => w.startMs != null && w.endMs != null);
  const spoken = timed.filter((w) => w.errorType !== 'OMITTED').sort((a, b) => a.startMs - b.startMs);
  const skipped = timed.filter((w) => w.errorType === 'OMITTED');
  if (spoken.length === 0) return null;
  const start = spoken[0]!.startMs;
  const end = Math.max(...spoken.map((w) => w.endMs));
  const speakingMs = end - start;
  const silences = spoken.slice(1)
    .map((w, i) => silenceBetween({ startMs: spoken[i]!.endMs, endMs: w.startMs }, pauses, skipped, inserted))
    .filter((ms) => ms >= PAUSE_MS);
  const totalPauseMs = silences.reduce((a, b) => a + b, 0);
  const articulationMs = speakingMs - totalPauseMs;
  if (speakingMs <= 0 || articulationMs <= 0) return null;
  const syllableCount = spoken.reduce((n, w) => n + (reference[w.index]?.phones.filter(isVowel).length ?? 0), 0);
  return {
    wordCount: spoken.length,
    syllableCount,
    speakingMs,
    articulationMs,
    wordsPerMinute: round((spoken.length * 60_000) / speakingMs, 1),
    speechRate: round((syllableCount * 1000) / speakingMs, 2),
    articulationRate: round((syllableCount * 1000) / articulationMs, 2),
    pauseCount: silences.length,
    totalPauseMs,
    longestPauseMs: silences.length ? Math.max(...silences) : 0,
    meanLengthOfRun: round(syllableCount / (silences.length + 1), 2),
    phonationTimeRatio: round(articulationMs / speakingMs, 3),
  };
}

/**
 * The fluency measures of one model assessment, as every channel gives them (the API's
 * Assessment.fluencyMetrics, the assessment.completed event, the results export): null when it was
 * flagged READ_WRONG_TEXT (an alignment of this text to another sentence measures nothing about the
 * reading) or has no alignment (`timing` null: human labels, rows stored before it), and when the
 * stored reference words are not words with phones (a hand-edited row: one such row must not stop an
 * export of thousands).
 */
export function assessmentFluency(input: {
  words: TimedWord[];
  referenceWords: unknown;
  timing: { pauses: TimedPause[]; insertions: TimedPause[] } | null;
  flags: readonly string[];
}): FluencyMetrics | null {
  if (!input.timing || input.flags.includes('READ_WRONG_TEXT') || !isReferenceWords(input.referenceWords)) return null;
  return fluencyMetrics(input.words, input.referenceWords, input.timing.pauses, input.timing.insertions);
}

/** The words of a model's labels before they are stored, timed as WordAssessment rows will be. */
export function labelTimedWords(labels: AssessmentLabels): TimedWord[] {
  return labels.words.map((_, index) => {
    const d = labels.diagnostics?.words[index];
    return { index, startMs: d?.startMs ?? null, endMs: d?.endMs ?? null, errorType: d?.errorType ?? null };
  });
}

/** Utterance.referenceWords as the intake stores it: words with their phones (the syllable count reads them). */
function isReferenceWords(stored: unknown): stored is ReferenceWord[] {
  return Array.isArray(stored) && stored.every((w) => typeof w === 'object' && w !== null && Array.isArray((w as { phones?: unknown }).phones));
}
