/**
 * The tool's RSA key pairs, one set per registered platform. A rotation publishes the new key in
 * the JWKS at once but lets it sign client assertions only from its `activatesAt`, a grace later
 * (a day by default): platforms cache key sets, and one that fetched the set before the rotation
 * would refuse an assertion signed by a key it has not seen. The key it replaces signs until then
 * (its `retiredAt` is the new key's `activatesAt`) and stays published for an overlap after, so an
 * assertion signed just before the switch verifies too. Private keys are stored as PKCS#8 PEM and
 * never leave the server.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { LtiKey, Prisma, PrismaClient } from '../generated/prisma/client.js';

export const LTI_SIGNING_ALG = 'RS256';
/** How long a retired key stays in the JWKS (platforms cache key sets for minutes to hours). */
export const RETIRED_KEY_OVERLAP_MS = 24 * 3600_000;
/**
 * How long a rotated key is published before it signs, by default: longer than any cache of key
 * sets we know of (ours says max-age 300 s; platforms keep sets for minutes to hours).
 */
export const KEY_ACTIVATION_GRACE_S = 24 * 3600;
/** The longest grace rotateLtiPlatformKey accepts. */
export const MAX_KEY_ACTIVATION_GRACE_S = 30 * 24 * 3600;

type Db = PrismaClient | Prisma.TransactionClient;

/**
 * How far a platform's first key is dated back: it must sign at once in every process, and a worker
 * whose clock is behind the API's that created it would otherwise find no signing key until its own
 * clock caught up.
 */
export const FIRST_KEY_CLOCK_TOLERANCE_MS = 5 * 60_000;

/**
 * A fresh RSA 2048 key pair; `id` is its `kid`. It signs from `activatesAt` (for a platform's first
 * key, by default, now less FIRST_KEY_CLOCK_TOLERANCE_MS).
 */
export async function createToolKey(
  db: Db, organizationId: string, platformId: string, activatesAt = new Date(Date.now() - FIRST_KEY_CLOCK_TOLERANCE_MS),
): Promise<LtiKey> {
  const id = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair(LTI_SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: id, alg: LTI_SIGNING_ALG, use: 'sig' };
  return db.ltiKey.create({
    data: { id, organizationId, platformId, publicJwk: publicJwk as Prisma.InputJsonValue, privateKeyPem: await exportPKCS8(privateKey), activatesAt },
  });
}

/** Not retired at `at`: no retiredAt, or one still ahead. */
const unretiredAt = (at: Date): Prisma.LtiKeyWhereInput => ({ OR: [{ retiredAt: null }, { retiredAt: { gt: at } }] });

/**
 * A new key, published now and signing `graceSeconds` later (0: at once). The key that signs now
 * signs until then; a key still waiting for its turn (an earlier rotation's, within its grace) is
 * superseded and never signs. Call it with the platform locked: two rotations take turns.
 */
export async function rotateToolKey(db: Db, organizationId: string, platformId: string, graceSeconds = KEY_ACTIVATION_GRACE_S, now = new Date()): Promise<LtiKey> {
  const activatesAt = new Date(now.getTime() + graceSeconds * 1000);
  await db.ltiKey.updateMany({ where: { organizationId, platformId, activatesAt: { gt: now }, ...unretiredAt(now) }, data: { retiredAt: now } });
  await db.ltiKey.updateMany({ where: { organizationId, platformId, activatesAt: { lte: now }, ...unretiredAt(now) }, data: { retiredAt: activatesAt } });
  return createToolKey(db, organizationId, platformId, activatesAt);
}

/**
 * The key a rotation left waiting signs from `now` instead of its `activatesAt` (an administrator
 * who knows the platform has fetched the key set need not wait out the grace); the key that signed
 * until then retires now and stays published for the overlap. With `kid`, that key: when it signs
 * already (activated before), nothing changes, so a retry after a lost answer is harmless. Returns
 * the key activated now and when it was due, or null when `kid` signs already. Call it with the
 * platform locked, as rotateToolKey, and `now` from the database (a retry on a host whose clock is
 * behind must see the key as activated). Throws WaitingKeyError when there is nothing to activate.
 */
export async function activateWaitingToolKey(
  db: Db, organizationId: string, platformId: string, kid: string | null, now = new Date(),
): Promise<{ key: LtiKey; wasDueAt: Date } | null> {
  const waiting = await db.ltiKey.findFirst({ where: { organizationId, platformId, activatesAt: { gt: now }, ...unretiredAt(now) }, orderBy: { createdAt: 'desc' } });
  if (kid !== null && waiting?.id !== kid) {
    const asked = await db.ltiKey.findFirst({ where: { organizationId, platformId, id: kid } });
    if (!asked) throw new WaitingKeyError('unknown');
    // Signing already, and nothing else waiting: this call made it so (a retry). With another key
    // waiting, `kid` is not the one the caller meant to activate.
    const signs = asked.activatesAt <= now && (asked.retiredAt === null || asked.retiredAt > now);
    if (signs && !waiting) return null;
    throw new WaitingKeyError(signs ? 'another' : 'retired');
  }
  if (!waiting) throw new WaitingKeyError('none');
  await db.ltiKey.updateMany({ where: { organizationId, platformId, activatesAt: { lte: now }, ...unretiredAt(now) }, data: { retiredAt: now } });
  const key = await db.ltiKey.update({ where: { id: waiting.id }, data: { activatesAt: now } });
  return { key, wasDueAt: waiting.activatesAt };
}

/**
 * Why activateWaitingToolKey did nothing: no key waiting, `kid` not this platform's, retired
 * (superseded), or signing already while another key waits.
 */
export class WaitingKeyError extends Error {
  constructor(readonly reason: 'none' | 'unknown' | 'retired' | 'another') {
    super(`no waiting key to activate (${reason})`);
  }
}

/** The key that signs at `now`: the newest one active then (activatesAt reached, retiredAt not). */
export async function signingKey(db: Db, platformId: string, now = new Date()): Promise<{ kid: string; key: CryptoKey }> {
  const row = await db.ltiKey.findFirst({
    where: { platformId, activatesAt: { lte: now }, ...unretiredAt(now) },
    orderBy: [{ activatesAt: 'desc' }, { createdAt: 'desc' }],
  });
  if (!row) throw new Error(`LTI platform ${platformId} has no signing key`);
  return { kid: row.id, key: await importPKCS8(row.privateKeyPem, LTI_SIGNING_ALG) };
}

/** Public keys a platform may see, newest first: one waiting to sign, the signing key, retired ones still in their overlap. */
export function publishedKeys(db: Db, platformId: string, now = new Date()) {
  return db.ltiKey.findMany({
    where: { platformId, OR: [{ retiredAt: null }, { retiredAt: { gt: new Date(now.getTime() - RETIRED_KEY_OVERLAP_MS) } }] },
    orderBy: { createdAt: 'desc' },
    select: { id: true, publicJwk: true, createdAt: true, retiredAt: true },
  });
}

/** The JWKS document of one platform's tool keys (public members only). */
export async function platformJwks(db: Db, platformId: string): Promise<{ keys: JWK[] }> {
  const keys = await publishedKeys(db, platformId);
  return { keys: keys.map((k) => publicMembers(k.publicJwk as JWK)) };
}

/** Defence in depth: whatever was stored, only the public RSA members go out. */
function publicMembers(jwk: JWK): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}
