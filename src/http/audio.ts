/**
 * `GET /audio/<utterance global id>`: the recording as uploaded, for a teacher or operator to listen
 * to beside its scores (and, with the word and phoneme timings, to play one word back).
 *
 * Authorised by `Authorization: Bearer <key>` with SCORES_READ, or by the signed URL that
 * `Utterance.audioUrl` returns (src/http/audio-url.ts), which an `<audio src>` can use as it is.
 * Either way only the key's organisation is read, and the response is the same.
 *
 * Served with Range requests (206, 416), a strong ETag (the content hash: the bytes under an id never
 * change) with If-None-Match and If-Range, and HEAD, so players seek without downloading the whole
 * file. The bytes are served as stored, under the type sniffed at upload, never as anything a
 * browser would render (nosniff, a sandboxing CSP).
 */
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import { authenticate, authenticateSigningKey, bearerToken, requireScope, type Principal } from '../graphql/auth.js';
import { fromGlobalId } from '../graphql/ids.js';
import { AppError } from '../errors.js';
import { FORMAT_EXTENSION, type AudioFormat } from '../audio/sniff.js';
import { sendError, type RateLimiter } from './guards.js';
import { failBeforeBody } from './export.js';
import { signatureMatches, type SignedParams } from './audio-url.js';
import { log } from '../ops/log.js';

/** The media type of each stored format (the bytes are as uploaded). */
const MEDIA_TYPE: Record<AudioFormat, string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  mp3: 'audio/mpeg',
  webm: 'audio/webm',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
};

const isAudioFormat = (format: string): format is AudioFormat => Object.hasOwn(FORMAT_EXTENSION, format);

/** The signed URL's parameters when all three are there once each; null when none is (a Bearer request). */
function signedParams(req: Request): SignedParams | null {
  const { expires, key, signature } = req.query;
  if (expires === undefined && key === undefined && signature === undefined) return null;
  if (typeof expires !== 'string' || typeof key !== 'string' || typeof signature !== 'string') {
    throw new AppError('UNAUTHENTICATED', 'A signed audio URL carries expires, key and signature once each; ask Utterance.audioUrl for one.');
  }
  return { expires, key, signature };
}

/**
 * Who is asking: the Bearer key, or the key that signed the URL when the signature and expiry hold.
 * A signed request is charged to its key's rate limit (a Bearer one already was, by the middleware);
 * returns null when that refused it (the 429 is sent).
 */
async function principalFor(services: Services, limiter: RateLimiter, req: Request, res: Response, utteranceId: string): Promise<Principal | null> {
  const signed = bearerToken(req.headers.authorization) ? null : signedParams(req);
  if (!signed) {
    const principal = await authenticate(services.prisma, req.headers.authorization);
    limiter.authSucceeded(req.headers.authorization);
    return principal;
  }
  const { principal, keyHash } = await authenticateSigningKey(services.prisma, signed.key);
  if (!/^\d{1,12}$/.test(signed.expires) || !signatureMatches({ id: principal.apiKeyId, keyHash }, utteranceId, signed)) {
    throw new AppError('UNAUTHENTICATED', 'The signed URL is not valid for this recording.');
  }
  const expiresAt = new Date(Number(signed.expires) * 1000);
  if (expiresAt.getTime() <= Date.now()) {
    throw new AppError('UNAUTHENTICATED', `The signed URL expired at ${expiresAt.toISOString()}; ask Utterance.audioUrl for a new one.`);
  }
  // The buckets are keyed by the key's hash, as Bearer requests present it: the stored hash is that value.
  if (!limiter.charge(keyHash, res)) return null;
  return principal;
}

/** Seconds a client may reuse the answer: a signed URL's remaining life; a Bearer answer is revalidated (ETag) each time. */
function cacheControl(req: Request): string {
  const expires = typeof req.query.expires === 'string' ? Number(req.query.expires) : NaN;
  if (bearerToken(req.headers.authorization) || !Number.isFinite(expires)) return 'private, no-cache';
  return `private, max-age=${Math.max(0, Math.floor(expires - Date.now() / 1000))}`;
}

