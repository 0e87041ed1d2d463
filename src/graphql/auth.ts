import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import { log } from '../ops/log.js';

export type Scope = 'ASSESS_WRITE' | 'SCORES_READ' | 'ADMIN';
export const ALL_SCOPES: Scope[] = ['ASSESS_WRITE', 'SCORES_READ', 'ADMIN'];

/** Who is calling: resolved from the API key once per request. */
export interface Principal {
  organizationId: string;
  apiKeyId: string;
  /** "name (prefix)": how the audit log names this key. */
  apiKeyLabel: string;
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
  options: { expiresAt?: Date | null } = {},
) {
  const key = KEY_PREFIX + randomBytes(24).toString('base64url');
  const apiKey = await prisma.apiKey.create({
    data: {
      organizationId, name, scopes, prefix: key.slice(0, 10), keyHash: hashApiKey(key),
      expiresAt: options.expiresAt ?? null,
    },
  });
  return { key, apiKey };
}

export type ApiKeyStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

/** Revocation wins over expiry; a key expires at the instant `expiresAt` is reached. */
export function apiKeyStatus(key: { revokedAt: Date | null; expiresAt: Date | null }, now: Date = new Date()): ApiKeyStatus {
  if (key.revokedAt) return 'REVOKED';
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
  return 'ACTIVE';
}

export function apiKeyLabel(key: { name: string; prefix: string }): string {
  return `${key.name} (${key.prefix})`;
}

/** lastUsedAt is written at most once a minute per key. */
const LAST_USED_GRANULARITY_MS = 60_000;

/**
 * Record a successful authentication, off the request's critical path: the conditional UPDATE
 * makes concurrent requests (and several API processes) write at most once a minute per key.
 */
