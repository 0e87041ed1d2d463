/**
 * Test audio generated in code (no binary fixtures in git), plus access to the real SpeechOcean762
 * recordings that sit beside the repository on development machines.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** ../shared/speechocean762 relative to the repo root (Jest's cwd). Absent on a fresh CI machine. */
export const SHARED_DATA_DIR = path.resolve('../shared/speechocean762');
export const hasSharedData = existsSync(path.join(SHARED_DATA_DIR, 'audio'));
/** A known utterance (2.58 s, 16 kHz mono FLAC, "speech" starting ~0.6 s). */
export const SAMPLE_UTTERANCE_ID = '000010011';

export function readSpeechOceanFlac(id: string = SAMPLE_UTTERANCE_ID): Uint8Array {
  return new Uint8Array(readFileSync(path.join(SHARED_DATA_DIR, 'audio', `${id}.flac`)));
}

export function sine(freq: number, seconds: number, rate: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Deterministic uniform noise in [-amplitude, amplitude] (LCG, so failures reproduce). */
export function whiteNoise(seconds: number, rate: number, amplitude: number, seed = 12345): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = amplitude * ((s / 2 ** 32) * 2 - 1);
  }
  return out;
}

const toInt16 = (x: number): number => Math.max(-32768, Math.min(32767, Math.round(x * 32767)));

/** RIFF/WAVE header for 16-bit PCM; `dataBytes` may claim more than follows (for the too-long test). */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Uint8Array {
  const buf = new Uint8Array(44);
  const dv = new DataView(buf.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (buf[at + i] = c.charCodeAt(0)));
  put(0, 'RIFF');
  dv.setUint32(4, Math.min(0xffffffff, 36 + dataBytes), true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true); // PCM
  dv.setUint16(22, channels, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * channels * 2, true);
  dv.setUint16(32, channels * 2, true);
  dv.setUint16(34, 16, true);
  put(36, 'data');
  dv.setUint32(40, dataBytes, true);
  return buf;
}

/** 16-bit PCM WAV from one Float32Array per channel (equal lengths). */
export function encodeWav(channels: Float32Array[] | Float32Array, sampleRate: number): Uint8Array {
  const chans = Array.isArray(channels) ? channels : [channels];
  const frames = chans[0].length;
  const out = new Uint8Array(44 + frames * chans.length * 2);
  out.set(wavHeader(sampleRate, chans.length, frames * chans.length * 2));
  const dv = new DataView(out.buffer);
  let at = 44;
  for (let i = 0; i < frames; i++) {
    for (const ch of chans) {
      dv.setInt16(at, toInt16(ch[i]), true);
      at += 2;
    }
  }
  return out;
}

// ---- minimal FLAC encoder (VERBATIM subframes): lets FLAC decoding run without the shared data ----

function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** FLAC's UTF-8-like coding of the frame number (fixed block size). */
function utf8FrameNumber(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x800) return [0xc0 | (n >> 6), 0x80 | (n & 0x3f)];
  return [0xe0 | (n >> 12), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
}

/** `fLaC` + STREAMINFO; `totalSamples` may be a lie (for the too-long test). */
export function flacStreamHeader(sampleRate: number, channels: number, totalSamples: number, block = 4096): Uint8Array {
  const out = new Uint8Array(4 + 4 + 34);
  out.set([0x66, 0x4c, 0x61, 0x43, 0x80, 0, 0, 34]); // 'fLaC', last-block flag + STREAMINFO, length 34
  const si = new DataView(out.buffer, 8);
  si.setUint16(0, block);
  si.setUint16(2, block);
  // bytes 4..9: min/max frame size 0 = unknown
  si.setUint8(10, (sampleRate >> 12) & 0xff);
  si.setUint8(11, (sampleRate >> 4) & 0xff);
  si.setUint8(12, ((sampleRate & 0x0f) << 4) | ((channels - 1) << 1) | ((16 - 1) >> 4));
  si.setUint8(13, (((16 - 1) & 0x0f) << 4) | Math.floor(totalSamples / 2 ** 32));
  si.setUint32(14, totalSamples >>> 0);
  return out; // MD5 left zero = not computed
}

function flacFrame(chans: Float32Array[], start: number, size: number, index: number): Uint8Array {
  const header = [0xff, 0xf8, 0x70, ((chans.length - 1) << 4) | 0x08, ...utf8FrameNumber(index), (size - 1) >> 8, (size - 1) & 0xff];
  header.push(crc8(Uint8Array.from(header)));
  const frame = new Uint8Array(header.length + chans.length * (1 + 2 * size) + 2);
  frame.set(header);
  const dv = new DataView(frame.buffer);
  let at = header.length;
  for (const ch of chans) {
    frame[at++] = 0x02; // VERBATIM subframe, no wasted bits
    for (let i = 0; i < size; i++, at += 2) dv.setInt16(at, toInt16(ch[start + i]), false);
  }
  dv.setUint16(at, crc16(frame.subarray(0, at)));
  return frame;
}

/** 16-bit FLAC with uncompressed (VERBATIM) subframes: valid, just not small. */
export function encodeFlac(channels: Float32Array[] | Float32Array, sampleRate: number, block = 4096): Uint8Array {
  const chans = Array.isArray(channels) ? channels : [channels];
  const total = chans[0].length;
  const parts: Uint8Array[] = [flacStreamHeader(sampleRate, chans.length, total, block)];
  for (let start = 0, i = 0; start < total; start += block, i++) {
    parts.push(flacFrame(chans, start, Math.min(block, total - start), i));
  }
  return concatBytes(parts);
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---- real OGG / MP3 / WebM, only where ffmpeg is installed (it is not on a fresh CI machine) ----

function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const hasFfmpeg = commandExists('ffmpeg');

export type FfmpegTarget = 'ogg-vorbis' | 'ogg-opus' | 'mp3' | 'webm-opus';

const FFMPEG_ARGS: Record<FfmpegTarget, string[]> = {
  'ogg-vorbis': ['-c:a', 'libvorbis', '-f', 'ogg'],
  'ogg-opus': ['-c:a', 'libopus', '-f', 'ogg'],
  mp3: ['-c:a', 'libmp3lame', '-f', 'mp3'],
  'webm-opus': ['-c:a', 'libopus', '-f', 'webm'],
};

/** Transcode WAV/FLAC bytes with ffmpeg through pipes (no temp files). Requires `hasFfmpeg`. */
export function transcodeWithFfmpeg(input: Uint8Array, target: FfmpegTarget): Uint8Array {
  const args = ['-loglevel', 'error', '-i', 'pipe:0', '-map_metadata', '-1', ...FFMPEG_ARGS[target], 'pipe:1'];
  return new Uint8Array(execFileSync('ffmpeg', args, { input, maxBuffer: 64 * 1024 * 1024 }));
}
