/**
 * Re-grading: a user's grade on a line item computed again from every reading they still have, under
 * the line item's current aspect, maximum and grading policy, and posted (an LtiScore and its
 * LTI_SCORE delivery, stamped after the user's previous grade so the gradebook keeps it). LMS
 * quizzes do the same when a teacher changes how attempts are graded.
 *
 * Three causes: an admin's regradeLtiLineItem (after updateLtiLineItem changed the policy, aspect or
 * maximum, or to post again what a gradebook lost); deleteUtterance, whose reading may have been
 * the one the grade was made from; and attachHumanLabels, whose rater's scores now count for the
 * reading (and settle a PendingManual grade).
 */
import type { LtiLineItem, LtiScoreReason, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, updateAuditDetails, type Actor } from '../admin/audit.js';
import { emitEvent } from '../outbox/events.js';
import { runTransaction } from '../db/transaction.js';
import { scaleScore } from './score.js';
import { gradeComment, gradeOf, gradeTimestamp, lockGrade, userReadings, type AssessedReading } from './grading.js';

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
  at: {
    organizationId: string; lineItem: LtiLineItem; userId: string; eventId: string; reason: Extract<LtiScoreReason, 'REGRADED' | 'READING_DELETED' | 'HUMAN_LABELS'>;
    /** The reading whose change asks for the grade: under LATEST nothing is posted unless it is the newest (the grade would not change). */
    changedUtteranceId?: string;
  },
): Promise<string | null> {
  const { lineItem, userId } = at;
  const lastScoredAt = await lockGrade(tx, { lineItemId: lineItem.id, userId });
  const readings = await heldReadings(tx, { organizationId: at.organizationId, lineItemId: lineItem.id, userId, aspect: lineItem.aspect });
  const [newest, ...others] = readings;
  if (!newest) return null;
  if (at.changedUtteranceId && lineItem.gradingPolicy === 'LATEST' && newest.utteranceId !== at.changedUtteranceId) return null;
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

/**
 * The user's readings with their assessments held FOR KEY SHARE until commit. An erasure or deletion
 * removing some meanwhile (an erasure takes no grade lock) either committed first, and those readings
 * are left out (the hold skips rows deleted by then), or waits for this transaction; without the hold
 * the score's insert would fail on an assessment deleted under it.
 */
async function heldReadings(tx: Tx, at: Parameters<typeof userReadings>[1]): Promise<AssessedReading[]> {
  const readings = await userReadings(tx, at);
  if (readings.length === 0) return readings;
  const held = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "Assessment" WHERE "id" = ANY(${readings.map((r) => r.assessmentId)}::uuid[]) ORDER BY "id" FOR KEY SHARE`;
  const kept = new Set(held.map((h) => h.id));
  return readings.filter((r) => kept.has(r.assessmentId));
}

/**
 * Inside the transaction that stored a rater's labels for a reading (after its event `eventId`): when
 * the reading was submitted to a line item, its user's grade made again, the reading now counted by
 * the rater's scores. The line item held FOR KEY SHARE, then the grade lock, as a completing reading
 * takes them. Returns 1 when a grade was queued, else 0 (no submission, its line item deleted, or
 * under LATEST a reading that is not the user's newest: the grade is the newest one's).
 */
export async function regradeRatedReading(tx: Tx, at: { organizationId: string; utteranceId: string; eventId: string }): Promise<number> {
  const submission = await tx.ltiSubmission.findUnique({ where: { utteranceId: at.utteranceId }, select: { lineItemId: true, userId: true } });
  const lineItem = submission ? await holdLineItem(tx, submission.lineItemId) : null;
  if (!submission || !lineItem) return 0;
  const queued = await queueRegrade(tx, {
    organizationId: at.organizationId, lineItem, userId: submission.userId, eventId: at.eventId, reason: 'HUMAN_LABELS', changedUtteranceId: at.utteranceId,
  });
  return queued ? 1 : 0;
}

export interface RegradeResult {
  lineItem: LtiLineItem;
  /** Users whose grade was queued. */
  usersRegraded: number;
  /** Users asked for (or found) without an assessed reading: nothing posted for them. */
  usersWithoutReadings: number;
}

/** Users re-graded per transaction: short transactions, so a reading completing meanwhile never waits long for its user's grade lock. */
export const REGRADE_BATCH = 100;

/**
 * regradeLtiLineItem: every user with a submission to the line item (or those of `userIds`), one
 * grade each. A first transaction takes the users and writes the `ltiLineItem.regraded` event and
 * the audit record; then batches of REGRADE_BATCH users, each its own transaction holding the line
 * item FOR SHARE (its settings cannot change during a batch; a change between batches applies to
 * the batches after it; a deletion ends the re-grade). Assessments completing meanwhile still grade:
 * each user's grade lock orders them with this one, and the later grade counts every reading.
 */
export async function regradeLineItem(
  prisma: PrismaClient,
  organizationId: string,
  lineItemId: string,
  userIds: readonly string[] | null,
  actor: Actor,
  batchSize = REGRADE_BATCH,
): Promise<RegradeResult> {
  if (userIds && userIds.length > MAX_REGRADE_USER_IDS) {
    throw badInput(`At most ${MAX_REGRADE_USER_IDS} user ids per re-grade.`, 'userIds', { max: MAX_REGRADE_USER_IDS });
  }
  const start = await runTransaction(prisma, async (tx) => {
    const lineItem = await shareLineItem(tx, organizationId, lineItemId);
    if (!lineItem) throw new AppError('NOT_FOUND', 'No such LTI line item.');
    const users = await submittingUsers(tx, lineItem, userIds);
    // Written before the grades are queued: each batch's deliveries hang off this event.
    const eventId = await emitEvent(tx, {
      organizationId, learnerId: null, type: 'ltiLineItem.regraded',
      data: { lineItem: { id: toGlobalId('LtiLineItem', lineItem.id), url: lineItem.url, label: lineItem.label, ...settingsOf(lineItem) }, users: users.length },
    });
    const auditId = await recordAudit(tx, {
      organizationId, actor, action: 'ltiLineItem.regraded', targetType: 'LtiLineItem', targetId: lineItem.id,
      details: { users: users.length, ...settingsOf(lineItem) },
    });
    return { lineItem, users, eventId, auditId };
  });
  let usersRegraded = 0;
  let usersDone = 0;
  const record = (extra: Record<string, unknown>) =>
    updateAuditDetails(prisma, start.auditId, { users: start.users.length, usersRegraded, usersWithoutReadings: usersDone - usersRegraded, ...settingsOf(start.lineItem), ...extra });
  try {
    for (let i = 0; i < start.users.length; i += batchSize) {
      const batch = start.users.slice(i, i + batchSize);
      const regraded = await runTransaction(prisma, async (tx) => {
        const lineItem = await shareLineItem(tx, organizationId, lineItemId);
        if (!lineItem) throw new AppError('NOT_FOUND', 'The LTI line item was deleted during the re-grade; its scores went with it.');
        let n = 0;
        // In user id order: two re-grades of the same line item take the users' grade locks in one order.
        for (const userId of batch) if (await queueRegrade(tx, { organizationId, lineItem, userId, eventId: start.eventId, reason: 'REGRADED' })) n++;
        return n;
      }, { timeout: 60_000, maxWait: 10_000 });
      usersRegraded += regraded;
      usersDone += batch.length;
    }
  } catch (e) {
    // The batches before stay committed and their grades are posted: say how far it went.
    await record({ incomplete: true });
    if (e instanceof AppError) e.extensions.usersRegraded = usersRegraded;
    // Anything else is masked at the edge (and logged); the audit record says how far it went.
    throw e;
  }
  const asked = userIds ? new Set(userIds).size : start.users.length;
  usersDone = asked; // users asked for without a submission count as without readings
  await record({});
  return { lineItem: start.lineItem, usersRegraded, usersWithoutReadings: asked - usersRegraded };
}

/** What a grade is computed under. */
const settingsOf = (l: LtiLineItem) => ({ aspect: l.aspect, scoreMaximum: l.scoreMaximum, gradingPolicy: l.gradingPolicy });

/** The organisation's line item held FOR SHARE until commit (no change or deletion meanwhile); null when there is none. */
async function shareLineItem(tx: Tx, organizationId: string, id: string): Promise<LtiLineItem | null> {
  const held = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR SHARE`;
  return held.length === 0 ? null : tx.ltiLineItem.findUnique({ where: { id } });
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
