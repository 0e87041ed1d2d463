/**
 * `GET /audio/<utterance global id>`: the recording as uploaded, for a teacher or operator to listen
 * to beside its scores (and, with the word and phoneme timings, to play one word back).
 *
 * Authorised by `Authorization: Bearer <key>` with SCORES_READ, or by the signed URL that
 * `Utterance.audioUrl` returns (src/http/audio-url.ts), which an `<audio src>` can use as it is.
 * Either way only the key's organisation is read, and the response is the same.
 *
 * Served with Range requests (206, 416), a strong ETag (the content hash: the bytes under an id never
 * change) with If-None-Match, If-Range and If-Match, a Last-Modified (when it was submitted), and
 * HEAD, so players seek without downloading the whole file. Every answer must be revalidated
 * (`private, no-cache`): a cached copy must not outlive a revoked key or an erased learner. The
 * bytes are served as stored, under the type sniffed at upload, never as anything a browser would
 * render (nosniff, a sandboxing CSP).
 */
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import { authenticateSigningKey, bearerToken, type Principal } from '../graphql/auth.js';
import { fromGlobalId } from '../graphql/ids.js';
import { AppError } from '../errors.js';
import { audioRemoved } from '../assessment/audio-retention.js';
import { FORMAT_EXTENSION, type AudioFormat } from '../audio/sniff.js';
import { sendError, type RateLimiter } from './guards.js';
import { log } from '../ops/log.js';
import { authoriseRead, bearerPrincipal, failBeforeBody } from './route-auth.js';

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

/** A signed URL's parameters, as sent (checked by `signedPrincipal`). */
interface SignedParams {
  expires: string;
  key: string;
  signature: string;
}

/** The signed URL's parameters when all three are there once each; null when none is (a Bearer request). */
function signedParams(req: Request): SignedParams | null {
  const { expires, key, signature } = req.query;
  if (expires === undefined && key === undefined && signature === undefined) return null;
  if (typeof expires !== 'string' || typeof key !== 'string' || typeof signature !== 'string') {
    throw new AppError('UNAUTHENTICATED', 'A signed audio URL carries expires, key and signature once each; ask Utterance.audioUrl for one.');
  }
  return { expires, key, signature };
}

/** A 401 that is not a failed authentication (the failure throttle is left alone); null: answered. */
function refuseQuietly(res: Response, message: string): null {
  sendError(res, 401, message, { code: 'UNAUTHENTICATED' });
  return null;
}

/**
 * The key behind a signed URL. A signature this server did not make is a failed authentication
 * (thrown: authoriseRead counts it against the address). A genuine URL that has expired, or whose
 * key was revoked or expired since, is answered 401 here without counting: a teacher's page left
 * open past the hour must not lock its school's address out. Playback is charged to a bucket of
 * its own per key, so browsers seeking do not eat the integration's API budget. Null once answered.
 */
async function signedPrincipal(services: Services, limiter: RateLimiter, res: Response, utteranceId: string, signed: SignedParams): Promise<Principal | null> {
  const keyId = fromGlobalId(signed.key);
  const valid = keyId?.type === 'ApiKey' && /^\d{1,12}$/.test(signed.expires)
    && services.audioUrls.verify(utteranceId, keyId.id, Number(signed.expires), signed.signature);
  if (!valid) throw new AppError('UNAUTHENTICATED', 'The signed URL is not valid for this recording.');
  const expiresAt = new Date(Number(signed.expires) * 1000);
  if (expiresAt.getTime() <= Date.now()) return refuseQuietly(res, `The signed URL expired at ${expiresAt.toISOString()}; ask Utterance.audioUrl for a new one.`);
  let key: Awaited<ReturnType<typeof authenticateSigningKey>>;
  try {
    key = await authenticateSigningKey(services.prisma, keyId.id);
  } catch (e) {
    if (e instanceof AppError && e.code === 'UNAUTHENTICATED') return refuseQuietly(res, e.message);
    throw e;
  }
  if (!limiter.charge(`${key.keyHash}:audio`, res)) return null;
  return key.principal;
}

/** Who is asking: the Bearer key, or the key a signed URL names once its signature holds. Null once answered. */
async function principalFor(services: Services, limiter: RateLimiter, req: Request, res: Response, utteranceId: string): Promise<Principal | null> {
  const signed = bearerToken(req.headers.authorization) ? null : signedParams(req);
  return signed ? signedPrincipal(services, limiter, res, utteranceId, signed) : bearerPrincipal(services, limiter, req);
}

/** What `send` passes to sendFile's callback: an http-errors error, or a file system one. */
type SendError = Error & { status?: number; code?: string; headers?: Record<string, string> };

