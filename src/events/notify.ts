/**
 * Change notifications for subscriptions, sent with PostgreSQL's NOTIFY (PGlite has it too).
 *
 * Producers call these INSIDE the transaction that makes the change: PostgreSQL delivers a
 * notification only when that transaction commits, so a listener never hears of a change that was
 * rolled back, and hears of committed ones in commit order. Payloads are small (ids and the new
 * status, well under NOTIFY's 8000-byte limit); listeners re-read the rows through the caller's
 * scope-aware loaders before anything reaches a subscriber.
 *
 * The channel is derived from the connection's schema (`current_schema()`), so several deployments
 * or test suites sharing one database in different schemas do not hear each other.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** The channel name as SQL: `speechmark_` and 12 hex digits of the schema's md5. */
export const CHANNEL_SQL = `'speechmark_' || left(md5(current_schema()), 12)`;

/**
 * What a notification says: a job changed status, or an assessment was stored. Only columns of the
 * changed row itself, no join: a notification must not make the claim or the hand-back of a job
 * wait on another table's locks. Which learner an utterance belongs to is looked up by the
 * listening side (src/resolvers/Subscription/target.ts).
 */
export type ChangeEvent =
  | { type: 'job'; organizationId: string; jobId: string; utteranceId: string; status: JobStatusName }
  | { type: 'assessment'; organizationId: string; assessmentId: string; utteranceId: string };

export type JobStatusName = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * The job's new status, and, when it SUCCEEDED, the assessments it wrote: one statement, so every
 * producer (submit, claim, complete, fail, release) adds a single call to its transaction.
 */
export async function notifyJobChanged(tx: Db, jobId: string): Promise<void> {
  await tx.$queryRawUnsafe(
    `SELECT pg_notify(${CHANNEL_SQL}, json_build_object(
              'type', 'job', 'organizationId', j."organizationId", 'jobId', j."id",
              'utteranceId', j."utteranceId", 'status', j."status")::text)::text AS "sent"
       FROM "Job" j
      WHERE j."id" = $1::uuid
     UNION ALL
     SELECT pg_notify(${CHANNEL_SQL}, json_build_object(
              'type', 'assessment', 'organizationId', a."organizationId", 'assessmentId', a."id",
              'utteranceId', a."utteranceId")::text)::text
       FROM "Assessment" a JOIN "Job" j ON j."id" = a."jobId"
      WHERE a."jobId" = $1::uuid AND j."status" = 'SUCCEEDED'`,
    jobId,
  );
}

/** An assessment stored without a job (human labels). */
export async function notifyAssessmentCreated(tx: Db, assessmentId: string): Promise<void> {
  await tx.$queryRawUnsafe(
    `SELECT pg_notify(${CHANNEL_SQL}, json_build_object(
              'type', 'assessment', 'organizationId', a."organizationId", 'assessmentId', a."id",
              'utteranceId', a."utteranceId")::text)::text AS "sent"
       FROM "Assessment" a
      WHERE a."id" = $1::uuid`,
    assessmentId,
  );
}

/** At most this many changes are re-read after a reconnect (a long outage: re-read with a query). */
export const MAX_CATCH_UP = 10_000;

/**
 * The notifications that jobs and assessments changed since `since` would have sent, as payloads in
 * the order they happened: what a LISTEN connection that was down missed. Each job once, with its
 * status now (a subscriber may hear a status again, or skip one it missed in between: at least the
 * latest state, never a lost one), a job sent back to QUEUED included; each assessment created since.
 */
export async function changesSince(db: Db, since: Date): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ payload: string }[]>(
    `SELECT "payload" FROM (
       SELECT json_build_object('type', 'job', 'organizationId', j."organizationId", 'jobId', j."id",
                                'utteranceId', j."utteranceId", 'status', j."status")::text AS "payload",
              greatest(j."createdAt", j."startedAt", j."finishedAt", least(j."runAfter", now())) AS "at", 0 AS "kind"
         FROM "Job" j
        WHERE j."createdAt" >= $1::timestamptz OR j."startedAt" >= $1::timestamptz OR j."finishedAt" >= $1::timestamptz
           -- Sent back to QUEUED (a retry after its backoff, an attempt handed back): runAfter is set then, to now or later.
           OR j."runAfter" >= $1::timestamptz
       UNION ALL
       SELECT json_build_object('type', 'assessment', 'organizationId', a."organizationId", 'assessmentId', a."id",
                                'utteranceId', a."utteranceId")::text,
              a."createdAt", 1
         FROM "Assessment" a
        WHERE a."createdAt" >= $1::timestamptz
     ) c ORDER BY "at", "kind" LIMIT $2::int`,
    since.toISOString(),
    MAX_CATCH_UP,
  );
  return rows.map((r) => r.payload);
}

const STATUSES = new Set(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** A notification's payload, or null for anything that is not one of ours. */
export function parseChangeEvent(payload: string | undefined): ChangeEvent | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(payload ?? '') as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!v || !str(v.organizationId) || !str(v.utteranceId)) return null;
  if (v.type === 'job' && str(v.jobId) && typeof v.status === 'string' && STATUSES.has(v.status)) {
    return { type: 'job', organizationId: v.organizationId, jobId: v.jobId, utteranceId: v.utteranceId, status: v.status as JobStatusName };
  }
  if (v.type === 'assessment' && str(v.assessmentId)) {
    return { type: 'assessment', organizationId: v.organizationId, assessmentId: v.assessmentId, utteranceId: v.utteranceId };
  }
  return null;
}
