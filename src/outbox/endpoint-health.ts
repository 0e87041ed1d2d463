/**
 * A webhook endpoint's health, told by each attempt that reached for it (src/outbox/webhook.ts).
 * A failed attempt (any answer but 2xx, a timeout, a refused connection or address) starts its run
 * of failures, `failingSince`, or continues it; a delivered one ends it. An endpoint whose run has
 * lasted `disableAfterFailingDays` (0: never) is disabled at its next failure, as Stripe and Svix
 * disable endpoints that keep failing, so a receiver gone for good stops costing each event a dozen
 * attempts; a 410 Gone disables it at once. Either writes an audit event, webhookEndpoint.disabled,
 * by the system.
 *
 * Written after the attempt's own record, in a transaction of its own that locks only the endpoint:
 * taken inside the attempt's statement (which holds the delivery's row), it would lock in the
 * opposite order to deleting or re-sending, which lock the endpoint and then its deliveries.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { recordAudit } from '../admin/audit.js';
import { runTransaction } from '../db/transaction.js';
import { log } from '../ops/log.js';

export interface EndpointHealth {
  /** The endpoint took the attempt (2xx). */
  answered: boolean;
  /** Failing for this many days disables the endpoint; 0: never. */
  disableAfterFailingDays: number;
  /** It answered 410 Gone: disabled now, for this reason. */
  gone: string | null;
  /**
   * The endpoint's updatedAt as the attempt loaded it: an endpoint changed since (its URL, enabled
   * again, disabled) is not judged by an attempt made to what it was.
   */
  version: Date;
}

/** The audit log's actor for what the delivery worker does on its own. */
export const SYSTEM_ACTOR = { apiKeyId: null, label: 'system:delivery-worker' } as const;

const DAY_MS = 86_400_000;

interface EndpointState {
  organizationId: string;
  failingSince: Date | null;
  disabledAt: Date | null;
  updatedAt: Date;
}

/**
 * Records what an attempt says of its endpoint, unless the endpoint changed since the attempt
 * loaded it. Never throws: the attempt is recorded already; a health update lost (the database gone
 * a moment) leaves the run as it was until the next attempt.
 */
export async function recordEndpointHealth(prisma: PrismaClient, endpointId: string, deliveryId: string, health: EndpointHealth): Promise<void> {
  try {
    // Most attempts change nothing (a healthy endpoint answering, a failing one failing on): a read, no lock.
    const seen = await prisma.webhookEndpoint.findUnique({ where: { id: endpointId }, select: { organizationId: true, failingSince: true, disabledAt: true, updatedAt: true } });
    if (!seen || !mayChange(seen, health, new Date())) return;
    await runTransaction(prisma, async (tx) => {
      const [row] = await tx.$queryRaw<(EndpointState & { now: Date })[]>`
        SELECT "organizationId"::text AS "organizationId", "failingSince", "disabledAt", "updatedAt", now() AS "now"
          FROM "WebhookEndpoint" WHERE "id" = ${endpointId}::uuid FOR NO KEY UPDATE`;
      if (!row || row.updatedAt.getTime() !== health.version.getTime()) return;
      const failingSince = health.answered ? null : (row.failingSince ?? row.now);
      const reason = row.disabledAt === null ? disableReason(row, health) : null;
      if (failingSince?.getTime() === row.failingSince?.getTime() && reason === null) return;
      await tx.webhookEndpoint.update({
        where: { id: endpointId },
        // The run alone is not a change of the endpoint: updatedAt moves only when it is disabled.
        data: reason === null ? { failingSince, updatedAt: row.updatedAt } : { failingSince, disabledAt: row.now, disabledReason: reason },
      });
      if (reason !== null) {
        await recordAudit(tx, {
          organizationId: row.organizationId, actor: SYSTEM_ACTOR, action: 'webhookEndpoint.disabled', targetType: 'WebhookEndpoint', targetId: endpointId,
          details: { reason, deliveryId },
        });
      }
    });
  } catch (err) {
    log.warn('webhook endpoint health not recorded', { endpointId, deliveryId, err });
  }
}

/** Whether the attempt may change the endpoint (checked again, with the database's clock, under its lock). */
function mayChange(e: EndpointState, health: EndpointHealth, now: Date): boolean {
  if (e.updatedAt.getTime() !== health.version.getTime()) return false;
  if (health.answered) return e.failingSince !== null;
  if (e.failingSince === null || health.gone !== null) return true;
  // An hour's slack for the clocks of this host and the database's.
  return e.disabledAt === null && health.disableAfterFailingDays > 0 && e.failingSince.getTime() <= now.getTime() - health.disableAfterFailingDays * DAY_MS + 3_600_000;
}

/** Why the attempt disables the endpoint (enabled until now), or null when it does not. */
function disableReason(e: EndpointState & { now: Date }, health: EndpointHealth): string | null {
  if (health.answered) return null;
  if (health.gone !== null) return health.gone;
  const days = health.disableAfterFailingDays;
  if (days <= 0 || e.failingSince === null || e.failingSince.getTime() > e.now.getTime() - days * DAY_MS) return null;
  return `Every delivery attempt failed for ${days} days (since ${e.failingSince.toISOString().replace(/\.\d{3}Z$/, 'Z')}); enable it once it answers again, and re-send what failed.`;
}
