/**
 * The delivery queue: rows of "Delivery" claimed like jobs (src/jobs/queue.ts). A worker holds a
 * delivery while `status = SENDING`, `lockedBy = workerId` and `attempts` is the number its claim
 * set: that number fences the attempt, so an attempt whose lease expired (its process died or
 * stalled) can no longer record anything once the delivery was claimed again. Times are the
 * database's `now()`.
 *
 * Delivery is at least once: a process that dies after the receiver answered 2xx but before the
 * answer was recorded leaves the delivery to be sent again when the lease expires, with the same
 * `webhook-id`, which is what receivers deduplicate on.
 */
import { deliveriesSettled } from '../ops/metrics.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { emitDeliveryFailed, NOTIFIED_CHANNELS } from './delivery-failed.js';
import { runTransaction } from '../db/transaction.js';
import { recordEndpointHealth, type EndpointHealth } from './endpoint-health.js';
import { LOCK_BUSY, skippableUnderLock } from '../db/lock-timeout.js';
import { log } from '../ops/log.js';

type Tx = Prisma.TransactionClient;

export interface ClaimedDelivery {
  id: string;
  organizationId: string;
  eventId: string;
  channel: string;
  webhookEndpointId: string | null;
  ltiScoreId: string | null;
  /** This attempt's number (the fencing token). */
  attempts: number;
}

const claimable = (d: string) =>
  `((${d}"status" = 'PENDING' AND ${d}"runAfter" <= now()) OR (${d}"status" = 'SENDING' AND ${d}"leaseExpiresAt" < now()))`;
const CLAIMABLE = claimable('');

/**
 * How many attempts one claimer (a worker) may have in flight per endpoint and per organisation.
 * A claim skips what would go past them, so an organisation whose endpoints never answer (each
 * attempt holding a slot for the whole request timeout) cannot fill every slot and stall the
 * other organisations' webhooks, grades and statements behind its backlog.
 */
export interface InFlightCaps {
  perEndpoint: number;
  perOrganization: number;
  /**
   * Looser caps for the slots a claim within the caps above left free (the worker's second claim):
   * a lone organisation (a self-hosted server has one) or endpoint is not held to a fraction of the
   * worker when nobody else is waiting. The worker keeps one slot back from them, so another
   * organisation's delivery due later is claimed at the next poll, not after a stuck attempt ends.
   */
  spare?: { perEndpoint: number; perOrganization: number };
}

/** Attempts one endpoint may have in flight in one worker. */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 2;

/**
 * The caps of a worker running `concurrency` attempts at once: 2 per endpoint, half the slots per
 * organisation; spare slots to anyone, up to half of them on one endpoint.
 */
export function inFlightCaps(concurrency: number): InFlightCaps {
  const half = Math.max(1, Math.floor(concurrency / 2));
  return {
    perEndpoint: MAX_IN_FLIGHT_PER_ENDPOINT,
    perOrganization: half,
    spare: { perEndpoint: Math.max(MAX_IN_FLIGHT_PER_ENDPOINT, half), perOrganization: concurrency },
  };
}

/** Due deliveries a claim ranks against the caps: enough that capped organisations rarely crowd out the rest. */
const claimWindow = (limit: number) => Math.max(50, limit * 10);

/**
 * Claims up to `limit` due deliveries in one statement: PENDING ones whose time has come, and
 * SENDING ones whose lease expired, oldest first, skipping those that would put this worker past
 * `caps` (InFlightCaps; none by default: the worker gives its own). An expired one gets an attempt row saying its attempt did not finish;
 * when that was its last allowed attempt it is marked FAILED instead of being sent again.
 */
export async function claimDeliveries(
  prisma: PrismaClient,
  workerId: string,
  leaseSeconds: number,
  limit: number,
  maxAttempts: number,
  caps: InFlightCaps = { perEndpoint: limit, perOrganization: limit },
): Promise<ClaimedDelivery[]> {
  // One transaction with the failure events of the deliveries it retires (src/outbox/delivery-failed.ts).
  const rows = await runTransaction(prisma, async (tx) => {
    const claimed = await claimStatement(tx, workerId, leaseSeconds, limit, maxAttempts, caps);
    for (const r of claimed) if (r.status === 'FAILED') await tellFailure(tx, r.id);
    return claimed;
  });
  // Retired here (their worker died on the last attempt): settled as failed, by no worker's attempt.
  for (const r of rows) if (r.status === 'FAILED') deliveriesSettled.inc({ channel: r.channel.toLowerCase(), outcome: 'failed' });
  return rows.filter((r) => r.status === 'SENDING').map(({ status: _status, ...r }) => ({ ...r, attempts: Number(r.attempts) }));
}

