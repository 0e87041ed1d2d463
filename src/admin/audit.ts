/**
 * The audit log: who did what, when. Every administrative change (API keys, erasures, human labels,
 * operator commands) writes one AuditEvent in the same transaction as the change itself, so an
 * action that rolls back leaves no event and a committed one always has its event.
 */
import os from 'node:os';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { log } from '../ops/log.js';
import type { Principal } from '../graphql/auth.js';

/** Who acted: an API key (id and "name (prefix)"), or an operator on the command line. */
export interface Actor {
  apiKeyId: string | null;
  label: string;
  /** The X-Request-Id of the API request that acted (its log line carries the same); null on the command line. */
  requestId?: string | null;
  /** The client's address as the server saw it (behind SPEECHMARK_TRUST_PROXY, the forwarded one); null on the command line. */
  ipAddress?: string | null;
}

export type AuditAction =
  | 'organization.created'
  | 'apiKey.created'
  | 'apiKey.revoked'
  | 'apiKey.rotated'
  | 'learner.erased'
  | 'learner.erasureHoldLifted'
  | 'utterance.deleted'
  | 'humanLabels.attached'
  | 'rationale.reviewed'
  // Bulk re-assessment (src/assessment/bulk.ts)
  | 'bulkOperation.started'
  | 'bulkOperation.cancelled'
  // LTI grade passback (src/lti)
  | 'ltiPlatform.registered'
  | 'ltiPlatform.keyRotated'
  | 'ltiPlatform.keyActivated'
  | 'ltiPlatform.updated'
  | 'ltiPlatform.deleted'
  | 'ltiPlatform.membersSynced'
  | 'ltiLineItem.created'
  | 'ltiLineItem.updated'
  | 'ltiLineItem.regraded'
  | 'ltiLineItem.deleted'
  | 'gradeDelivery.resent'
  // Webhooks (src/outbox)
  | 'webhookEndpoint.created'
  | 'webhookEndpoint.updated'
  | 'webhookEndpoint.deleted'
  | 'webhookEndpoint.secretRotated'
  | 'webhookEndpoint.tested'
  // Written in SQL by the delivery worker (src/outbox/store.ts), actor system:delivery-worker
  | 'webhookEndpoint.disabled'
  | 'webhookDelivery.resent'
  // xAPI (src/xapi)
  | 'xapiLrs.set'
  | 'organization.xapiAccountHomePageSet'
  // Audio retention (src/assessment/audio-retention.ts)
  | 'organization.audioRetentionSet'
  | 'xapiLrs.removed'
  | 'xapiDelivery.resent';

export type AuditTargetType =
  | 'Organization' | 'ApiKey' | 'Learner' | 'Utterance' | 'Assessment' | 'BulkOperation' | 'LtiPlatform' | 'LtiLineItem' | 'WebhookEndpoint' | 'WebhookDelivery'
  | 'GradeDelivery' | 'XapiDelivery';

export interface AuditRecord {
  organizationId: string;
  actor: Actor;
  action: AuditAction;
  targetType?: AuditTargetType;
  /** The target's database id. */
  targetId?: string;
  /** Particulars; never secrets. */
  details?: Record<string, unknown>;
}

/** The acting key of a request, with the request's id and the client's address. */
export function actorOf(ctx: { principal: Principal; requestId: string; clientIp: string | null }): Actor {
  return { apiKeyId: ctx.principal.apiKeyId, label: ctx.principal.apiKeyLabel, requestId: ctx.requestId, ipAddress: ctx.clientIp };
}

/** `cli:<os user>` for `npm run admin`. */
export function cliActor(): Actor {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return { apiKeyId: null, label: `cli:${user}` };
}

/** Write one event; call with the transaction that makes the change. Returns the event's id. */
export async function recordAudit(tx: Prisma.TransactionClient, record: AuditRecord): Promise<string> {
  const event = await tx.auditEvent.create({
    data: {
      organizationId: record.organizationId,
      actorApiKeyId: record.actor.apiKeyId,
      actor: record.actor.label,
      requestId: record.actor.requestId ?? null,
      ipAddress: record.actor.ipAddress ?? null,
      action: record.action,
      targetType: record.targetType ?? null,
      targetId: record.targetId ?? null,
      details: (record.details ?? {}) as Prisma.InputJsonValue,
    },
    select: { id: true },
  });
  return event.id;
}

/**
 * Replaces an audit event's details after its transaction committed, for work that finishes in
 * later steps (an erasure's files, a re-grade's batches). A failure is logged, not thrown: the work is done.
 */
export async function updateAuditDetails(prisma: PrismaClient, auditEventId: string, details: Record<string, unknown>): Promise<void> {
  await prisma.auditEvent
    .update({ where: { id: auditEventId }, data: { details: details as Prisma.InputJsonObject } })
    .catch((err: unknown) => log.error('updating an audit event failed', { auditEventId, err }));
}
