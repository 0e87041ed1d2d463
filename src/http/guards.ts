/**
 * Express middleware in front of the GraphQL endpoint: request ids, CORS, rate limits and the
 * query-text limits. Refusals use GraphQL's response shape (`{ errors: [...] }`) and a stable code.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseUrl } from 'node:url';
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Config } from '../config.js';
import { authenticate, bearerToken, hashApiKey, holdsScope } from '../graphql/auth.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import { checkQuerySource, type QueryLimits } from '../graphql/limits.js';
import { rateLimitHeaders, RecentSet, TokenBuckets, type BucketState } from './rate-limit.js';

/** A client's own X-Request-Id is kept when it is a plain token (no spaces, no line breaks). */
const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export const requestId: RequestHandler = (req, res, next) => {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
  res.locals.requestId = id;
  res.setHeader('X-Request-Id', id);
  next();
};

export function sendError(res: Response, status: number, message: string, extensions: Record<string, unknown>): void {
  res.status(status).json({ errors: [{ message, extensions }] });
}

// range and if-range: a player in the admin UI fetching a recording by parts (GET /audio/...).
const ALLOWED_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id, range, if-range';
const EXPOSED_HEADERS = 'RateLimit, RateLimit-Policy, Retry-After, X-Request-Id, Content-Range, Accept-Ranges, Content-Length, ETag';

/**
 * CORS with an allow-list: no cross-origin access unless the origin is listed. Preflights are
 * answered here, for allowed origins only, with the headers a multipart upload needs.
 */
export function cors(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    res.vary('Origin');
    const ok = allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    if (!preflight) return next();
    if (!ok) {
      res.status(403).end();
      return;
    }
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

function setHeaders(res: Response, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/**
 * Per-API-key request buckets and per-IP failed-authentication buckets. The middleware runs before
 * the body is read; the GraphQL context reports how authentication went (`authFailed`/`authSucceeded`).
 */
export class RateLimiter {
  readonly keys: TokenBuckets;
  readonly failures: TokenBuckets;
  /** Keys that authenticated recently: an IP throttled for failures still lets them through. */
  private readonly knownGood = new RecentSet();

  constructor(private readonly config: Pick<Config, 'rateLimitPerMinute' | 'rateLimitUploadCost' | 'authFailuresPerMinute'>) {
    this.keys = new TokenBuckets(config.rateLimitPerMinute);
    this.failures = new TokenBuckets(config.authFailuresPerMinute);
  }

  private refuse(res: Response, state: BucketState, message: string): void {
    res.setHeader('Retry-After', String(state.retryAfterSeconds));
    sendError(res, 429, message, { code: 'RATE_LIMITED', retryAfterSeconds: state.retryAfterSeconds });
  }

  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.method === 'OPTIONS') return next();
    const token = bearerToken(req.headers.authorization);
    const keyHash = token ? hashApiKey(token) : null;
    if (this.failures.enabled && !(keyHash && this.knownGood.has(keyHash))) {
      const state = this.failures.peek(clientIp(req));
      if (!state.allowed) {
        setHeaders(res, rateLimitHeaders('auth-failures', this.failures.perMinute, state));
        return this.refuse(res, state, `Too many failed authentications from this address; retry in ${state.retryAfterSeconds} s.`);
      }
    }
    if (keyHash) {
      const upload = (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
      if (!this.charge(keyHash, res, upload ? this.config.rateLimitUploadCost : 1)) return;
    }
    next();
  };

  /**
   * Take `cost` from the bucket of the key with this hash; false (and the 429 sent) when it is
   * empty. The middleware charges Bearer requests; a signed URL is charged to the key that signed it.
   */
  charge(keyHash: string, res: Response, cost = 1): boolean {
    if (!this.keys.enabled) return true;
    const state = this.keys.take(keyHash, cost);
    setHeaders(res, rateLimitHeaders('api-key', this.keys.perMinute, state));
    if (state.allowed) return true;
    this.refuse(res, state, `Rate limit of ${this.keys.perMinute} requests a minute reached for this API key; retry in ${state.retryAfterSeconds} s.`);
    return false;
  }

  authFailed(req: Request, res: Response): void {
    if (!this.failures.enabled) return;
    const state = this.failures.take(clientIp(req));
    setHeaders(res, rateLimitHeaders('auth-failures', this.failures.perMinute, state));
  }

  /** Whether this key hash authenticated recently (the WebSocket handshake's failure throttle spares it too). */
  isKnownGood(keyHash: string): boolean {
    return this.knownGood.has(keyHash);
  }

  authSucceeded(authorization: string | undefined): void {
    const token = bearerToken(authorization);
    if (token && this.failures.enabled) this.knownGood.add(hashApiKey(token));
  }
}

/**
 * A multipart request (an upload) is authenticated before graphql-upload reads its body into a temp
 * file, so a client without a valid key, a key that may not submit (the only upload is
 * submitUtterance's audio, ASSESS_WRITE), or a cross-site form (which cannot send Authorization)
 * writes nothing to the server's disk. The GraphQL context authenticates again (from the key cache);
 * any other failure here (the database away) is left to it, which answers it as it does for JSON.
 */
export function authenticateUploads(prisma: PrismaClient, limiter: RateLimiter): RequestHandler {
  return (req, res, next) => {
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/')) return next();
    authenticate(prisma, req.headers.authorization).then(
      (principal) => {
        if (holdsScope(principal, 'ASSESS_WRITE')) return next();
        res.setHeader('Connection', 'close'); // as below: the upload is not read
        sendError(res, 403, 'This API key lacks the ASSESS_WRITE scope.', { code: 'FORBIDDEN' });
      },
      (e: unknown) => {
        if (!(e instanceof AppError && e.code === 'UNAUTHENTICATED')) return next();
        limiter.authFailed(req, res);
        // The body is not read: close the connection after the answer rather than drain an upload.
        res.setHeader('Connection', 'close');
        sendError(res, 401, e.message, { code: 'UNAUTHENTICATED' });
      },
    );
  };
}

/**
 * The query texts Apollo will read: the JSON or multipart body's `query`, and on GET every `query`
 * search parameter, found as Apollo's Express integration finds them (URLSearchParams over
 * url.parse's search). Express's req.query is not that: querystring.parse keeps only the first
 * 1,000 keys, so 1,000 junk keys in front of `query` hid it from the limits while Apollo ran it.
 */
function queryTexts(req: Request): unknown[] {
  const body = req.body as { query?: unknown } | undefined;
  const texts: unknown[] = body && typeof body === 'object' && !Array.isArray(body) && body.query !== undefined ? [body.query] : [];
  if (req.method === 'GET') texts.push(...new URLSearchParams(parseUrl(req.url).search ?? '').getAll('query'));
  return texts;
}

/** Size and token limits on the query text, before Apollo parses it (JSON, multipart and GET). */
export function querySourceLimits(limits: QueryLimits): RequestHandler {
  return (req, res, next) => {
    const texts = queryTexts(req);
    if (req.method === 'GET' && texts.length > 1) {
      // Apollo refuses it too (the same answer): checked here so that no text goes unmeasured
      return sendError(res, 400, "The 'query' search parameter may only be specified once.", { code: 'BAD_REQUEST' });
    }
    for (const query of texts) {
      if (typeof query !== 'string') continue;
      try {
        checkQuerySource(query, limits);
      } catch (e) {
        if (!(e instanceof GraphQLError)) return next(e);
        const { http: _http, ...extensions } = e.extensions as Record<string, unknown>;
        return sendError(res, 400, e.message, extensions);
      }
    }
    next();
  };
}
