/**
 * The tool's RSA key pairs, one set per registered platform. The newest unretired key signs client
 * assertions; the JWKS publishes it and, for an overlap after a rotation, the keys it replaced, so
 * a platform that cached the old set and an assertion signed just before the rotation both verify.
 * Private keys are stored as PKCS#8 PEM and never leave the server.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { LtiKey, Prisma, PrismaClient } from '../generated/prisma/client.js';

export const LTI_SIGNING_ALG = 'RS256';
/** How long a retired key stays in the JWKS (platforms cache key sets for minutes to hours). */
export const RETIRED_KEY_OVERLAP_MS = 24 * 3600_000;

type Db = PrismaClient | Prisma.TransactionClient;

/** A fresh RSA 2048 key pair; `id` is its `kid`. */
export async function createToolKey(db: Db, organizationId: string, platformId: string): Promise<LtiKey> {
  const id = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair(LTI_SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: id, alg: LTI_SIGNING_ALG, use: 'sig' };
  return db.ltiKey.create({
    data: { id, organizationId, platformId, publicJwk: publicJwk as Prisma.InputJsonValue, privateKeyPem: await exportPKCS8(privateKey) },
  });
}

/** A new signing key; the previous ones are retired (still published during the overlap). */
export async function rotateToolKey(db: Db, organizationId: string, platformId: string): Promise<LtiKey> {
  await db.ltiKey.updateMany({ where: { organizationId, platformId, retiredAt: null }, data: { retiredAt: new Date() } });
  return createToolKey(db, organizationId, platformId);
}

/** The key that signs now: the newest unretired one. */
export async function signingKey(db: Db, platformId: string): Promise<{ kid: string; key: CryptoKey }> {
  const row = await db.ltiKey.findFirst({ where: { platformId, retiredAt: null }, orderBy: { createdAt: 'desc' } });
  if (!row) throw new Error(`LTI platform ${platformId} has no signing key`);
  return { kid: row.id, key: await importPKCS8(row.privateKeyPem, LTI_SIGNING_ALG) };
}

/** Public keys a platform may see: the signing key first, then retired ones still in their overlap. */
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