/**
 * The caps are counted on this worker's attempts in flight (SENDING, its lease running): `due`
 * leaves out the organisations and endpoints already at their cap, so a backlog of theirs is
 * skipped in the index scan instead of filling the window, and `fitting` ranks the rest so this
 * claim does not take them past it either. Two workers claiming at once each count their own.
 */
function claimStatement(tx: Tx, workerId: string, leaseSeconds: number, limit: number, maxAttempts: number, caps: InFlightCaps) {
  return tx.$queryRawUnsafe<(ClaimedDelivery & { status: string })[]>(
    `WITH mine AS (
       SELECT "organizationId", "webhookEndpointId" FROM "Delivery"
        WHERE "status" = 'SENDING' AND "lockedBy" = $1 AND "leaseExpiresAt" >= now()
     ),
     org_busy AS (SELECT "organizationId" AS "key", count(*)::int AS "n" FROM mine GROUP BY 1),
     endpoint_busy AS (SELECT "webhookEndpointId" AS "key", count(*)::int AS "n" FROM mine WHERE "webhookEndpointId" IS NOT NULL GROUP BY 1),
     due AS (
       SELECT d."id", d."organizationId", d."webhookEndpointId", d."runAfter",
              coalesce(o."n", 0) AS "orgBusy", coalesce(e."n", 0) AS "endpointBusy"
         FROM "Delivery" d
         LEFT JOIN org_busy o ON o."key" = d."organizationId"
         LEFT JOIN endpoint_busy e ON e."key" = d."webhookEndpointId"
        WHERE ${claimable('d.')} AND coalesce(o."n", 0) < $6::int AND coalesce(e."n", 0) < $5::int
        ORDER BY d."runAfter", d."id"
        LIMIT $7::int
     ),
     fitting AS (
       SELECT "id", "runAfter" FROM (
         SELECT "id", "runAfter", "webhookEndpointId",
                "orgBusy" + row_number() OVER (PARTITION BY "organizationId" ORDER BY "runAfter", "id") AS "orgSlot",
                "endpointBusy" + row_number() OVER (PARTITION BY "webhookEndpointId" ORDER BY "runAfter", "id") AS "endpointSlot"
           FROM due
       ) ranked
        WHERE "orgSlot" <= $6::int AND ("webhookEndpointId" IS NULL OR "endpointSlot" <= $5::int)
     ),
     candidate AS (
       SELECT d."id", d."status", d."attempts", d."lockedBy", d."updatedAt" FROM "Delivery" d JOIN fitting f ON f."id" = d."id"
        WHERE ${claimable('d.')}
        ORDER BY f."runAfter", d."id"
        LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
     ),
     lost AS (
       INSERT INTO "DeliveryAttempt" ("id", "organizationId", "deliveryId", "number", "startedAt", "durationMs", "errorCode", "error", "createdAt")
       SELECT gen_random_uuid(), d."organizationId", d."id", c."attempts", c."updatedAt",
              greatest(0, floor(extract(epoch FROM (now() - c."updatedAt")) * 1000))::int,
              'LEASE_EXPIRED', 'Attempt ' || c."attempts" || ' did not finish (its process stopped or stalled).', now()
         FROM candidate c JOIN "Delivery" d ON d."id" = c."id"
        WHERE c."status" = 'SENDING'
       ON CONFLICT ("deliveryId", "number") DO NOTHING
     )
     UPDATE "Delivery" AS d SET
       "status"         = CASE WHEN c."status" = 'SENDING' AND c."attempts" >= $4 THEN 'FAILED'::"DeliveryStatus" ELSE 'SENDING'::"DeliveryStatus" END,
       "attempts"       = CASE WHEN c."status" = 'SENDING' AND c."attempts" >= $4 THEN d."attempts" ELSE d."attempts" + 1 END,
       "lockedBy"       = CASE WHEN c."status" = 'SENDING' AND c."attempts" >= $4 THEN NULL ELSE $1 END,
       "leaseExpiresAt" = CASE WHEN c."status" = 'SENDING' AND c."attempts" >= $4 THEN NULL ELSE now() + make_interval(secs => $2::float8) END,
       "lastStatusCode" = CASE WHEN c."status" = 'SENDING' THEN NULL ELSE d."lastStatusCode" END,
       "lastErrorCode"  = CASE WHEN c."status" = 'SENDING' THEN 'LEASE_EXPIRED' ELSE d."lastErrorCode" END,
       "lastError"      = CASE WHEN c."status" = 'SENDING'
                               THEN 'Attempt ' || c."attempts" || ' did not finish (its process stopped or stalled)' ||
                                    CASE WHEN c."attempts" >= $4 THEN '; no attempts left.' ELSE '.' END
                               ELSE d."lastError" END,
       "updatedAt"      = now()
       FROM candidate c
      WHERE d."id" = c."id"
      RETURNING d."id"::text AS "id", d."organizationId"::text AS "organizationId", d."eventId"::text AS "eventId",
                d."channel"::text AS "channel", d."webhookEndpointId"::text AS "webhookEndpointId",
                d."ltiScoreId"::text AS "ltiScoreId", d."attempts", d."status"::text AS "status"`,
    workerId,
    leaseSeconds,
    limit,
    maxAttempts,
    caps.perEndpoint,
    caps.perOrganization,
    claimWindow(limit),
  );
}

