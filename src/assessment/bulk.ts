/**
 * Bulk re-assessment: one request queues a new assessment of every utterance of a learner, of a
 * group (the learners whose groups contain it) or of the whole organisation, optionally only those
 * recorded since an instant. The reassessUtterances mutation and `npm run admin -- reassess` both
 * call startBulkReassessment.
 *
 * - A BulkOperation row records the selection and `total` (the utterances selected when it
 *   started, then, once every batch is queued, the jobs it queued); its jobs are BULK priority (src/jobs/queue.ts: interactive work goes first) and are
 *   created through createAssessmentJobs, the write path of every assessment job, in batches of
 *   BATCH_SIZE utterances, one transaction each: never one giant transaction.
 * - Progress is counted from the jobs (the bulkJobCounts loader: one grouped read on the
 *   (bulkOperationId, status) index).
 * - Cancelling deletes the operation's jobs that have not started (QUEUED); RUNNING ones finish.
 *   Batches not yet queued are not queued: each batch takes the operation's row lock and checks
 *   cancelledAt, and the cancel takes the same lock. `cancelled` = total minus the jobs left.
 * - An idempotency key (per organisation) returns the earlier operation for the same selection,
 *   and is CONFLICT for a different one.
 * - Its assessments post LTI grades only with `postGrades`, and send xAPI statements only with
 *   `sendStatements` (src/assessment/handler.ts asks).
 * - Starting and cancelling are in the audit log (bulkOperation.started, bulkOperation.cancelled),
 *   in the transaction that does it: a re-grade of the whole organisation can be traced to a key.
 * - Completion (every job queued and finished, not cancelled) sets completedAt and emits
 *   bulkOperation.completed once, under the operation's row lock (completeIfDone): checked when
 *   the last batch is queued, after each of its jobs settles (src/app.ts), and by the sweep (a job
 *   failed by an expired lease, a process that died in between).
 */