/** The conditional and range refusals `send` makes, answered in the API's error shape. */
const REFUSALS: Record<number, { code: string; message: string }> = {
  412: { code: 'PRECONDITION_FAILED', message: 'The recording does not match If-Match or If-Unmodified-Since (its ETag is its sha256).' },
  416: { code: 'RANGE_NOT_SATISFIABLE', message: 'The range asked for starts beyond the end of the recording (Content-Range gives its size).' },
};

/** The headers that describe the recording, dropped when the answer is an error instead. */
const RECORDING_HEADERS = ['Content-Type', 'Content-Disposition', 'Content-Security-Policy', 'ETag', 'Last-Modified', 'Cache-Control', 'Accept-Ranges', 'Content-Range'];

interface Stored {
  sha256: string;
  format: AudioFormat;
  createdAt: Date;
}

/** Streams the stored file with Range and conditional requests; refusals and faults in the API's shape. */
function sendRecording(services: Services, req: Request, res: Response, globalId: string, stored: Stored): void {
  const ext = FORMAT_EXTENSION[stored.format];
  let file: string;
  try {
    file = path.resolve(services.intake.store.pathFor(stored.sha256, ext));
  } catch (e) {
    return failBeforeBody(res, e);
  }
  res.setHeader('Content-Type', MEDIA_TYPE[stored.format]);
  res.setHeader('ETag', `"${stored.sha256}"`);
  res.setHeader('Last-Modified', stored.createdAt.toUTCString());
  res.setHeader('Cache-Control', 'private, no-cache');
  res.setHeader('Content-Disposition', `inline; filename="utterance-${globalId}.${ext}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  // `root` and `dotfiles: 'allow'`: without a root, send refuses any path with a dot-directory in it
  // (an audio folder under ~/.speechmark would 404 every recording).
  const options = { root: path.dirname(file), dotfiles: 'allow' as const, acceptRanges: true, cacheControl: false, etag: false, lastModified: false };
  res.sendFile(path.basename(file), options, (err?: SendError) => {
    if (!err) return;
    if (err.code === 'ECONNABORTED' || res.destroyed) return; // the player went away (seeking does this)
    if (res.headersSent) return void res.destroy(err);
    for (const h of RECORDING_HEADERS) res.removeHeader(h);
    const refusal = err.status !== undefined ? REFUSALS[err.status] : undefined;
    if (refusal) {
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value); // 416: Content-Range: bytes */<size>
      return sendError(res, err.status!, refusal.message, { code: refusal.code });
    }
    if (err.status === 404) {
      // The row is there and its file is not: a store restored without its files, or another machine's disk.
      log.warn('stored audio missing', { requestId: res.locals.requestId, sha256: stored.sha256 });
      return sendError(res, 404, 'The recording is not in the audio store.', { code: 'NOT_FOUND' });
    }
    failBeforeBody(res, err);
  });
}

export function serveAudio(services: Services, limiter: RateLimiter): RequestHandler {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(res, 405, 'Use GET.', { code: 'BAD_REQUEST' });
    }
    const globalId = /^\/([A-Za-z0-9_-]{1,200})$/.exec(req.path)?.[1];
    const parsed = globalId ? fromGlobalId(globalId) : null;
    if (!parsed || parsed.type !== 'Utterance') return sendError(res, 404, 'Not found: use /audio/<utterance id>.', { code: 'NOT_FOUND' });

    const principal = await authoriseRead(services, limiter, req, res, () => principalFor(services, limiter, req, res, parsed.id));
    if (!principal) return; // refused or rate limited, answered
    res.locals.organizationId = principal.organizationId; // for the request's log line

    let utterance: { audioSha256: string; audioFormat: string; createdAt: Date; audioRemovedAt: Date | null } | null;
    try {
      utterance = await services.prisma.utterance.findFirst({
        where: { id: parsed.id, organizationId: principal.organizationId },
        select: { audioSha256: true, audioFormat: true, createdAt: true, audioRemovedAt: true },
      });
    } catch (e) {
      return failBeforeBody(res, e);
    }
    if (!utterance) return sendError(res, 404, `No Utterance with id "${globalId}".`, { code: 'NOT_FOUND' });
    // Seeded history (`npm run seed`) has scores but no recording.
    if (!isAudioFormat(utterance.audioFormat)) return sendError(res, 404, 'This utterance has no stored recording.', { code: 'NOT_FOUND' });
    // Gone for good, and said so (410), unlike a recording that never was.
    if (utterance.audioRemovedAt) {
      const refusal = audioRemoved(utterance.audioRemovedAt);
      return sendError(res, 410, refusal.message, { ...refusal.extensions });
    }
    sendRecording(services, req, res, globalId!, { sha256: utterance.audioSha256, format: utterance.audioFormat, createdAt: utterance.createdAt });
  };
}
