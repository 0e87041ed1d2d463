/**
 * The wrong-sentence outcome (issue 11): when the model's content match says the speech is not the
 * reference text, the assessment is flagged READ_WRONG_TEXT and its sentence scores say so, rather
 * than grading the audio as a confident, ordinary reading of words that were never said.
 */
import type { AssessmentLabels } from '../types.js';

export const ASSESSMENT_FLAGS = ['READ_WRONG_TEXT'] as const;
export type AssessmentFlag = (typeof ASSESSMENT_FLAGS)[number];

/** A scorer's content-match score for one recording, with the threshold its bundle ships. */
export interface ContentMatch {
  /** 0-1: how well the speech matches the reference text */
  score: number;
  /** below this the speech is another sentence */
  threshold: number;
}

/**
 * SpeechOcean762's total rubric: 0-2 is "extremely poor, or only one or two words". A reading of
 * another sentence cannot score above it on this one.
 */
export const WRONG_TEXT_TOTAL_CAP = 2;

export interface ContentOutcome {
  labels: AssessmentLabels;
  /** the score to store, rounded to 4 decimals; null when the model gives none */
  contentMatch: number | null;
  flags: AssessmentFlag[];
}

export function isWrongText(content: ContentMatch | null | undefined): boolean {
  return !!content && content.score < content.threshold;
}

/** Labels as the API returns them: completeness 0 and the total capped when the text is wrong. */
export function applyContentMatch(labels: AssessmentLabels, content: ContentMatch | null | undefined): ContentOutcome {
  const contentMatch = content ? Math.round(content.score * 1e4) / 1e4 : null;
  if (!isWrongText(content)) return { labels, contentMatch, flags: [] };
  const cap = (v: number) => Math.min(v, WRONG_TEXT_TOTAL_CAP);
  const sentence = { ...labels.sentence, completeness: 0, total: cap(labels.sentence.total) };
  const continuous = labels.continuous && {
    ...labels.continuous,
    sentence: { ...labels.continuous.sentence, completeness: 0, total: cap(labels.continuous.sentence.total) },
  };
  return { labels: { ...labels, sentence, ...(continuous ? { continuous } : {}) }, contentMatch, flags: ['READ_WRONG_TEXT'] };
}
