/**
 * Limits on what a recording may declare, checked from container headers before any decoding and
 * again on every decoded chunk. Attack runs showed why: a WAV whose header claimed a 4,294,967,295 Hz
 * rate sent the resampler to 10 GB, 65,535 channels multiplied every buffer, and ADPCM tags on PCM
 * bytes "decoded" 2.4 s into 61,871 s. Speech needs none of that, so it is refused up front.
 */
import { AppError } from '../errors.js';
import type { AudioFormat } from './sniff.js';

/** 7.1 surround is the most any recorder we know of produces; speech needs one. */
export const MAX_CHANNELS = 8;
/** Telephone rate up to studio 192 kHz; outside it the file is a lie or not speech equipment. */
export const MIN_SOURCE_RATE = 8000;
export const MAX_SOURCE_RATE = 192000;

/** Refuse a declared channel count or sample rate outside what we decode. */
export function assertStreamBounds(format: AudioFormat, sampleRate: number, channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || !Number.isFinite(sampleRate) || sampleRate <= 0) {
    throw new AppError('CORRUPT_AUDIO', `The ${format} file declares ${channels} channels at ${sampleRate} Hz, which is not audio.`, {
      format,
      channels,
      sampleRate,
    });
  }
  if (channels > MAX_CHANNELS) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `The ${format} file has ${channels} channels; at most ${MAX_CHANNELS} are accepted.`, {
      format,
      channels,
      maxChannels: MAX_CHANNELS,
    });
  }
  if (sampleRate < MIN_SOURCE_RATE || sampleRate > MAX_SOURCE_RATE) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The ${format} file's sample rate is ${sampleRate} Hz; ${MIN_SOURCE_RATE}-${MAX_SOURCE_RATE} Hz is accepted.`,
      { format, sampleRate, minSampleRate: MIN_SOURCE_RATE, maxSampleRate: MAX_SOURCE_RATE },
    );
  }
}
