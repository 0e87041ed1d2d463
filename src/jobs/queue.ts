/**
 * The job queue: rows of "Job" claimed with `FOR UPDATE SKIP LOCKED` and held by a lease.
 *
 * - A worker owns a job while `status = RUNNING`, `lockedBy = workerId` and `attempts` is the value
 *   its claim set (the attempt number is the fencing token: after a lease expired and the job was
 *   claimed again, even by the same worker id, the old attempt can no longer extend, complete or
 *   fail it).
 * - All times are the database's `now()`, never the process clock.
 * - A RUNNING job whose lease expired is claimable again; if it already used `maxAttempts`, the
 *   claim marks it FAILED with errorCode LEASE_EXPIRED instead (a job that kills its worker every
 *   time must not loop forever), in a transaction of its own (retireExhaustedJob).
 */
import type { Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { notifyJobChanged } from '../events/notify.js';

/** What the transaction callback of completeJob receives. */
export type TransactionClient = Prisma.TransactionClient;

/** A job as the queue functions need it: the id, and the attempt the caller claimed (fencing). */
export type JobRef = string | Pick<Job, 'id' | 'attempts'>;

export const LEASE_EXPIRED = 'LEASE_EXPIRED';

/**
 * What a job's error says when the cause is not a refusal (a bug, a missing file, a database or
 * runtime fault). Job.error and the assessment.failed event reach API clients and webhook
 * receivers, so the cause (paths, SQL, host names) stays in the worker's log, under the job's id.
 */
export const INTERNAL_FAILURE_MESSAGE = "The assessment failed because of an internal error; the worker's log has the cause under this job's id.";

export interface JobFailure {
  /** Short stable code, e.g. MODEL_OUTPUT_INVALID, CORRUPT_AUDIO, INTERNAL_SERVER_ERROR. */
  code: string;
  message: string;
  /** Raw model output kept for inspection when it could not be parsed. */
  rawOutput?: string | null;
  /** Worth another attempt (model server hiccup) or not (corrupt input, invalid output). */
  transient: boolean;
}

export type FailOutcome = 'retry' | 'failed' | 'lost';

/** A job as it was just marked FAILED for good. */
export interface FailedJob {
  id: string;
  organizationId: string;
  utteranceId: string;
  /** The bulk re-assessment it belongs to (null: a submission or a single re-assessment). */
  bulkOperationId: string | null;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * Writes that belong with a job ending FAILED (the outbox's `assessment.failed` event), run with
 * the transaction that marks it FAILED, so both commit or neither does.
 */
export interface QueueHooks {
  onFailed?: (tx: TransactionClient, job: FailedJob) => Promise<unknown>;
}

const FAILED_COLUMNS = `j."id"::text AS "id", j."organizationId"::text AS "organizationId", j."utteranceId"::text AS "utteranceId",
       j."bulkOperationId"::text AS "bulkOperationId",
       j."attempts", j."errorCode", j."errorMessage"`;

function failedJob(row: FailedJob): FailedJob {
  return { ...row, attempts: Number(row.attempts) };
}

export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_CAP_MS = 5 * 60_000;

/**
 * Delay before attempt `attempts + 1`, after `attempts` failed ones: 2 s, 4 s, 8 s, ... capped at
 * 5 min, with "equal jitter" (a random point in the upper half) so retries of jobs that failed
 * together spread out.
 */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** What the claim's RETURNING gives: the whole job row. */
interface ClaimedRow extends FailedJob {
  status: string;
  priority: string;
  requestedModelVersion: string | null;
  idempotencyKey: string | null;
  maxAttempts: number;
  releasedAttempts: number;
  runAfter: Date | string;
  leaseExpiresAt: Date | string | null;
  lockedBy: string | null;
  rawOutput: string | null;
  createdAt: Date | string;
  startedAt: Date | string | null;
  finishedAt: Date | string | null;
}

function refOf(job: JobRef): { id: string; attempts: number | null } {
  return typeof job === 'string' ? { id: job, attempts: null } : { id: job.id, attempts: job.attempts };
}

/** The claimable-job condition, shared by countClaimableJobs and the metrics. */
const CLAIMABLE = `(("status" = 'QUEUED' AND "runAfter" <= now())
      OR ("status" = 'RUNNING' AND "leaseExpiresAt" < now()))`;

/**
 * A job the claiming worker can run: the model versions it serves are the claim's third parameter
 * (a text[]; NULL = any job, for tools and tests that run no model). A job that asks for no version
 * runs on the worker's default bundle; one asking for a version no live worker serves stays QUEUED
 * (the speechmark_queue_unserved_jobs gauge counts them) until a worker serving it starts.
 */
function servable(alias: string, param: string): string {
  const v = `${alias}"requestedModelVersion"`;
  return `(${param}::text[] IS NULL OR ${v} IS NULL OR ${v} = ANY(${param}::text[]))`;
}

/** Claim order of priorities (the enum's declaration order in prisma/schema.prisma). */
export const PRIORITIES = ['INTERACTIVE', 'BULK'] as const;
export type JobPriority = (typeof PRIORITIES)[number];

/** 'SMQO' as an int4: the advisory lock namespace (classid) of "a claim is serving this organisation". */
export const QUEUE_ORG_LOCK_NAMESPACE = 0x534d514f;

/**
 * One organisation's oldest due QUEUED job of one priority (a probe of the fair-claim index), if no
 * concurrent claim is serving that organisation right now. Without that check, two claimers that
 * start together both take the organisation whose turn it is, the next one alone goes to the other
 * tenant, and the pair falls into step: A A B, A A B (seen on PostgreSQL with two workers). The
 * transaction-scoped advisory lock is tried only for an organisation that has a due job (the
 * filter is on the LIMITed probe's output, which it cannot be pushed into), so walking past idle
 * organisations locks nothing; a job row locked by a probe whose organisation was busy is just
 * skipped by others until this claim commits. hashtext collisions only mean a tenant waits a turn.
 */
function oldestDueOf(priority: JobPriority, skipBusy: boolean): string {
  return `SELECT o."id" AS "organizationId", due."id"
      FROM (SELECT "id" FROM "Organization" ORDER BY "queueServedAt", "id") AS o
      CROSS JOIN LATERAL (
        SELECT probe."id" FROM (
          SELECT j."id", j."organizationId" FROM "Job" AS j
           WHERE j."organizationId" = o."id" AND j."priority" = '${priority}' AND j."status" = 'QUEUED' AND j."runAfter" <= now()
             AND ${servable('j.', '$3')}
           ORDER BY j."runAfter", j."createdAt", j."id"
           LIMIT 1
           FOR UPDATE OF j SKIP LOCKED
        ) AS probe
        -- probe's column, not o's: a condition on o alone is pushed down into the walk (every organisation locked).
        ${skipBusy ? `WHERE pg_try_advisory_xact_lock(${QUEUE_ORG_LOCK_NAMESPACE}, hashtext(probe."organizationId"::text))` : ''}
      ) AS due`;
}

/**
 * The next job to claim, locked, in this order:
 *   1. a RUNNING job whose lease expired (its worker died; it has waited longest of all);
 *   2. an INTERACTIVE job, then 3. a BULK one: in each, organisations are walked from the one served
 *      least recently (Organization.queueServedAt, bumped by every claim), and the first with a due
 *      job gives its oldest. So tenants take turns whatever the size of their backlogs: one
 *      organisation's 10,000 bulk jobs cost another's next job at most one turn.
 * Within a priority, organisations another claim is serving right now are passed over first
 * (oldestDueOf); when only busy ones have due jobs, the walk is repeated without that check, so a
 * claim never comes back empty, nor takes BULK, while an INTERACTIVE job could be had.
 * The branches of UNION ALL run in order and LIMIT 1 stops at the first row, so only the job
 * returned is locked (row-locking queries never run in parallel, so Append keeps its order). Each
 * step is an index probe: expired leases by (status, leaseExpiresAt), organisations by
 * (queueServedAt, id), an organisation's due jobs by (organizationId, priority, status, runAfter,
 * createdAt, id). The cost grows with the number of organisations walked past (those with nothing
 * due), never with the number of jobs (tests/jobs/fair-claim.test.ts checks the plan).
 */
export const NEXT_JOB = `SELECT * FROM (
        SELECT j."organizationId", j."id" FROM "Job" AS j
         WHERE j."status" = 'RUNNING' AND j."leaseExpiresAt" < now() AND ${servable('j.', '$3')}
         ORDER BY j."leaseExpiresAt"
         LIMIT 1
         FOR UPDATE OF j SKIP LOCKED) AS expired
      ${PRIORITIES.flatMap((p) => [`UNION ALL (${oldestDueOf(p, true)})`, `UNION ALL (${oldestDueOf(p, false)})`]).join('\n      ')}
      LIMIT 1`;

/** Why a RUNNING job's attempt ended when its lease expired. Not the worker's id (host and pid): clients read this message; lockedBy keeps it. */
const LEASE_LOST_MESSAGE = `'Attempt ' || j."attempts" || ' stopped renewing its lease (its worker stopped or lost the database)'`;

/**
 * The claim: NEXT_JOB locked, marked RUNNING with a lease for worker $1 for $2 seconds, returned
 * whole; $3 is the text[] of model versions the worker serves (NULL: any job). An expired job with
 * no attempt left comes back FAILED instead; claimJob does not commit that (see retireExhaustedJob).
 */
export const CLAIM_SQL = `WITH candidate AS (${NEXT_JOB}),
     -- The organisation goes to the back of the line (clock_timestamp: distinct within a transaction).
     served AS (
       UPDATE "Organization" SET "queueServedAt" = clock_timestamp() WHERE "id" = (SELECT "organizationId" FROM candidate)
     )
     UPDATE "Job" AS j SET
       "status"         = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN 'FAILED'::"JobStatus" ELSE 'RUNNING'::"JobStatus" END,
       "attempts"       = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN j."attempts" ELSE j."attempts" + 1 END,
       "lockedBy"       = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN j."lockedBy" ELSE $1 END,
       "leaseExpiresAt" = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN NULL ELSE now() + make_interval(secs => $2::float8) END,
       "startedAt"      = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN j."startedAt" ELSE now() END,
       "finishedAt"     = CASE WHEN j."status" = 'RUNNING' AND j."attempts" >= j."maxAttempts"
                               THEN now() ELSE NULL END,
       -- A reclaimed RUNNING job: say why the previous attempt ended (cleared on success).
       "errorCode"      = CASE WHEN j."status" = 'RUNNING' THEN '${LEASE_EXPIRED}' ELSE j."errorCode" END,
       "errorMessage"   = CASE WHEN j."status" = 'RUNNING'
                               THEN ${LEASE_LOST_MESSAGE} ||
                                    CASE WHEN j."attempts" >= j."maxAttempts" THEN '; no attempts left.' ELSE '.' END
                               ELSE j."errorMessage" END
       FROM candidate
      WHERE j."id" = candidate."id"
     RETURNING ${FAILED_COLUMNS}, j."status"::text AS "status", j."priority"::text AS "priority", j."requestedModelVersion", j."idempotencyKey", j."maxAttempts",
               j."releasedAttempts", j."runAfter", j."leaseExpiresAt", j."lockedBy", j."rawOutput", j."createdAt", j."startedAt", j."finishedAt"`;

/**
 * Claims the next job (NEXT_JOB's order: expired leases, then INTERACTIVE, then BULK, organisations
 * round-robin): a QUEUED one whose runAfter has come, or a RUNNING one whose lease expired.
 * One statement, so two workers never get the same job. Returns null when nothing is claimable.
 * With `hooks.onFailed`, each round runs in a transaction, so a job the claim retires (FAILED, no
 * attempt left) commits together with what the hook writes. `modelVersions`: the versions the
 * worker serves (only jobs asking for none or for one of them are claimed); null takes any job.
 */
export async function claimJob(
  prisma: PrismaClient,
  workerId: string,
  leaseSeconds: number,
  hooks: QueueHooks = {},
  modelVersions: readonly string[] | null = null,
): Promise<Job | null> {
  // Each round is one atomic statement; a round only loops when it met a job that had exhausted
  // its attempts (then retired), so the loop is bounded by the number of such jobs.
  for (;;) {
    // With its notification (src/events), only if the claim commits.
    const round = async (db: TransactionClient) => {
      const rows = await db.$queryRawUnsafe<ClaimedRow[]>(
        CLAIM_SQL,
        workerId,
        leaseSeconds,
        modelVersions === null ? null : [...modelVersions],
      );
      const row = rows[0];
      if (row?.status === 'FAILED') throw new ExhaustedJobMet(row.id);
      if (row) await notifyJobChanged(db, row.id);
      return row;
    };
    const row = await prisma.$transaction((tx) => round(tx as TransactionClient)).catch(async (e: unknown) => {
      if (!(e instanceof ExhaustedJobMet)) throw e;
      await retireExhaustedJob(prisma, e.jobId, hooks);
      return 'retired' as const;
    });
    if (!row) return null;
    if (row === 'retired') continue; // look for the next one
    // The claim returned the whole row: no second round trip to read it again.
    return claimedJob(row);
  }
}

/** Rolls back a claim that met an expired job with no attempt left (retireExhaustedJob's to settle). */
class ExhaustedJobMet extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} has no attempt left`);
  }
}

/**
 * Marks FAILED (LEASE_EXPIRED) an expired RUNNING job with no attempt left, with its outbox event
 * (`hooks.onFailed`), in a transaction of its own that takes the job's learner FOR KEY SHARE before
 * the job's row, as every other transaction that settles a job does. The claim that met the job
 * holds its row, and the event's foreign key would then take the learner's lock: against an
 * erasure (the learner, then its jobs) the two deadlocked. A job another transaction settled or
 * deleted meanwhile is left as it is.
 */
async function retireExhaustedJob(prisma: PrismaClient, jobId: string, hooks: QueueHooks): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const db = tx as TransactionClient;
    await lockJobLearner(db, jobId);
    const rows = await db.$queryRawUnsafe<FailedJob[]>(
      `UPDATE "Job" AS j SET "status" = 'FAILED', "leaseExpiresAt" = NULL, "finishedAt" = now(),
              "errorCode" = '${LEASE_EXPIRED}', "errorMessage" = ${LEASE_LOST_MESSAGE} || '; no attempts left.'
        WHERE j."id" = $1::uuid AND j."status" = 'RUNNING' AND j."leaseExpiresAt" < now() AND j."attempts" >= j."maxAttempts"
        RETURNING ${FAILED_COLUMNS}`,
      jobId,
    );
    if (!rows[0]) return;
    if (hooks.onFailed) await hooks.onFailed(db, failedJob(rows[0]));
    await notifyJobChanged(db, jobId);
  });
}

/** The row the claim's RETURNING gave, as Prisma's Job (numbers and dates normalised). */
function claimedJob(row: ClaimedRow): Job {
  const date = (v: Date | string | null) => (v === null ? null : v instanceof Date ? v : new Date(v));
  return {
    id: row.id,
    organizationId: row.organizationId,
    utteranceId: row.utteranceId,
    status: row.status as Job['status'],
    priority: row.priority as Job['priority'],
    bulkOperationId: row.bulkOperationId,
    requestedModelVersion: row.requestedModelVersion,
    idempotencyKey: row.idempotencyKey,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.maxAttempts),
    releasedAttempts: Number(row.releasedAttempts),
    runAfter: date(row.runAfter)!,
    leaseExpiresAt: date(row.leaseExpiresAt),
    lockedBy: row.lockedBy,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    rawOutput: row.rawOutput,
    createdAt: date(row.createdAt)!,
    startedAt: date(row.startedAt),
    finishedAt: date(row.finishedAt),
  };
}

/** How many jobs a worker serving `modelVersions` (null: any) could claim right now (Worker.drain, monitoring). */
export async function countClaimableJobs(prisma: PrismaClient, modelVersions: readonly string[] | null = null): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS "n" FROM "Job" WHERE ${CLAIMABLE} AND ${servable('', '$1')}`,
    modelVersions === null ? null : [...modelVersions],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Pushes the lease forward. False when the job is no longer this worker's (lease lost). */
export async function extendLease(
  prisma: PrismaClient,
  job: JobRef,
  workerId: string,
  leaseSeconds: number,
): Promise<boolean> {
  const { id, attempts } = refOf(job);
  const n = await prisma.$executeRawUnsafe(
    `UPDATE "Job" SET "leaseExpiresAt" = now() + make_interval(secs => $3::float8)
      WHERE "id" = $1::uuid AND "status" = 'RUNNING' AND "lockedBy" = $2
        AND ($4::int IS NULL OR "attempts" = $4::int)`,
    id,
    workerId,
    leaseSeconds,
    attempts,
  );
  return n > 0;
}

/**
 * Takes the job's learner FOR KEY SHARE, first thing in a transaction that settles the job: the
 * events it writes reference the learner (a foreign key check takes that lock anyway, but late, while
 * the job row is held). Taken first, an erasure or utterance deletion (which locks the learner, then
 * the jobs) and a settling job queue on the same row instead of each holding what the other waits for.
 */
async function lockJobLearner(tx: TransactionClient, jobId: string): Promise<void> {
  await tx.$queryRawUnsafe(`${LEARNER_OF_JOB} FOR KEY SHARE OF l`, jobId);
}

/** The learner of job $1 (alias l), to lock. */
const LEARNER_OF_JOB = `SELECT l."id" FROM "Learner" l JOIN "Utterance" u ON u."learnerId" = l."id"
  JOIN "Job" lj ON lj."utteranceId" = u."id" WHERE lj."id" = $1::uuid`;

/**
 * Runs `writeResult` and marks the job SUCCEEDED in one interactive transaction, only while this
 * worker still holds it. Returns false (and writes nothing) when the lease was lost.
 * `writeResult` must use the `tx` it is given, never the outer client (on PGlite, a query on the
 * outer client waits for this transaction to end: a deadlock).
 */
export async function completeJob(
  prisma: PrismaClient,
  job: JobRef,
  workerId: string,
  writeResult: (tx: TransactionClient) => Promise<void>,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  const { id, attempts } = refOf(job);
  return prisma.$transaction(
    async (tx) => {
      // First, so the job's row lock is held for the rest of the transaction: a claimer skips the
      // row instead of taking it over between our check and our commit. The learner's KEY SHARE lock
      // (lockJobLearner's) is taken by the same statement before the job's row: the uncorrelated
      // EXISTS runs once, before the row is updated. A learner erased meanwhile: nothing updated.
      const n = await tx.$executeRawUnsafe(
        `WITH learner AS (${LEARNER_OF_JOB} FOR KEY SHARE OF l)
         UPDATE "Job" SET "status" = 'SUCCEEDED', "finishedAt" = now(), "leaseExpiresAt" = NULL,
                "errorCode" = NULL, "errorMessage" = NULL, "rawOutput" = NULL
          WHERE "id" = $1::uuid AND "status" = 'RUNNING' AND "lockedBy" = $2
            AND ($3::int IS NULL OR "attempts" = $3::int) AND EXISTS (SELECT 1 FROM learner)`,
        id,
        workerId,
        attempts,
      );
      if (n === 0) return false;
      await writeResult(tx as TransactionClient);
      await notifyJobChanged(tx, id);
      return true;
    },
    { timeout: options.timeoutMs ?? 30_000, maxWait: 10_000 },
  );
}

/**
 * Records a failed attempt. Transient and attempts left: back to QUEUED after an exponential
 * backoff ('retry'). Otherwise FAILED for good ('failed'). 'lost' when the job was no longer this
 * worker's (nothing written).
 */
export async function failJob(
  prisma: PrismaClient,
  job: Pick<Job, 'id' | 'attempts' | 'maxAttempts' | 'releasedAttempts'>,
  workerId: string,
  failure: JobFailure,
  random: () => number = Math.random,
  hooks: QueueHooks = {},
): Promise<FailOutcome> {
  const retry = failure.transient && job.attempts < job.maxAttempts;
  // Released attempts were handed back, not failed: the delay follows the failures alone.
  const delaySeconds = backoffMs(job.attempts - job.releasedAttempts, random) / 1000;
  const fail = async (db: TransactionClient) => {
    const rows = await db.$queryRawUnsafe<FailedJob[]>(
      `UPDATE "Job" AS j SET "status" = 'FAILED', "finishedAt" = now(), "leaseExpiresAt" = NULL,
              "errorCode" = $3, "errorMessage" = $4, "rawOutput" = $5
        WHERE j."id" = $1::uuid AND j."status" = 'RUNNING' AND j."lockedBy" = $2 AND j."attempts" = $6::int
        RETURNING ${FAILED_COLUMNS}`,
      job.id,
      workerId,
      failure.code,
      failure.message,
      failure.rawOutput ?? null,
      job.attempts,
    );
    if (rows[0] && hooks.onFailed) await hooks.onFailed(db, failedJob(rows[0]));
    return rows.length;
  };
  const n = await prisma.$transaction(async (tx) => {
  await lockJobLearner(tx as TransactionClient, job.id);
  const changed = retry
    ? await tx.$executeRawUnsafe(
        `UPDATE "Job" SET "status" = 'QUEUED', "runAfter" = now() + make_interval(secs => $3::float8),
                "lockedBy" = NULL, "leaseExpiresAt" = NULL,
                "errorCode" = $4, "errorMessage" = $5, "rawOutput" = $6
          WHERE "id" = $1::uuid AND "status" = 'RUNNING' AND "lockedBy" = $2 AND "attempts" = $7::int`,
        job.id,
        workerId,
        delaySeconds,
        failure.code,
        failure.message,
        failure.rawOutput ?? null,
        job.attempts,
      )
    : await fail(tx as TransactionClient);
  if (changed > 0) await notifyJobChanged(tx, job.id);
  return changed;
  });
  if (n === 0) return 'lost';
  return retry ? 'retry' : 'failed';
}

/**
 * Hands a held job back untouched, for a worker that is shutting down: QUEUED again at once, lease
 * and holder cleared, so another worker claims it on its next poll instead of waiting for the lease
 * to expire. The attempt is not counted against the job's budget (maxAttempts + 1), but its number
 * stays used: attempt numbers only grow, so each one names one attempt (in the job's history and as
 * the fencing token, even when the same worker id claims the job again after a restart). Fenced like
 * completeJob: false when the job was no longer this attempt's (already completed, failed or taken
 * over).
 */
export async function releaseJob(prisma: PrismaClient, job: Pick<Job, 'id' | 'attempts'>, workerId: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
  const n = await tx.$executeRawUnsafe(
    `UPDATE "Job" SET "status" = 'QUEUED', "maxAttempts" = "maxAttempts" + 1, "releasedAttempts" = "releasedAttempts" + 1, "runAfter" = now(),
            "lockedBy" = NULL, "leaseExpiresAt" = NULL, "startedAt" = NULL
      WHERE "id" = $1::uuid AND "status" = 'RUNNING' AND "lockedBy" = $2 AND "attempts" = $3::int`,
    job.id,
    workerId,
    job.attempts,
  );
  if (n > 0) await notifyJobChanged(tx, job.id);
  return n > 0;
  });
}