/**
 * Renews the lease of a delivery whose attempt is making progress (an erasure's voidings: many
 * requests, more than a lease covers), fenced as recordAttempt is: false, and nothing written, when
 * the delivery is no longer this attempt's (its lease expired and it was claimed again, or it went).
 * `updatedAt` stays the claim's: a LEASE_EXPIRED record dates the lost attempt from it.
 */
export async function extendDeliveryLease(prisma: PrismaClient, d: ClaimedDelivery, workerId: string, leaseSeconds: number): Promise<boolean> {
  const n = await prisma.$executeRawUnsafe(
    `UPDATE "Delivery" SET "leaseExpiresAt" = now() + make_interval(secs => $4::float8)
      WHERE "id" = $1::uuid AND "status" = 'SENDING' AND "lockedBy" = $2 AND "attempts" = $3::int`,
    d.id,
    workerId,
    d.attempts,
    leaseSeconds,
  );
  return n > 0;
}

/** Deliveries a worker could claim now (drain, monitoring). */
export async function countClaimableDeliveries(prisma: PrismaClient): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS "n" FROM "Delivery" WHERE ${CLAIMABLE}`);
  return Number(rows[0]?.n ?? 0);
}

export type AttemptVerdict =
  /** 2xx. */
  | { kind: 'delivered' }
  /** Tried again after `delayMs`. */
  | { kind: 'retry'; delayMs: number }
  /** No more attempts. */
  | { kind: 'failed' }
  /** Handed back untouched (a worker shutting down): PENDING now, the attempt not counted, no attempt row. */
  | { kind: 'release' };

export interface AttemptRecord {
  verdict: AttemptVerdict;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  errorCode: string | null;
  error: string | null;
  responseBody: string | null;
  /** Webhooks: what the attempt says of its endpoint's health (./endpoint-health.ts); absent when nothing. */
  endpoint?: EndpointHealth;
}

/**
 * Writes how an attempt ended, in one statement: the delivery's new state and the attempt row.
 * Fenced: false (nothing written) when the delivery is no longer this attempt's (its lease expired
 * and it was claimed again, or it was deleted). A webhook's endpoint health follows, fenced or not:
 * the endpoint answered (or failed) whoever holds the delivery now, and a retry of this call after
 * a lost answer finds the attempt written already (false) but must still record it.
 */
export async function recordAttempt(prisma: PrismaClient, d: ClaimedDelivery, workerId: string, r: AttemptRecord): Promise<boolean> {
  if (r.endpoint && d.webhookEndpointId) {
    const written = await writeAttempt(prisma, d, workerId, r);
    await recordEndpointHealth(prisma, d.webhookEndpointId, d.id, r.endpoint);
    return written;
  }
  if (r.verdict.kind !== 'failed' || !NOTIFIED_CHANNELS.has(d.channel)) return writeAttempt(prisma, d, workerId, r);
  // A grade or statement given up: its failure event in the same transaction (src/outbox/delivery-failed.ts).
  return runTransaction(prisma, async (tx) => {
    const written = await writeAttempt(tx, d, workerId, r);
    if (written) await tellFailure(tx, d.id);
    return written;
  });
}

/** How long a give-up waits for a lock its failure event needs before it is recorded without the event. */
const FAILURE_EVENT_LOCK_WAIT_MS = 200;

/**
 * The failure event of a delivery given up, unless a lock it needs is held: the event's learner
 * being erased (the delivery goes with them) or a subscribed endpoint being deleted. The event
 * then goes, not the give-up: these transactions hold delivery rows that an erasure or an
 * endpoint's deletion waits for, and waiting on theirs in turn would deadlock.
 */
async function tellFailure(tx: Tx, deliveryId: string): Promise<void> {
  const told = await skippableUnderLock(tx, FAILURE_EVENT_LOCK_WAIT_MS, () => emitDeliveryFailed(tx, deliveryId));
  if (told === LOCK_BUSY) log.warn('delivery given up without its failure event: a lock it needs is held', { deliveryId });
}

async function writeAttempt(prisma: Tx, d: ClaimedDelivery, workerId: string, r: AttemptRecord): Promise<boolean> {
  const v = r.verdict;
  if (v.kind === 'release') {
    const n = await prisma.$executeRawUnsafe(
      `UPDATE "Delivery" SET "status" = 'PENDING', "attempts" = greatest("attempts" - 1, 0), "runAfter" = now(),
              "lockedBy" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = now()
        WHERE "id" = $1::uuid AND "status" = 'SENDING' AND "lockedBy" = $2 AND "attempts" = $3::int`,
      d.id,
      workerId,
      d.attempts,
    );
    return n > 0;
  }
  const status = v.kind === 'delivered' ? 'DELIVERED' : v.kind === 'retry' ? 'PENDING' : 'FAILED';
  const delaySeconds = v.kind === 'retry' ? v.delayMs / 1000 : 0;
  const rows = await prisma.$queryRawUnsafe<{ ok: number }[]>(
    `WITH upd AS (
       UPDATE "Delivery" SET
         "status" = $4::"DeliveryStatus",
         "runAfter" = CASE WHEN $4 = 'PENDING' THEN now() + make_interval(secs => $5::float8) ELSE "runAfter" END,
         "lockedBy" = NULL, "leaseExpiresAt" = NULL,
         "lastStatusCode" = $8::int, "lastErrorCode" = $9, "lastError" = $10,
         "deliveredAt" = CASE WHEN $4 = 'DELIVERED' THEN now() ELSE "deliveredAt" END,
         "updatedAt" = now()
        WHERE "id" = $1::uuid AND "status" = 'SENDING' AND "lockedBy" = $2 AND "attempts" = $3::int
        RETURNING "id", "organizationId", "attempts", "webhookEndpointId"
     ),
     attempt AS (
       INSERT INTO "DeliveryAttempt" ("id", "organizationId", "deliveryId", "number", "startedAt", "durationMs", "statusCode", "errorCode", "error", "responseBody", "createdAt")
       SELECT gen_random_uuid(), upd."organizationId", upd."id", upd."attempts", $6::timestamptz, $7::int, $8::int, $9, $10, $11, now() FROM upd
       ON CONFLICT ("deliveryId", "number") DO NOTHING
     )
     SELECT count(*)::int AS "ok" FROM upd`,
    d.id,
    workerId,
    d.attempts,
    status,
    delaySeconds,
    r.startedAt.toISOString(),
    r.durationMs,
    r.statusCode,
    r.errorCode,
    r.error,
    r.responseBody,
  );
  return Number(rows[0]?.ok ?? 0) > 0;
}



/**
 * An event retention may delete: nothing pending or in flight, no LTI score (that delivery is the
 * score's status), and no erasure's voidings that never reached the LRS (they would be lost for
 * good: nothing else records what to void; src/xapi/voiding.ts).
 */
const SETTLED_WITHOUT_SCORE = `NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."eventId" = e."id" AND d."status" IN ('PENDING', 'SENDING'))
          AND NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."eventId" = e."id" AND d."channel" = 'LTI_SCORE')
          AND NOT (EXISTS (SELECT 1 FROM "XapiVoiding" v WHERE v."eventId" = e."id")
                   AND NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."eventId" = e."id" AND d."channel" = 'XAPI' AND d."status" = 'DELIVERED'))`;

/**
 * Retention: deletes events older than `days` whose deliveries are all settled (with their
 * deliveries and attempts), at most `batch` per call. Returns how many went. Events with an
 * LTI_SCORE delivery stay: that delivery is the score's visible status (Assessment.gradeDeliveries)
 * and goes with the assessment.
 */
export async function deleteOldEvents(prisma: PrismaClient, days: number, batch = 1000): Promise<number> {
  return prisma.$transaction(async (tx) => {
    // Two statements: the candidates locked first (an event a resend holds, src/outbox/resend.ts,
    // is skipped for the next sweep), then deleted only if, read afresh, they still have no pending
    // delivery. One statement judged every row by the snapshot it started with: a resend committed
    // during its scan was not seen, and its new delivery went with the event after the admin was
    // told it was resent.
    const locked = await tx.$queryRawUnsafe<{ id: string }[]>(
      `SELECT e."id"::text AS "id" FROM "OutboxEvent" e
        WHERE e."createdAt" < now() - make_interval(days => $1::int)
          AND ${SETTLED_WITHOUT_SCORE}
        ORDER BY e."createdAt"
        LIMIT $2::int
        FOR UPDATE OF e SKIP LOCKED`,
      days,
      batch,
    );
    if (locked.length === 0) return 0;
    return tx.$executeRawUnsafe(
      `DELETE FROM "OutboxEvent" e WHERE e."id" = ANY($1::uuid[]) AND ${SETTLED_WITHOUT_SCORE}`,
      locked.map((r) => r.id),
    );
  });
}
