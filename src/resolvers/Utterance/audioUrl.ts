import type { UtteranceResolvers } from '../../generated/graphql.js';
import { FORMAT_EXTENSION } from '../../audio/sniff.js';
import { DEFAULT_AUDIO_URL_SECONDS, MAX_AUDIO_URL_SECONDS, signedAudioPath } from '../../http/audio-url.js';
import { AppError } from '../../errors.js';

/** A signed playback URL, minted by the calling key (the loader checks SCORES_READ first). */
export const audioUrl: UtteranceResolvers['audioUrl'] = async (u, { expiresInSeconds }, ctx) => {
  const key = await ctx.loaders.urlSigningKey();
  const seconds = expiresInSeconds ?? DEFAULT_AUDIO_URL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_AUDIO_URL_SECONDS) {
    throw new AppError('BAD_USER_INPUT', `expiresInSeconds must be 1 to ${MAX_AUDIO_URL_SECONDS} (seven days).`, { field: 'expiresInSeconds' });
  }
  if (!Object.hasOwn(FORMAT_EXTENSION, u.audioFormat)) return null; // seeded history: scores without a recording
  // A key deleted mid-request: nothing to sign with.
  if (!key) throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
  return signedAudioPath(key, u.id, Math.floor(Date.now() / 1000) + seconds);
};
