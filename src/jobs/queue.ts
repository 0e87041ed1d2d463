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
 *   time must not loop forever).
 */
import type { Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { notifyJobChanged } from '../events/notify.js';

/** What the transaction callback of completeJob receives. */
export type TransactionClient = Prisma.TransactionClient;

/** A job as the queue functions need it: the id, and the attempt the caller claimed (fencing). */
export type JobRef = string | Pick<Job, 'id' | 'attempts'>;

export const LEASE_EXPIRED = 'LEASE_EXPIRED';

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
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * Writes that belong with a job ending FAILED (the outbox's `assessment.failed` event), run with
 * the transaction that marks it FAILED, so both commit or neither does.
 */
export interface QueueHooks {
  onFailed?: (tx: TransactionClient, job: FailedJob) => Promise<void>;
}

const FAILED_COLUMNS = `j."id"::text AS "id", j."organizationId"::text AS "organizationId", j."utteranceId"::text AS "utteranceId",
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
  requestedModelVersion: string | null;
  maxAttempts: number;
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

/** The claimable-job condition, shared by claimJob and countClaimableJobs. */
const CLAIMABLE = `(("status" = 'QUEUED' AND "runAfter" <= now())
      OR ("status" = 'RUNNING' AND "leaseExpiresAt" < now()))`;

/**
 * Claims the next job: a QUEUED one whose runAfter has come, or a RUNNING one whose lease expired.
 * One statement, so two workers never get the same job. Returns null when nothing is claimable.
 * With `hooks.onFailed`, each round runs in a transaction, so a job the claim retires (FAILED, no
 * attempt left) commits together with what the hook writes.
 */
export async function claimJob(prisma: PrismaClient, workerId: string, leaseSeconds: number, hooks: QueueHooks = {}): Promise<Job | null> {
  // Each round is one atomic statement; a round only loops when it retired a job that had
  // exhausted its attempts (marked FAILED), so the loop is bounded by the number of such jobs.
  const onFailed = hooks.onFailed;
  for (;;) {
    // With its notification (src/events) and, for a job that ran out of attempts, its outbox event:
    // both only if the claim commits.
    const round = async (db: TransactionClient) => {
      const rows = await db.$queryRawUnsafe<ClaimedRow[]>(
        `WITH candidate AS (
           SELECT "id" FROM "Job"
            WHERE ${CLAIMABLE}
            ORDER BY "runAfter", "createdAt", "id"
            LIMIT 1
            FOR UPDATE SKIP LOCKED
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
                                   THEN 'Attempt ' || j."attempts" || ' on worker ' || coalesce(j."lockedBy", '?') ||
                                        ' stopped renewing its lease' ||
                                        CASE WHEN j."attempts" >= j."maxAttempts" THEN '; no attempts left.' ELSE '.' END
                                   ELSE j."errorMessage" END
           FROM candidate
          WHERE j."id" = candidate."id"
         RETURNING ${FAILED_COLUMNS}, j."status"::text AS "status", j."requestedModelVersion", j."maxAttempts",
                   j."runAfter", j."leaseExpiresAt", j."lockedBy", j."rawOutput", j."createdAt", j."startedAt", j."finishedAt"`,
        workerId,
        leaseSeconds,
      );
      const row = rows[0];
      if (row && row.status === 'FAILED' && onFailed) await onFailed(db, failedJob(row));
      if (row) await notifyJobChanged(db, row.id);
      return row;
    };
    const row = await prisma.$transaction((tx) => round(tx as TransactionClient));
    if (!row) return null;
    if (row.status !== 'RUNNING') continue; // retired an exhausted job; look for the next one
    // The claim returned the whole row: no second round trip to read it again.
    return claimedJob(row);
  }
}

/** The row the claim's RETURNING gave, as Prisma's Job (numbers and dates normalised). */
function claimedJob(row: ClaimedRow): Job {
  const date = (v: Date | string | null) => (v === null ? null : v instanceof Date ? v : new Date(v));
  return {
    id: row.id,
    organizationId: row.organizationId,
    utteranceId: row.utteranceId,
    status: row.status as Job['status'],
    requestedModelVersion: row.requestedModelVersion,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.maxAttempts),
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

/** How many jobs a worker could claim right now (used by Worker.drain and monitoring). */
export async function countClaimableJobs(prisma: PrismaClient): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS "n" FROM "Job" WHERE ${CLAIMABLE}`);
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
      // First, so the row lock is held for the rest of the transaction: a claimer skips the row
      // instead of taking it over between our check and our commit.
      const n = await tx.$executeRawUnsafe(
        `UPDATE "Job" SET "status" = 'SUCCEEDED', "finishedAt" = now(), "leaseExpiresAt" = NULL,
                "errorCode" = NULL, "errorMessage" = NULL, "rawOutput" = NULL
          WHERE "id" = $1::uuid AND "status" = 'RUNNING' AND "lockedBy" = $2
            AND ($3::int IS NULL OR "attempts" = $3::int)`,
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
  job: Pick<Job, 'id' | 'attempts' | 'maxAttempts'>,
  workerId: string,
  failure: JobFailure,
  random: () => number = Math.random,
  hooks: QueueHooks = {},
): Promise<FailOutcome> {
  const retry = failure.transient && job.attempts < job.maxAttempts;
  const delaySeconds = backoffMs(job.attempts, random) / 1000;
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
 * Hands a held job back untouched, for a worker that is shutting down: QUEUED again at once, the
 * attempt not counted (attempts - 1), lease and holder cleared, so another worker claims it on its
 * next poll instead of waiting for the lease to expire. Fenced like completeJob: false when the job
 * was no longer this attempt's (already completed, failed or taken over).
 */
export async function releaseJob(prisma: PrismaClient, job: Pick<Job, 'id' | 'attempts'>, workerId: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
  const n = await tx.$executeRawUnsafe(
    `UPDATE "Job" SET "status" = 'QUEUED', "attempts" = greatest("attempts" - 1, 0), "runAfter" = now(),
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
