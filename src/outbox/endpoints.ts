/**
 * Webhook endpoint administration (the GraphQL mutations; ADMIN): register, change, disable or
 * enable, delete, rotate the signing secret, and re-send deliveries. Every change writes its audit
 * event in the same transaction. A secret is returned once, when created or rotated; the API never
 * shows it again (only its first characters).
 */
import type { Delivery, Prisma, PrismaClient, WebhookEndpoint } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { validateEndpointUrl, type AddressPolicy } from './address-policy.js';
import { EVENT_TYPES, emitTestEvent, isEventType, TEST_EVENT_TYPE } from './events.js';
import { generateSecret, secretPrefix, webhookId } from './signing.js';
import { capped, insertResends, MAX_BULK_RESEND, resendOne, type BulkResent } from './resend.js';

type Tx = Prisma.TransactionClient;

export const MAX_DESCRIPTION_CHARS = 500;
/**
 * The most secrets that sign at once (each adds a signature to every request): a rotation beyond it
 * ends the oldest at once. Without a cap, ~340 rotations within an overlap made `webhook-signature`
 * larger than the 16 KB of headers receivers accept (431).
 */
export const MAX_SIGNING_SECRETS = 5;
/** rotateWebhookSecret's longest overlap: 7 days. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600;

/** The operator's rules for registering endpoints. */
export interface EndpointRules {
  policy: AddressPolicy;
  allowHttp: boolean;
  /** Endpoints per organisation (each event is fanned out to all of them). */
  maxEndpoints: number;
}


export function validateEventTypes(types: readonly string[]): string[] {
  if (types.length === 0) throw badInput(`eventTypes needs at least one of ${EVENT_TYPES.join(', ')}.`, 'input.eventTypes');
  for (const [i, t] of types.entries()) {
    if (!isEventType(t)) throw badInput(`Unknown event type ${JSON.stringify(t)} (event types: ${EVENT_TYPES.join(', ')}).`, `input.eventTypes.${i}`, { eventTypes: [...EVENT_TYPES] });
  }
  return [...new Set(types)];
}

function validateDescription(d: string | null | undefined): string | null {
  const trimmed = d?.trim() ?? '';
  if (trimmed.length > MAX_DESCRIPTION_CHARS) throw badInput(`description must be at most ${MAX_DESCRIPTION_CHARS} characters.`, 'input.description');
  return trimmed || null;
}

async function lockOrganization(tx: Tx, organizationId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM "Organization" WHERE "id" = ${organizationId}::uuid FOR UPDATE`;
}

/** The endpoint, locked for the rest of the transaction; NOT_FOUND when unknown or another organisation's. */
async function lockEndpoint(tx: Tx, organizationId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await lockedEndpointOrNull(tx, organizationId, id);
  if (!endpoint) throw new AppError('NOT_FOUND', `No WebhookEndpoint with id "${toGlobalId('WebhookEndpoint', id)}".`);
  return endpoint;
}

async function lockedEndpointOrNull(tx: Tx, organizationId: string, id: string): Promise<WebhookEndpoint | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "WebhookEndpoint" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`;
  return rows.length === 0 ? null : tx.webhookEndpoint.findUniqueOrThrow({ where: { id } });
}

export interface CreateEndpointInput {
  organizationId: string;
  url: string;
  eventTypes: readonly string[];
  description?: string | null;
}

/** A new endpoint and its first signing secret (returned here only). */
export async function createEndpoint(prisma: PrismaClient, rules: EndpointRules, input: CreateEndpointInput, actor: Actor) {
  const url = validateEndpointUrl(input.url, rules.policy, rules.allowHttp, 'input.url');
  const eventTypes = validateEventTypes(input.eventTypes);
  const description = validateDescription(input.description);
  const secret = generateSecret();
  return prisma.$transaction(async (tx) => {
    await lockOrganization(tx, input.organizationId);
    const count = await tx.webhookEndpoint.count({ where: { organizationId: input.organizationId } });
    if (count >= rules.maxEndpoints) {
      throw new AppError('CONFLICT', `The organisation already has ${count} webhook endpoints (at most ${rules.maxEndpoints}); delete one first.`);
    }
    const endpoint = await tx.webhookEndpoint.create({
      data: { organizationId: input.organizationId, url, eventTypes, description, secrets: { create: { organizationId: input.organizationId, secret } } },
    });
    await recordAudit(tx, {
      organizationId: input.organizationId, actor, action: 'webhookEndpoint.created', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: { url, eventTypes, secretPrefix: secretPrefix(secret) },
    });
    return { endpoint, secret };
  });
}

export interface UpdateEndpointInput {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  description?: string | null;
  /** false disables the endpoint (nothing is delivered); true enables it again (after a 410, too). */
  enabled?: boolean | null;
  /** Whether `description` was given (null clears it). */
  descriptionGiven: boolean;
}

