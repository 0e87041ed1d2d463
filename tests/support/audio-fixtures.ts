/**
 * Test audio generated in code (no binary fixtures in git), plus access to the real SpeechOcean762
 * recordings that sit beside the repository on development machines.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * ../shared/speechocean762 relative to the repo root (Jest's cwd), or SPEECHOCEAN762_DIR. Absent on a
 * fresh clone; `.ci/run` points SPEECHOCEAN762_DIR at a missing folder to prove the suites skip.
 */
export const SHARED_DATA_DIR = path.resolve(process.env.SPEECHOCEAN762_DIR ?? '../shared/speechocean762');
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

/**
 * Speech-like audio made in code: syllables of a voiced source (a glottal pulse train with a falling
 * pitch and a little jitter) through three vowel formant resonators, between short noise bursts
 * (consonants) and pauses. Enough like speech for Silero VAD; `seed` varies pitch, vowels and
 * timing, so different seeds give different bytes.
 */
export function syntheticSpeech(seconds: number, rate: number, seed = 1): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  let s = (seed * 2654435761) >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const VOWELS = [
    [730, 1090, 2440], // a
    [270, 2290, 3010], // i
    [300, 870, 2240], // u
    [530, 1840, 2480], // e
    [570, 840, 2410], // o
  ];
  /** Two-pole resonator coefficients for a formant at f Hz with bandwidth bw Hz. */
  const resonator = (f: number, bw: number) => {
    const r = Math.exp((-Math.PI * bw) / rate);
    return { a1: 2 * r * Math.cos((2 * Math.PI * f) / rate), a2: -r * r, g: 1 - r };
  };
  let at = Math.round(0.15 * rate); // leading silence
  const baseF0 = 100 + 60 * rand();
  while (at < out.length - 0.15 * rate) {
    // consonant: a short noise burst
    const burst = Math.round((0.03 + 0.04 * rand()) * rate);
    for (let i = 0; i < burst && at + i < out.length; i++) out[at + i] = 0.08 * (rand() * 2 - 1);
    at += burst;
    // vowel: pulse train through formants, with a raised-cosine envelope
    const len = Math.round((0.12 + 0.14 * rand()) * rate);
    const formants = VOWELS[Math.floor(rand() * VOWELS.length)]!.map((f, k) => resonator(f * (0.95 + 0.1 * rand()), 60 + 40 * k));
    const state = formants.map(() => [0, 0]);
    let phase = 0;
    for (let i = 0; i < len && at + i < out.length; i++) {
      const f0 = baseF0 * (1.1 - 0.2 * (i / len)) * (1 + 0.01 * (rand() - 0.5));
      phase += f0 / rate;
      let x = 0;
      if (phase >= 1) {
        phase -= 1;
        x = 1;
      }
      let y = 0;
      formants.forEach((c, k) => {
        const st = state[k]!;
        const v = c.g * x + c.a1 * st[0]! + c.a2 * st[1]!;
        st[1] = st[0]!;
        st[0] = v;
        y += v / (k + 1);
      });
      out[at + i] = 0.6 * y * 0.5 * (1 - Math.cos((2 * Math.PI * i) / len));
    }
    at += len;
    at += Math.round((0.02 + 0.1 * rand()) * rate); // pause between syllables
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  if (peak > 0) for (let i = 0; i < out.length; i++) out[i] = (0.5 * out[i]!) / peak;
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

// ---- FLAC header only: STREAMINFO claiming any length, for the cheap too-long refusal ----

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

export type FfmpegTarget =
  | 'ogg-vorbis' | 'ogg-opus' | 'mp3' | 'webm-opus' | 'm4a-aac' | 'm4a-aac-faststart' | 'm4a-aac-fragmented' | 'adts-aac'
  | 'adts-aac-id3' | 'm4a-alac';

const FFMPEG_ARGS: Record<FfmpegTarget, string[]> = {
  'ogg-vorbis': ['-c:a', 'libvorbis', '-f', 'ogg'],
  'ogg-opus': ['-c:a', 'libopus', '-f', 'ogg'],
  mp3: ['-c:a', 'libmp3lame', '-f', 'mp3'],
  'webm-opus': ['-c:a', 'libopus', '-f', 'webm'],
  // As iPhone and Android recorders write it: the sample table (moov) after the audio.
  'm4a-aac': ['-c:a', 'aac', '-f', 'ipod'],
  'm4a-aac-faststart': ['-c:a', 'aac', '-movflags', '+faststart', '-f', 'ipod'],
  'm4a-aac-fragmented': ['-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4'],
  'adts-aac': ['-c:a', 'aac', '-f', 'adts'],
  // Some encoders put an ID3v2 tag (title, encoder) before the first ADTS frame, as MP3 files have.
  'adts-aac-id3': ['-c:a', 'aac', '-f', 'adts', '-write_id3v2', '1', '-metadata', 'title=Recording'],
  // Apple Lossless in M4A, as Voice Memos' lossless setting writes it.
  'm4a-alac': ['-c:a', 'alac', '-f', 'ipod'],
};

/** Targets whose muxer seeks back to write its index: written to a temporary file, not a pipe. */
const SEEKING_MUXER = new Set<FfmpegTarget>(['m4a-aac', 'm4a-aac-faststart', 'm4a-alac']);

/** Transcode WAV/FLAC bytes with ffmpeg. Requires `hasFfmpeg`. */
export function transcodeWithFfmpeg(input: Uint8Array, target: FfmpegTarget): Uint8Array {
  const args = ['-loglevel', 'error', '-i', 'pipe:0', '-map_metadata', '-1', ...FFMPEG_ARGS[target]];
  if (!SEEKING_MUXER.has(target)) {
    return new Uint8Array(execFileSync('ffmpeg', [...args, 'pipe:1'], { input, maxBuffer: 64 * 1024 * 1024 }));
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'speechmark-ffmpeg-'));
  try {
    const out = path.join(dir, 'out.m4a');
    execFileSync('ffmpeg', [...args, out], { input });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A 16 kHz mono WAV of syntheticSpeech(), for API tests that need an upload the voice activity
 * detector accepts (and the model scores) without ../shared; another `variant` gives other bytes.
 */
export function speechLikeWav(seconds: number, variant = 1): Uint8Array {
  return encodeWav(syntheticSpeech(seconds, 16000, variant), 16000);
}
