/**
 * `GET /lti/jwks/:platformId`: the tool's public keys for one platform, as the JWKS a platform
 * fetches to verify our client assertions. Public by nature (no API key); an unknown id is 404.
 * One JWKS per platform because platforms configure one JWKS URL per tool registration.
 */
import type { Request, Response } from 'express';
import type { PrismaClient } from '../generated/prisma/client.js';
import { platformJwks } from './keys.js';
import { isUuid } from '../graphql/ids.js';

export const JWKS_ROUTE = '/lti/jwks/:platformId';

export function jwksPath(platformId: string): string {
  return `/lti/jwks/${platformId}`;
}

export function serveJwks(prisma: PrismaClient) {
  return async (req: Request, res: Response) => {
    const platformId = String(req.params.platformId ?? '');
    const jwks = isUuid(platformId) ? await platformJwks(prisma, platformId) : { keys: [] };
    if (jwks.keys.length === 0) {
      res.status(404).json({ error: 'not_found' });
      return;
    }
    // Short caching: after a rotation platforms see the new key within minutes (the old one stays published).
    res.set('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(JSON.stringify(jwks));
  };
}