export async function updateEndpoint(
  prisma: PrismaClient,
  rules: EndpointRules,
  where: { organizationId: string; id: string },
  input: UpdateEndpointInput,
  actor: Actor,
): Promise<WebhookEndpoint> {
  const data: Prisma.WebhookEndpointUpdateInput = {};
  if (input.url != null) data.url = validateEndpointUrl(input.url, rules.policy, rules.allowHttp, 'input.url');
  if (input.eventTypes != null) data.eventTypes = validateEventTypes(input.eventTypes);
  if (input.descriptionGiven) data.description = validateDescription(input.description);
  return prisma.$transaction(async (tx) => {
    const before = await lockEndpoint(tx, where.organizationId, where.id);
    // Enabled again, or pointed elsewhere: its run of failures starts afresh, so it is not disabled at its next failure.
    if (input.enabled === true && before.disabledAt) Object.assign(data, { disabledAt: null, disabledReason: null, failingSince: null });
    if (data.url !== undefined && data.url !== before.url) data.failingSince = null;
    if (input.enabled === false && !before.disabledAt) Object.assign(data, { disabledAt: new Date(), disabledReason: `Disabled by ${actor.label}.` });
    const endpoint = await tx.webhookEndpoint.update({ where: { id: before.id }, data });
    const changed = (['url', 'eventTypes', 'description', 'disabledAt'] as const).filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(endpoint[k]),
    );
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookEndpoint.updated', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: {
        changed: changed.map((k) => (k === 'disabledAt' ? 'enabled' : k)),
        url: endpoint.url, eventTypes: endpoint.eventTypes, enabled: endpoint.disabledAt === null,
      },
    });
    return endpoint;
  });
}

/** Deletes the endpoint with its secrets, deliveries and attempts; returns it as it was. */
export async function deleteEndpoint(prisma: PrismaClient, where: { organizationId: string; id: string }, actor: Actor): Promise<WebhookEndpoint> {
  return prisma.$transaction(async (tx) => {
    const endpoint = await lockEndpoint(tx, where.organizationId, where.id);
    const deliveries = await tx.delivery.count({ where: { webhookEndpointId: endpoint.id } });
    // Its test events go too: they were this endpoint's only (the deliveries go by cascade).
    await tx.outboxEvent.deleteMany({ where: { organizationId: where.organizationId, type: TEST_EVENT_TYPE, deliveries: { some: { webhookEndpointId: endpoint.id } } } });
    await tx.webhookEndpoint.delete({ where: { id: endpoint.id } });
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookEndpoint.deleted', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: { url: endpoint.url, deliveriesDeleted: deliveries },
    });
    return endpoint;
  });
}

/**
 * A new signing secret (returned here only). Secrets that were valid keep signing until now +
 * `expireOldAfterSeconds` (never later than they were going to), so a receiver can switch over
 * with no webhook failing verification: every request carries a signature per valid secret. At
 * most MAX_SIGNING_SECRETS sign: the oldest beyond them stop now.
 */
export async function rotateSecret(
  prisma: PrismaClient,
  where: { organizationId: string; id: string },
  options: { expireOldAfterSeconds: number },
  actor: Actor,
) {
  const overlap = options.expireOldAfterSeconds;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_SECRET_OVERLAP_SECONDS) {
    throw badInput(`expireOldAfterSeconds must be an integer from 0 to ${MAX_SECRET_OVERLAP_SECONDS} (7 days).`, 'expireOldAfterSeconds');
  }
  const secret = generateSecret();
  return prisma.$transaction(async (tx) => {
    const endpoint = await lockEndpoint(tx, where.organizationId, where.id);
    const now = new Date();
    const until = new Date(now.getTime() + overlap * 1000);
    await tx.webhookSecret.deleteMany({ where: { endpointId: endpoint.id, expiresAt: { lte: now } } });
    await tx.webhookSecret.updateMany({ where: { endpointId: endpoint.id, OR: [{ expiresAt: null }, { expiresAt: { gt: until } }] }, data: { expiresAt: until } });
    await expireBeyondCap(tx, endpoint.id, now);
    await tx.webhookSecret.create({ data: { organizationId: where.organizationId, endpointId: endpoint.id, secret } });
    const updated = await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { updatedAt: now } });
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookEndpoint.secretRotated', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: { secretPrefix: secretPrefix(secret), oldSecretsExpireAt: until.toISOString() },
    });
    return { endpoint: updated, secret };
  });
}