/** What `send` passes to sendFile's callback: an http-errors error, or a file system one. */
type SendError = Error & { status?: number; code?: string; headers?: Record<string, string> };

/** The conditional and range refusals `send` makes, answered in the API's error shape. */
const REFUSALS: Record<number, { code: string; message: string }> = {
  412: { code: 'PRECONDITION_FAILED', message: 'The recording does not match If-Match (its ETag is its sha256).' },
  416: { code: 'RANGE_NOT_SATISFIABLE', message: 'The range asked for starts beyond the end of the recording (Content-Range gives its size).' },
};

export function serveAudio(services: Services, limiter: RateLimiter): RequestHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(res, 405, 'Use GET.', { code: 'BAD_REQUEST' });
    }
    const globalId = /^\/([A-Za-z0-9_-]{1,200})$/.exec(req.path)?.[1];
    const parsed = globalId ? fromGlobalId(globalId) : null;
    if (!parsed || parsed.type !== 'Utterance') return sendError(res, 404, 'Not found: use /audio/<utterance id>.', { code: 'NOT_FOUND' });

    let principal: Principal | null;
    try {
      principal = await principalFor(services, limiter, req, res, parsed.id);
      if (!principal) return; // rate limited, answered
      requireScope(principal, 'SCORES_READ');
    } catch (e) {
      if (e instanceof AppError) {
        if (e.code === 'UNAUTHENTICATED') limiter.authFailed(req, res);
        return sendError(res, e.code === 'UNAUTHENTICATED' ? 401 : 403, e.message, { code: e.code });
      }
      return failBeforeBody(res, e);
    }

    let utterance: { audioSha256: string; audioFormat: string } | null;
    try {
      utterance = await services.prisma.utterance.findFirst({
        where: { id: parsed.id, organizationId: principal.organizationId },
        select: { audioSha256: true, audioFormat: true },
      });
    } catch (e) {
      return failBeforeBody(res, e);
    }
    if (!utterance) return sendError(res, 404, `No Utterance with id "${globalId}".`, { code: 'NOT_FOUND' });
    const { audioSha256: sha256, audioFormat: format } = utterance;
    // Seeded history (`npm run seed`) has scores but no recording.
    if (!isAudioFormat(format)) return sendError(res, 404, 'This utterance has no stored recording.', { code: 'NOT_FOUND' });

    res.setHeader('Content-Type', MEDIA_TYPE[format]);
    res.setHeader('ETag', `"${sha256}"`);
    res.setHeader('Cache-Control', cacheControl(req));
    res.setHeader('Content-Disposition', `inline; filename="utterance-${globalId}.${FORMAT_EXTENSION[format]}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    const file = path.resolve(services.intake.store.pathFor(sha256, FORMAT_EXTENSION[format]));
    res.sendFile(file, { acceptRanges: true, cacheControl: false, etag: false, lastModified: false }, (err?: SendError) => {
      if (!err) return;
      if (err.code === 'ECONNABORTED' || res.destroyed) return; // the player went away (seeking does this)
      if (res.headersSent) return void res.destroy(err);
      for (const h of ['Content-Type', 'Content-Disposition', 'Content-Security-Policy']) res.removeHeader(h);
      const refusal = err.status !== undefined ? REFUSALS[err.status] : undefined;
      if (refusal) {
        for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value); // 416: Content-Range: bytes */<size>
        return sendError(res, err.status!, refusal.message, { code: refusal.code });
      }
      for (const h of ['ETag', 'Cache-Control']) res.removeHeader(h);
      // The row is there and its file is not: a store restored without its files, or another machine's disk.
      log.warn('stored audio missing or unreadable', { requestId: res.locals.requestId, sha256, err });
      if (err.status === 404) return sendError(res, 404, 'The recording is not in the audio store.', { code: 'NOT_FOUND' });
      failBeforeBody(res, err);
    });
  };
}
