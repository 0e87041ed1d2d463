/**
 * Re-grading: a user's grade on a line item computed again from every reading they still have, under
 * the line item's current aspect, maximum and grading policy, and posted (an LtiScore and its
 * LTI_SCORE delivery, stamped after the user's previous grade so the gradebook keeps it). LMS
 * quizzes do the same when a teacher changes how attempts are graded.
 *
 * Two causes: an admin's regradeLtiLineItem (after updateLtiLineItem changed the policy, aspect or
 * maximum, or to post again what a gradebook lost), and deleteUtterance, whose reading may have been
 * the one the grade was made from.
 */
import type { LtiLineItem, LtiScoreReason, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { emitEvent } from '../outbox/events.js';
import { scaleScore } from './score.js';
import { gradeComment, gradeOf, gradeTimestamp, lockGrade, userReadings } from './grading.js';

type Tx = Prisma.TransactionClient;

/**
 * The line item, held FOR KEY SHARE until commit (as a completing reading holds it): a deletion or
 * change of it (FOR UPDATE) waits for this transaction. Null when it is gone.
 */
export async function holdLineItem(tx: Tx, id: string): Promise<LtiLineItem | null> {
  const held = await tx.$queryRaw<{ id: string }[]>`SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${id}::uuid FOR KEY SHARE`;
  return held.length === 0 ? null : tx.ltiLineItem.findUnique({ where: { id } });
}

/** At most this many user ids per regradeLtiLineItem (one grade each, in one transaction). */
export const MAX_REGRADE_USER_IDS = 1000;

/**
 * Inside a transaction: the user's grade from their readings (newest submission first: under LATEST
 * it is the newest reading's, the one a quiz's "last attempt" means), and its delivery on event
 * `eventId`. Null when the user has no assessed reading left (nothing is posted: AGS has no score
 * to post, and the gradebook keeps what it has).
 */
export async function queueRegrade(
  tx: Tx,
  at: { organizationId: string; lineItem: LtiLineItem; userId: string; eventId: string; reason: Extract<LtiScoreReason, 'REGRADED' | 'READING_DELETED'> },
): Promise<string | null> {
  const { lineItem, userId } = at;
  const lastScoredAt = await lockGrade(tx, { lineItemId: lineItem.id, userId });
  const [newest, ...others] = await userReadings(tx, { organizationId: at.organizationId, lineItemId: lineItem.id, userId, aspect: lineItem.aspect });
  if (!newest) return null;
  const grade = gradeOf(lineItem.gradingPolicy, newest, others);
  const score = await tx.ltiScore.create({
    data: {
      organizationId: at.organizationId,
      assessmentId: newest.assessmentId,
      lineItemId: lineItem.id,
      userId,
      scoreGiven: scaleScore(grade.value, lineItem.scoreMaximum),
      scoreMaximum: lineItem.scoreMaximum,
      comment: gradeComment(lineItem.gradingPolicy, grade, newest.rationale),
      gradingProgress: grade.gradingProgress,
      gradingPolicy: lineItem.gradingPolicy,
      attemptsGraded: grade.attemptsGraded,
      reason: at.reason,
      scoredAt: gradeTimestamp(lastScoredAt),
    },
  });
  await tx.delivery.create({ data: { organizationId: at.organizationId, eventId: at.eventId, channel: 'LTI_SCORE', ltiScoreId: score.id } });
  return score.id;
}

export interface RegradeResult {
  lineItem: LtiLineItem;
  /** Users whose grade was queued. */
  usersRegraded: number;
  /** Users asked for (or found) without an assessed reading: nothing posted for them. */
  usersWithoutReadings: number;
}

/**
 * regradeLtiLineItem: every user with a submission to the line item (or those of `userIds`), one
 * grade each, in one transaction with one `ltiLineItem.regraded` event and the audit record. The line
 * item is held FOR SHARE, so its settings cannot change meanwhile; assessments completing meanwhile
 * still grade (each user's grade lock orders them with this one).
 */
export async function regradeLineItem(
  prisma: PrismaClient,
  organizationId: string,
  lineItemId: string,
  userIds: readonly string[] | null,
  actor: Actor,
): Promise<RegradeResult> {
  if (userIds && userIds.length > MAX_REGRADE_USER_IDS) {
    throw badInput(`At most ${MAX_REGRADE_USER_IDS} user ids per re-grade.`, 'userIds', { max: MAX_REGRADE_USER_IDS });
  }
  return prisma.$transaction(async (tx) => {
    const held = await tx.$queryRaw<{ id: string }[]>`
      SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${lineItemId}::uuid AND "organizationId" = ${organizationId}::uuid FOR SHARE`;
    if (held.length === 0) throw new AppError('NOT_FOUND', 'No such LTI line item.');
    const lineItem = await tx.ltiLineItem.findUniqueOrThrow({ where: { id: lineItemId } });
    const users = await submittingUsers(tx, lineItem, userIds);
    const eventId = await emitEvent(tx, {
      organizationId, learnerId: null, type: 'ltiLineItem.regraded',
      data: {
        lineItem: { id: toGlobalId('LtiLineItem', lineItem.id), url: lineItem.url, label: lineItem.label, aspect: lineItem.aspect, scoreMaximum: lineItem.scoreMaximum, gradingPolicy: lineItem.gradingPolicy },
        users: users.length,
      },
    });
    let usersRegraded = 0;
    // In user id order: two re-grades of the same line item take the users' grade locks in one order.
    for (const userId of users) {
      if (await queueRegrade(tx, { organizationId, lineItem, userId, eventId, reason: 'REGRADED' })) usersRegraded++;
    }
    const usersWithoutReadings = (userIds ? new Set(userIds).size : users.length) - usersRegraded;
    await recordAudit(tx, {
      organizationId, actor, action: 'ltiLineItem.regraded', targetType: 'LtiLineItem', targetId: lineItem.id,
      details: { usersRegraded, usersWithoutReadings, aspect: lineItem.aspect, scoreMaximum: lineItem.scoreMaximum, gradingPolicy: lineItem.gradingPolicy },
    });
    return { lineItem, usersRegraded, usersWithoutReadings };
  }, { timeout: 120_000, maxWait: 10_000 });
}

/** The users with a submission to the line item (only those of `userIds` when given), in user id order. */
async function submittingUsers(tx: Tx, lineItem: LtiLineItem, userIds: readonly string[] | null): Promise<string[]> {
  const rows = await tx.ltiSubmission.findMany({
    where: { organizationId: lineItem.organizationId, lineItemId: lineItem.id, ...(userIds ? { userId: { in: [...userIds] } } : {}) },
    distinct: ['userId'],
    select: { userId: true },
    orderBy: { userId: 'asc' },
  });
  return rows.map((r) => r.userId);
}
