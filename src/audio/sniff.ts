/**
 * Container detection from magic bytes. Filenames and client-sent MIME types are never trusted:
 * browsers label WebM as "audio/webm" or "video/webm" at whim, and a renamed file would otherwise
 * reach the wrong decoder.
 */
import { isAdtsHeader, isMp4 } from './mp4-header.js';

export type AudioFormat = 'wav' | 'flac' | 'ogg' | 'mp3' | 'webm' | 'm4a' | 'aac';

/** File extension used when storing the original bytes of each format. */
export const FORMAT_EXTENSION: Record<AudioFormat, string> = {
  wav: 'wav',
  flac: 'flac',
  ogg: 'ogg',
  mp3: 'mp3',
  webm: 'webm',
  m4a: 'm4a',
  aac: 'aac',
};

function startsWith(bytes: Uint8Array, sig: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  return sig.every((b, i) => bytes[offset + i] === b);
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/**
 * MPEG audio frame header: 11 sync bits, then version != reserved (01), layer != 00 (00 is AAC ADTS,
 * told apart in mp4-header.ts), bitrate index != 1111 and sample-rate index != 11. The extra checks keep
 * random binary that happens to begin with 0xFF from being called MP3.
 */
export function isMpegFrameHeader(bytes: Uint8Array, at = 0): boolean {
  if (bytes.length < at + 4) return false;
  const [b0, b1, b2] = [bytes[at], bytes[at + 1], bytes[at + 2]];
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0b11;
  const layer = (b1 >> 1) & 0b11;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0b11;
  return version !== 0b01 && layer !== 0b00 && bitrateIndex !== 0b1111 && rateIndex !== 0b11;
}

/** Size of an ID3v2 tag (header + body + optional footer); 0 when there is none. */
export function id3v2Size(bytes: Uint8Array): number {
  if (!startsWith(bytes, ascii('ID3')) || bytes.length < 10) return 0;
  const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  const footer = bytes[5] & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** Identify the container, or null when it is none we accept. */
export function sniffAudioFormat(bytes: Uint8Array): AudioFormat | null {
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WAVE'), 8)) return 'wav';
  if (startsWith(bytes, ascii('fLaC'))) return 'flac';
  if (startsWith(bytes, ascii('OggS'))) return 'ogg';
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return 'webm'; // EBML: WebM and Matroska alike
  if (isMp4(bytes)) return 'm4a'; // MP4/M4A/MOV: iOS and Android recorders (AAC)
  if (isAdtsHeader(bytes, 0)) return 'aac'; // raw AAC in ADTS frames
  // ID3v2 prefixes MP3 almost always; FLAC files and ADTS AAC streams (some encoders and radio
  // rips) occasionally carry one too, so look past it.
  const id3 = id3v2Size(bytes);
  if (id3 > 0) {
    if (startsWith(bytes, ascii('fLaC'), id3)) return 'flac';
    if (isAdtsHeader(bytes, id3)) return 'aac';
    return 'mp3';
  }
  if (isMpegFrameHeader(bytes, 0)) return 'mp3';
  return null;
}
