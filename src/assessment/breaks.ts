/**
 * Prosody break feedback, as Azure Pronunciation Assessment gives it per word: how long the reader
 * was silent before the word, whether the reference text's punctuation asked for a pause there, and
 * whether that was a break where none belongs (UNEXPECTED_BREAK) or no break where one does
 * (MISSING_BREAK).
 *
 * The thresholds are conventions, not fitted: SpeechOcean762's texts have no punctuation and its
 * raters scored no breaks, so there is nothing to fit them on. An unexpected break is a pause as
 * Assessment.pauses and the fluency measures count one (PAUSE_MS); a missing break is less than
 * MISSING_BREAK_MS of silence at a phrase boundary, shorter than any audible pause (the alignment's
 * frames are 20 ms, and a reader who runs two phrases together leaves no silence at all).
 */
import { isReferenceWords, PAUSE_MS, spokenGaps, type TimedPause, type TimedWord } from './fluency.js';
import { normalizeReferenceText, phraseBreaksBefore } from '../text/reference.js';

/** Less silence than this at a phrase boundary, and no inserted speech there, is a MISSING_BREAK. */
export const MISSING_BREAK_MS = 100;

export type BreakErrorType = 'UNEXPECTED_BREAK' | 'MISSING_BREAK';

/** What the break feedback needs of an utterance: its text and the words stored for it. */
export interface UtteranceText {
  referenceText: string;
  referenceWords: unknown;
}

export interface WordBreak {
  /** Silence between the previous spoken word's end and this word's start, in ms. */
  silenceMs: number;
  /** Whether the reference text has a phrase boundary (punctuation) just before this word. */
  expected: boolean;
  errorTypes: BreakErrorType[];
}

/**
 * Each word's break feedback by word index: null for a word not spoken (OMITTED or untimed) and for
 * the first spoken word (nothing before it to break from). `expected[i]` says whether the text has
 * a phrase boundary before word i (phraseBreaksBefore). The silence is the time between the previous
 * spoken word's end and this word's start, less inserted speech heard there: the alignment ends a
 * word where the silence after it starts (src/inference/gop/diagnostics.ts), so that time is silence
 * however short (Assessment.pauses keeps only the gaps of PAUSE_MS or more), and the place of a word
 * skipped there was not spoken either. A boundary whose gap holds inserted speech (a filled pause) is
 * not a MISSING_BREAK, however little silence is left: the reader stopped there.
 */
export function wordBreaks(words: TimedWord[], expected: readonly boolean[], inserted: TimedPause[]): Map<number, WordBreak | null> {
  const out = new Map<number, WordBreak | null>(words.map((w) => [w.index, null]));
  for (const { afterIndex, beforeIndex, silenceMs, filled } of spokenGaps(words, inserted)) {
    // A boundary before any word from the previous spoken one to this one: a skipped word's boundary still stands between them.
    const boundary = expected.slice(afterIndex + 1, beforeIndex + 1).some(Boolean);
    const errorTypes: BreakErrorType[] = [];
    if (!boundary && silenceMs >= PAUSE_MS) errorTypes.push('UNEXPECTED_BREAK');
    // A reader who stopped at the boundary and filled the stop ("um") did not run the phrases together.
    if (boundary && silenceMs < MISSING_BREAK_MS && !filled) errorTypes.push('MISSING_BREAK');
    out.set(beforeIndex, { silenceMs, expected: boundary, errorTypes });
  }
  return out;
}

/**
 * phraseBreaksBefore of the utterance's reference text, or null when its words are no longer what
 * the normaliser makes of the text (a normaliser change since the utterance was stored): the
 * boundaries would then fall before the wrong words. Null too for stored words that are not words
 * (a row edited by hand), as the fluency measures are.
 */
export function storedPhraseBreaks(utterance: { referenceText: string; referenceWords: unknown }): boolean[] | null {
  if (!isReferenceWords(utterance.referenceWords)) return null;
  const stored = utterance.referenceWords.map((w) => w.text);
  const words = normalizeReferenceText(utterance.referenceText);
  return words.length === stored.length && words.every((w, i) => w === stored[i]) ? phraseBreaksBefore(utterance.referenceText) : null;
}

/**
 * The break feedback of one model assessment, by word index, as every channel gives it (the API's
 * WordAssessment.breakBefore, the assessment.completed event, the results export): null for the
 * whole assessment when it was flagged READ_WRONG_TEXT (an alignment of this text to another
 * sentence says nothing about its phrasing), had no alignment, or its utterance's words are no
 * longer what the normaliser makes of its text (storedPhraseBreaks).
 */
export function assessmentBreaks(input: {
  words: TimedWord[];
  utterance: UtteranceText;
  insertions: TimedPause[] | null;
  flags: readonly string[];
}): Map<number, WordBreak | null> | null {
  if (!input.insertions || input.flags.includes('READ_WRONG_TEXT')) return null;
  const expected = storedPhraseBreaks(input.utterance);
  return expected ? wordBreaks(input.words, expected, input.insertions) : null;
}
