/**
 * Hostile uploads made in code, as an attack run made them: WAV headers that lie, decompression bombs
 * (long silent streams whose headers hide their length), NaN floats, truncations. Nothing is written
 * to disk; the compressed bombs need ffmpeg (`hasFfmpeg`), which CI has.
 */
import { execFileSync } from 'node:child_process';

export interface WavSpec {
  formatTag?: number;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  /** defaults to channels × bits / 8 */
  blockAlign?: number;
  /** the data chunk's declared size; defaults to the body's length */
  dataBytes?: number;
  /** WAVE_FORMAT_EXTENSIBLE's SubFormat tag: the fmt chunk is then 40 bytes with tag 0xFFFE */
  subFormat?: number;
  body?: Uint8Array;
}

/** A WAV whose every header field can be set to anything, true or not. */
export function craftWav(spec: WavSpec): Uint8Array {
  const channels = spec.channels ?? 1;
  const bits = spec.bitsPerSample ?? 16;
  const body = spec.body ?? new Uint8Array(0);
  const ext = spec.subFormat !== undefined;
  const fmtSize = ext ? 40 : 16;
  const out = new Uint8Array(12 + 8 + fmtSize + 8 + body.length);
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  put(0, 'RIFF');
  dv.setUint32(4, out.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, ext ? 0xfffe : (spec.formatTag ?? 1), true);
  dv.setUint16(22, channels & 0xffff, true);
  dv.setUint32(24, (spec.sampleRate ?? 16000) >>> 0, true);
  const blockAlign = spec.blockAlign ?? (channels * bits) / 8;
  dv.setUint32(28, ((spec.sampleRate ?? 16000) * blockAlign) >>> 0, true);
  dv.setUint16(32, blockAlign & 0xffff, true);
  dv.setUint16(34, bits, true);
  if (ext) {
    dv.setUint16(36, 22, true); // cbSize
    dv.setUint16(38, bits, true); // valid bits
    dv.setUint32(40, 0, true); // channel mask
    dv.setUint16(44, spec.subFormat!, true); // SubFormat GUID: tag, then the fixed KSDATAFORMAT suffix
    out.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
  }
  const data = 12 + 8 + fmtSize;
  put(data, 'data');
  dv.setUint32(data + 4, (spec.dataBytes ?? body.length) >>> 0, true);
  out.set(body, data + 8);
  return out;
}

/** Little-endian 16-bit PCM bytes of a signal (no header). */
export function pcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const dv = new DataView(out.buffer);
  samples.forEach((x, i) => dv.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(x * 32767))), true));
  return out;
}

/** 32-bit float WAV of `samples` (which may hold NaN or Infinity). */
export function floatWav(samples: Float32Array, sampleRate = 16000): Uint8Array {
  const body = new Uint8Array(samples.buffer.slice(samples.byteOffset, samples.byteOffset + samples.byteLength));
  return craftWav({ formatTag: 3, bitsPerSample: 32, sampleRate, body });
}

// ---- decompression bombs: long silence that compresses to almost nothing ----

export type BombKind = 'flac-zeroed-length' | 'ogg-opus-fake-granule' | 'webm-opus' | 'mp3' | 'adts-aac' | 'm4a-aac-fragmented';
export const BOMB_KINDS: BombKind[] = ['flac-zeroed-length', 'ogg-opus-fake-granule', 'webm-opus', 'mp3', 'adts-aac', 'm4a-aac-fragmented'];

function ffmpeg(args: string[], input?: Uint8Array): Uint8Array {
  return new Uint8Array(
    execFileSync('ffmpeg', ['-loglevel', 'error', ...args], { input, maxBuffer: 256 * 1024 * 1024 }),
  );
}

/** FLAC of WAV bytes (transcodeWithFfmpeg's targets are the lossy ones). */
export function flacWithFfmpeg(wav: Uint8Array): Uint8Array {
  return ffmpeg(['-i', 'pipe:0', '-c:a', 'flac', '-f', 'flac', 'pipe:1'], wav);
}

/** Ten seconds of encoded silence, then `-stream_loop` copies (no re-encoding) up to `seconds`. */
function loopedSilence(
  seconds: number, rate: number, codec: string[], format: string, muxer: string[] = [], demuxer = format,
): Uint8Array {
  const seed = ffmpeg(['-f', 'lavfi', '-i', `anullsrc=r=${rate}:cl=mono`, '-t', '10', ...codec, ...muxer, '-f', format, 'pipe:1']);
  const loops = Math.ceil(seconds / 10) - 1;
  // -stream_loop needs a seekable input: a data: URL of the seed is one, and needs no temp file.
  const url = `data:application/octet-stream;base64,${Buffer.from(seed).toString('base64')}`;
  return ffmpeg(['-stream_loop', String(loops), '-f', demuxer, '-i', url, '-c', 'copy', ...muxer, '-f', format, 'pipe:1']);
}

