/**
 * Score passback through the outbox: a completed assessment of a submission that named a line item
 * owes an LtiScore, written with its LTI_SCORE Delivery in the completing transaction (so a score
 * is never lost nor invented when a process dies); a job that fails for good may owe a Failed one. The outbox's DeliveryWorker claims, leases,
 * fences, retries and logs that delivery like a webhook's; `attemptLtiScore` is its one attempt.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { AttemptRecord, AttemptVerdict, ClaimedDelivery } from '../outbox/store.js';
import { retryOrFail, type RetrySchedule } from '../outbox/schedule.js';
import { OutboundError } from '../outbox/http.js';
import { scaleScore, SCORE_MEDIA_TYPE, scoreBody, scoresUrl, type SentenceScoresRow } from './score.js';
import { gradeComment, gradeOf, gradeTimestamp, lockGrade, readingOf, userReadings } from './grading.js';
import { LOCK_BUSY, skippableUnderLock } from '../db/lock-timeout.js';
import { TokenError, type LtiTokenClient } from './token.js';
import type { HttpAnswer, HttpPost } from './http.js';
import { UnboundOriginError } from './origins.js';

/** The line item (held FOR KEY SHARE until commit) and LTI user a reading's submission named; null when none. */
async function heldSubmission(tx: Prisma.TransactionClient, utteranceId: string) {
  const named = await tx.ltiSubmission.findUnique({ where: { utteranceId }, select: { lineItemId: true } });
  if (!named) return null;
  // Held until commit, then read afresh: a deletion or change of the mapping (updateLtiLineItem,
  // deleteLtiLineItem lock it FOR UPDATE) either committed before, and is seen, or waits for this
  // transaction. Without it the score's insert would fail on a line item deleted meanwhile, failing the job.
  const held = await tx.$queryRaw<{ id: string }[]>`SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${named.lineItemId}::uuid FOR KEY SHARE`;
  if (held.length === 0) return null;
  return tx.ltiSubmission.findUnique({ where: { utteranceId }, include: { lineItem: true } });
}

/**
 * Inside the completing transaction, after the assessment and its assessment.completed event
 * (`eventId`) are written: the score for the line item the submission named, computed now (a later
 * change of the mapping does not rewrite a score already owed), and its delivery.
 */
export async function queueLtiScore(
  tx: Prisma.TransactionClient,
  assessment: { id: string; organizationId: string; utteranceId: string; scores: SentenceScoresRow; comment: string | null; flags: readonly string[] },
  eventId: string,
): Promise<string | null> {
  const submission = await heldSubmission(tx, assessment.utteranceId);
  if (!submission) return null;
  const { lineItem } = submission;
  const policy = lineItem.gradingPolicy;
  const clock = await lockGrade(tx, { lineItemId: lineItem.id, userId: submission.userId });
  const at = { organizationId: assessment.organizationId, lineItemId: lineItem.id, userId: submission.userId, aspect: lineItem.aspect };
  const others = policy === 'LATEST' ? [] : await userReadings(tx, { ...at, exceptUtteranceId: assessment.utteranceId });
  // A reading a rater scored is counted by the rater's scores, even when the model assesses it again.
  const [rated] = (await userReadings(tx, { ...at, onlyUtteranceId: assessment.utteranceId })).filter((r) => r.rated);
  const current = rated ?? readingOf(assessment.scores, assessment.flags, lineItem.aspect);
  const grade = gradeOf(policy, current, others);
  const score = await tx.ltiScore.create({
    data: {
      organizationId: assessment.organizationId,
      // The assessment the grade's reading is counted by: the rater's, for a reading a rater scored.
      assessmentId: rated ? rated.assessmentId : assessment.id,
      lineItemId: lineItem.id,
      userId: submission.userId,
      scoreGiven: scaleScore(grade.value, lineItem.scoreMaximum),
      scoreMaximum: lineItem.scoreMaximum,
      comment: gradeComment(policy, grade, rated ? rated.rationale : assessment.comment),
      gradingProgress: grade.gradingProgress,
      gradingPolicy: policy,
      attemptsGraded: grade.attemptsGraded,
      // Under the grade's lock and after the user's previous grade: the gradebook keeps the newest.
      scoredAt: gradeTimestamp(clock),
    },
  });
  await tx.delivery.create({ data: { organizationId: assessment.organizationId, eventId, channel: 'LTI_SCORE', ltiScoreId: score.id } });
  return score.id;
}

/** What the learner reads in the gradebook beside a Failed score (no internal detail: the code says what kind of failure). */
export function failureComment(errorCode: string | null): string {
  const unreadable = errorCode === 'CORRUPT_AUDIO' || errorCode === 'UNSUPPORTED_MEDIA_TYPE';
  return `${unreadable ? 'Your recording could not be read' : 'Your recording could not be assessed'}, so it has no grade. Please record it again.`;
}

/**
 * Inside the transaction that marks a job FAILED, after its assessment.failed event (`eventId`): when
 * the reading's submission named a line item and the user has no grade there yet, a score without
 * scoreGiven posted as AGS Failed (activityProgress Submitted), so the gradebook shows that the
 * learner submitted and grading failed rather than nothing. When the user has a grade (an earlier
 * reading), nothing is posted: AGS keeps the latest score, and a Failed one would hide that grade
 * (Canvas ignores scoreGiven under Failed). A later reading's grade supersedes this score (it is
 * stamped after it, under the same lock).
 */
