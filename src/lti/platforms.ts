/**
 * Registering LTI platforms and mapping line items (admin). One write path each; every change
 * writes its audit event in the same transaction.
 */
import { isUuid, toGlobalId } from '../graphql/ids.js';
import type { LtiGradingPolicy, LtiLineItem, LtiPlatform, LtiScoreAspect, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { activateWaitingToolKey, createToolKey, KEY_ACTIVATION_GRACE_S, MAX_KEY_ACTIVATION_GRACE_S, rotateToolKey, WaitingKeyError } from './keys.js';
import { validateEndpointUrl, type AddressPolicy } from '../outbox/address-policy.js';
import { checkServiceOrigins, refuseUnbound } from './origins.js';

export interface PlatformInput {
  name: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  tokenEndpoint: string;
  audience?: string | null;
  /** Origins other than the issuer's that the platform's token endpoint and services are on (src/lti/origins.ts). */
  serviceOrigins?: readonly string[] | null;
}

const MAX_FIELD_CHARS = 2048;

/**
 * The platform's identifiers, in UTF-8 bytes. LTI 1.3 caps deployment_id at 255 ASCII characters
 * and sets no cap on issuer or client_id; these keep the unique index (organisation, issuer, client
 * id, deployment id) under PostgreSQL's 2,704-byte limit for an index row, which a longer value
 * would hit as an internal error.
 */
const MAX_ID_BYTES = { issuer: 1024, clientId: 1024, deploymentId: 255 } as const;

/** `field`: the name in the mutation's `input` (RegisterLtiPlatformInput, CreateLtiLineItemInput, ...): the argument is `input.<field>`. */
function refuse(message: string, field: string, details?: Record<string, unknown>): AppError {
  return badInput(message, `input.${field}`, details);
}

function text(field: string, value: string): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > MAX_FIELD_CHARS) {
    throw refuse(`${field} must be 1 to ${MAX_FIELD_CHARS} characters.`, field);
  }
  return trimmed;
}

function identifier(field: keyof typeof MAX_ID_BYTES, value: string): string {
  const trimmed = text(field, value);
  const max = MAX_ID_BYTES[field];
  if (Buffer.byteLength(trimmed) > max) {
    throw refuse(`${field} must be at most ${max} bytes in UTF-8.`, field, { max });
  }
  return trimmed;
}

/**
 * An absolute http(s) URL without credentials in it (they would end up in logs), at most 2,048
 * characters as stored: normalising percent-encodes what is not ASCII, up to 9 characters for one,
 * and a line item's URL is in a unique index.
 */
export function httpUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(text(field, value));
  } catch {
    throw refuse(`${field} must be an absolute URL.`, field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw refuse(`${field} must be an http(s) URL.`, field);
  }
  if (url.username || url.password) throw refuse(`${field} must not contain credentials.`, field);
  const normalised = url.toString();
  if (normalised.length > MAX_FIELD_CHARS) {
    throw refuse(`${field} must be at most ${MAX_FIELD_CHARS} characters once percent-encoded (${normalised.length}).`, field);
  }
  return normalised;
}

/** A line item URL as a mapping stores it (httpUrl's normal form), or null when it could be no mapping's. */
export function normalisedLineItemUrl(value: string): string | null {
  try {
    return httpUrl('url', value);
  } catch {
    return null;
  }
}

function audienceOf(value: string | null | undefined): string | null {
  return value == null || value.trim() === '' ? null : text('audience', value);
}

/** The operator's rules for every URL the server sends an LMS's credentials to. */
export interface EndpointRules {
  policy: AddressPolicy;
  allowHttp: boolean;
}

/**
 * Checks an httpUrl the server will send credentials to (a token endpoint gets the signed client
 * assertion, a line item the AGS token and the grade): https unless the operator allows http
 * (SPEECHMARK_WEBHOOK_ALLOW_HTTP), and no address the operator's policy refuses, as the membership
 * and line-items containers are checked. The URL is stored as httpUrl gave it (a fragment kept, as
 * lookups by URL compare it).
 */
function checkServiceUrl(field: string, url: string, rules: EndpointRules): void {
  validateEndpointUrl(url, rules.policy, rules.allowHttp, `input.${field}`);
}

