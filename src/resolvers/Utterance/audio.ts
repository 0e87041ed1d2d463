import type { UtteranceResolvers } from '../../generated/graphql.js';

export const audio: UtteranceResolvers['audio'] = (u) => ({
  sha256: u.audioSha256,
  format: u.audioFormat,
  bytes: u.audioBytes,
  durationMs: u.durationMs,
  speechMs: u.speechMs,
  sourceSampleRate: u.sourceSampleRate,
  sourceChannels: u.sourceChannels,
});
