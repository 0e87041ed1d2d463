/**
 * Signed playback URLs for `GET /audio/<utterance id>`: an `<audio src>` cannot send an
 * Authorization header, so `Utterance.audioUrl` hands out a URL that carries its own proof, as S3's
 * presigned URLs do: the asking key's id, an expiry, and an HMAC over (utterance, key, expiry).
 *
 * The HMAC key is the server's own secret (SPEECHMARK_URL_SIGNING_SECRET, else one generated once
 * and kept in the audio folder, beside the files it guards): neither an API key's holder nor
 * someone who can read the database can sign a URL. The route reads the key on every request, so a
 * URL stops working the moment its key is revoked or expires, whatever its own expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { toGlobalId } from '../graphql/ids.js';
import { log } from '../ops/log.js';

export const AUDIO_ROUTE = '/audio';
/** `audioUrl`'s default lifetime: long enough to review a page of recordings. */
export const DEFAULT_AUDIO_URL_SECONDS = 3600;
/** The longest a signed URL may live, as S3's presigned URLs (seven days). */
export const MAX_AUDIO_URL_SECONDS = 7 * 24 * 3600;
/** Clock difference tolerated between the process that signs and the one that serves. */
const CLOCK_SKEW_SECONDS = 300;

/** Where the generated secret is kept: a dot name, which the store's digests and sweeps never match. */
export const SECRET_FILE = '.url-signing-secret';

/** Signs and checks playback URLs with the server's secret. */
export class AudioUrlSigner {
  constructor(private readonly secret: Buffer) {}

  /** The signed part of a URL; the version tag keeps these signatures apart from any later kind. */
  private signature(utteranceId: string, apiKeyId: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`speechmark-audio-url-v1\n${utteranceId}\n${apiKeyId}\n${expires}`).digest('base64url');
  }

  /** `/audio/<utterance global id>?expires=<unix seconds>&key=<ApiKey global id>&signature=<base64url>`, relative to the server's root. */
  sign(apiKeyId: string, utteranceId: string, expires: number): string {
    const query = new URLSearchParams({ expires: String(expires), key: toGlobalId('ApiKey', apiKeyId), signature: this.signature(utteranceId, apiKeyId, expires) });
    return `${AUDIO_ROUTE}/${toGlobalId('Utterance', utteranceId)}?${query}`;
  }

  /**
   * Whether `signature` is the one this server gave (utterance, key, expiry), constant-time, and the
   * expiry is one it could have given: a URL claiming to live longer than MAX_AUDIO_URL_SECONDS from
   * now was not signed here.
   */
  verify(utteranceId: string, apiKeyId: string, expires: number, signature: string, nowSeconds = Date.now() / 1000): boolean {
    if (expires > nowSeconds + MAX_AUDIO_URL_SECONDS + CLOCK_SKEW_SECONDS) return false;
    const want = Buffer.from(this.signature(utteranceId, apiKeyId, expires));
    const got = Buffer.from(signature);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/**
 * The signer of this process: SPEECHMARK_URL_SIGNING_SECRET when set, else the secret kept in the
 * audio folder (made once, 32 random bytes, owner-only; a second process starting at the same time
 * reads the first one's). A folder that cannot hold it (read-only) gives a secret of this process
 * alone, with a warning: its URLs then work only here, until it restarts.
 */
export async function loadAudioUrlSigner(configured: string | null, audioDir: string): Promise<AudioUrlSigner> {
  if (configured !== null) return new AudioUrlSigner(Buffer.from(configured, 'utf8'));
  const file = path.join(audioDir, SECRET_FILE);
  let text: string;
  try {
    await createOnce(file);
    text = (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    log.error('audio URL signing secret neither stored nor read: this process signs with its own, so its URLs fail on other processes and after a restart (set SPEECHMARK_URL_SIGNING_SECRET)', { file, err });
    return new AudioUrlSigner(randomBytes(32));
  }
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new Error(`${file} does not hold a signing secret (64 hex digits): delete it to make a new one, or set SPEECHMARK_URL_SIGNING_SECRET`);
  }
  return new AudioUrlSigner(Buffer.from(text, 'hex'));
}

/**
 * The secret file, whole or not at all: written to a temp file (owner-only), then linked to its
 * name, which fails when another process made it first (theirs is kept). A crash leaves at most a
 * temp file, never an empty secret.
 */
async function createOnce(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  try {
    await fs.link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
