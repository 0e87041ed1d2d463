/**
 * Signed playback URLs for `GET /audio/<utterance id>`: an `<audio src>` cannot send an
 * Authorization header, so `Utterance.audioUrl` hands out a URL that carries its own proof, as S3's
 * presigned URLs do: the minting key's id, an expiry, and an HMAC over (utterance, key, expiry).
 *
 * The HMAC key is the minting API key's stored hash, so no new secret has to be kept or rotated, and
 * a URL dies with its key: revoke, expire or rotate the key and every URL it signed stops working at
 * once (the route reads the key again on every request). The hash is never returned by the API; a
 * signature reveals nothing about it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { toGlobalId } from '../graphql/ids.js';

export const AUDIO_ROUTE = '/audio';
/** `audioUrl`'s default lifetime: long enough to review a page of recordings. */
export const DEFAULT_AUDIO_URL_SECONDS = 3600;
/** The longest a signed URL may live, as S3's presigned URLs (seven days). */
export const MAX_AUDIO_URL_SECONDS = 7 * 24 * 3600;

/** What signs a URL: the minting key (its id goes in the URL, its hash is the HMAC key). */
export interface UrlSigningKey {
  id: string;
  keyHash: string;
}

/** The signed part of a URL; the version tag keeps these signatures apart from any later kind. */
function signature(keyHash: string, utteranceId: string, apiKeyId: string, expires: number): string {
  return createHmac('sha256', Buffer.from(keyHash, 'hex'))
    .update(`speechmark-audio-url-v1\n${utteranceId}\n${apiKeyId}\n${expires}`)
    .digest('base64url');
}

/** `/audio/<global id>?expires=<unix seconds>&key=<api key id>&signature=<base64url>`, relative to the server's root. */
export function signedAudioPath(key: UrlSigningKey, utteranceId: string, expires: number): string {
  const query = new URLSearchParams({ expires: String(expires), key: key.id, signature: signature(key.keyHash, utteranceId, key.id, expires) });
  return `${AUDIO_ROUTE}/${toGlobalId('Utterance', utteranceId)}?${query}`;
}

/** The query parameters of a signed URL, as sent (unchecked). */
export interface SignedParams {
  expires: string;
  key: string;
  signature: string;
}

/** Whether `params.signature` is the one `key` gives (utterance, key id, expiry); constant-time. */
export function signatureMatches(key: UrlSigningKey, utteranceId: string, params: SignedParams): boolean {
  const want = Buffer.from(signature(key.keyHash, utteranceId, key.id, Number(params.expires)));
  const got = Buffer.from(params.signature);
  return got.length === want.length && timingSafeEqual(got, want);
}