import type { BulkOperation, Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { log } from '../ops/log.js';
import { checkIdempotencyKey, createAssessmentJobs } from './submit.js';
import { cleanGroup } from '../learners/groups.js';
import { checkInstant } from '../instants.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { bulkOperationCompleted, emitEvent } from '../outbox/events.js';

export const BATCH_SIZE = 500;

/** Which utterances: exactly one of learnerId, groupExternalId, wholeOrganisation. */
export interface BulkSelection {
  learnerId?: string | null;
  groupExternalId?: string | null;
  wholeOrganisation?: boolean | null;
  since?: Date | null;
  /** Only utterances whose latest job FAILED (with failedWithCode: with that code). */
  onlyFailed?: boolean | null;
  failedWithCode?: string | null;
}

export interface StartBulkInput extends BulkSelection {
  organizationId: string;
  /** Who starts it (the audit log's bulkOperation.started). */
  actor: Actor;
  requestedModelVersion?: string | null;
  /** Its assessments post LTI grades (default false: see BulkOperation.postGrades). */
  postGrades?: boolean | null;
  /** Its assessments send xAPI statements (default false: see BulkOperation.sendStatements). */
  sendStatements?: boolean | null;
  idempotencyKey?: string | null;
  maxAttempts: number;
  /** How long the call queues batches before returning (ENQUEUE_IN_REQUEST_MS); the rest in the background. */
  inRequestMs?: number;
}

export interface BulkProgress {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export type BulkStatus = 'ENQUEUEING' | 'RUNNING' | 'COMPLETED' | 'CANCELLED';

/** BAD_USER_INPUT unless exactly one target is named. */
function checkSelection(s: BulkSelection): void {
  const targets = { 'input.learnerId': s.learnerId != null, 'input.groupExternalId': s.groupExternalId != null, 'input.wholeOrganisation': s.wholeOrganisation === true };
  const named = Object.keys(targets).filter((k) => targets[k as keyof typeof targets]);
  if (named.length !== 1) {
    // Two or more named: those conflict; none: any of the three would do.
    const involved = (named.length > 1 ? named : Object.keys(targets)) as [string, string, ...string[]];
    throw badInput('Name exactly one of learnerId, groupExternalId or wholeOrganisation: true.', involved);
  }
  if (s.groupExternalId != null && s.groupExternalId.trim() === '') {
    throw badInput('groupExternalId must not be empty.', 'input.groupExternalId');
  }
  if (s.failedWithCode != null && s.onlyFailed !== true) {
    throw badInput('failedWithCode narrows onlyFailed: give onlyFailed: true with it.', ['input.failedWithCode', 'input.onlyFailed']);
  }
  if (s.failedWithCode != null && !/^[A-Z][A-Z0-9_]{0,63}$/.test(s.failedWithCode)) {
    throw badInput('failedWithCode is an error code such as LEASE_EXPIRED (capital letters, digits and _, at most 64).', 'input.failedWithCode');
  }
}

/** The selection's WHERE on "Utterance" u (joined to "Learner" l), with parameters from $2 on. */
function selectionSql(op: BulkOperation): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  // A recording audio retention removed cannot be assessed again: not selected (nor counted in total).
  const conditions = [`u."organizationId" = $1::uuid`, `u."audioRemovedAt" IS NULL`];
  const param = (v: unknown, cast: string) => `$${params.push(v) + 1}::${cast}`;
  if (op.learnerId) conditions.push(`u."learnerId" = ${param(op.learnerId, 'uuid')}`);
  if (op.groupExternalId) conditions.push(`l."groups" @> ARRAY[${param(op.groupExternalId, 'text')}]`);
  if (op.since) conditions.push(`u."createdAt" >= ${param(op.since, 'timestamptz')}`);
  if (op.onlyFailed) {
    // Candidates from the failed jobs (the (status, runAfter) index), not a probe of every utterance
    // in scope; then each one's newest job, on the (organizationId, utteranceId, createdAt DESC)
    // index, as Query.utterances' status filter reads it, must be the failed one.
    conditions.push(`u."id" IN (SELECT fj."utteranceId" FROM "Job" fj WHERE fj."status" = 'FAILED' AND fj."organizationId" = $1::uuid)`);
    const code = op.failedWithCode === null ? '' : ` AND latest."errorCode" = ${param(op.failedWithCode, 'text')}`;
    conditions.push(`EXISTS (SELECT 1 FROM (SELECT j."status", j."errorCode" FROM "Job" j WHERE j."organizationId" = $1::uuid AND j."utteranceId" = u."id"
        ORDER BY j."createdAt" DESC, j."id" DESC LIMIT 1) latest WHERE latest."status" = 'FAILED'${code})`);
  }
  return { where: conditions.join(' AND '), params };
}

async function countSelected(db: PrismaClient | Prisma.TransactionClient, op: BulkOperation): Promise<number> {
  const { where, params } = selectionSql(op);
  const rows = await db.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "Utterance" u JOIN "Learner" l ON l."id" = u."learnerId" WHERE ${where}`,
    op.organizationId,
    ...params,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The next BATCH_SIZE selected utterance ids after `after` (keyset on id). */
async function nextBatch(db: PrismaClient | Prisma.TransactionClient, op: BulkOperation, after: string | null): Promise<string[]> {
  const { where, params } = selectionSql(op);
  const afterParam = `$${params.length + 2}`;
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT u."id"::text AS id FROM "Utterance" u JOIN "Learner" l ON l."id" = u."learnerId"
      WHERE ${where} AND (${afterParam}::uuid IS NULL OR u."id" > ${afterParam}::uuid)
      ORDER BY u."id" LIMIT ${BATCH_SIZE}`,
    op.organizationId,
    ...params,
    after,
  );
  return rows.map((r) => r.id);
}

/** Same key, same selection: the earlier operation; a different one: CONFLICT. */
function replayOrConflict(earlier: BulkOperation, input: StartBulkInput, key: string): BulkOperation {
  const same =
    earlier.learnerId === (input.learnerId ?? null) &&
    earlier.groupExternalId === (input.groupExternalId ?? null) &&
    earlier.wholeOrganisation === (input.wholeOrganisation === true) &&
    (earlier.since?.getTime() ?? null) === (input.since?.getTime() ?? null) &&
    earlier.onlyFailed === (input.onlyFailed === true) &&
    earlier.failedWithCode === (input.failedWithCode ?? null) &&
    earlier.requestedModelVersion === (input.requestedModelVersion ?? null) &&
    earlier.postGrades === (input.postGrades === true) &&
    earlier.sendStatements === (input.sendStatements === true);
  if (!same) {
    throw new AppError('CONFLICT', `idempotencyKey ${JSON.stringify(key)} was already used for a different bulk re-assessment; use a new key.`, {
      idempotencyKey: key,
    });
  }
  return earlier;
}

/**
 * Creates the operation and queues its jobs, batch by batch: returns the operation once every batch
 * is queued (or it was cancelled meanwhile) or after `inRequestMs`, whichever comes first; in the
 * second case (status ENQUEUEING) this process queues on in the background. The learner, when named, must be
 * the caller's (checked by the caller through its tenant-scoped loader).
 */
