/**
 * Re-posting scores to LMS gradebooks after a failure (ADMIN), by src/outbox/resend.ts's rules.
 * AGS keeps the latest score per line item and user (a platform ignores a score older than the one
 * it holds), so only a learner's latest score is worth re-posting: re-sending an older one is
 * CONFLICT, and the bulk re-send picks each learner's latest failed score and nothing else.
 */
import type { Delivery, LtiScore, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { capped, insertResends, MAX_BULK_RESEND, resendOne, type BulkResent } from '../outbox/resend.js';

type Tx = Prisma.TransactionClient;

/*
 * Lock order, the one deletions take: line item, then score, then event, then delivery. Erasing a
 * learner deletes assessments (cascading to scores and their deliveries) before the learner's
 * events, and deleteLtiLineItem locks the line item before its scores; a re-send that locked the
 * event or the delivery first could wait on one of them while it waited on the re-send.
 */

/** Shares the line item: a bulk re-send of it (FOR NO KEY UPDATE) waits, and so does its deletion. */
async function shareLineItem(tx: Tx, lineItemId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM "LtiLineItem" WHERE "id" = ${lineItemId}::uuid FOR SHARE`;
}

/** Holds scores until commit (their deletion waits) and returns those still there. */
async function holdScores(tx: Tx, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "LtiScore" WHERE "id" = ANY(${ids}::uuid[]) ORDER BY "id" FOR KEY SHARE`;
  return new Set(rows.map((r) => r.id));
}

/** CONFLICT when a later score of the same line item and user exists: the platform keeps that one. */
async function requireLatestScore(tx: Tx, ltiScoreId: string): Promise<void> {
  const score = await tx.ltiScore.findUniqueOrThrow({ where: { id: ltiScoreId } });
  const later = await tx.ltiScore.findFirst({
    where: {
      lineItemId: score.lineItemId,
      userId: score.userId,
      OR: [{ scoredAt: { gt: score.scoredAt } }, { scoredAt: score.scoredAt, id: { gt: score.id } }],
    },
    orderBy: [{ scoredAt: 'desc' }, { id: 'desc' }],
    include: { deliveries: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 1, select: { id: true } } },
  });
  if (!later) return;
  const laterDelivery = later.deliveries[0];
  throw new AppError(
    'CONFLICT',
    'A later score of this line item and user exists; the platform keeps the latest score, so this one would not show. Re-send the later one (supersededBy) if it failed.',
    { supersededBy: laterDelivery ? toGlobalId('GradeDelivery', laterDelivery.id) : null },
  );
}

/**
 * Posts a grade delivery's score again (the same score, with its original `timestamp`). PENDING:
 * tried now; DELIVERED or FAILED: a new delivery, which is returned. CONFLICT while an attempt is in
 * flight, or when a later score of the same line item and user supersedes it.
 */
export async function resendGradeDelivery(
  prisma: PrismaClient,
  where: { organizationId: string; id: string },
  actor: Actor,
): Promise<Delivery & { ltiScore: LtiScore }> {
  return prisma.$transaction(async (tx) => {
    const found = await tx.delivery.findFirst({ where: { ...where, channel: 'LTI_SCORE' }, select: { ltiScore: { select: { id: true, lineItemId: true } } } });
    if (found?.ltiScore) {
      await shareLineItem(tx, found.ltiScore.lineItemId);
      await holdScores(tx, [found.ltiScore.id]);
    }
    const { previous, result } = await resendOne(tx, { ...where, channel: 'LTI_SCORE' }, (delivery) => requireLatestScore(tx, delivery.ltiScoreId!));
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'gradeDelivery.resent', targetType: 'GradeDelivery', targetId: previous.id,
      details: { previousStatus: previous.status, deliveryId: toGlobalId('GradeDelivery', result.id) },
    });
    // As committed: read after the commit, a woken delivery worker may already be sending it.
    return { ...result, ltiScore: await tx.ltiScore.findUniqueOrThrow({ where: { id: result.ltiScoreId! } }) };
  });
}

/**
 * Recovery after a gradebook outage: for each user of the line item, their latest score, when it
 * became owed at or after `since` and every delivery of it FAILED, gets a new delivery (at most
 * MAX_BULK_RESEND, oldest first). Returns how many, and whether the cap left some.
 */
export async function resendFailedGradeDeliveries(
  prisma: PrismaClient,
  where: { organizationId: string; lineItemId: string },
  since: Date,
  actor: Actor,
): Promise<BulkResent> {
  if (Number.isNaN(since.getTime())) throw badInput('since is not a valid instant.', 'since');
  return prisma.$transaction(async (tx) => {
    // The line item, held so that bulk and single re-sends of it take turns (NO KEY: new scores may still refer to it).
    const items = await tx.$queryRaw<{ id: string }[]>`
      SELECT "id"::text AS "id" FROM "LtiLineItem"
       WHERE "id" = ${where.lineItemId}::uuid AND "organizationId" = ${where.organizationId}::uuid FOR NO KEY UPDATE`;
    if (items.length === 0) throw new AppError('NOT_FOUND', `No LtiLineItem with id "${toGlobalId('LtiLineItem', where.lineItemId)}".`);
    const failed = await tx.$queryRaw<{ ltiScoreId: string; eventId: string }[]>`
      SELECT s."id"::text AS "ltiScoreId", min(d."eventId"::text) AS "eventId"
        FROM "LtiScore" s JOIN "Delivery" d ON d."ltiScoreId" = s."id"
       WHERE s."lineItemId" = ${where.lineItemId}::uuid AND s."createdAt" >= ${since}
         AND NOT EXISTS (
           SELECT 1 FROM "LtiScore" n
            WHERE n."lineItemId" = s."lineItemId" AND n."userId" = s."userId"
              AND (n."scoredAt" > s."scoredAt" OR (n."scoredAt" = s."scoredAt" AND n."id" > s."id")))
       GROUP BY s."id"
      HAVING bool_and(d."status" = 'FAILED')
       ORDER BY min(s."scoredAt"), s."id"
       LIMIT ${MAX_BULK_RESEND + 1}`;
    const { rows, hasMore } = capped(failed);
    // A score erased since the selection is left out (its deletion waits on the rest until commit).
    const present = await holdScores(tx, rows.map((r) => r.ltiScoreId));
    const count = await insertResends(tx, where.organizationId, 'LTI_SCORE', rows.filter((r) => present.has(r.ltiScoreId)));
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'gradeDelivery.resent', targetType: 'LtiLineItem', targetId: where.lineItemId,
      details: { since: since.toISOString(), deliveries: count, hasMore },
    });
    return { count, hasMore };
  });
}
