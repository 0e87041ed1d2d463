/**
 * A line item's grading policy: how the grade posted for a user is made from every reading they
 * submitted to that line item, each counted by its latest human labels when a rater scored it (a
 * teacher's judgement overrides the model's, as a manual grade does in an LMS quiz), else by its
 * latest model assessment. LMS quizzes offer the same choice (latest, highest or average attempt);
 * a practice column usually wants BEST, a progress column MEAN.
 *
 * A reading of another sentence (READ_WRONG_TEXT) is no reading of the task: under BEST and MEAN it
 * is left out, and while nothing else is there the reading just assessed is posted as PENDING_MANUAL,
 * as under LATEST.
 */
import type { LtiGradingPolicy, LtiGradingProgress, LtiScoreAspect, Prisma } from '../generated/prisma/client.js';
import { aspectValue, gradingProgressFor, MAX_COMMENT_CHARS, type SentenceScoresRow } from './score.js';

/** One reading as a grade sees it: the line item's aspect on 0-10, and whether it read the task. */
export interface Reading {
  value: number;
  wrongText: boolean;
}

export interface Grade {
  /** On our 0-10 scale (scaled to the line item's maximum when posted). */
  value: number;
  gradingProgress: LtiGradingProgress;
  /** How many readings the grade was made from. */
  attemptsGraded: number;
}

export function readingOf(scores: SentenceScoresRow, flags: readonly string[], aspect: LtiScoreAspect): Reading {
  return { value: aspectValue(scores, aspect), wrongText: gradingProgressFor(flags) === 'PENDING_MANUAL' };
}

/** The grade under `policy`, from the reading just assessed and the user's other readings for the line item. */
export function gradeOf(policy: LtiGradingPolicy, current: Reading, others: readonly Reading[]): Grade {
  const alone: Grade = { value: current.value, gradingProgress: current.wrongText ? 'PENDING_MANUAL' : 'FULLY_GRADED', attemptsGraded: 1 };
  if (policy === 'LATEST') return alone;
  const task = [current, ...others].filter((r) => !r.wrongText).map((r) => r.value);
  if (task.length === 0) return alone;
  const value = policy === 'BEST' ? Math.max(...task) : task.reduce((sum, v) => sum + v, 0) / task.length;
  return { value, gradingProgress: 'FULLY_GRADED', attemptsGraded: task.length };
}

/**
 * The comment posted with the grade: under BEST and MEAN a first line says what the grade is made
 * of (the rationale that follows is the latest reading's, which may not be the best one).
 */
export function gradeComment(policy: LtiGradingPolicy, grade: Grade, rationale: string | null): string | null {
  const lead = policy === 'LATEST' || grade.gradingProgress === 'PENDING_MANUAL' ? null
    : `Grade: the ${policy === 'BEST' ? 'best' : 'mean'} of ${grade.attemptsGraded} reading${grade.attemptsGraded === 1 ? '' : 's'}; feedback on the latest.`;
  const comment = [lead, rationale].filter((s): s is string => !!s).join('\n\n');
  return comment ? comment.slice(0, MAX_COMMENT_CHARS) : null;
}

/** 'SMLG' as an int4: the advisory lock namespace of "a grade of this line item and user is being computed". */
const GRADE_LOCK_NAMESPACE = 0x534d4c47;

/** What a grade's timestamp is chosen from, read under the grade lock (lockGrade). */
export interface GradeClock {
  /** The user's newest grade on the line item, as stamped; null when there is none. */
  lastScoredAt: Date | null;
  /** The database's clock (clock_timestamp()) once the lock was taken. */
  now: Date;
}

/**
 * Takes the transaction lock on (line item, user) and reads when the user's newest grade there was
 * stamped, and the database's clock. Two readings completing at once would each miss the other's
 * uncommitted assessment; this way the second waits, then reads the first (READ COMMITTED reads
 * afresh per statement), so the later grade counts both, and is stamped after the other (AGS keeps
 * the score with the latest timestamp). Every grade is stamped from this one clock, read after the
 * lock: a grade stamped by the previous holder committed before, so before this reading of it,
 * whatever the clocks of the processes that computed them.
 */
