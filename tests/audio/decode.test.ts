import { decodeAudio, type DurationLimits } from '../../src/audio/decode.js';
import { AppError } from '../../src/errors.js';
import {
  encodeWav,
  flacStreamHeader,
  hasFfmpeg,
  hasSharedData,
  readSpeechOceanFlac,
  sine,
  transcodeWithFfmpeg,
  wavHeader,
  type FfmpegTarget,
} from '../support/audio-fixtures.js';

const LIMITS: DurationLimits = { maxSeconds: 60, minSeconds: 0.5 };
const TWO_HOURS = 2 * 60 * 60;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  throw new Error('expected an AppError');
}

function zeroCrossings(x: Float32Array, from = 0, to = x.length): number {
  let n = 0;
  for (let i = from + 1; i < to; i++) if ((x[i - 1] < 0) !== (x[i] < 0)) n++;
  return n;
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

describe('decodeAudio: formats', () => {
  test('stereo 44.1 kHz WAV → 16 kHz mono; a 1 kHz sine keeps its frequency and level', async () => {
    const left = sine(1000, 2, 44100, 0.5);
    const audio = await decodeAudio(encodeWav([left, left], 44100), LIMITS);
    expect(audio).toMatchObject({ format: 'wav', sampleRate: 16000, sourceSampleRate: 44100, sourceChannels: 2 });
    expect(audio.durationSeconds).toBeCloseTo(2, 2);
    const inner = [1600, audio.samples.length - 1600] as const; // skip the filter's edge transients
    const seconds = (inner[1] - inner[0]) / 16000;
    expect(zeroCrossings(audio.samples, ...inner) / (2 * seconds)).toBeGreaterThan(995);
    expect(zeroCrossings(audio.samples, ...inner) / (2 * seconds)).toBeLessThan(1005);
    expect(rms(audio.samples, ...inner)).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });

  test('downmix averages channels (opposite-phase stereo cancels)', async () => {
    const l = sine(440, 1, 16000, 0.5);
    const r = l.map((v) => -v);
    const audio = await decodeAudio(encodeWav([l, r], 16000), LIMITS);
    expect(rms(audio.samples)).toBeLessThan(1e-4);
  });

  test('a 12 kHz tone at 48 kHz is filtered out, not aliased to 4 kHz', async () => {
    const audio = await decodeAudio(encodeWav(sine(12000, 1, 48000, 0.5), 48000), LIMITS);
    expect(rms(audio.samples, 800, audio.samples.length - 800)).toBeLessThan(0.005);
  });

  test('8 kHz WAV is upsampled', async () => {
    const audio = await decodeAudio(encodeWav(sine(500, 1, 8000), 8000), LIMITS);
    expect(audio.samples.length).toBe(16000);
    expect(zeroCrossings(audio.samples, 800, 15200)).toBeGreaterThanOrEqual(895);
  });

  (hasSharedData ? test : test.skip)(
    hasSharedData
      ? 'real SpeechOcean762 FLAC decodes to 16 kHz mono'
      : 'real SpeechOcean762 FLAC decodes (skipped: ../shared/speechocean762 absent)',
    async () => {
      const audio = await decodeAudio(readSpeechOceanFlac(), LIMITS);
      expect(audio).toMatchObject({ format: 'flac', sourceSampleRate: 16000, sourceChannels: 1 });
      expect(audio.durationSeconds).toBeGreaterThan(1);
      expect(rms(audio.samples)).toBeGreaterThan(0.001);
    },
  );

  const ffmpegTargets: [FfmpegTarget, string][] = [
    ['ogg-vorbis', 'ogg'],
    ['ogg-opus', 'ogg'],
    ['mp3', 'mp3'],
    ['webm-opus', 'webm'],
    ['m4a-aac', 'm4a'],
    ['m4a-aac-faststart', 'm4a'],
    ['m4a-aac-fragmented', 'm4a'],
    ['adts-aac', 'aac'],
    ['adts-aac-id3', 'aac'],
  ];
  describe.each(ffmpegTargets)('%s', (target, format) => {
    (hasFfmpeg ? test : test.skip)(
      hasFfmpeg ? `${target} (made by ffmpeg) decodes` : `${target} decodes (skipped: ffmpeg absent)`,
      async () => {
        const tone = sine(1000, 1.5, 48000, 0.5);
        const audio = await decodeAudio(transcodeWithFfmpeg(encodeWav([tone, tone], 48000), target), LIMITS);
        expect(audio.format).toBe(format);
        expect(audio.durationSeconds).toBeGreaterThan(1.4);
        expect(audio.durationSeconds).toBeLessThan(1.6);
        const inner = [3200, audio.samples.length - 3200] as const;
        const hz = zeroCrossings(audio.samples, ...inner) / (2 * ((inner[1] - inner[0]) / 16000));
        expect(Math.abs(hz - 1000)).toBeLessThan(10);
      },
    );
  });
});

describe('decodeAudio: refusals', () => {
  (hasFfmpeg ? test : test.skip)(
    hasFfmpeg ? 'an M4A whose moov box is cut off → CORRUPT_AUDIO, not an unbounded decode' : 'M4A without moov (skipped: ffmpeg absent)',
    async () => {
      const tone = sine(440, 1, 16000, 0.5);
      const m4a = transcodeWithFfmpeg(encodeWav([tone], 16000), 'm4a-aac'); // moov last
      const moovAt = Buffer.from(m4a).indexOf('moov') - 4;
      expect(moovAt).toBeGreaterThan(0);
      await expect(decodeAudio(m4a.subarray(0, moovAt), LIMITS)).rejects.toMatchObject({
        code: 'CORRUPT_AUDIO',
        message: expect.stringMatching(/moov/),
      });
    },
  );

  (hasFfmpeg ? test : test.skip)(
    hasFfmpeg ? 'an M4A table claiming more entries than it holds → CORRUPT_AUDIO (the demuxer would allocate by it)' : 'M4A lying table (skipped: ffmpeg absent)',
    async () => {
      const tone = sine(440, 1, 16000, 0.5);
      const m4a = transcodeWithFfmpeg(encodeWav([tone], 16000), 'm4a-aac-faststart');
      const elst = Buffer.from(m4a).indexOf('elst') - 4; // found by fuzzing: 0xFFFFFFFF here ran the process out of memory
      expect(elst).toBeGreaterThan(0);
      new DataView(m4a.buffer, m4a.byteOffset).setUint32(elst + 12, 0xffffffff);
      await expect(decodeAudio(m4a, LIMITS)).rejects.toMatchObject({ code: 'CORRUPT_AUDIO', message: expect.stringMatching(/elst/) });
    },
  );

  (hasFfmpeg ? test : test.skip)(
    hasFfmpeg ? 'a 2-minute M4A (moov after the audio) is refused from its sample table, before decoding' : 'M4A too long (skipped: ffmpeg absent)',
    async () => {
      const m4a = transcodeWithFfmpeg(encodeWav([new Float32Array(120 * 16000)], 16000), 'm4a-aac');
      // The header path states the length ("is 120.06 s long"); a decode stopped at the limit could not.
      await expect(decodeAudio(m4a, LIMITS)).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', message: expect.stringMatching(/is 12\d\.\d+ s long/) });
    },
  );

  test('empty file → CORRUPT_AUDIO', async () => {
    await expect(decodeAudio(new Uint8Array(0), LIMITS)).rejects.toMatchObject({
      code: 'CORRUPT_AUDIO',
      message: expect.stringMatching(/empty file/),
    });
  });

  test('text file → UNSUPPORTED_MEDIA_TYPE', async () => {
    const text = new TextEncoder().encode('This is a transcript, not a recording.\n'.repeat(10));
    expect(await codeOf(decodeAudio(text, LIMITS))).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('WAV header followed by garbage → CORRUPT_AUDIO', async () => {
    const bytes = new Uint8Array(200);
    bytes.set([...'RIFF'].map((c) => c.charCodeAt(0)));
    bytes.set([...'WAVEjunk'].map((c) => c.charCodeAt(0)), 8);
    bytes.fill(0x5a, 16);
    expect(await codeOf(decodeAudio(bytes, LIMITS))).toBe('CORRUPT_AUDIO');
  });

  test('FLAC with STREAMINFO but no frames (truncated) → CORRUPT_AUDIO', async () => {
    expect(await codeOf(decodeAudio(flacStreamHeader(16000, 1, 16000), LIMITS))).toBe('CORRUPT_AUDIO');
  });

  (hasSharedData ? test : test.skip)(
    hasSharedData
      ? 'real FLAC cut inside its first frame → CORRUPT_AUDIO'
      : 'real FLAC cut inside its first frame (skipped: ../shared/speechocean762 absent)',
    async () => {
      const flac = readSpeechOceanFlac();
      expect(await codeOf(decodeAudio(flac.subarray(0, 200), LIMITS))).toBe('CORRUPT_AUDIO');
    },
  );

  test('an MP3 that is only an ID3 tag (no frames) → CORRUPT_AUDIO', async () => {
    const bytes = new Uint8Array(64);
    bytes.set([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 54]); // 'ID3' v2.3, 54-byte tag body of zeros
    expect(await codeOf(decodeAudio(bytes, LIMITS))).toBe('CORRUPT_AUDIO');
  });

  test('NaN samples in a float WAV → CORRUPT_AUDIO', async () => {
    const header = wavHeader(16000, 1, 16000 * 4);
    const dv = new DataView(header.buffer);
    dv.setUint16(20, 3, true); // IEEE float
    dv.setUint32(28, 16000 * 4, true);
    dv.setUint16(32, 4, true);
    dv.setUint16(34, 32, true);
    const body = new Float32Array(16000).fill(0.1);
    body[5000] = NaN;
    const bytes = new Uint8Array(44 + body.byteLength);
    bytes.set(header);
    bytes.set(new Uint8Array(body.buffer), 44);
    expect(await codeOf(decodeAudio(bytes, LIMITS))).toBe('CORRUPT_AUDIO');
  });

  test('too short → AUDIO_TOO_SHORT', async () => {
    expect(await codeOf(decodeAudio(encodeWav(sine(440, 0.2, 16000), 16000), LIMITS))).toBe('AUDIO_TOO_SHORT');
  });

  test('too long after decode → AUDIO_TOO_LONG', async () => {
    const wav = encodeWav(sine(440, 3, 16000), 16000);
    expect(await codeOf(decodeAudio(wav, { minSeconds: 0.5, maxSeconds: 2 }))).toBe('AUDIO_TOO_LONG');
  });

  test('a WAV header claiming 2 hours is refused from the header, without decoding', async () => {
    const claimed = TWO_HOURS * 16000 * 2;
    const bytes = new Uint8Array(44 + 64);
    bytes.set(wavHeader(16000, 1, claimed));
    // Only 64 bytes of samples follow: a duration of 2 hours can only have come from the header.
    const err = await decodeAudio(bytes, LIMITS).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUDIO_TOO_LONG', extensions: { durationSeconds: TWO_HOURS, maxSeconds: 60 } });
  });

  test('a FLAC STREAMINFO claiming 2 hours is refused from the header', async () => {
    const bytes = new Uint8Array(200);
    bytes.set(flacStreamHeader(48000, 2, TWO_HOURS * 48000));
    const err = await decodeAudio(bytes, LIMITS).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUDIO_TOO_LONG', extensions: { durationSeconds: TWO_HOURS } });
  });

  (hasFfmpeg ? test : test.skip)(
    hasFfmpeg ? 'an Ogg whose last granule says too long is refused before decode' : 'Ogg granule length check (skipped: ffmpeg absent)',
    async () => {
      const ogg = transcodeWithFfmpeg(encodeWav(sine(440, 3, 16000), 16000), 'ogg-opus');
      expect(await codeOf(decodeAudio(ogg, { minSeconds: 0.5, maxSeconds: 2 }))).toBe('AUDIO_TOO_LONG');
    },
  );
});