export async function queueLtiFailure(
  tx: Prisma.TransactionClient,
  job: { id: string; organizationId: string; utteranceId: string; errorCode: string | null },
  eventId: string,
): Promise<string | null> {
  const submission = await heldSubmission(tx, job.utteranceId);
  if (!submission) return null;
  const { lineItem } = submission;
  // Under the grade lock, as every grade is computed; but a lock held for long (a grade or a
  // deletion of this user's in progress, a hash collision) is not waited out in the queue's failure
  // transaction: after GRADE_LOCK_WAIT_MS the Failed score is skipped (the job still fails).
  const queued = await skippableUnderLock(tx, GRADE_LOCK_WAIT_MS, async () => {
    const clock = await lockGrade(tx, { lineItemId: lineItem.id, userId: submission.userId });
    const graded = await tx.ltiScore.findFirst({ where: { lineItemId: lineItem.id, userId: submission.userId, gradingProgress: { not: 'FAILED' } }, select: { id: true } });
    if (graded) return null;
    const score = await tx.ltiScore.create({
      data: {
        organizationId: job.organizationId,
        jobId: job.id,
        lineItemId: lineItem.id,
        userId: submission.userId,
        scoreGiven: null,
        scoreMaximum: lineItem.scoreMaximum,
        comment: failureComment(job.errorCode),
        gradingProgress: 'FAILED',
        reason: 'GRADING_FAILED',
        gradingPolicy: lineItem.gradingPolicy,
        attemptsGraded: 0,
        scoredAt: gradeTimestamp(clock),
      },
    });
    await tx.delivery.create({ data: { organizationId: job.organizationId, eventId, channel: 'LTI_SCORE', ltiScoreId: score.id } });
    return score.id;
  });
  return queued === LOCK_BUSY ? null : queued;
}

/** How long a failing job waits for the user's grade lock before it posts no Failed score. */
const GRADE_LOCK_WAIT_MS = 2_000;

/** 408, 429 and 5xx pass on a retry (401 too, after the one token refresh); a platform that refuses the score itself (400, 403, 404, 422, 3xx …) will refuse it again. */
export function classifyScoreAnswer(status: number): 'delivered' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 401 || status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

export interface LtiChannelDeps {
  prisma: PrismaClient;
  /** One per process: tokens are cached across deliveries. */
  tokens: LtiTokenClient;
  post: HttpPost;
  schedule: RetrySchedule;
  random?: () => number;
}

/**
 * One attempt of a claimed LTI_SCORE delivery: a token (cached), POST the score; on 401 a fresh
 * token and one more POST. Network errors and token endpoint refusals are retried (they may be
 * mended on the platform's side: a JWKS URL entered, a server back up); an address the policy
 * refuses fails at once, as for webhooks.
 */
export async function attemptLtiScore(deps: LtiChannelDeps, d: ClaimedDelivery, signal: AbortSignal): Promise<AttemptRecord> {
  const startedAt = new Date();
  const started = performance.now();
  const record = (verdict: AttemptVerdict, statusCode: number | null, errorCode: string | null, error: string | null, responseBody: string | null = null): AttemptRecord => ({
    verdict, startedAt, durationMs: Math.round(performance.now() - started), statusCode, errorCode, error, responseBody,
  });
  const retry = () => retryOrFail(d.attempts, deps.schedule, null, deps.random);
  const score = d.ltiScoreId
    ? await deps.prisma.ltiScore.findUnique({ where: { id: d.ltiScoreId }, include: { lineItem: { include: { platform: true } } } })
    : null;
  if (!score) return record({ kind: 'failed' }, null, 'SCORE_DELETED', 'The score or its line item no longer exists.');
  const { platform } = score.lineItem;
  const url = scoresUrl(score.lineItem.url);
  const post = async (refresh: boolean): Promise<HttpAnswer> => {
    const token = await deps.tokens.token(platform, url, { refresh });
    return deps.post(url, {
      headers: { 'content-type': SCORE_MEDIA_TYPE, authorization: `Bearer ${token}` },
      body: JSON.stringify(scoreBody(score)),
      signal,
    });
  };
  try {
    let answer = await post(false);
    // The platform may have revoked the cached token before its expiry (401), or the token may
    // predate the platform allowing the score scope (403; a platform grants only allowed scopes):
    // one fresh token, once.
    if (answer.status === 401 || answer.status === 403) answer = await post(true);
    const outcome = classifyScoreAnswer(answer.status);
    const body = answer.text.slice(0, 1024) || null;
    if (outcome === 'delivered') return record({ kind: 'delivered' }, answer.status, null, null, body);
    const error = `scores endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`;
    return record(outcome === 'retry' ? retry() : { kind: 'failed' }, answer.status, 'HTTP_STATUS', error, body);
  } catch (e) {
    if (e instanceof OutboundError) {
      if (e.code === 'ABORTED') return record({ kind: 'release' }, null, e.code, e.message);
      if (e.code === 'ADDRESS_NOT_ALLOWED') return record({ kind: 'failed' }, null, e.code, e.message);
      return record(retry(), null, e.code, e.message);
    }
    if (e instanceof TokenError) return record(retry(), e.status, 'TOKEN_REFUSED', e.message);
    // Nothing was sent: retried, since an admin may list the origin in the platform's serviceOrigins meanwhile.
    if (e instanceof UnboundOriginError) return record(retry(), null, e.code, e.message);
    throw e;
  }
}