export async function startBulkReassessment(prisma: PrismaClient, request: StartBulkInput): Promise<BulkOperation> {
  checkSelection(request);
  if (request.since) checkInstant(request.since, 'input.since'); // `npm run admin -- reassess --since` as well as the API
  // The group as a learner's groups hold it (trimmed, 1-200 characters): stored and compared so, a
  // retry that sends the same group with other spacing replays instead of CONFLICT.
  const input = { ...request, groupExternalId: request.groupExternalId == null ? request.groupExternalId : cleanGroup(request.groupExternalId, 'input.groupExternalId') };
  const idempotencyKey = checkIdempotencyKey(input.idempotencyKey);
  const { organizationId } = input;
  if (idempotencyKey) {
    const earlier = await prisma.bulkOperation.findUnique({ where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } } });
    if (earlier) return replayOrConflict(earlier, input, idempotencyKey);
  }
  let op: BulkOperation;
  try {
    op = await prisma.$transaction(async (tx) => {
      const created = await tx.bulkOperation.create({
        data: {
          organizationId,
          learnerId: input.learnerId ?? null,
          groupExternalId: input.groupExternalId ?? null,
          wholeOrganisation: input.wholeOrganisation === true,
          since: input.since ?? null,
          onlyFailed: input.onlyFailed === true,
          failedWithCode: input.failedWithCode ?? null,
          requestedModelVersion: input.requestedModelVersion ?? null,
          postGrades: input.postGrades === true,
          sendStatements: input.sendStatements === true,
          idempotencyKey,
          total: 0,
        },
      });
      const counted = await tx.bulkOperation.update({ where: { id: created.id }, data: { total: await countSelected(tx, created) } });
      await recordAudit(tx, {
        organizationId, actor: input.actor, action: 'bulkOperation.started', targetType: 'BulkOperation', targetId: counted.id,
        details: {
          learnerId: counted.learnerId, groupExternalId: counted.groupExternalId, wholeOrganisation: counted.wholeOrganisation,
          since: counted.since?.toISOString() ?? null, onlyFailed: counted.onlyFailed, failedWithCode: counted.failedWithCode, modelVersion: counted.requestedModelVersion, postGrades: counted.postGrades,
          sendStatements: counted.sendStatements, selected: counted.total,
        },
      });
      return counted;
    });
  } catch (e) {
    if (idempotencyKey && isUniqueViolation(e)) {
      const earlier = await prisma.bulkOperation.findUnique({ where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } } });
      if (earlier) return replayOrConflict(earlier, input, idempotencyKey);
    }
    throw e;
  }
  // The operation is committed: a batch failing now (a lock held past the transaction's time, a
  // learner erased mid-batch) must not answer the request with an error, or the client's retry
  // would start a second operation. Queueing goes on from the cursor, here or in a sweep.
  const finished = await enqueueFor(prisma, op.id, input.maxAttempts, input.inRequestMs ?? ENQUEUE_IN_REQUEST_MS).catch((err: unknown) => {
    log.warn('bulk re-assessment: a batch failed in the request; queueing goes on from its cursor', { bulkOperationId: op.id, err });
    return false;
  });
  if (!finished) {
    // A large selection: the request returns (status ENQUEUEING) and this process queues on. Should
    // it end first, any API or worker process takes the operation up from its cursor (sweepBulkEnqueueing).
    enqueueFor(prisma, op.id, input.maxAttempts, Infinity).catch((err: unknown) =>
      log.warn('bulk re-assessment: queueing stopped; it resumes from its cursor', { bulkOperationId: op.id, err }));
  }
  return prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } });
}

/** How long a request queues batches itself before it returns and the rest goes on in the background. */
export const ENQUEUE_IN_REQUEST_MS = 2_000;

/**
 * Queues the operation's next batch: under its row lock (the cancel takes it too, so a batch is
 * queued entirely before a cancel or not at all), from its cursor, which moves in the same
 * transaction. So processes queueing the same operation at once take turns and never queue an
 * utterance twice. False when there is nothing more to queue (all queued: enqueuedAt is set; or
 * cancelled).
 */
