import { existsSync } from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import {
  DEFAULT_VAD_OPTIONS,
  SpeechDetector,
  assertHasSpeech,
  probabilitiesToSegments,
  sileroModelPath,
} from '../../src/audio/vad.js';
import { hasSharedData, readSpeechOceanFlac, whiteNoise } from '../support/audio-fixtures.js';

describe('SpeechDetector (Silero v5)', () => {
  const detector = new SpeechDetector();
  afterAll(() => detector.close());

  test('model file is found through the package resolver', () => {
    expect(existsSync(sileroModelPath())).toBe(true);
  });

  test('silence: no speech, and assertHasSpeech refuses it', async () => {
    const result = await detector.detect(new Float32Array(3 * 16000));
    expect(result).toEqual({ speechSeconds: 0, segments: [] });
    expect(() => assertHasSpeech(result)).toThrow(expect.objectContaining({ code: 'NO_SPEECH_DETECTED' }));
  });

  test('low-level white noise: no speech', async () => {
    const result = await detector.detect(whiteNoise(3, 16000, 0.02));
    expect(result.speechSeconds).toBeLessThan(0.2);
  });

  test('input not a multiple of 512 samples (tail window zero-padded)', async () => {
    await expect(detector.detect(new Float32Array(1000))).resolves.toMatchObject({ speechSeconds: 0 });
  });

  (hasSharedData ? test : test.skip)(
    hasSharedData
      ? 'real SpeechOcean762 speech is found inside the recording'
      : 'real speech is found (skipped: ../shared/speechocean762 absent)',
    async () => {
      const audio = await decodeAudio(readSpeechOceanFlac(), { maxSeconds: 60, minSeconds: 0.5 });
      const result = await detector.detect(audio.samples);
      expect(result.speechSeconds).toBeGreaterThan(0.5);
      expect(result.segments.length).toBeGreaterThan(0);
      for (const s of result.segments) {
        expect(s.start).toBeGreaterThanOrEqual(0);
        expect(s.end).toBeLessThanOrEqual(audio.durationSeconds + 0.032);
        expect(s.end).toBeGreaterThan(s.start);
      }
      expect(() => assertHasSpeech(result)).not.toThrow();
    },
  );
});

describe('probabilitiesToSegments', () => {
  const W = 512 / 16000;

  test('hysteresis: dips between 0.35 and 0.5 do not end speech', () => {
    const probs = [0.1, 0.9, 0.4, 0.4, 0.9, 0.1, 0.1];
    expect(probabilitiesToSegments(probs, { ...DEFAULT_VAD_OPTIONS, minSpeechSeconds: 0, minGapSeconds: 0 })).toEqual([
      { start: 1 * W, end: 5 * W },
    ]);
  });

  test('short gaps are merged, short blips dropped', () => {
    const probs = [0.9, 0.9, 0.9, 0.9, 0, 0.9, 0.9, 0.9, 0.9, ...Array(40).fill(0), 0.9];
    const segs = probabilitiesToSegments(probs, DEFAULT_VAD_OPTIONS);
    expect(segs).toEqual([{ start: 0, end: 9 * W }]);
  });

  test('assertHasSpeech threshold is 0.2 s', () => {
    expect(() => assertHasSpeech({ speechSeconds: 0.19, segments: [] })).toThrow();
    expect(() => assertHasSpeech({ speechSeconds: 0.21, segments: [] })).not.toThrow();
  });
});