export async function lockGrade(tx: Prisma.TransactionClient, at: { lineItemId: string; userId: string }): Promise<GradeClock> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${GRADE_LOCK_NAMESPACE}::int4, hashtext(${`${at.lineItemId}:${at.userId}`}))`;
  const [row] = await tx.$queryRaw<{ at: Date | null; now: Date }[]>`
    SELECT max("scoredAt") AS at, clock_timestamp() AS now FROM "LtiScore" WHERE "lineItemId" = ${at.lineItemId}::uuid AND "userId" = ${at.userId}`;
  return { lastScoredAt: row?.at ?? null, now: row?.now ?? new Date() };
}

/** The comment of a grade made from a reading a rater scored (a HUMAN assessment has no rationale). */
export const RATED_READING_COMMENT = 'Scored by your teacher.';

/** One of a user's readings for a line item, by its latest HUMAN assessment, else its latest MODEL one. */
export interface AssessedReading extends Reading {
  utteranceId: string;
  assessmentId: string;
  /** True when a rater's labels score it (its assessment is HUMAN). */
  rated: boolean;
  /** The comment a grade made from this reading carries: the model's rationale, or RATED_READING_COMMENT. */
  rationale: string | null;
}

/**
 * The user's readings for the line item, newest submission first: every submission (but
 * `exceptUtteranceId`, or only `onlyUtteranceId`, when given), each by its latest HUMAN assessment
 * when a rater scored it, else its latest MODEL assessment; readings with neither are not counted.
 * A rater's scores are read as a reading of the task: the rater heard what was said. Call it under
 * lockGrade.
 */
export async function userReadings(
  tx: Prisma.TransactionClient,
  at: { organizationId: string; lineItemId: string; userId: string; aspect: LtiScoreAspect; exceptUtteranceId?: string; onlyUtteranceId?: string },
): Promise<AssessedReading[]> {
  const except = at.exceptUtteranceId ?? null;
  const only = at.onlyUtteranceId ?? null;
  const rows = await tx.$queryRaw<(SentenceScoresRow & { flags: string[]; utteranceId: string; assessmentId: string; rated: boolean; rationale: string | null })[]>`
    SELECT s."utteranceId"::text AS "utteranceId", a."id"::text AS "assessmentId", a."accuracy", a."fluency", a."prosody", a."completeness", a."total", a."flags",
           a."source" = 'HUMAN' AS "rated", r."text" AS "rationale"
    FROM "LtiSubmission" s
    JOIN "Utterance" u ON u."id" = s."utteranceId"
    JOIN LATERAL (
      SELECT x."id", x."accuracy", x."fluency", x."prosody", x."completeness", x."total", x."flags", x."source" FROM "Assessment" x
      WHERE x."organizationId" = ${at.organizationId}::uuid AND x."utteranceId" = s."utteranceId"
      ORDER BY x."source" = 'HUMAN' DESC, x."createdAt" DESC, x."id" DESC LIMIT 1
    ) a ON true
    LEFT JOIN "Rationale" r ON r."assessmentId" = a."id"
    WHERE s."organizationId" = ${at.organizationId}::uuid AND s."lineItemId" = ${at.lineItemId}::uuid
      AND s."userId" = ${at.userId} AND (${except}::uuid IS NULL OR s."utteranceId" <> ${except}::uuid)
      AND (${only}::uuid IS NULL OR s."utteranceId" = ${only}::uuid)
    ORDER BY u."createdAt" DESC, u."id" DESC`;
  return rows.map((r) => ({
    ...(r.rated ? { value: aspectValue(r, at.aspect), wrongText: false } : readingOf(r, r.flags, at.aspect)),
    utteranceId: r.utteranceId,
    assessmentId: r.assessmentId,
    rated: r.rated,
    rationale: r.rated ? RATED_READING_COMMENT : r.rationale,
  }));
}

/**
 * When a grade is stamped: the database's clock, or just after the newest timestamp the platform may
 * hold when that one is not behind it: the user's previous grade, and `notBefore`, a grade sent
 * before that is gone now (a deleted reading's, whose score went with it). Grades stored before they
 * came from the database's clock were stamped by whichever process computed them, maybe ahead of it.
 */
export function gradeTimestamp(clock: GradeClock, notBefore: Date | null = null): Date {
  const floor = [clock.lastScoredAt, notBefore].reduce<Date | null>((a, b) => (b && (!a || b > a) ? b : a), null);
  return floor && floor.getTime() >= clock.now.getTime() ? new Date(floor.getTime() + 1) : clock.now;
}
