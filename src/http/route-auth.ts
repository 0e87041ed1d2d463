/**
 * Who may read through the HTTP routes beside /graphql (the results and xAPI exports, audio): one
 * answer for every refusal, in the API's error shape, so the routes cannot drift apart.
 */
import type { Request, Response } from 'express';
import type { Services } from '../graphql/context.js';
import { authenticate, requireScope, type Principal } from '../graphql/auth.js';
import { AppError } from '../errors.js';
import { sendError, type RateLimiter } from './guards.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { log } from '../ops/log.js';

/** The Bearer key of the request (the failed-authentication throttle told either way). */
export async function bearerPrincipal(services: Services, limiter: RateLimiter, req: Request): Promise<Principal> {
  const principal = await authenticate(services.prisma, req.headers.authorization);
  limiter.authSucceeded(req.headers.authorization);
  return principal;
}

/**
 * The principal `identify` finds (the Bearer key by default), which must hold SCORES_READ; null once
 * a refusal has been sent: 401 (counted by the failed-authentication throttle), 403, 503 when the
 * database is away, 500 (masked, logged) for anything else. `identify` returns null when it has
 * answered itself (a rate limit).
 */
export async function authoriseRead(
  services: Services, limiter: RateLimiter, req: Request, res: Response,
  identify: () => Promise<Principal | null> = () => bearerPrincipal(services, limiter, req),
): Promise<Principal | null> {
  try {
    const principal = await identify();
    if (principal) requireScope(principal, 'SCORES_READ');
    return principal;
  } catch (e) {
    if (!(e instanceof AppError)) {
      failBeforeBody(res, e);
      return null;
    }
    if (e.code === 'UNAUTHENTICATED') limiter.authFailed(req, res);
    sendError(res, e.code === 'UNAUTHENTICATED' ? 401 : 403, e.message, { code: e.code });
    return null;
  }
}

/** A fault before the first byte: 503 when the database is away, else a masked 500 (logged with the request id). */
export function failBeforeBody(res: Response, e: unknown): void {
  const requestId = res.locals.requestId as string | undefined;
  if (isDatabaseUnavailable(e)) return sendError(res, 503, 'The database is unavailable right now; retry shortly.', { code: 'SERVICE_UNAVAILABLE' });
  log.error('HTTP route failed', { requestId, path: res.req?.path, err: e });
  sendError(res, 500, 'Internal server error.', { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) });
}
