/**
 * Duration from container headers, read without decoding, so that an over-long upload (a 2-hour
 * lecture sent by mistake) is refused before we spend seconds of CPU and gigabytes of float PCM on it.
 * Each reader returns null when there is no header it can read, and `seconds: null` when the header
 * gives the stream's rate and channels but not its length; the decoder's own count then decides.
 */
import { id3v2Size, type AudioFormat } from './sniff.js';
import { adtsHeaderInfo, mp4HeaderInfo } from './mp4-header.js';
import { readWavHeader } from './wav.js';

export interface HeaderInfo {
  seconds: number | null;
  sampleRate: number;
  channels: number;
}

const text = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** FLAC: STREAMINFO is always the first metadata block and carries a 36-bit total sample count. */
export function flacHeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  const start = id3v2Size(bytes);
  const si = start + 8; // 'fLaC' + 4-byte block header
  if (bytes.length < si + 18 || text(bytes, start, 4) !== 'fLaC' || (bytes[start + 4] & 0x7f) !== 0) return null;
  const rate = (bytes[si + 10] << 12) | (bytes[si + 11] << 4) | (bytes[si + 12] >> 4);
  const channels = ((bytes[si + 12] >> 1) & 0x07) + 1;
  const total = (bytes[si + 13] & 0x0f) * 2 ** 32 + view(bytes).getUint32(si + 14, false);
  // 0 total samples means "unknown" (and is what a decompression bomb writes there)
  return { seconds: total && rate ? total / rate : null, sampleRate: rate, channels };
}

function oggPagePayloadStart(bytes: Uint8Array, page: number): number {
  return page + 27 + bytes[page + 26];
}

/** Granule position (int64) of the last page that ends a packet: total samples for Vorbis/Opus. */
function lastOggGranule(bytes: Uint8Array): number | null {
  const dv = view(bytes);
  const floor = Math.max(0, bytes.length - 65536 - 27); // a page is at most ~64 KiB
  for (let at = bytes.length - 27; at >= floor; at--) {
    if (bytes[at] !== 0x4f || text(bytes, at, 4) !== 'OggS' || bytes[at + 4] !== 0) continue;
    const lo = dv.getUint32(at + 6, true);
    const hi = dv.getInt32(at + 10, true);
    if (hi === -1 && lo === 0xffffffff) continue; // -1: no packet ends on this page
    return hi * 2 ** 32 + lo;
  }
  return null;
}

/** Ogg Opus / Vorbis: codec and rate from the identification header, length from the last granule. */
export function oggHeaderInfo(bytes: Uint8Array): HeaderInfo | null {
  if (bytes.length < 28 + 19) return null;
  const p = oggPagePayloadStart(bytes, 0);
  const dv = view(bytes);
  let rate: number;
  let channels: number;
  let preSkip = 0;
  if (text(bytes, p, 8) === 'OpusHead' && p + 19 <= bytes.length) {
    channels = bytes[p + 9];
    preSkip = dv.getUint16(p + 10, true);
    rate = 48000; // Opus granules always count 48 kHz samples, whatever the input rate was
  } else if (bytes[p] === 1 && text(bytes, p + 1, 6) === 'vorbis' && p + 16 <= bytes.length) {
    channels = bytes[p + 11];
    rate = dv.getUint32(p + 12, true);
  } else {
    return null;
  }
  const granule = lastOggGranule(bytes);
  const seconds = granule === null || !rate ? null : Math.max(0, granule - preSkip) / rate;
  return { seconds, sampleRate: rate, channels };
}

export function headerInfo(format: AudioFormat, bytes: Uint8Array): HeaderInfo | null {
  switch (format) {
    case 'wav':
      return readWavHeader(bytes);
    case 'flac':
      return flacHeaderInfo(bytes);
    case 'ogg':
      return oggHeaderInfo(bytes);
    case 'm4a':
      return mp4HeaderInfo(bytes);
    case 'aac':
      return adtsHeaderInfo(bytes);
    default:
      return null; // MP3 (often VBR, no reliable length) and WebM (browsers omit Duration): after decode
  }
}