async function enqueueNextBatch(prisma: PrismaClient, id: string, maxAttempts: number): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const [op] = await tx.$queryRawUnsafe<BulkOperation[]>(`SELECT * FROM "BulkOperation" WHERE "id" = $1::uuid FOR UPDATE`, id);
    if (!op || op.cancelledAt || op.enqueuedAt) return false;
    const ids = await nextBatch(tx, op, op.enqueuedThrough);
    if (ids.length === 0) {
      // `total` becomes what was queued: ids are random, so a recording made while the batches were
      // queued may have landed after the cursor and joined (or an erasure taken some away). Bounding
      // the selection by time instead would compare the clocks of different hosts.
      const queued = await tx.job.count({ where: { bulkOperationId: id } });
      const enqueued = await tx.bulkOperation.update({ where: { id }, data: { enqueuedAt: new Date(), total: queued } });
      await completeLockedIfDone(tx, enqueued); // none queued, or every job finished already
      return false;
    }
    await createAssessmentJobs(tx, {
      organizationId: op.organizationId,
      utteranceIds: ids,
      maxAttempts,
      priority: 'BULK',
      requestedModelVersion: op.requestedModelVersion,
      bulkOperationId: id,
    });
    await tx.bulkOperation.update({ where: { id }, data: { enqueuedThrough: ids.at(-1)!, enqueuedThroughAt: new Date() } });
    return true;
  });
}

/** Queues batches for up to `ms` (and while `go()`); true once nothing is left to queue. */
export async function enqueueFor(prisma: PrismaClient, id: string, maxAttempts: number, ms: number, go: () => boolean = () => true): Promise<boolean> {
  const until = Date.now() + ms;
  do {
    if (!(await enqueueNextBatch(prisma, id, maxAttempts))) return true;
  } while (Date.now() < until && go());
  return false;
}

/** An operation still queueing whose cursor has not moved for this long is taken up by a sweep. */
export const STALLED_ENQUEUE_MS = 30_000;

/**
 * Operations still queueing whose cursor has not moved for STALLED_ENQUEUE_MS (the process queueing
 * them ended): queued on, to the end (or until `go()` says stop: a batch at a time), from their
 * cursors. Any API or worker process may run it at any time (the cursor's lock makes concurrent
 * sweeps safe); returns the operations taken up.
 */
export async function sweepBulkEnqueueing(
  prisma: PrismaClient, maxAttempts: number, now = new Date(), go: () => boolean = () => true,
): Promise<number> {
  const stalledBefore = new Date(now.getTime() - STALLED_ENQUEUE_MS);
  const stalled = await prisma.bulkOperation.findMany({
    where: {
      enqueuedAt: null, cancelledAt: null,
      OR: [{ enqueuedThroughAt: { lt: stalledBefore } }, { enqueuedThroughAt: null, createdAt: { lt: stalledBefore } }],
    },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  for (const { id } of stalled) {
    if (!go()) break;
    // One operation's failure does not hold up the others; the next sweep tries it again.
    await enqueueFor(prisma, id, maxAttempts, Infinity, go)
      .catch((err: unknown) => log.warn('bulk re-assessment: queueing failed; the next sweep retries', { bulkOperationId: id, err }));
  }
  return stalled.length;
}

/**
 * Cancels the jobs that have not started (deleted: they never ran and hold nothing) and stops
 * queueing. Cancelling twice, or after the end, changes nothing and returns the operation; only
 * the first cancel is in the audit log (with the jobs it removed).
 */
export async function cancelBulkOperation(prisma: PrismaClient, organizationId: string, id: string, actor: Actor): Promise<BulkOperation> {
  return prisma.$transaction(async (tx) => {
    const [op] = await tx.$queryRawUnsafe<BulkOperation[]>(
      `SELECT * FROM "BulkOperation" WHERE "id" = $1::uuid AND "organizationId" = $2::uuid FOR UPDATE`,
      id,
      organizationId,
    );
    if (!op) throw new AppError('NOT_FOUND', 'No such bulk operation.');
    const row = { cancelled: op.cancelledAt !== null };
    // Finished (every job ended; marked now if no one had yet): nothing is left to cancel, and it stays COMPLETED.
    if (op.completedAt || (await completeLockedIfDone(tx, op))) return tx.bulkOperation.findUniqueOrThrow({ where: { id } });
    const removed = await tx.$executeRawUnsafe(`DELETE FROM "Job" WHERE "bulkOperationId" = $1::uuid AND "status" = 'QUEUED'`, id);
    await tx.$executeRawUnsafe(`UPDATE "BulkOperation" SET "cancelledAt" = coalesce("cancelledAt", now()) WHERE "id" = $1::uuid`, id);
    if (!row.cancelled) {
      await recordAudit(tx, { organizationId, actor, action: 'bulkOperation.cancelled', targetType: 'BulkOperation', targetId: id, details: { jobsRemoved: removed } });
    }
    return tx.bulkOperation.findUniqueOrThrow({ where: { id } });
  });
}

/** One operation's jobs counted by status (absent: none). */
export type BulkJobCounts = Partial<Record<Job['status'], number>>;

/**
 * With the operation's row locked: when it is fully queued, not cancelled, not yet completed, and
 * none of its jobs is QUEUED or RUNNING, sets completedAt and emits bulkOperation.completed (each
 * statement reads what committed before it, so the last of several jobs settling at once sees the
 * others). True when it completed now.
 */
async function completeLockedIfDone(tx: Prisma.TransactionClient, op: BulkOperation): Promise<boolean> {
  if (!op.enqueuedAt || op.cancelledAt || op.completedAt) return false;
  const counts = await tx.$queryRawUnsafe<{ status: Job['status']; n: number }[]>(
    `SELECT "status"::text AS status, count(*)::int AS n FROM "Job" WHERE "bulkOperationId" = $1::uuid GROUP BY 1`,
    op.id,
  );
  const by = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])) as BulkJobCounts;
  if ((by.QUEUED ?? 0) + (by.RUNNING ?? 0) > 0) return false;
  const [{ now }] = await tx.$queryRaw<{ now: Date }[]>`SELECT now() AS now`; // the database's clock, as the queue's
  const completed = await tx.bulkOperation.update({ where: { id: op.id }, data: { completedAt: now } });
  // The learner it re-assessed was erased since: completed, with no event (an event names its
  // learner, and nothing of theirs is left to report).
  if (op.learnerId && (await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Learner" WHERE "id" = ${op.learnerId}::uuid FOR KEY SHARE`).length === 0) return true;
  await emitEvent(tx, {
    organizationId: op.organizationId,
    learnerId: op.learnerId, // erasing the learner removes it, as their other events
    type: 'bulkOperation.completed',
    data: bulkOperationCompleted({ ...completed, completedAt: completed.completedAt! }, { succeeded: by.SUCCEEDED ?? 0, failed: by.FAILED ?? 0 }),
    at: completed.completedAt!,
  });
  return true;
}

/** Completes the operation when it is done (completeLockedIfDone, in its own transaction); true when it did now. */
export async function completeIfDone(prisma: PrismaClient, id: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const [op] = await tx.$queryRawUnsafe<BulkOperation[]>(`SELECT * FROM "BulkOperation" WHERE "id" = $1::uuid FOR UPDATE`, id);
    return op ? completeLockedIfDone(tx, op) : false;
  });
}

