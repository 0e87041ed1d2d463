import type { AudioWarning, UtteranceResolvers } from '../../generated/graphql.js';
import { MIN_SPEECH_SECONDS } from '../../audio/vad.js';

/** Under this share of the recording, speech is "little" even when it lasts longer than the minimum. */
const MIN_SPEECH_SHARE = 0.1;

/** Derived from the stored measurements, so utterances stored before the flag existed get it too. */
function audioWarnings(speechMs: number, durationMs: number): AudioWarning[] {
  const little = speechMs < MIN_SPEECH_SECONDS * 1000 || speechMs < MIN_SPEECH_SHARE * durationMs;
  return little ? ['LITTLE_SPEECH'] : [];
}

export const audio: UtteranceResolvers['audio'] = (u) => ({
  sha256: u.audioSha256,
  format: u.audioFormat,
  bytes: u.audioBytes,
  durationMs: u.durationMs,
  speechMs: u.speechMs,
  sourceSampleRate: u.sourceSampleRate,
  sourceChannels: u.sourceChannels,
  warnings: audioWarnings(u.speechMs, u.durationMs),
});
