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
import { createHash } from 'node:crypto';
import type { LtiLineItem, LtiRegrade, LtiScoreReason, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, updateAuditDetails, type Actor } from '../admin/audit.js';
import { emitEvent } from '../outbox/events.js';
import { runTransaction } from '../db/transaction.js';
import { isUniqueViolation } from '../db/errors.js';
import { checkIdempotencyKey } from '../assessment/submit.js';
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
    /**
     * The user's newest grade as it was before rows were deleted in this transaction (lockGrade's
     * `lastScoredAt` before deleteUtterance removed a reading, and its scores with it): the platform
     * still holds that one, so this grade is stamped after it.
     */
    notBefore?: Date | null;
  },
): Promise<string | null> {
  const { lineItem, userId } = at;
  const clock = await lockGrade(tx, { lineItemId: lineItem.id, userId });
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
      scoredAt: gradeTimestamp(clock, at.notBefore),
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
 * grade each. A first transaction writes the re-grade's LtiRegrade row, its `ltiLineItem.regraded`
 * event and the audit record; then batches of REGRADE_BATCH users in user id order, each its own
 * transaction holding the line item FOR SHARE (its settings cannot change during a batch; a change
 * between batches applies to the batches after it; a deletion ends the re-grade) and the row FOR
 * UPDATE, moving its cursor. Assessments completing meanwhile still grade: each user's grade lock
 * orders them with this one, and the later grade counts every reading.
 *
 * `idempotencyKey`, as submitUtterance's (src/assessment/submit.ts): the same key with the same line
 * item and user ids replays the re-grade it first started (going on from its cursor when it did not
 * finish, taking turns with a call still running it, so no user is re-graded twice); with another
 * line item or other user ids it is CONFLICT naming what differs.
 */
export async function regradeLineItem(
  prisma: PrismaClient,
  organizationId: string,
  lineItemId: string,
  userIds: readonly string[] | null,
  actor: Actor,
  options: { idempotencyKey?: string | null; batchSize?: number } = {},
): Promise<RegradeResult> {
  if (userIds && userIds.length > MAX_REGRADE_USER_IDS) {
    throw badInput(`At most ${MAX_REGRADE_USER_IDS} user ids per re-grade.`, 'userIds', { max: MAX_REGRADE_USER_IDS });
  }
  const idempotencyKey = checkIdempotencyKey(options.idempotencyKey, 'idempotencyKey');
  const request = { lineItemId, userIdsFingerprint: userIdsFingerprint(userIds) };
  const run = (idempotencyKey && await earlierRegrade(prisma, organizationId, idempotencyKey, request))
    || await startRegrade(prisma, organizationId, request, userIds, actor, idempotencyKey);
  return runBatches(prisma, run, userIds, options.batchSize ?? REGRADE_BATCH);
}

/** What an idempotency key remembers of a re-grade's request. */
interface RegradeRequest {
  lineItemId: string;
  userIdsFingerprint: string | null;
}

/** The distinct user ids, sorted, hashed: the same set in another order or with repeats is the same request. */
function userIdsFingerprint(userIds: readonly string[] | null): string | null {
  if (!userIds) return null;
  const sorted = [...new Set(userIds)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** The re-grade the key started, when the request is the same; CONFLICT when it is not; null when the key is new. */
async function earlierRegrade(prisma: PrismaClient, organizationId: string, idempotencyKey: string, request: RegradeRequest): Promise<LtiRegrade | null> {
  const earlier = await prisma.ltiRegrade.findUnique({ where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } } });
  if (!earlier) return null;
  const differs = [
    earlier.lineItemId !== request.lineItemId && 'lineItem',
    earlier.userIdsFingerprint !== request.userIdsFingerprint && 'userIds',
  ].filter((d): d is string => typeof d === 'string');
  if (differs.length > 0) {
    throw new AppError('CONFLICT', `idempotencyKey ${JSON.stringify(idempotencyKey)} was already used for a different re-grade (different ${differs.join(', ')}); use a new key.`, {
      idempotencyKey, differs,
    });
  }
  return earlier;
}

/** The re-grade's row, event and audit record, in one transaction; a concurrent call that created the key first is replayed. */
async function startRegrade(
  prisma: PrismaClient, organizationId: string, request: RegradeRequest, userIds: readonly string[] | null, actor: Actor, idempotencyKey: string | null,
): Promise<LtiRegrade> {
  try {
    return await runTransaction(prisma, async (tx) => {
      const lineItem = await shareLineItem(tx, organizationId, request.lineItemId);
      if (!lineItem) throw new AppError('NOT_FOUND', 'No such LTI line item.');
      const users = await countSubmittingUsers(tx, lineItem, userIds);
      // Written before the grades are queued: each batch's deliveries hang off this event.
      const eventId = await emitEvent(tx, {
        organizationId, learnerId: null, type: 'ltiLineItem.regraded',
        data: { lineItem: { id: toGlobalId('LtiLineItem', lineItem.id), url: lineItem.url, label: lineItem.label, ...settingsOf(lineItem) }, users },
      });
      const auditEventId = await recordAudit(tx, {
        organizationId, actor, action: 'ltiLineItem.regraded', targetType: 'LtiLineItem', targetId: lineItem.id,
        details: { users, ...settingsOf(lineItem) },
      });
      return tx.ltiRegrade.create({ data: { organizationId, lineItemId: lineItem.id, userIdsFingerprint: request.userIdsFingerprint, idempotencyKey, eventId, auditEventId } });
    });
  } catch (e) {
    if (idempotencyKey && isUniqueViolation(e)) {
      const earlier = await earlierRegrade(prisma, organizationId, idempotencyKey, request);
      if (earlier) return earlier;
    }
    throw e;
  }
}

/**
 * The re-grade's batches from its cursor until it is complete; its answer from its row. Batches a
 * concurrent call with the same key runs meanwhile are counted once (each moves the cursor under the
 * row's lock).
 */
async function runBatches(prisma: PrismaClient, start: LtiRegrade, userIds: readonly string[] | null, batchSize: number): Promise<RegradeResult> {
  const { organizationId, lineItemId } = start;
  let run = start;
  let lineItem: LtiLineItem | null = null;
  try {
    while (!run.completedAt) {
      ({ run, lineItem } = await runTransaction(prisma, async (tx) => {
        const held = await shareLineItem(tx, organizationId, lineItemId);
        if (!held) throw new AppError('NOT_FOUND', 'The LTI line item was deleted during the re-grade; its scores went with it.');
        const [locked] = await tx.$queryRaw<LtiRegrade[]>`SELECT * FROM "LtiRegrade" WHERE "id" = ${start.id}::uuid FOR UPDATE`;
        if (!locked || locked.completedAt) return { run: locked ?? run, lineItem: held };
        const batch = await submittingUsers(tx, held, userIds, locked.cursor, batchSize);
        let n = 0;
        // In user id order: two re-grades of the same line item take the users' grade locks in one order.
        for (const userId of batch) if (await queueRegrade(tx, { organizationId, lineItem: held, userId, eventId: locked.eventId, reason: 'REGRADED' })) n++;
        const done = batch.length < batchSize;
        const usersDone = locked.usersDone + batch.length;
        const usersRegraded = locked.usersRegraded + n;
        // Users asked for without a submission count as without readings.
        const asked = userIds ? new Set(userIds).size : usersDone;
        const updated = await tx.ltiRegrade.update({
          where: { id: locked.id },
          data: done
            ? { cursor: null, usersDone, usersRegraded, usersWithoutReadings: asked - usersRegraded, completedAt: new Date() }
            : { cursor: batch.at(-1)!, usersDone, usersRegraded },
        });
        return { run: updated, lineItem: held };
      }, { timeout: 60_000, maxWait: 10_000 }));
    }
  } catch (e) {
    // The batches before stay committed and their grades are posted: say how far it went.
    const reached = await prisma.ltiRegrade.findUnique({ where: { id: start.id } });
    const usersRegraded = reached?.usersRegraded ?? run.usersRegraded;
    await recordProgress(prisma, reached ?? run, lineItem, { incomplete: true });
    if (e instanceof AppError) e.extensions.usersRegraded = usersRegraded;
    // Anything else is masked at the edge (and logged); the audit record says how far it went.
    throw e;
  }
  await recordProgress(prisma, run, lineItem, {});
  return { lineItem: lineItem ?? await prisma.ltiLineItem.findUniqueOrThrow({ where: { id: lineItemId } }), usersRegraded: run.usersRegraded, usersWithoutReadings: run.usersWithoutReadings ?? 0 };
}

/** The audit record's details: how far the re-grade got, under which settings. */
async function recordProgress(prisma: PrismaClient, run: LtiRegrade, lineItem: LtiLineItem | null, extra: Record<string, unknown>): Promise<void> {
  const usersWithoutReadings = run.usersWithoutReadings ?? run.usersDone - run.usersRegraded;
  await updateAuditDetails(prisma, run.auditEventId, {
    users: run.usersDone, usersRegraded: run.usersRegraded, usersWithoutReadings, ...(lineItem ? settingsOf(lineItem) : {}), ...extra,
  });
}

/** What a grade is computed under. */
const settingsOf = (l: LtiLineItem) => ({ aspect: l.aspect, scoreMaximum: l.scoreMaximum, gradingPolicy: l.gradingPolicy });

/** The organisation's line item held FOR SHARE until commit (no change or deletion meanwhile); null when there is none. */
async function shareLineItem(tx: Tx, organizationId: string, id: string): Promise<LtiLineItem | null> {
  const held = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR SHARE`;
  return held.length === 0 ? null : tx.ltiLineItem.findUnique({ where: { id } });
}

/** Up to `take` users with a submission to the line item (only those of `userIds` when given) after `after`, in user id order. */
async function submittingUsers(tx: Tx, lineItem: LtiLineItem, userIds: readonly string[] | null, after: string | null, take: number): Promise<string[]> {
  const only = userIds ? [...userIds] : null;
  const rows = await tx.$queryRaw<{ userId: string }[]>`
    SELECT DISTINCT "userId" FROM "LtiSubmission"
     WHERE "organizationId" = ${lineItem.organizationId}::uuid AND "lineItemId" = ${lineItem.id}::uuid
       AND (${only}::text[] IS NULL OR "userId" = ANY(${only}::text[]))
       AND (${after}::text IS NULL OR "userId" > ${after}::text)
     ORDER BY "userId" LIMIT ${take}`;
  return rows.map((r) => r.userId);
}

/** How many users have a submission to the line item (only those of `userIds` when given). */
async function countSubmittingUsers(tx: Tx, lineItem: LtiLineItem, userIds: readonly string[] | null): Promise<number> {
  const only = userIds ? [...userIds] : null;
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT count(DISTINCT "userId")::int AS n FROM "LtiSubmission"
     WHERE "organizationId" = ${lineItem.organizationId}::uuid AND "lineItemId" = ${lineItem.id}::uuid
       AND (${only}::text[] IS NULL OR "userId" = ANY(${only}::text[]))`;
  return row?.n ?? 0;
}
