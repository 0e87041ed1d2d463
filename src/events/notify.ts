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
export type ChangeEvent = (
  | {
      type: 'job'; organizationId: string; jobId: string; utteranceId: string; status: JobStatusName;
      /** Attempts made so far: a job reclaimed after its lease expired is RUNNING again, with one more. */
      attempts?: number;
    }
  | { type: 'assessment'; organizationId: string; assessmentId: string; utteranceId: string }
) & {
  /** Whose utterance it is: known for a replayed change (changesSince reads it), never for a notification. */
  learnerId?: string;
};

export type JobStatusName = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * The job's new status, and, when it SUCCEEDED, the assessments it wrote: one statement, so every
 * producer (submit, claim, complete, fail, release) adds a single call to its transaction.
 */
export async function notifyJobChanged(tx: Db, jobId: string): Promise<void> {
  await tx.$queryRawUnsafe(
    `SELECT pg_notify(${CHANNEL_SQL}, json_build_object(
              'type', 'job', 'organizationId', j."organizationId", 'jobId', j."id",
              'utteranceId', j."utteranceId", 'status', j."status", 'attempts', j."attempts")::text)::text AS "sent"
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

/**
 * At most this many of one learner's changes are re-read after a reconnect: as many as a
 * subscription may hold unread (hub.ts MAX_BUFFERED). A learner with more has its subscriptions
 * ended with the overflow error (subscribe again, read the current state with a query) rather than
 * replayed in part.
 */
export const MAX_CATCH_UP_PER_LEARNER = 1000;

/** A change re-read after a reconnect: the event, whose utterance it is about, and when it happened. */
export interface ReplayedChange {
  /** With `learnerId` set: the replay looks the learner up once for every subscription. */
  event: ChangeEvent;
  /** The row's own time (the database's or the writing process's clock). */
  at: Date;
}

export interface MissedChanges {
  /** In the order they happened, at most MAX_CATCH_UP_PER_LEARNER per learner. */
  changes: ReplayedChange[];
  /** Learners with more changes than that: none of theirs is in `changes`. */
  overflowed: string[];
}

/**
 * The notifications that jobs and assessments of these learners' utterances changed since `since`
 * would have sent, in the order they happened: what a LISTEN connection that was down missed. Each
 * job once, with its status now (a subscriber may hear a status again, or skip one it missed in
 * between: at least the latest state, never a lost one), a job sent back to QUEUED included; each
 * assessment created since. Only the learners that subscriptions follow are read (every
 * subscription follows one learner's job, utterance or whole activity), with a limit per learner,
 * so another learner's or organisation's burst neither crowds them out nor costs memory here.
 */
export async function changesSince(db: Db, since: Date, learnerIds: readonly string[], perLearner = MAX_CATCH_UP_PER_LEARNER): Promise<MissedChanges> {
  if (learnerIds.length === 0) return { changes: [], overflowed: [] };
  const rows = await db.$queryRawUnsafe<{ payload: string; learnerId: string; at: Date }[]>(
    `SELECT "payload", "learnerId", "at" FROM (
       SELECT c.*, row_number() OVER (PARTITION BY c."learnerId" ORDER BY c."at", c."kind", c."id") AS "n" FROM (
         SELECT json_build_object('type', 'job', 'organizationId', j."organizationId", 'jobId', j."id",
                                  'utteranceId', j."utteranceId", 'status', j."status", 'attempts', j."attempts")::text AS "payload",
                u."learnerId", greatest(j."createdAt", j."startedAt", j."finishedAt", least(j."runAfter", now())) AS "at", 0 AS "kind", j."id"
           FROM "Job" j JOIN "Utterance" u ON u."id" = j."utteranceId"
          WHERE u."learnerId" = ANY($2::uuid[])
            AND (j."createdAt" >= $1::timestamptz OR j."startedAt" >= $1::timestamptz OR j."finishedAt" >= $1::timestamptz
                 -- Sent back to QUEUED (a retry after its backoff, an attempt handed back): runAfter is set then, to now or later.
                 OR j."runAfter" >= $1::timestamptz)
         UNION ALL
         SELECT json_build_object('type', 'assessment', 'organizationId', a."organizationId", 'assessmentId', a."id",
                                  'utteranceId', a."utteranceId")::text,
                u."learnerId", a."createdAt", 1, a."id"
           FROM "Assessment" a JOIN "Utterance" u ON u."id" = a."utteranceId"
          WHERE u."learnerId" = ANY($2::uuid[]) AND a."createdAt" >= $1::timestamptz
       ) c
     ) r
     -- One more than the limit: enough to tell a learner that overflowed.
     WHERE "n" <= $3::int + 1
     ORDER BY "at", "kind", "id"`,
    since.toISOString(),
    [...learnerIds],
    perLearner,
  );
  const perLearnerCount = new Map<string, number>();
  for (const r of rows) perLearnerCount.set(r.learnerId, (perLearnerCount.get(r.learnerId) ?? 0) + 1);
  const overflowed = new Set([...perLearnerCount].filter(([, n]) => n > perLearner).map(([id]) => id));
  const changes: ReplayedChange[] = [];
  for (const r of rows) {
    if (overflowed.has(r.learnerId)) continue;
    const event = parseChangeEvent(r.payload);
    if (event) changes.push({ event: { ...event, learnerId: r.learnerId }, at: new Date(r.at) });
  }
  return { changes, overflowed: [...overflowed] };
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
    const attempts = typeof v.attempts === 'number' ? { attempts: v.attempts } : {};
    return { type: 'job', organizationId: v.organizationId, jobId: v.jobId, utteranceId: v.utteranceId, status: v.status as JobStatusName, ...attempts };
  }
  if (v.type === 'assessment' && str(v.assessmentId)) {
    return { type: 'assessment', organizationId: v.organizationId, assessmentId: v.assessmentId, utteranceId: v.utteranceId };
  }
  return null;
}
