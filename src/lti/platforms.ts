/**
 * Registering LTI platforms and mapping line items (admin). One write path each; every change
 * writes its audit event in the same transaction.
 */
import type { LtiScoreAspect, PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { createToolKey, rotateToolKey } from './keys.js';

export interface PlatformInput {
  name: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  tokenEndpoint: string;
  audience?: string | null;
}

const MAX_FIELD_CHARS = 2048;

/**
 * The platform's identifiers, in UTF-8 bytes. LTI 1.3 caps deployment_id at 255 ASCII characters
 * and sets no cap on issuer or client_id; these keep the unique index (organisation, issuer, client
 * id, deployment id) under PostgreSQL's 2,704-byte limit for an index row, which a longer value
 * would hit as an internal error.
 */
const MAX_ID_BYTES = { issuer: 1024, clientId: 1024, deploymentId: 255 } as const;

function text(field: string, value: string): string {
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > MAX_FIELD_CHARS) {
    throw new AppError('BAD_USER_INPUT', `${field} must be 1 to ${MAX_FIELD_CHARS} characters.`, { field });
  }
  return trimmed;
}

function identifier(field: keyof typeof MAX_ID_BYTES, value: string): string {
  const trimmed = text(field, value);
  const max = MAX_ID_BYTES[field];
  if (Buffer.byteLength(trimmed) > max) {
    throw new AppError('BAD_USER_INPUT', `${field} must be at most ${max} bytes in UTF-8.`, { field, max });
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
    throw new AppError('BAD_USER_INPUT', `${field} must be an absolute URL.`, { field });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('BAD_USER_INPUT', `${field} must be an http(s) URL.`, { field });
  }
  if (url.username || url.password) throw new AppError('BAD_USER_INPUT', `${field} must not contain credentials.`, { field });
  const normalised = url.toString();
  if (normalised.length > MAX_FIELD_CHARS) {
    throw new AppError('BAD_USER_INPUT', `${field} must be at most ${MAX_FIELD_CHARS} characters once percent-encoded (${normalised.length}).`, { field });
  }
  return normalised;
}

/** A platform and its first RSA 2048 key pair, in one transaction. */
export async function registerLtiPlatform(prisma: PrismaClient, organizationId: string, input: PlatformInput, actor: Actor) {
  const data = {
    organizationId,
    name: text('name', input.name),
    issuer: identifier('issuer', input.issuer),
    clientId: identifier('clientId', input.clientId),
    deploymentId: identifier('deploymentId', input.deploymentId),
    tokenEndpoint: httpUrl('tokenEndpoint', input.tokenEndpoint),
    audience: input.audience == null || input.audience.trim() === '' ? null : text('audience', input.audience),
  };
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
      throw new AppError('CONFLICT', 'This organisation already registered a platform with that issuer, client id and deployment id.');
    }
    throw e;
  }
}

/** A new signing key; the old one stays in the JWKS for the overlap (see keys.ts). */
export async function rotateLtiPlatformKey(prisma: PrismaClient, organizationId: string, platformId: string, actor: Actor) {
  return prisma.$transaction(async (tx) => {
    const platform = await tx.ltiPlatform.findFirst({ where: { id: platformId, organizationId } });
    if (!platform) throw new AppError('NOT_FOUND', 'No such LTI platform.');
    const key = await rotateToolKey(tx, organizationId, platformId);
    await recordAudit(tx, {
      organizationId, actor, action: 'ltiPlatform.keyRotated', targetType: 'LtiPlatform', targetId: platformId, details: { kid: key.id },
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
}

/** Scores above a million points are a typing mistake, not a gradebook. */
const MAX_SCORE_MAXIMUM = 1_000_000;

export async function createLtiLineItem(prisma: PrismaClient, organizationId: string, input: LineItemInput, actor: Actor) {
  if (!Number.isFinite(input.scoreMaximum) || input.scoreMaximum <= 0 || input.scoreMaximum > MAX_SCORE_MAXIMUM) {
    throw new AppError('BAD_USER_INPUT', `scoreMaximum must be above 0 and at most ${MAX_SCORE_MAXIMUM}.`, { field: 'scoreMaximum' });
  }
  const url = httpUrl('url', input.url);
  const label = input.label == null ? null : text('label', input.label);
  try {
    return await prisma.$transaction(async (tx) => {
      const platform = await tx.ltiPlatform.findFirst({ where: { id: input.platformId, organizationId } });
      if (!platform) throw new AppError('NOT_FOUND', 'No such LTI platform.');
      const lineItem = await tx.ltiLineItem.create({
        data: { organizationId, platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label },
      });
      await recordAudit(tx, {
        organizationId, actor, action: 'ltiLineItem.created', targetType: 'LtiLineItem', targetId: lineItem.id,
        details: { platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum },
      });
      return lineItem;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', 'That line item URL is already mapped for this platform.');
    throw e;
  }
}

/** The LTI user id of a learner: the one the submission names, else the learner's externalId. */
export function ltiUserId(explicit: string | null | undefined, learner: { externalId: string }): string {
  if (explicit == null) return learner.externalId;
  return text('lti.userId', explicit);
}
