/**
 * Re-sending xAPI statements to the organisation's Learning Record Store after a failure (ADMIN),
 * by src/outbox/resend.ts's rules. A statement keeps its id on every attempt and re-send, so an LRS
 * that already has it keeps one copy.
 */
import type { Delivery, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { capped, insertResends, MAX_BULK_RESEND, resendOne, type BulkResent } from '../outbox/resend.js';
import type { LrsConfig } from './lrs.js';
import { lrsFor } from './send.js';

type Tx = Prisma.TransactionClient;

/**
 * One organisation's xAPI re-sends take turns with its bulk re-send: the bulk holds this advisory
 * lock exclusively, a single re-send shares it. (Not a row lock on Organization: job claims update
 * that row, and would wait for a whole bulk re-send.)
 */
const XAPI_RESEND_LOCK_NAMESPACE = 0x534d5852;

async function resendLock(tx: Tx, organizationId: string, mode: 'shared' | 'exclusive'): Promise<void> {
  const key = parseInt(organizationId.replace(/-/g, '').slice(0, 8), 16) | 0; // a collision only means a needless wait
  if (mode === 'shared') await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock_shared($1::int4, $2::int4)', XAPI_RESEND_LOCK_NAMESPACE, key);
  else await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', XAPI_RESEND_LOCK_NAMESPACE, key);
}

/** CONFLICT when the organisation has no LRS (its own or the server's): the attempt could only fail. */
async function requireLrs(tx: Tx, organizationId: string, serverLrs: LrsConfig | null): Promise<void> {
  if (!(await lrsFor(tx, organizationId, serverLrs))) {
    throw new AppError('CONFLICT', 'The organisation has no Learning Record Store; set one (setXapiLrs) before re-sending.');
  }
}

/**
 * Sends an xAPI delivery's statement again. PENDING: tried now; DELIVERED or FAILED: a new delivery,
 * which is returned. CONFLICT while an attempt is in flight or without an LRS.
 */
export async function resendXapiDelivery(
  prisma: PrismaClient,
  serverLrs: LrsConfig | null,
  where: { organizationId: string; id: string },
  actor: Actor,
): Promise<Delivery> {
  return prisma.$transaction(async (tx) => {
    await resendLock(tx, where.organizationId, 'shared');
    const { previous, result } = await resendOne(tx, { ...where, channel: 'XAPI' }, () => requireLrs(tx, where.organizationId, serverLrs));
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'xapiDelivery.resent', targetType: 'XapiDelivery', targetId: previous.id,
      details: { previousStatus: previous.status, deliveryId: toGlobalId('XapiDelivery', result.id) },
    });
    return result;
  });
}

/**
 * Recovery after an LRS outage: a new delivery for every assessment.completed event since `since`
 * whose statement deliveries all FAILED (at most MAX_BULK_RESEND, oldest first). Returns how many,
 * and whether the cap left some.
 */
export async function resendFailedXapiDeliveries(
  prisma: PrismaClient,
  serverLrs: LrsConfig | null,
  organizationId: string,
  since: Date,
  actor: Actor,
): Promise<BulkResent> {
  if (Number.isNaN(since.getTime())) throw badInput('since is not a valid instant.', 'since');
  return prisma.$transaction(async (tx) => {
    await resendLock(tx, organizationId, 'exclusive');
    await requireLrs(tx, organizationId, serverLrs);
    const failed = await tx.$queryRaw<{ eventId: string }[]>`
      SELECT d."eventId"::text AS "eventId" FROM "Delivery" d JOIN "OutboxEvent" e ON e."id" = d."eventId"
       WHERE d."organizationId" = ${organizationId}::uuid AND d."channel" = 'XAPI' AND e."createdAt" >= ${since}
         AND d."createdAt" >= ${since} -- implied (a delivery is never older than its event); lets the index serve
       GROUP BY d."eventId"
      HAVING bool_and(d."status" = 'FAILED')
       ORDER BY min(e."createdAt"), d."eventId"
       LIMIT ${MAX_BULK_RESEND + 1}`;
    const { rows, hasMore } = capped(failed);
    const count = await insertResends(tx, organizationId, 'XAPI', rows);
    await recordAudit(tx, {
      organizationId, actor, action: 'xapiDelivery.resent', targetType: 'Organization', targetId: organizationId,
      details: { since: since.toISOString(), deliveries: count, hasMore },
    });
    return { count, hasMore };
  });
}