/** Ends now the valid secrets past the newest MAX_SIGNING_SECRETS - 1, leaving room for a new one. */
async function expireBeyondCap(tx: Tx, endpointId: string, now: Date): Promise<void> {
  const beyond = await tx.webhookSecret.findMany({
    where: { endpointId, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    skip: MAX_SIGNING_SECRETS - 1,
    select: { id: true },
  });
  if (beyond.length > 0) await tx.webhookSecret.updateMany({ where: { id: { in: beyond.map((b) => b.id) } }, data: { expiresAt: now } });
}

function requireEnabled(endpoint: WebhookEndpoint): void {
  if (endpoint.disabledAt) {
    throw new AppError('CONFLICT', `The endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'}); enable it (updateWebhookEndpoint) before re-sending.`);
  }
}

/**
 * Sends a delivery's event to its endpoint again, with the same `webhook-id` (a receiver that
 * already has it can tell): ./resend.ts's rules, once the endpoint is enabled. Returns the delivery
 * that will be sent. The endpoint is locked first, then the event and the delivery: the order a bulk
 * re-send and deleteEndpoint take them in, so neither can deadlock with this.
 */
export async function resendDelivery(prisma: PrismaClient, where: { organizationId: string; id: string }, actor: Actor): Promise<Delivery> {
  return prisma.$transaction(async (tx) => {
    const found = await tx.delivery.findFirst({ where: { ...where, channel: 'WEBHOOK' }, select: { webhookEndpointId: true } });
    // With an unknown id, or an endpoint deleted meanwhile (its deliveries went with it), resendOne
    // finds no delivery and says NOT_FOUND of the delivery.
    const endpoint = found?.webhookEndpointId ? await lockedEndpointOrNull(tx, where.organizationId, found.webhookEndpointId) : null;
    const { previous, result } = await resendOne(tx, { ...where, channel: 'WEBHOOK' }, async () => {
      if (endpoint) requireEnabled(endpoint);
    });
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookDelivery.resent', targetType: 'WebhookDelivery', targetId: previous.id,
      details: { webhookId: webhookId(previous.eventId), previousStatus: previous.status, deliveryId: toGlobalId('WebhookDelivery', result.id) },
    });
    return result;
  });
}

/**
 * A `webhook.test` event to this endpoint only (an enabled one: a disabled endpoint is CONFLICT, as
 * for a re-send), signed and retried like any delivery. Returns the delivery that will be sent.
 */
export async function sendTestEvent(prisma: PrismaClient, where: { organizationId: string; endpointId: string }, actor: Actor): Promise<Delivery> {
  return prisma.$transaction(async (tx) => {
    const endpoint = await lockEndpoint(tx, where.organizationId, where.endpointId);
    if (endpoint.disabledAt) {
      throw new AppError('CONFLICT', `The endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'}); enable it (updateWebhookEndpoint) before testing it.`);
    }
    const deliveryId = await emitTestEvent(tx, where.organizationId, endpoint.id);
    const delivery = await tx.delivery.findUniqueOrThrow({ where: { id: deliveryId } });
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookEndpoint.tested', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: { type: TEST_EVENT_TYPE, webhookId: webhookId(delivery.eventId), deliveryId: toGlobalId('WebhookDelivery', delivery.id) },
    });
    return delivery;
  });
}

/**
 * Recovery after a long outage: a new delivery for every event of the endpoint since `since` whose
 * deliveries there all FAILED (none pending, in flight or delivered), at most MAX_BULK_RESEND, oldest
 * first. Returns how many, and whether the cap left some.
 */
export async function resendFailedDeliveries(
  prisma: PrismaClient,
  where: { organizationId: string; endpointId: string },
  since: Date,
  actor: Actor,
): Promise<BulkResent> {
  if (Number.isNaN(since.getTime())) throw badInput('since is not a valid instant.', 'since');
  return prisma.$transaction(async (tx) => {
    const endpoint = await lockEndpoint(tx, where.organizationId, where.endpointId);
    requireEnabled(endpoint);
    const failed = await tx.$queryRaw<{ eventId: string }[]>`
      SELECT d."eventId"::text AS "eventId" FROM "Delivery" d JOIN "OutboxEvent" e ON e."id" = d."eventId"
       WHERE d."webhookEndpointId" = ${endpoint.id}::uuid AND e."createdAt" >= ${since}
         -- An outage's recovery re-sends events, not old test pings nobody asked for again.
         AND e."type" <> ${TEST_EVENT_TYPE}
       GROUP BY d."eventId"
      HAVING bool_and(d."status" = 'FAILED')
       ORDER BY min(e."createdAt"), d."eventId"
       LIMIT ${MAX_BULK_RESEND + 1}`;
    const { rows, hasMore } = capped(failed);
    // Events retention deleted a moment ago are simply not resent (insertResends locks the rest).
    const count = await insertResends(tx, where.organizationId, 'WEBHOOK', rows.map((f) => ({ eventId: f.eventId, webhookEndpointId: endpoint.id })));
    await recordAudit(tx, {
      organizationId: where.organizationId, actor, action: 'webhookDelivery.resent', targetType: 'WebhookEndpoint', targetId: endpoint.id,
      details: { since: since.toISOString(), deliveries: count, hasMore },
    });
    return { count, hasMore };
  });
}
