/**
 * Temporal fluency measures of one assessment, from what its model's alignment stored: the words'
 * start and end times and the pauses between them. They are what lies behind a fluency score, as
 * L2 fluency research and products such as Speechace report them: speech rate and articulation rate
 * (syllables per second with and without pauses), mean length of run, phonation-time ratio, pauses.
 *
 * Syllables are counted in each spoken word's reference pronunciation (the phones the model scored,
 * which is what the learner was asked to say) as WordAssessment.syllables splits it (syllabify): a
 * vowel or a syllabic L, M, N each (PEOPLE: P IY1 | P L), and one for a word without a nucleus (HMM).
 * OMITTED words count neither as words nor as syllables, and the time the alignment gave them is
 * silence. The speaking time runs from the first spoken word's start to the last one's end, so
 * silence before and after the reading does not lower the rates. A pause is a silence of PAUSE_MS or
 * more between two spoken words, measured as WordAssessment.breakBefore measures it (breaks.ts): all
 * the time from the one's end to the other's start, a skipped word's place included; inserted speech
 * heard there (a filler, an extra word) is speech, not silence.
 */
import { syllabify } from '../text/syllables.js';
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
 * The time within `gap` that the `pauses` and `skipped` spans cover (counted once where they
 * overlap), less any inserted speech heard in it. gapSilence and breaks.ts pass the whole gap as
 * silence.
 */
export function silenceBetween(gap: Span, pauses: Span[], skipped: Span[], inserted: Span[]): number {
  const silent = union([...pauses, ...skipped].map((x) => clip(x, gap)));
  const speech = union(inserted.map((x) => clip(x, gap)));
  return length(silent) - silent.reduce((n, x) => n + length(speech.map((y) => clip(y, x)).filter((y) => y.endMs > y.startMs)), 0);
}

/**
 * The silence between two consecutive spoken words, as both the fluency measures and
 * WordAssessment.breakBefore (breaks.ts) count it: the whole gap from the one's end to the other's
 * start, less inserted speech heard in it. The alignment ends a word where the silence after it
 * starts, so the gap is silence however it is cut: Assessment.pauses keeps only pieces of PAUSE_MS
 * or more per gap between reference words, and a word skipped in the gap (its place not spoken
 * either) would cut one silence into two pieces that pauses drops.
 */
export function gapSilence(gap: Span, inserted: Span[]): number {
  return Math.max(0, silenceBetween(gap, [gap], [], inserted));
}

/** A word the reader said (not OMITTED), with the time the alignment gave it. */
export type SpokenWord = TimedWord & { startMs: number; endMs: number };

/** The spoken words in reference order: a forced alignment keeps the words in order. */
export function spokenWords(words: TimedWord[]): SpokenWord[] {
  return words
    .filter((w): w is SpokenWord => w.startMs != null && w.endMs != null && w.errorType !== 'OMITTED')
    .sort((a, b) => a.index - b.index);
}

/** The time between two consecutive spoken words. */
export interface SpokenGap extends TimedPause {
  /** The spoken words either side (reference word indexes). */
  afterIndex: number;
  beforeIndex: number;
  /** Its silence (gapSilence). */
  silenceMs: number;
  /** Inserted speech was heard in it (a filler, an extra word). */
  filled: boolean;
}

/**
 * Every gap between two consecutive spoken words, in order: the one place the fluency measures'
 * pauses, WordAssessment.breakBefore (breaks.ts) and the rationale's hesitation count (a pause is a
 * gap with PAUSE_MS or more of silence) read the reading's silences from.
 */
export function spokenGaps(words: TimedWord[], inserted: TimedPause[]): SpokenGap[] {
  const spoken = spokenWords(words);
  return spoken.slice(1).map((w, i) => {
    const gap = { startMs: spoken[i]!.endMs, endMs: w.startMs };
    return {
      ...gap,
      afterIndex: spoken[i]!.index,
      beforeIndex: w.index,
      silenceMs: gapSilence(gap, inserted),
      filled: inserted.some((x) => x.startMs < gap.endMs && x.endMs > gap.startMs),
    };
  });
}

/**
 * The measures, or null when there is nothing to measure: no spoken word with a time (HUMAN labels,
 * models without an alignment, every word skipped) or no time between the first and the last.
 * `timing.insertions` is the inserted speech heard (Assessment.insertions); the silences are the
 * gaps between spoken words (spokenGaps), not Assessment.pauses.
 */
export function fluencyMetrics(words: TimedWord[], reference: ReferenceWord[], timing: { insertions: TimedPause[] } = { insertions: [] }): FluencyMetrics | null {
  const spoken = spokenWords(words);
  if (spoken.length === 0) return null;
  const start = Math.min(...spoken.map((w) => w.startMs));
  const end = Math.max(...spoken.map((w) => w.endMs));
  const speakingMs = end - start;
  const silences = spokenGaps(words, timing.insertions).map((g) => g.silenceMs).filter((ms) => ms >= PAUSE_MS);
  const totalPauseMs = silences.reduce((a, b) => a + b, 0);
  const articulationMs = speakingMs - totalPauseMs;
  if (speakingMs <= 0 || articulationMs <= 0) return null;
  const syllableCount = spoken.reduce((n, w) => n + syllabify(reference[w.index]?.phones ?? []).length, 0);
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
  return fluencyMetrics(input.words, input.referenceWords, input.timing);
}

/** The words of a model's labels before they are stored, timed as WordAssessment rows will be. */
export function labelTimedWords(labels: AssessmentLabels): TimedWord[] {
  return labels.words.map((_, index) => {
    const d = labels.diagnostics?.words[index];
    return { index, startMs: d?.startMs ?? null, endMs: d?.endMs ?? null, errorType: d?.errorType ?? null };
  });
}

/**
 * Utterance.referenceWords as the intake stores it: words with their text and phones (the syllable
 * count reads the phones, the break feedback the text). A row edited by hand into anything else costs
 * that row its measures, never an error.
 */
export function isReferenceWords(stored: unknown): stored is ReferenceWord[] {
  return Array.isArray(stored) && stored.every((w) => typeof w === 'object' && w !== null
    && typeof (w as { text?: unknown }).text === 'string' && Array.isArray((w as { phones?: unknown }).phones));
}