/** httpUrl, checked by checkServiceUrl. */
function serviceUrl(field: string, value: string, rules: EndpointRules): string {
  const url = httpUrl(field, value);
  checkServiceUrl(field, url, rules);
  return url;
}

const PLATFORM_CONFLICT = 'This organisation already registered a platform with that issuer, client id and deployment id.';

/** A platform and its first RSA 2048 key pair, in one transaction. */
export async function registerLtiPlatform(prisma: PrismaClient, organizationId: string, input: PlatformInput, actor: Actor, rules: EndpointRules) {
  const data = {
    organizationId,
    name: text('name', input.name),
    issuer: identifier('issuer', input.issuer),
    clientId: identifier('clientId', input.clientId),
    deploymentId: identifier('deploymentId', input.deploymentId),
    tokenEndpoint: serviceUrl('tokenEndpoint', input.tokenEndpoint, rules),
    audience: audienceOf(input.audience),
    serviceOrigins: checkServiceOrigins(input.serviceOrigins ?? [], rules.allowHttp),
  };
  // The signed client assertion goes there: one of the platform's own origins.
  refuseUnbound(data, 'input.tokenEndpoint', data.tokenEndpoint);
  try {
    return await prisma.$transaction(async (tx) => {
      const platform = await tx.ltiPlatform.create({ data });
      const key = await createToolKey(tx, organizationId, platform.id);
      await recordAudit(tx, {
        organizationId, actor, action: 'ltiPlatform.registered', targetType: 'LtiPlatform', targetId: platform.id,
        details: { issuer: data.issuer, clientId: data.clientId, deploymentId: data.deploymentId, kid: key.id },
      });
      return platform;
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new AppError('CONFLICT', PLATFORM_CONFLICT);
    }
    throw e;
  }
}

/**
 * A new key, published now and signing after `activateAfterSeconds` (a day by default, 0: at once);
 * the key that signs now signs until then, and stays in the JWKS for the overlap after (see keys.ts).
 */
export async function rotateLtiPlatformKey(prisma: PrismaClient, organizationId: string, platformId: string, actor: Actor, activateAfterSeconds?: number | null) {
  const grace = activateAfterSeconds ?? KEY_ACTIVATION_GRACE_S;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_KEY_ACTIVATION_GRACE_S) {
    throw badInput(`activateAfterSeconds must be 0 to ${MAX_KEY_ACTIVATION_GRACE_S} (30 days).`, 'activateAfterSeconds', { max: MAX_KEY_ACTIVATION_GRACE_S });
  }
  return prisma.$transaction(async (tx) => {
    // Locked: two rotations of one platform take turns (each supersedes what the other left waiting).
    const platform = await lockPlatform(tx, organizationId, platformId);
    const key = await rotateToolKey(tx, organizationId, platformId, grace);
    await recordAudit(tx, {
      organizationId, actor, action: 'ltiPlatform.keyRotated', targetType: 'LtiPlatform', targetId: platformId,
      details: { kid: key.id, activatesAt: key.activatesAt.toISOString() },
    });
    return platform;
  });
}

/**
 * The key a rotation left waiting signs now (activateLtiPlatformKey); audited as
 * ltiPlatform.keyActivated, except when `kid` signs already (a retry: nothing changes).
 */
export async function activateLtiPlatformKey(prisma: PrismaClient, organizationId: string, platformId: string, actor: Actor, kid?: string | null) {
  const unknownKey = () => new AppError('NOT_FOUND', `No key ${JSON.stringify(kid)} of this platform.`, { argument: 'kid' });
  if (kid != null && !isUuid(kid)) throw unknownKey();
  return prisma.$transaction(async (tx) => {
    const platform = await lockPlatform(tx, organizationId, platformId);
    const [{ now }] = await tx.$queryRaw<{ now: Date }[]>`SELECT date_trunc('milliseconds', now()) AS "now"`;
    let activated;
    try {
      activated = await activateWaitingToolKey(tx, organizationId, platformId, kid ?? null, now);
    } catch (e) {
      if (!(e instanceof WaitingKeyError)) throw e;
      if (e.reason === 'unknown') throw unknownKey();
      throw new AppError('CONFLICT', e.reason === 'none'
        ? 'No key is waiting to sign: rotateLtiPlatformKey makes one.'
        : e.reason === 'another'
          ? `Key ${JSON.stringify(kid)} signs already, and another key is waiting: pass the waiting key's kid (LtiPlatform.keys).`
          : `Key ${JSON.stringify(kid)} will not sign: a later rotation superseded it, or it was retired.`);
    }
    if (activated) {
      await recordAudit(tx, {
        organizationId, actor, action: 'ltiPlatform.keyActivated', targetType: 'LtiPlatform', targetId: platformId,
        details: { kid: activated.key.id, activatesAt: activated.key.activatesAt.toISOString(), wasDueAt: activated.wasDueAt.toISOString() },
      });
    }
    return platform;
  });
}

