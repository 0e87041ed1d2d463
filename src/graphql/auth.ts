import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';

export type Scope = 'ASSESS_WRITE' | 'SCORES_READ' | 'ADMIN';
export const ALL_SCOPES: Scope[] = ['ASSESS_WRITE', 'SCORES_READ', 'ADMIN'];

/** Who is calling: resolved from the API key once per request. */
export interface Principal {
  organizationId: string;
  apiKeyId: string;
  scopes: Scope[];
}

const KEY_PREFIX = 'sm_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Create a key; only its hash is stored, the caller shows the secret once. */
export async function createApiKey(
  prisma: Pick<PrismaClient, 'apiKey'>,
  organizationId: string,
  name: string,
  scopes: Scope[],
) {
  const key = KEY_PREFIX + randomBytes(24).toString('base64url');
  const apiKey = await prisma.apiKey.create({
    data: { organizationId, name, scopes, prefix: key.slice(0, 10), keyHash: hashApiKey(key) },
  });
  return { key, apiKey };
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

export async function authenticate(prisma: PrismaClient, authorization: string | undefined): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw new AppError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".');
  const key = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(token) } });
  if (!key || key.revokedAt) throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
  return { organizationId: key.organizationId, apiKeyId: key.id, scopes: key.scopes as Scope[] };
}

/** ADMIN implies every other scope. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (principal.scopes.includes(scope) || principal.scopes.includes('ADMIN')) return;
  throw new AppError('FORBIDDEN', `This API key lacks the ${scope} scope.`);
}

/** First start: one organisation and an admin key, so the server is usable with no setup. */
export async function bootstrapAdminKey(prisma: PrismaClient): Promise<string | null> {
  if ((await prisma.organization.count()) > 0) return null;
  const org = await prisma.organization.create({ data: { name: 'Default organisation' } });
  const { key } = await createApiKey(prisma, org.id, 'bootstrap admin', ALL_SCOPES);
  return key;
}
