/**
 * Score passback: a completed assessment of a submission that named a line item gets an
 * LtiScoreDelivery row, written in the completing transaction (so a score is never lost nor
 * invented when a process dies); `deliverLtiScore` then makes one attempt to post it and records
 * how it went. Whoever drives the retries (the delivery worker) calls it again while the outcome
 * is 'retry', after a backoff.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { aspectValue, MAX_COMMENT_CHARS, scaleScore, SCORE_MEDIA_TYPE, scoreBody, scoresUrl, type SentenceScoresRow } from './score.js';
import { TokenError, type LtiTokenClient } from './token.js';
import type { HttpAnswer, HttpPost } from './http.js';

/** Give up after this many attempts: with the backoff below, about 18 hours after the first (24 at most). */
export const LTI_MAX_ATTEMPTS = 15;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_CAP_MS = 4 * 3600_000;

/** Exponential backoff with full jitter over the second half: 30 s, 1 min, 2 min … 4 h. */
export function ltiBackoffMs(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Inside the completing transaction, after the assessment is written: one delivery for the line
 * item the submission named, with the score computed now (a later change of the mapping does not
 * rewrite a score already owed).
 */
export async function queueLtiScore(
  tx: Prisma.TransactionClient,
  assessment: { id: string; organizationId: string; utteranceId: string; scores: SentenceScoresRow; comment: string | null },
): Promise<string | null> {
  const submission = await tx.ltiSubmission.findUnique({ where: { utteranceId: assessment.utteranceId }, include: { lineItem: true } });
  if (!submission) return null;
  const { lineItem } = submission;
  const row = await tx.ltiScoreDelivery.create({
    data: {
      organizationId: assessment.organizationId,
      assessmentId: assessment.id,
      lineItemId: lineItem.id,
      userId: submission.userId,
      scoreGiven: scaleScore(aspectValue(assessment.scores, lineItem.aspect), lineItem.scoreMaximum),
      scoreMaximum: lineItem.scoreMaximum,
      comment: assessment.comment?.slice(0, MAX_COMMENT_CHARS) ?? null,
      scoredAt: new Date(),
    },
  });
  return row.id;
}

export type LtiOutcome =
  | { outcome: 'delivered'; httpStatus: number }
  | { outcome: 'retry' | 'failed'; httpStatus: number | null; error: string };

/** 408, 429 and 5xx pass on a retry; a platform that refuses the score itself (400, 403, 404, 422 …) will refuse it again. */
export function classifyScoreAnswer(status: number): 'delivered' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 401 || status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

export interface LtiDeliveryDeps {
  prisma: PrismaClient;
  tokens: LtiTokenClient;
  post: HttpPost;
}

type DeliveryWithTarget = Prisma.LtiScoreDeliveryGetPayload<{ include: { lineItem: { include: { platform: true } } } }>;

/**
 * One attempt, nothing recorded: token (cached), POST the score; on 401 a fresh token and one more
 * POST. Never throws for what the network or the platform did; the outcome says it.
 */
export async function attemptLtiScore(deps: Pick<LtiDeliveryDeps, 'tokens' | 'post'>, delivery: DeliveryWithTarget): Promise<LtiOutcome> {
  const { platform } = delivery.lineItem;
  const post = async (refresh: boolean): Promise<HttpAnswer> => {
    const token = await deps.tokens.token(platform, { refresh });
    return deps.post(scoresUrl(delivery.lineItem.url), {
      headers: { 'content-type': SCORE_MEDIA_TYPE, authorization: `Bearer ${token}` },
      body: JSON.stringify(scoreBody(delivery)),
    });
  };
  try {
    let answer = await post(false);
    // The platform may have revoked the cached token before its expiry: one fresh token, once.
    if (answer.status === 401) answer = await post(true);
    const outcome = classifyScoreAnswer(answer.status);
    if (outcome === 'delivered') return { outcome, httpStatus: answer.status };
    return { outcome, httpStatus: answer.status, error: `scores endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}` };
  } catch (e) {
    // The token endpoint's refusals and network errors (refused, reset, timeout) may all be fixed
    // on the platform's side (a JWKS URL entered, a server back up): retried until attempts run out.
    const status = e instanceof TokenError ? e.status : null;
    return { outcome: 'retry', httpStatus: status, error: (e as Error).message ?? String(e) };
  }
}

/** A delivery with its line item and platform, as attemptLtiScore needs it; null when gone (erased). */
export function loadLtiScoreDelivery(prisma: PrismaClient, deliveryId: string): Promise<DeliveryWithTarget | null> {
  return prisma.ltiScoreDelivery.findUnique({ where: { id: deliveryId }, include: { lineItem: { include: { platform: true } } } });
}

/**
 * Record an attempt's outcome on the delivery row (what `Assessment.gradeDeliveries` shows):
 * DELIVERED; PENDING with the next attempt's time; or FAILED when the platform refused for good or
 * the attempts ran out. Returns the outcome as recorded ('failed' also when attempts ran out).
 */
export async function recordLtiOutcome(
  prisma: PrismaClient,
  delivery: { id: string; attempts: number },
  result: LtiOutcome,
  now = () => new Date(),
): Promise<LtiOutcome> {
  const attempts = delivery.attempts + 1;
  if (result.outcome === 'delivered') {
    await prisma.ltiScoreDelivery.update({
      where: { id: delivery.id },
      data: { status: 'DELIVERED', attempts, deliveredAt: now(), lastHttpStatus: result.httpStatus, lastError: null },
    });
    return result;
  }
  const final = result.outcome === 'failed' || attempts >= LTI_MAX_ATTEMPTS;
  await prisma.ltiScoreDelivery.update({
    where: { id: delivery.id },
    data: {
      status: final ? 'FAILED' : 'PENDING',
      attempts,
      lastError: result.error,
      lastHttpStatus: result.httpStatus,
      nextAttemptAt: new Date(now().getTime() + (final ? 0 : ltiBackoffMs(attempts))),
    },
  });
  return final ? { ...result, outcome: 'failed' } : result;
}

/**
 * One attempt at a PENDING delivery, recorded on its row (loadLtiScoreDelivery, attemptLtiScore,
 * recordLtiOutcome). Null when the delivery is gone or not pending. Whoever drives the retries
 * calls it again at `nextAttemptAt` while the outcome is 'retry'; it does not fence concurrent
 * callers of one delivery (a claiming queue does that).
 */
export async function deliverLtiScore(deps: LtiDeliveryDeps, deliveryId: string, now = () => new Date()): Promise<LtiOutcome | null> {
  const delivery = await loadLtiScoreDelivery(deps.prisma, deliveryId);
  if (!delivery || delivery.status !== 'PENDING') return null;
  return recordLtiOutcome(deps.prisma, delivery, await attemptLtiScore(deps, delivery), now);
}