/** What updateLtiPlatform may change; undefined or null keeps a field (audience: '' clears it). */
export type PlatformChanges = { [K in keyof PlatformInput]?: PlatformInput[K] | null };

/** The platform, locked for the rest of the transaction; NOT_FOUND when unknown or another organisation's. */
async function lockPlatform(tx: Prisma.TransactionClient, organizationId: string, id: string): Promise<LtiPlatform> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "LtiPlatform" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new AppError('NOT_FOUND', 'No such LTI platform.');
  return tx.ltiPlatform.findUniqueOrThrow({ where: { id } });
}

/** Changes a platform's settings; every given field is checked as registration checks it. */
export async function updateLtiPlatform(prisma: PrismaClient, organizationId: string, id: string, changes: PlatformChanges, actor: Actor, rules: EndpointRules) {
  const data = {
    ...(changes.name != null ? { name: text('name', changes.name) } : {}),
    ...(changes.issuer != null ? { issuer: identifier('issuer', changes.issuer) } : {}),
    ...(changes.clientId != null ? { clientId: identifier('clientId', changes.clientId) } : {}),
    ...(changes.deploymentId != null ? { deploymentId: identifier('deploymentId', changes.deploymentId) } : {}),
    ...(changes.tokenEndpoint != null ? { tokenEndpoint: httpUrl('tokenEndpoint', changes.tokenEndpoint) } : {}),
    ...(changes.audience != null ? { audience: audienceOf(changes.audience) } : {}),
    ...(changes.serviceOrigins != null ? { serviceOrigins: checkServiceOrigins(changes.serviceOrigins, rules.allowHttp) } : {}),
  };
  try {
    return await prisma.$transaction(async (tx) => {
      const before = await lockPlatform(tx, organizationId, id);
      // A new address meets the operator's rules; the stored one sent back (a whole form re-sent) is kept.
      if (data.tokenEndpoint !== undefined && data.tokenEndpoint !== before.tokenEndpoint) checkServiceUrl('tokenEndpoint', data.tokenEndpoint, rules);
      // The token endpoint stays on one of the platform's origins whenever it, the issuer or the origins change.
      const after = { ...before, ...data };
      if (!same(after.tokenEndpoint, before.tokenEndpoint) || !same(after.issuer, before.issuer) || !same(after.serviceOrigins, before.serviceOrigins)) {
        refuseUnbound(after, 'input.tokenEndpoint', after.tokenEndpoint);
      }
      const platform = await tx.ltiPlatform.update({ where: { id: before.id }, data });
      const changed = Object.keys(data).filter((k) => !same(before[k as keyof typeof data], platform[k as keyof typeof data]));
      await recordAudit(tx, { organizationId, actor, action: 'ltiPlatform.updated', targetType: 'LtiPlatform', targetId: id, details: { changed } });
      return platform;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', PLATFORM_CONFLICT);
    throw e;
  }
}

/** Equal values, lists compared by their items. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How many scores were owed to what a deletion removes, and how many of their deliveries had not been delivered. */
async function owedTo(tx: Prisma.TransactionClient, lineItems: Prisma.LtiLineItemWhereInput) {
  const scores = await tx.ltiScore.count({ where: { lineItem: { is: lineItems } } });
  const undelivered = await tx.delivery.count({
    where: { channel: 'LTI_SCORE', status: { in: ['PENDING', 'SENDING'] }, ltiScore: { is: { lineItem: { is: lineItems } } } },
  });
  return { scores, undeliveredDeliveries: undelivered };
}

/** Deletes a platform; its keys, line items, submissions' mappings, scores and deliveries go with it (cascades). */
export async function deleteLtiPlatform(prisma: PrismaClient, organizationId: string, id: string, actor: Actor) {
  return prisma.$transaction(async (tx) => {
    const platform = await lockPlatform(tx, organizationId, id);
    const dropped = await owedTo(tx, { platformId: id });
    const lineItems = await tx.ltiLineItem.count({ where: { platformId: id } });
    await tx.ltiPlatform.delete({ where: { id } });
    await recordAudit(tx, {
      organizationId, actor, action: 'ltiPlatform.deleted', targetType: 'LtiPlatform', targetId: id,
      details: { issuer: platform.issuer, clientId: platform.clientId, deploymentId: platform.deploymentId, lineItems, ...dropped },
    });
    return platform;
  });
}

export interface LineItemInput {
  platformId: string;
  url: string;
  aspect: LtiScoreAspect;
  scoreMaximum: number;
  label?: string | null;
  /** LATEST when not given (src/lti/grading.ts). */
  gradingPolicy?: LtiGradingPolicy | null;
}

/** Scores above a million points are a typing mistake, not a gradebook. */
const MAX_SCORE_MAXIMUM = 1_000_000;

function scoreMaximumOf(value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > MAX_SCORE_MAXIMUM) {
    throw refuse(`scoreMaximum must be above 0 and at most ${MAX_SCORE_MAXIMUM}.`, 'scoreMaximum');
  }
  return value;
}

/**
 * The CONFLICT of a URL the platform already has a mapping for, naming that mapping
 * (`extensions.lineItemId`, null if it went meanwhile) so an integration can use it instead of
 * keeping its own table, as createLearner's CONFLICT names the learner.
 */
async function lineItemConflict(prisma: PrismaClient, organizationId: string, platformId: string, url: string): Promise<AppError> {
  const existing = await prisma.ltiLineItem.findFirst({ where: { organizationId, platformId, url }, select: { id: true } });
  return new AppError('CONFLICT', 'That line item URL is already mapped for this platform.', {
    url, lineItemId: existing ? toGlobalId('LtiLineItem', existing.id) : null,
  });
}

/** A line item's maximum and label as checked for a mapping (and for a column made on the platform). */
export function checkLineItemFields(input: { scoreMaximum: number; label?: string | null }): { label: string | null } {
  scoreMaximumOf(input.scoreMaximum);
  return { label: input.label == null ? null : text('label', input.label) };
}

export async function createLtiLineItem(prisma: PrismaClient, organizationId: string, input: LineItemInput, actor: Actor, rules: EndpointRules) {
  const { label } = checkLineItemFields(input);
  const url = serviceUrl('url', input.url, rules);
  try {
    return await prisma.$transaction(async (tx) => {
      const platform = await tx.ltiPlatform.findFirst({ where: { id: input.platformId, organizationId } });
      if (!platform) throw new AppError('NOT_FOUND', 'No such LTI platform.');
      // Scores go there with the platform's token: one of its origins.
      refuseUnbound(platform, 'input.url', url);
      const lineItem = await tx.ltiLineItem.create({
        data: { organizationId, platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label, gradingPolicy: input.gradingPolicy ?? 'LATEST' },
      });
      await recordAudit(tx, {
        organizationId, actor, action: 'ltiLineItem.created', targetType: 'LtiLineItem', targetId: lineItem.id,
        details: { platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, gradingPolicy: lineItem.gradingPolicy },
      });
      return lineItem;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw await lineItemConflict(prisma, organizationId, input.platformId, url);
    throw e;
  }
}

/** What updateLtiLineItem may change; undefined or null keeps a field (label: '' clears it). */
export type LineItemChanges = {
  url?: string | null; aspect?: LtiScoreAspect | null; scoreMaximum?: number | null; label?: string | null; gradingPolicy?: LtiGradingPolicy | null;
};

/** The line item, locked for the rest of the transaction; NOT_FOUND when unknown or another organisation's. */
async function lockLineItem(tx: Prisma.TransactionClient, organizationId: string, id: string): Promise<LtiLineItem> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text AS "id" FROM "LtiLineItem" WHERE "id" = ${id}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new AppError('NOT_FOUND', 'No such LTI line item.');
  return tx.ltiLineItem.findUniqueOrThrow({ where: { id } });
}

/** Changes a mapping for the scores owed from now on (an LtiScore keeps what it was computed with). */
export async function updateLtiLineItem(prisma: PrismaClient, organizationId: string, id: string, changes: LineItemChanges, actor: Actor, rules: EndpointRules) {
  const data = {
    ...(changes.url != null ? { url: httpUrl('url', changes.url) } : {}),
    ...(changes.aspect != null ? { aspect: changes.aspect } : {}),
    ...(changes.scoreMaximum != null ? { scoreMaximum: scoreMaximumOf(changes.scoreMaximum) } : {}),
    ...(changes.label != null ? { label: changes.label.trim() === '' ? null : text('label', changes.label) } : {}),
    ...(changes.gradingPolicy != null ? { gradingPolicy: changes.gradingPolicy } : {}),
  };
  try {
    return await prisma.$transaction(async (tx) => {
      const before = await lockLineItem(tx, organizationId, id);
      // A new address meets the operator's rules; the stored one sent back (a whole form re-sent) is kept.
      if (data.url !== undefined && data.url !== before.url) {
        checkServiceUrl('url', data.url, rules);
        refuseUnbound(await tx.ltiPlatform.findUniqueOrThrow({ where: { id: before.platformId } }), 'input.url', data.url);
      }
      const lineItem = await tx.ltiLineItem.update({ where: { id: before.id }, data });
      const changed = Object.keys(data).filter((k) => before[k as keyof typeof data] !== lineItem[k as keyof typeof data]);
      await recordAudit(tx, {
        organizationId, actor, action: 'ltiLineItem.updated', targetType: 'LtiLineItem', targetId: id,
        details: { changed, url: lineItem.url, aspect: lineItem.aspect, scoreMaximum: lineItem.scoreMaximum, gradingPolicy: lineItem.gradingPolicy },
      });
      return lineItem;
    });
  } catch (e) {
    if (isUniqueViolation(e) && data.url !== undefined) {
      const own = await prisma.ltiLineItem.findFirst({ where: { id, organizationId }, select: { platformId: true } });
      if (own) throw await lineItemConflict(prisma, organizationId, own.platformId, data.url);
    }
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', 'That line item URL is already mapped for this platform.');
    throw e;
  }
}

/** Deletes a mapping; its submissions' mappings, scores and deliveries go with it (cascades). */
export async function deleteLtiLineItem(prisma: PrismaClient, organizationId: string, id: string, actor: Actor) {
  return prisma.$transaction(async (tx) => {
    const lineItem = await lockLineItem(tx, organizationId, id);
    const dropped = await owedTo(tx, { id });
    await tx.ltiLineItem.delete({ where: { id } });
    await recordAudit(tx, {
      organizationId, actor, action: 'ltiLineItem.deleted', targetType: 'LtiLineItem', targetId: id,
      details: { platformId: lineItem.platformId, url: lineItem.url, ...dropped },
    });
    return lineItem;
  });
}

/**
 * LTI 1.3 caps `sub`, the user id, at 255 ASCII characters; 255 characters of any kind stay under
 * PostgreSQL's limit for an index row (the submission's and the score's indexes hold it), which a
 * longer id would hit as an internal error, or worse, only when the reading's score is queued.
 */
const MAX_USER_ID_CHARS = 255;

/** The LTI user id of a learner: the one the submission names, else the learner's externalId (at most 200 characters). */
export function ltiUserId(explicit: string | null | undefined, learner: { externalId: string }): string {
  if (explicit == null) return learner.externalId;
  const trimmed = explicit.trim();
  if (!trimmed || trimmed.length > MAX_USER_ID_CHARS) {
    throw refuse(`lti.userId must be 1 to ${MAX_USER_ID_CHARS} characters (LTI 1.3 caps a user id at 255).`, 'lti.userId', { max: MAX_USER_ID_CHARS });
  }
  return trimmed;
}
