/**
 * Upload bytes → 16 kHz mono float PCM, with the client-facing errors the API promises
 * (UNSUPPORTED_MEDIA_TYPE, CORRUPT_AUDIO, AUDIO_TOO_LONG, AUDIO_TOO_SHORT).
 */
import decode from 'audio-decode';
import { AppError } from '../errors.js';
import { headerInfo } from './header-duration.js';
import { downmix, resample } from './resample.js';
import { sniffAudioFormat, type AudioFormat } from './sniff.js';

export const TARGET_SAMPLE_RATE = 16000;

export interface DecodedAudio {
  /** 16 kHz mono, nominally in [-1, 1] */
  samples: Float32Array;
  sampleRate: typeof TARGET_SAMPLE_RATE;
  durationSeconds: number;
  format: AudioFormat;
  sourceSampleRate: number;
  sourceChannels: number;
}

export interface DurationLimits {
  maxSeconds: number;
  minSeconds: number;
}

interface RawAudio {
  channelData: Float32Array[];
  sampleRate: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function tooLong(seconds: number, limits: DurationLimits): AppError {
  return new AppError(
    'AUDIO_TOO_LONG',
    `Recording is ${round2(seconds)} s long; the limit is ${limits.maxSeconds} s.`,
    { durationSeconds: round2(seconds), maxSeconds: limits.maxSeconds },
  );
}

function sniffOrThrow(bytes: Uint8Array): AudioFormat {
  if (bytes.length === 0) throw new AppError('CORRUPT_AUDIO', 'The uploaded audio is an empty file.');
  const format = sniffAudioFormat(bytes);
  if (!format) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Unrecognized audio format; send WAV, FLAC, OGG (Vorbis/Opus), MP3 or WebM (Opus).',
    );
  }
  return format;
}

/** Refuse from the header alone when it proves the recording is too long (no decode needed). */
function checkHeaderDuration(format: AudioFormat, bytes: Uint8Array, limits: DurationLimits): void {
  const info = headerInfo(format, bytes);
  if (info && info.seconds > limits.maxSeconds) throw tooLong(info.seconds, limits);
}

/** Decoder failures are the client's bad bytes, not our fault: map them to CORRUPT_AUDIO. */
async function runDecoder(format: AudioFormat, bytes: Uint8Array): Promise<RawAudio> {
  let raw: RawAudio;
  try {
    raw = await decode(bytes);
  } catch (e) {
    throw new AppError('CORRUPT_AUDIO', `Could not decode the ${format} audio: it is damaged or truncated.`, {
      format,
      reason: e instanceof Error ? e.message : String(e),
    });
  }
  const frames = raw?.channelData?.[0]?.length ?? 0;
  if (!raw || !raw.sampleRate || frames === 0) {
    throw new AppError('CORRUPT_AUDIO', `The ${format} file decoded to no audio samples.`, { format });
  }
  return raw;
}

function assertFinite(channels: Float32Array[], format: AudioFormat): void {
  for (const ch of channels) {
    for (let i = 0; i < ch.length; i++) {
      if (!Number.isFinite(ch[i])) {
        throw new AppError('CORRUPT_AUDIO', `The ${format} file decoded to invalid (NaN/infinite) samples.`, { format });
      }
    }
  }
}

/**
 * Decode any accepted container to 16 kHz mono. Format is sniffed from the bytes; duration limits are
 * checked from the header first (cheap refusal), then again on the decoded frames (authoritative).
 */
export async function decodeAudio(bytes: Uint8Array, limits: DurationLimits): Promise<DecodedAudio> {
  const format = sniffOrThrow(bytes);
  checkHeaderDuration(format, bytes, limits);
  const raw = await runDecoder(format, bytes);
  const channels = raw.channelData;
  const sourceSeconds = channels[0].length / raw.sampleRate;
  if (sourceSeconds > limits.maxSeconds) throw tooLong(sourceSeconds, limits);
  assertFinite(channels, format);
  const samples = resample(downmix(channels), raw.sampleRate, TARGET_SAMPLE_RATE);
  const durationSeconds = samples.length / TARGET_SAMPLE_RATE;
  if (durationSeconds < limits.minSeconds) {
    throw new AppError(
      'AUDIO_TOO_SHORT',
      `Recording is ${round2(durationSeconds)} s long; at least ${limits.minSeconds} s is needed.`,
      { durationSeconds: round2(durationSeconds), minSeconds: limits.minSeconds },
    );
  }
  return {
    samples,
    sampleRate: TARGET_SAMPLE_RATE,
    durationSeconds,
    format,
    sourceSampleRate: raw.sampleRate,
    sourceChannels: channels.length,
  };
}
