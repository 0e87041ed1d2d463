import type { UtteranceResolvers } from '../../generated/graphql.js';
import { FORMAT_EXTENSION } from '../../audio/sniff.js';
import { DEFAULT_AUDIO_URL_SECONDS, MAX_AUDIO_URL_SECONDS } from '../../http/audio-url.js';
import { badInput } from '../../errors.js';

/** A playback URL naming the calling key, signed with the server's secret (the loader checks SCORES_READ first). */
export const audioUrl: UtteranceResolvers['audioUrl'] = (u, { expiresInSeconds }, ctx) => {
  const keyId = ctx.loaders.audioUrlKeyId();
  const seconds = expiresInSeconds ?? DEFAULT_AUDIO_URL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_AUDIO_URL_SECONDS) {
    throw badInput(`expiresInSeconds must be 1 to ${MAX_AUDIO_URL_SECONDS} (seven days).`, 'expiresInSeconds', { max: MAX_AUDIO_URL_SECONDS });
  }
  if (!Object.hasOwn(FORMAT_EXTENSION, u.audioFormat)) return null; // seeded history: scores without a recording
  if (u.audioRemovedAt) return null; // audio retention removed it
  return ctx.services.audioUrls.sign(keyId, u.id, Math.floor(Date.now() / 1000) + seconds);
};
