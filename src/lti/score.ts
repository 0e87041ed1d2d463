/**
 * The AGS score (application/vnd.ims.lis.v1.score+json) of one assessment for one line item. Our
 * sentence scores are all on a 0-10 scale; the line item's own scale is 0..scoreMaximum.
 */
import type { LtiGradingProgress, LtiScoreAspect } from '../generated/prisma/client.js';
import { appendPath } from '../outbox/http.js';

export const SCORE_MEDIA_TYPE = 'application/vnd.ims.lis.v1.score+json';
/** Our sentence-level scale (accuracy, fluency, prosody, completeness, total). */
export const SENTENCE_SCALE_MAX = 10;
/** Platforms show the comment to the learner; a rationale is a few sentences, this is a safety cap. */
export const MAX_COMMENT_CHARS = 2000;

export interface SentenceScoresRow {
  accuracy: number;
  fluency: number;
  prosody: number;
  completeness: number;
  total: number;
}

export function aspectValue(scores: SentenceScoresRow, aspect: LtiScoreAspect): number {
  const byAspect: Record<LtiScoreAspect, number> = {
    TOTAL: scores.total,
    ACCURACY: scores.accuracy,
    FLUENCY: scores.fluency,
    PROSODY: scores.prosody,
    COMPLETENESS: scores.completeness,
  };
  return byAspect[aspect];
}

/** value on 0..10 → 0..scoreMaximum, to 4 decimals (multiplied first: 7 × 100 / 10 is exactly 70). */
export function scaleScore(value: number, scoreMaximum: number): number {
  const clamped = Math.min(Math.max(value, 0), SENTENCE_SCALE_MAX);
  return Math.round(((clamped * scoreMaximum) / SENTENCE_SCALE_MAX) * 10_000) / 10_000;
}

/** AGS's spelling of each grading progress we post. */
const AGS_GRADING_PROGRESS = { FULLY_GRADED: 'FullyGraded', PENDING_MANUAL: 'PendingManual', FAILED: 'Failed' } as const satisfies Record<LtiGradingProgress, string>;

export interface ScoreBody {
  userId: string;
  /** Left out of a Failed score: nothing was graded (AGS makes it optional, scoreMaximum then optional too). */
  scoreGiven?: number;
  scoreMaximum?: number;
  comment?: string;
  timestamp: string;
  /** Completed once graded; Submitted for a Failed score (the learner did submit; the grading failed). */
  activityProgress: 'Completed' | 'Submitted';
  gradingProgress: (typeof AGS_GRADING_PROGRESS)[LtiGradingProgress];
}

/**
 * A reading of another sentence (the assessment's READ_WRONG_TEXT flag) is not a grade of the task:
 * its score is posted as PendingManual, which AGS defines as "requires human intervention", so a
 * platform shows it as awaiting the teacher rather than as final.
 */
export function gradingProgressFor(flags: readonly string[]): LtiGradingProgress {
  return flags.includes('READ_WRONG_TEXT') ? 'PENDING_MANUAL' : 'FULLY_GRADED';
}

export function scoreBody(d: {
  userId: string; scoreGiven: number | null; scoreMaximum: number; comment: string | null; scoredAt: Date; gradingProgress: LtiGradingProgress;
}): ScoreBody {
  return {
    userId: d.userId,
    ...(d.scoreGiven !== null ? { scoreGiven: d.scoreGiven, scoreMaximum: d.scoreMaximum } : {}),
    ...(d.comment ? { comment: d.comment } : {}),
    // toISOString: milliseconds and the UTC offset "Z", as AGS asks.
    timestamp: d.scoredAt.toISOString(),
    activityProgress: d.gradingProgress === 'FAILED' ? 'Submitted' : 'Completed',
    gradingProgress: AGS_GRADING_PROGRESS[d.gradingProgress],
  };
}

/** `{lineItemUrl}/scores`, keeping the line item's query string (some platforms put ids there). */
export function scoresUrl(lineItemUrl: string): string {
  return appendPath(lineItemUrl, 'scores');
}