function recordLastUse(prisma: PrismaClient, key: { id: string; lastUsedAt: Date | null }): void {
  if (key.lastUsedAt && Date.now() - key.lastUsedAt.getTime() < LAST_USED_GRANULARITY_MS) return;
  // The row this process holds (cached) now says "used": no second UPDATE from here this minute.
  key.lastUsedAt = new Date();
  prisma
    .$executeRaw`UPDATE "ApiKey" SET "lastUsedAt" = now()
      WHERE "id" = ${key.id}::uuid AND ("lastUsedAt" IS NULL OR "lastUsedAt" < now() - interval '1 minute')`
    .catch((err: unknown) => log.error('recording an API key\'s lastUsedAt failed', { apiKeyId: key.id, err }));
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

type ApiKeyRow = NonNullable<Awaited<ReturnType<PrismaClient['apiKey']['findUnique']>>>;

/** How long a verified key's row is reused before it is read again (SPEECHMARK_API_KEY_CACHE_MS). */
export const DEFAULT_API_KEY_CACHE_MS = 5_000;

/**
 * Verified keys' rows, per database client, for a few seconds: the look-up was a statement (and a
 * third of a small request's CPU) on every request. Only keys that were valid when read are kept;
 * unknown keys always go to the database (and to the failed-authentication throttle). Revocation and
 * rotation through this process forget the cache at once; through another process (the admin CLI,
 * another API instance) they take effect within the TTL. Expiry is checked on every use.
 */
class ApiKeyCache {
  private readonly rows = new Map<string, { row: ApiKeyRow; readAt: number }>();
  constructor(public ttlMs: number) {}

  get(keyHash: string): ApiKeyRow | null {
    const hit = this.rows.get(keyHash);
    if (!hit) return null;
    if (performance.now() - hit.readAt >= this.ttlMs) {
      this.rows.delete(keyHash);
      return null;
    }
    return hit.row;
  }

  put(keyHash: string, row: ApiKeyRow): void {
    if (this.ttlMs <= 0) return;
    // Bounded: a process serving many keys keeps the most recently verified ones.
    if (this.rows.size >= 10_000) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(keyHash, { row, readAt: performance.now() });
  }

  clear(): void {
    this.rows.clear();
  }
}

const caches = new WeakMap<PrismaClient, ApiKeyCache>();

function cacheFor(prisma: PrismaClient): ApiKeyCache {
  let cache = caches.get(prisma);
  if (!cache) caches.set(prisma, (cache = new ApiKeyCache(DEFAULT_API_KEY_CACHE_MS)));
  return cache;
}

/** Sets how long verified keys are reused on this database client (0: read on every request). */
export function configureApiKeyCache(prisma: PrismaClient, ttlMs: number): void {
  cacheFor(prisma).ttlMs = ttlMs;
  if (ttlMs <= 0) cacheFor(prisma).clear();
}

const forgetListeners = new WeakMap<PrismaClient, Set<() => void>>();

/** Call after a key is revoked or its expiry brought forward, once the change has committed. */
export function forgetCachedApiKeys(prisma: PrismaClient): void {
  caches.get(prisma)?.clear();
  for (const listener of forgetListeners.get(prisma) ?? []) listener();
}

/**
 * `listener` runs (synchronously, so it must not throw) each time this process revokes a key or
 * brings an expiry forward on `prisma` (forgetCachedApiKeys): the WebSocket server re-checks the
 * keys of its open sockets then. Returns the function that removes it.
 */
export function onApiKeysForgotten(prisma: PrismaClient, listener: () => void): () => void {
  let listeners = forgetListeners.get(prisma);
  if (!listeners) forgetListeners.set(prisma, (listeners = new Set()));
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

async function findApiKey(prisma: PrismaClient, keyHash: string): Promise<ApiKeyRow | null> {
  const cache = cacheFor(prisma);
  const cached = cache.get(keyHash);
  if (cached) return cached;
  const row = await prisma.apiKey.findUnique({ where: { keyHash } });
  if (row && !row.revokedAt) cache.put(keyHash, row);
  return row;
}

/**
 * The key's principal, or UNAUTHENTICATED. `recordUse: false`: a re-check that is no request (an open
 * WebSocket's key checked again), which does not touch lastUsedAt.
 */
export async function authenticate(
  prisma: PrismaClient, authorization: string | undefined, options: { recordUse?: boolean } = {},
): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw new AppError('UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>".');
  const key = await findApiKey(prisma, hashApiKey(token));
  if (!key || key.revokedAt) throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
  if (apiKeyStatus(key) === 'EXPIRED') {
    throw new AppError('UNAUTHENTICATED', `The API key expired at ${key.expiresAt!.toISOString()}.`);
  }
  if (options.recordUse !== false) recordLastUse(prisma, key);
  return principalOf(key);
}

function principalOf(key: ApiKeyRow): Principal {
  return { organizationId: key.organizationId, apiKeyId: key.id, apiKeyLabel: apiKeyLabel(key), scopes: key.scopes as Scope[] };
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The key a signed URL was made for (src/http/audio-url.ts: its signature already checked), by its
 * id, read from the database on every use: a URL must stop working the moment its key is revoked
 * or expires, in every process, so no cache. UNAUTHENTICATED when the key is gone, revoked or expired.
 */
export async function authenticateSigningKey(prisma: PrismaClient, apiKeyId: string): Promise<{ principal: Principal; keyHash: string }> {
  const key = UUID_TEXT.test(apiKeyId) ? await prisma.apiKey.findUnique({ where: { id: apiKeyId } }) : null;
  if (!key || apiKeyStatus(key) !== 'ACTIVE') {
    throw new AppError('UNAUTHENTICATED', 'The API key this URL was made for has been revoked or has expired; ask Utterance.audioUrl for a new one.');
  }
  recordLastUse(prisma, key);
  return { principal: principalOf(key), keyHash: key.keyHash };
}

/** ADMIN implies every other scope. */
export function holdsScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope) || principal.scopes.includes('ADMIN');
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (holdsScope(principal, scope)) return;
  throw new AppError('FORBIDDEN', `This API key lacks the ${scope} scope.`);
}

/** First start: one organisation and an admin key, so the server is usable with no setup. */
export async function bootstrapAdminKey(prisma: PrismaClient): Promise<string | null> {
  if ((await prisma.organization.count()) > 0) return null;
  // One transaction: an organisation is never left without the key that administers it.
  return prisma.$transaction(async (tx) => {
    const org = await tx.organization.create({ data: { name: 'Default organisation' } });
    return (await createApiKey(tx, org.id, 'bootstrap admin', ALL_SCOPES)).key;
  });
}
