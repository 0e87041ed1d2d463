/**
 * The client assertion of the OAuth 2 client-credentials grant (RFC 7523, as the IMS Security
 * Framework profiles it): a JWT signed RS256 by the tool's key, `iss` = `sub` = the client id,
 * `aud` = the platform's audience (its token endpoint unless registered otherwise), a lifetime of
 * five minutes at most and a unique `jti` so a platform can refuse a replay.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import { LTI_SIGNING_ALG } from './keys.js';

export const ASSERTION_LIFETIME_S = 300;

export interface AssertionPlatform {
  clientId: string;
  tokenEndpoint: string;
  audience: string | null;
}

export function assertionAudience(platform: AssertionPlatform): string {
  return platform.audience ?? platform.tokenEndpoint;
}

export async function clientAssertion(platform: AssertionPlatform, signer: { kid: string; key: CryptoKey }, now = new Date()): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: LTI_SIGNING_ALG, kid: signer.kid, typ: 'JWT' })
    .setIssuer(platform.clientId)
    .setSubject(platform.clientId)
    .setAudience(assertionAudience(platform))
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .setJti(randomUUID())
    .sign(signer.key);
}