/** Completes every operation that is done but not yet marked (the sweep's safety net). Returns how many. */
export async function sweepBulkCompletion(prisma: PrismaClient, go: () => boolean = () => true): Promise<number> {
  const done = await prisma.$queryRawUnsafe<{ id: string }[]>(
    `SELECT b."id"::text AS id FROM "BulkOperation" b
      WHERE b."enqueuedAt" IS NOT NULL AND b."completedAt" IS NULL AND b."cancelledAt" IS NULL
        AND NOT EXISTS (SELECT 1 FROM "Job" j WHERE j."bulkOperationId" = b."id" AND j."status" IN ('QUEUED', 'RUNNING'))
      ORDER BY b."createdAt" LIMIT 1000`,
  );
  let completed = 0;
  for (const { id } of done) {
    if (!go()) break;
    // One operation's failure does not hold up the others; it is tried again on the next sweep.
    try {
      if (await completeIfDone(prisma, id)) completed++;
    } catch (err) {
      log.warn('bulk re-assessment: completing failed; the next sweep retries', { bulkOperationId: id, err });
    }
  }
  return completed;
}

/** Progress from the job counts: what is cancelled is what the selection had and no job stands for. */
export function bulkProgress(op: BulkOperation, by: BulkJobCounts): BulkProgress {
  const p = { queued: by.QUEUED ?? 0, running: by.RUNNING ?? 0, succeeded: by.SUCCEEDED ?? 0, failed: by.FAILED ?? 0 };
  const jobs = p.queued + p.running + p.succeeded + p.failed;
  return { total: op.total, ...p, cancelled: op.cancelledAt ? Math.max(0, op.total - jobs) : 0 };
}

/** COMPLETED once marked (completeIfDone, with its event), so status and the event always agree. */
export function bulkStatus(op: BulkOperation, _p: BulkProgress): BulkStatus {
  if (op.completedAt) return 'COMPLETED';
  if (op.cancelledAt) return 'CANCELLED';
  if (!op.enqueuedAt) return 'ENQUEUEING';
  return 'RUNNING';
}
