/**
 * API key administration shared by the GraphQL mutations (an organisation's admins) and the
 * operator CLI (`npm run admin`). Every change writes its audit event in the same transaction.
 *
 * Changes to one organisation's keys are serialised by locking its Organization row, so two admins
 * revoking each other's keys at once cannot both succeed and leave the organisation without an
 * active ADMIN key.
 */
import type { ApiKey, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { ALL_SCOPES, apiKeyStatus, createApiKey, forgetCachedApiKeys, type Scope } from '../graphql/auth.js';
import { toGlobalId } from '../graphql/ids.js';
import { checkInstant } from '../instants.js';
import { recordAudit, type Actor } from './audit.js';

type Tx = Prisma.TransactionClient;

export const MAX_KEY_NAME_CHARS = 200;
/** rotateApiKey's longest overlap: 30 days. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600;

/** createApiKey's input (CreateApiKeyInput), also what `npm run admin -- create-key` checks. */
export function validateKeyName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > MAX_KEY_NAME_CHARS) throw badInput(`name must be 1 to ${MAX_KEY_NAME_CHARS} characters.`, 'input.name');
  return trimmed;
}

export function validateScopes(scopes: readonly string[]): Scope[] {
  if (scopes.length === 0) throw badInput('An API key needs at least one scope.', 'input.scopes');
  for (const [i, s] of scopes.entries()) {
    if (!ALL_SCOPES.includes(s as Scope)) throw badInput(`Unknown scope "${s}" (scopes: ${ALL_SCOPES.join(', ')}).`, `input.scopes.${i}`);
  }
  return [...new Set(scopes as Scope[])];
}

/** `argument`: createApiKey's `input.expiresAt` or rotateApiKey's `expiresAt`. */
export function validateExpiry(expiresAt: Date | null | undefined, argument: string, now: Date = new Date()): Date | null {
  if (expiresAt == null) return null;
  checkInstant(expiresAt, argument); // `npm run admin -- create-key --expires-in-days` as well as the API
  if (expiresAt.getTime() <= now.getTime()) throw badInput(`expiresAt (${expiresAt.toISOString()}) must be in the future.`, argument);
  return expiresAt;
}

async function lockOrganization(tx: Tx, organizationId: string): Promise<void> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Organization" WHERE "id" = ${organizationId}::uuid FOR NO KEY UPDATE`;
  if (rows.length === 0) throw new AppError('NOT_FOUND', `No organisation with id "${organizationId}".`);
}

async function findKey(tx: Tx, organizationId: string | null, id: string): Promise<ApiKey> {
  const key = await tx.apiKey.findFirst({ where: { id, ...(organizationId ? { organizationId } : {}) } });
  if (!key) throw new AppError('NOT_FOUND', `No ApiKey with id "${toGlobalId('ApiKey', id)}".`);
  return key;
}

const isActiveAdmin = (k: ApiKey, now: Date) => k.scopes.includes('ADMIN') && apiKeyStatus(k, now) === 'ACTIVE';

/** Active ADMIN keys of the organisation other than `except`. */
async function otherActiveAdminKeys(tx: Tx, organizationId: string, except: ApiKey, now: Date): Promise<ApiKey[]> {
  const keys = await tx.apiKey.findMany({
    where: { organizationId, revokedAt: null, id: { not: except.id }, scopes: { has: 'ADMIN' } },
  });
  return keys.filter((k) => isActiveAdmin(k, now));
}

/**
 * Whether `other` keeps the organisation administrable at least as long as `key` would have: no
 * expiry, or an expiry no earlier than key's. An admin key expiring in an hour (the old key of a
 * rotation, say) does not make it safe to revoke the one that never expires: an hour later the
 * organisation would have no admin key, and only the operator CLI could help.
 */
const outlives = (other: ApiKey, key: ApiKey) =>
  other.expiresAt == null || (key.expiresAt != null && other.expiresAt >= key.expiresAt);

export interface IssueKeyInput {
  organizationId: string;
  name: string;
  scopes: readonly string[];
  expiresAt?: Date | null;
}

/** A new key (secret returned once) and its audit event. */
export async function issueApiKey(prisma: PrismaClient, input: IssueKeyInput, actor: Actor) {
  const name = validateKeyName(input.name);
  const scopes = validateScopes(input.scopes);
  const expiresAt = validateExpiry(input.expiresAt, 'input.expiresAt');
  return prisma.$transaction(async (tx) => {
    await lockOrganization(tx, input.organizationId);
    const created = await createApiKey(tx, input.organizationId, name, scopes, { expiresAt });
    await recordAudit(tx, {
      organizationId: input.organizationId, actor, action: 'apiKey.created', targetType: 'ApiKey', targetId: created.apiKey.id,
      details: { name, prefix: created.apiKey.prefix, scopes, expiresAt: expiresAt?.toISOString() ?? null },
    });
    return created;
  });
}

