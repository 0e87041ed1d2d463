/**
 * Re-sending outbox deliveries, whatever their channel (webhooks: ./endpoints.ts; LTI grades:
 * src/lti/resend.ts; xAPI statements: src/xapi/resend.ts). The channels differ only in what must
 * hold of the target (an enabled endpoint, a score not superseded, an LRS); the locking, the state
 * rules and the new delivery are the same, so they live here once.
 */
import type { Delivery, DeliveryChannel, Prisma } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';

type Tx = Prisma.TransactionClient;

/** A bulk re-send creates at most this many deliveries per call. */
export const MAX_BULK_RESEND = 10_000;

/** What a bulk re-send reports: how many deliveries it made, and whether the cap left some for another call. */
export interface BulkResent {
  count: number;
  hasMore: boolean;
}

/** Rows selected with `LIMIT MAX_BULK_RESEND + 1`: the first MAX_BULK_RESEND, and whether there were more. */
export function capped<T>(rows: T[]): { rows: T[]; hasMore: boolean } {
  return { rows: rows.slice(0, MAX_BULK_RESEND), hasMore: rows.length > MAX_BULK_RESEND };
}

/** The GraphQL type each channel's deliveries are shown as (their global ids). */
export const DELIVERY_TYPE_NAMES = { WEBHOOK: 'WebhookDelivery', LTI_SCORE: 'GradeDelivery', XAPI: 'XapiDelivery' } as const satisfies Record<DeliveryChannel, string>;

/**
 * Locks outbox events until commit (in id order) and returns those still there. A re-send holds its
 * events so that retention (deleteOldEvents: FOR UPDATE SKIP LOCKED) leaves them and their new
 * deliveries alone; if retention holds one first, this waits, and a deleted event is not returned.
 * The lock is exclusive among re-sends (FOR NO KEY UPDATE, which a new delivery's foreign-key check
 * does not wait for), so two re-sends of one event, by id or in bulk, run one after the other and
 * the second sees the delivery the first made.
 */
export async function lockEvents(tx: Tx, eventIds: string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "OutboxEvent" WHERE "id" = ANY(${eventIds}::uuid[]) ORDER BY "id" FOR NO KEY UPDATE`;
  return rows.map((r) => r.id);
}

export interface ResentDelivery {
  /** The delivery as it was before the re-send. */
  previous: Delivery;
  /** The delivery that will be sent: the same one (PENDING) or a new one (DELIVERED, FAILED). */
  result: Delivery;
}

/**
 * Inside a transaction: sends one delivery of `channel` again. PENDING: its next attempt is moved
 * to now. DELIVERED or FAILED: a new delivery of the same event to the same target, with a fresh set
 * of attempts, unless an earlier re-send of it is still pending or in flight: that one is returned
 * (a retried or doubled request sends once). SENDING: CONFLICT (an attempt is in flight). NOT_FOUND
 * when the id is unknown, another channel's or another organisation's, or retention removed its
 * event. `checkTarget` runs with the delivery locked and throws when its target cannot take it now.
 */
export async function resendOne(
  tx: Tx,
  where: { organizationId: string; id: string; channel: DeliveryChannel },
  checkTarget: (delivery: Delivery) => Promise<void>,
): Promise<ResentDelivery> {
  const notFound = () => new AppError('NOT_FOUND', `No ${DELIVERY_TYPE_NAMES[where.channel]} with id "${toGlobalId(DELIVERY_TYPE_NAMES[where.channel], where.id)}".`);
  const target = await tx.delivery.findFirst({ where, select: { eventId: true } });
  if (!target) throw notFound();
  // The event first, the order retention takes it in (deleteOldEvents skips an event held here).
  if ((await lockEvents(tx, [target.eventId])).length === 0) throw notFound();
  const locked = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "Delivery"
     WHERE "id" = ${where.id}::uuid AND "organizationId" = ${where.organizationId}::uuid
       AND "channel" = ${where.channel}::"DeliveryChannel" FOR UPDATE`;
  if (locked.length === 0) throw notFound();
  const previous = await tx.delivery.findUniqueOrThrow({ where: { id: where.id } });
  await checkTarget(previous);
  if (previous.status === 'SENDING') {
    throw new AppError('CONFLICT', 'An attempt of this delivery is in flight; its outcome will show shortly.');
  }
  if (previous.status === 'PENDING') {
    const result = await tx.delivery.update({ where: { id: previous.id }, data: { runAfter: new Date(), updatedAt: new Date() } });
    return { previous, result };
  }
  // Serialised by the event's lock: a second re-send of this delivery, or of another delivery of the
  // same event to the same target, sees the first's new delivery here.
  const open = await tx.delivery.findFirst({
    where: {
      organizationId: previous.organizationId,
      eventId: previous.eventId,
      channel: previous.channel,
      webhookEndpointId: previous.webhookEndpointId,
      ltiScoreId: previous.ltiScoreId,
      status: { in: ['PENDING', 'SENDING'] },
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
  if (open) {
    const result = open.status === 'PENDING'
      ? await tx.delivery.update({ where: { id: open.id }, data: { runAfter: new Date(), updatedAt: new Date() } })
      : open;
    return { previous, result };
  }
  const result = await tx.delivery.create({
    data: {
      organizationId: previous.organizationId,
      eventId: previous.eventId,
      channel: previous.channel,
      webhookEndpointId: previous.webhookEndpointId,
      ltiScoreId: previous.ltiScoreId,
    },
  });
  return { previous, result };
}

/** One new PENDING delivery to create in bulk: the event, and the target its channel needs. */
export interface NewDelivery {
  eventId: string;
  webhookEndpointId?: string | null;
  ltiScoreId?: string | null;
}

/**
 * Inside a transaction: a new PENDING delivery of `channel` for each row whose event is still there
 * (each is locked until commit, so retention cannot delete it meanwhile) and has no delivery to the
 * same target pending or in flight (one a concurrent re-send made after the caller chose its rows:
 * the event's lock orders the two, and this reads after it). Returns how many.
 */
export async function insertResends(tx: Tx, organizationId: string, channel: DeliveryChannel, rows: NewDelivery[]): Promise<number> {
  const present = new Set(await lockEvents(tx, [...new Set(rows.map((r) => r.eventId))]));
  const kept = rows.filter((r) => present.has(r.eventId));
  if (kept.length === 0) return 0;
  return tx.$executeRaw`
    INSERT INTO "Delivery" ("id", "organizationId", "eventId", "channel", "webhookEndpointId", "ltiScoreId", "status", "runAfter", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), ${organizationId}::uuid, e, ${channel}::"DeliveryChannel", w, s, 'PENDING', now(), now(), now()
      FROM unnest(${kept.map((r) => r.eventId)}::uuid[], ${kept.map((r) => r.webhookEndpointId ?? null)}::uuid[], ${kept.map((r) => r.ltiScoreId ?? null)}::uuid[]) AS t(e, w, s)
     WHERE NOT EXISTS (
       SELECT 1 FROM "Delivery" d
        WHERE d."organizationId" = ${organizationId}::uuid AND d."eventId" = t.e AND d."channel" = ${channel}::"DeliveryChannel"
          AND d."webhookEndpointId" IS NOT DISTINCT FROM t.w AND d."ltiScoreId" IS NOT DISTINCT FROM t.s
          AND d."status" IN ('PENDING', 'SENDING'))`;
}
