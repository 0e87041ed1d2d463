/**
 * WAV, read and decoded here rather than by a library. The header check and the decoder used to be
 * two readings of one file: @audio/decode-wav took a second, 0-byte `fmt ` that we skipped and read
 * the bytes after it as IMA ADPCM with 65,535 samples per 4-byte block (32 KB cost 5 s and 1 GB),
 * and it did not skip the pad byte after an odd-sized chunk, so it lost the data chunk of a valid
 * file. Now the chunks are walked once, by the RIFF rules, and the samples decoded from that reading.
 */
import { AppError } from '../errors.js';
import { assertStreamBounds } from './bounds.js';
import type { HeaderInfo } from './header-duration.js';

export interface WavHeader extends HeaderInfo {
  seconds: number;
  /** WAVE_FORMAT tag; for WAVE_FORMAT_EXTENSIBLE the SubFormat's tag (null when the chunk is too short to say) */
  formatTag: number | null;
  bitsPerSample: number;
  blockAlign: number;
  /** where the samples start, and how many bytes of them the file holds (at most the declared size) */
  dataStart: number;
  dataBytes: number;
}

const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** PCM integer depths and IEEE float depths decoded; ADPCM, G.711 etc. are not taken. */
const WAV_CODECS: Record<number, { name: string; bits: number[] }> = {
  1: { name: 'PCM', bits: [8, 16, 24, 32] },
  3: { name: 'IEEE float', bits: [32, 64] },
};

const text = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const corrupt = (message: string, details: Record<string, unknown> = {}) => new AppError('CORRUPT_AUDIO', message, { format: 'wav', ...details });

/** The codec tag: the SubFormat GUID's first two bytes when the tag is WAVE_FORMAT_EXTENSIBLE. */
function formatTag(dv: DataView, body: number, size: number): number | null {
  const tag = dv.getUint16(body, true);
  if (tag !== WAVE_FORMAT_EXTENSIBLE) return tag;
  return size >= 40 && body + 26 <= dv.byteLength ? dv.getUint16(body + 24, true) : null;
}

type Fmt = Omit<WavHeader, 'seconds' | 'dataStart' | 'dataBytes'>;

function readFmt(dv: DataView, body: number, size: number, seen: Fmt | null): Fmt {
  if (seen) throw corrupt('The WAV file has more than one "fmt " chunk.');
  if (size < 16 || body + 16 > dv.byteLength) throw corrupt(`The WAV file's "fmt " chunk is ${size} bytes; at least 16 are needed.`);
  return {
    formatTag: formatTag(dv, body, size),
    channels: dv.getUint16(body + 2, true),
    sampleRate: dv.getUint32(body + 4, true),
    blockAlign: dv.getUint16(body + 12, true),
    bitsPerSample: dv.getUint16(body + 14, true),
  };
}

/**
 * Walk the RIFF chunks to `fmt ` and `data` (chunks are padded to even length). The length is the
 * declared data size, trusted even when the file is shorter (the point is refusing cheaply), except
 * the 0 / 0xFFFFFFFF placeholders that streaming writers leave, where the bytes present are used.
 */
function readChunks(bytes: Uint8Array): WavHeader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Fmt | null = null;
  for (let off = 12; off + 8 <= bytes.length; ) {
    const id = text(bytes, off, 4);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') fmt = readFmt(dv, body, size, fmt);
    else if (id === 'data') {
      if (!fmt) throw corrupt('The WAV file\'s "data" chunk comes before its "fmt " chunk.');
      const present = bytes.length - body;
      const declared = size === 0 || size === 0xffffffff ? present : size;
      const seconds = fmt.blockAlign && fmt.sampleRate ? declared / fmt.blockAlign / fmt.sampleRate : 0;
      return { ...fmt, seconds, dataStart: body, dataBytes: Math.min(declared, present) };
    }
    off = body + size + (size & 1);
  }
  throw corrupt('The WAV file has no readable "fmt " and "data" chunks.');
}

/** The header, refused unless it is a codec we decode with a block size that matches it. */
export function readWavHeader(bytes: Uint8Array): WavHeader {
  const info = readChunks(bytes);
  const codec = info.formatTag === null ? undefined : WAV_CODECS[info.formatTag];
  if (!codec || !codec.bits.includes(info.bitsPerSample)) {
    const tag = info.formatTag === null ? 'an unreadable extensible' : `0x${info.formatTag.toString(16).padStart(4, '0')}`;
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `WAV with format tag ${tag} at ${info.bitsPerSample} bits is not supported; send PCM (8/16/24/32-bit) or IEEE float (32/64-bit).`,
      { format: 'wav', formatTag: info.formatTag, bitsPerSample: info.bitsPerSample },
    );
  }
  assertStreamBounds('wav', info.sampleRate, info.channels);
  if (info.blockAlign !== (info.channels * info.bitsPerSample) / 8) {
    throw corrupt(`The WAV header's block size (${info.blockAlign}) does not match its channels and bit depth.`);
  }
  return info;
}

/** One sample at byte `at` as a float, scaled as @audio/decode-wav scaled it (negatives by 2^(bits-1), positives by 2^(bits-1) - 1). */
function sampleReader(dv: DataView, float: boolean, bits: number): (at: number) => number {
  if (float) return bits === 64 ? (at) => dv.getFloat64(at, true) : (at) => dv.getFloat32(at, true);
  switch (bits) {
    case 8:
      return (at) => {
        const v = dv.getUint8(at) - 128;
        return v < 0 ? v / 128 : v / 127;
      };
    case 16:
      return (at) => {
        const v = dv.getInt16(at, true);
        return v < 0 ? v / 32768 : v / 32767;
      };
    case 24:
      return (at) => {
        const v = ((dv.getUint8(at) | (dv.getUint8(at + 1) << 8) | (dv.getUint8(at + 2) << 16)) << 8) >> 8;
        return v * (v < 0 ? 1 / 8388608 : 1 / 8388607);
      };
    default:
      return (at) => {
        const v = dv.getInt32(at, true);
        return v < 0 ? v / 2147483648 : v / 2147483647;
      };
  }
}

/**
 * The samples, a whole number of frames of about `chunkBytes` at a time, planar, for the caller to
 * bound as they come; a partial frame at the end is dropped.
 */
export function* wavChunks(bytes: Uint8Array, header: WavHeader, chunkBytes: number): Generator<{ channelData: Float32Array[]; sampleRate: number }> {
  const { blockAlign, channels, bitsPerSample, sampleRate } = header;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = sampleReader(dv, header.formatTag === 3, bitsPerSample);
  const width = bitsPerSample / 8;
  const step = Math.max(1, Math.floor(chunkBytes / blockAlign)) * blockAlign;
  const end = header.dataStart + Math.floor(header.dataBytes / blockAlign) * blockAlign;
  for (let from = header.dataStart; from < end; from += step) {
    const frames = Math.min(step, end - from) / blockAlign;
    const channelData = Array.from({ length: channels }, () => new Float32Array(frames));
    for (let i = 0, at = from; i < frames; i++) {
      for (let c = 0; c < channels; c++, at += width) channelData[c]![i] = read(at);
    }
    yield { channelData, sampleRate };
  }
}