export interface RevokeResult {
  apiKey: ApiKey;
  /** False when the key was already revoked (nothing written). */
  changed: boolean;
  /** Active ADMIN keys the organisation has left. */
  activeAdminKeysLeft: number;
}

/**
 * Revoke a key now. `organizationId` null: any organisation's (the operator CLI). With
 * `protectLastAdmin` (the API), revoking the organisation's last active ADMIN key is CONFLICT:
 * the API must never lock an organisation out of its own administration.
 */
export async function revokeApiKey(
  prisma: PrismaClient,
  where: { organizationId: string | null; id: string },
  actor: Actor,
  options: { protectLastAdmin: boolean },
): Promise<RevokeResult> {
  const result = await prisma.$transaction(async (tx) => {
    const target = await findKey(tx, where.organizationId, where.id);
    await lockOrganization(tx, target.organizationId);
    const key = await findKey(tx, target.organizationId, where.id); // re-read under the lock
    const now = new Date();
    const others = await otherActiveAdminKeys(tx, key.organizationId, key, now);
    if (key.revokedAt) return { apiKey: key, changed: false, activeAdminKeysLeft: others.length };
    if (options.protectLastAdmin && isActiveAdmin(key, now) && !others.some((k) => outlives(k, key))) {
      const lastWords = others.length === 0
        ? `is the organisation's last active ADMIN key`
        : `is the organisation's last active ADMIN key that ${key.expiresAt ? `lasts until ${key.expiresAt.toISOString()}` : 'does not expire'} (the others expire sooner)`;
      throw new AppError(
        'CONFLICT',
        `API key ${key.prefix} ${lastWords}; create or rotate to another admin key before revoking it.`,
      );
    }
    const apiKey = await tx.apiKey.update({ where: { id: key.id }, data: { revokedAt: now } });
    await recordAudit(tx, {
      organizationId: key.organizationId, actor, action: 'apiKey.revoked', targetType: 'ApiKey', targetId: key.id,
      details: { name: key.name, prefix: key.prefix, scopes: key.scopes },
    });
    return { apiKey, changed: true, activeAdminKeysLeft: others.length };
  });
  // Committed: this process stops accepting the key now, others when their cache expires.
  if (result.changed) forgetCachedApiKeys(prisma);
  return result;
}

/**
 * Stripe-style rolling: a new key with the same name and scopes, and the old key's expiry brought
 * forward to now + `expireOldAfterSeconds` (never pushed back), so both work during the overlap.
 */
export async function rotateApiKey(
  prisma: PrismaClient,
  where: { organizationId: string; id: string },
  options: { expireOldAfterSeconds: number; expiresAt?: Date | null },
  actor: Actor,
) {
  const overlap = options.expireOldAfterSeconds;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_ROTATION_OVERLAP_SECONDS) {
    throw badInput(`expireOldAfterSeconds must be an integer from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (30 days).`, 'expireOldAfterSeconds');
  }
  const expiresAt = validateExpiry(options.expiresAt, 'expiresAt');
  const rotated = await prisma.$transaction(async (tx) => {
    await lockOrganization(tx, where.organizationId);
    const old = await findKey(tx, where.organizationId, where.id);
    const now = new Date();
    const status = apiKeyStatus(old, now);
    if (status !== 'ACTIVE') {
      throw new AppError('CONFLICT', `API key ${old.prefix} is ${status.toLowerCase()}; create a new key instead of rotating it.`);
    }
    const overlapEnd = new Date(now.getTime() + overlap * 1000);
    const oldExpiresAt = old.expiresAt && old.expiresAt < overlapEnd ? old.expiresAt : overlapEnd;
    const created = await createApiKey(tx, old.organizationId, old.name, old.scopes as Scope[], { expiresAt });
    const previous = await tx.apiKey.update({ where: { id: old.id }, data: { expiresAt: oldExpiresAt } });
    await recordAudit(tx, {
      organizationId: old.organizationId, actor, action: 'apiKey.rotated', targetType: 'ApiKey', targetId: old.id,
      details: {
        name: old.name, prefix: old.prefix, oldExpiresAt: oldExpiresAt.toISOString(),
        newApiKeyId: toGlobalId('ApiKey', created.apiKey.id), newPrefix: created.apiKey.prefix,
        newExpiresAt: expiresAt?.toISOString() ?? null,
      },
    });
    return { key: created.key, apiKey: created.apiKey, previous };
  });
  // The old key's expiry moved forward: cached copies here must not outlive it.
  forgetCachedApiKeys(prisma);
  return rotated;
}