/** Ogg page CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0), over the page with its CRC field zeroed. */
function oggCrc(page: Uint8Array): number {
  let crc = 0;
  for (const byte of page) {
    crc ^= byte << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

/** Rewrite the granule position of the last Ogg page (and its CRC) so the stream claims `granule` samples. */
function fakeLastGranule(ogg: Uint8Array, granule: number): Uint8Array {
  const out = ogg.slice();
  let at = out.length - 27;
  while (at > 0 && !(out[at] === 0x4f && out[at + 1] === 0x67 && out[at + 2] === 0x67 && out[at + 3] === 0x53)) at--;
  const dv = new DataView(out.buffer);
  dv.setUint32(at + 6, granule >>> 0, true);
  dv.setUint32(at + 10, 0, true);
  const segments = out[at + 26]!;
  let end = at + 27 + segments;
  for (let i = 0; i < segments; i++) end += out[at + 27 + i]!;
  dv.setUint32(at + 22, 0, true);
  dv.setUint32(at + 22, oggCrc(out.subarray(at, end)), true);
  return out;
}

/**
 * A recording of `seconds` of silence whose header hides its length, as in the attack run: FLAC with
 * STREAMINFO's total-samples field zeroed, Ogg Opus whose last granule claims 2 s, WebM, MP3 and
 * ADTS AAC, which state no length at all, and fragmented M4A, whose length is spread over fragments. Decoded whole, 2 hours of 48 kHz mono is 1.4 GB of float PCM.
 */
export function decompressionBomb(kind: BombKind, seconds = 2 * 3600): Uint8Array {
  switch (kind) {
    case 'flac-zeroed-length': {
      const flac = loopedSilence(seconds, 48000, ['-c:a', 'flac'], 'flac');
      if (String.fromCharCode(...flac.subarray(0, 4)) !== 'fLaC') throw new Error('ffmpeg made no FLAC');
      flac[21] = flac[21]! & 0xf0; // bytes 21-25 (low 36 bits): total samples; 0 means unknown
      flac.fill(0, 22, 26);
      return flac;
    }
    case 'ogg-opus-fake-granule':
      return fakeLastGranule(loopedSilence(seconds, 48000, ['-c:a', 'libopus'], 'ogg'), 2 * 48000);
    case 'webm-opus':
      return loopedSilence(seconds, 48000, ['-c:a', 'libopus'], 'webm');
    case 'mp3': // MPEG-2 layer III at 24 kHz, 8 kbit/s: 2 hours in 7 MB
      return loopedSilence(seconds, 24000, ['-c:a', 'libmp3lame', '-b:a', '8k'], 'mp3');
    case 'adts-aac': // raw AAC frames: no length anywhere
      return loopedSilence(seconds, 16000, ['-c:a', 'aac', '-b:a', '8k'], 'adts', [], 'aac');
    case 'm4a-aac-fragmented': // fragmented MP4 (what a pipe-writing recorder makes): an empty moov table
      // 10 s fragments: left to itself, ffmpeg put 2 hours in one moof of size 0 ("to the end"), which
      // the demuxer never reads, so the file was no bomb, only undecodable.
      return loopedSilence(seconds, 16000, ['-c:a', 'aac', '-b:a', '8k'], 'mp4', ['-movflags', 'frag_keyframe+empty_moov', '-frag_duration', '10000000'], 'mov');
  }
}

/**
 * Resident-memory growth since (rss0, maxRss0) in MiB. Sampling RSS on a timer misses a synchronous
 * decode (the timer cannot fire while it runs), so the process's high-water mark (maxRSS, KiB) is
 * consulted too: a decode that blocked the event loop while using gigabytes still raises it.
 */
export function rssGrowthMiB(rss0: number, sampledPeak: number, maxRss0: number): number {
  const sampled = Math.max(sampledPeak, process.memoryUsage().rss) - rss0;
  const highWater = (process.resourceUsage().maxRSS - maxRss0) * 1024;
  return Math.max(sampled, highWater) / 2 ** 20;
}
