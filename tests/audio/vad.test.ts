import { existsSync } from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import {
  DEFAULT_VAD_OPTIONS,
  SpeechDetector,
  SILENCE_DBFS,
  assertHasSpeech,
  loudWindowDbfs,
  probabilitiesToSegments,
  sileroModelPath,
} from '../../src/audio/vad.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARED_DATA_DIR, hasSharedData, readSpeechOceanFlac, sine, whiteNoise } from '../support/audio-fixtures.js';
import { describeWithSpeech } from '../support/speech.js';

describe('SpeechDetector (Silero v5)', () => {
  const detector = new SpeechDetector();
  afterAll(() => detector.close());

  test('model file is found through the package resolver', () => {
    expect(existsSync(sileroModelPath())).toBe(true);
  });

  test('silence: no speech, and assertHasSpeech refuses it', async () => {
    const result = await detector.detect(new Float32Array(3 * 16000));
    expect(result).toEqual({ speechSeconds: 0, segments: [], loudDbfs: -Infinity });
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

});

describe('assertHasSpeech: refuses silence only', () => {
  const detection = (speechSeconds: number, loudDbfs: number) => ({ speechSeconds, segments: [], loudDbfs });

  test('no speech and a silent signal is NO_SPEECH_DETECTED', () => {
    expect(() => assertHasSpeech(detection(0, -Infinity))).toThrow(expect.objectContaining({ code: 'NO_SPEECH_DETECTED' }));
    expect(() => assertHasSpeech(detection(0, SILENCE_DBFS - 0.1))).toThrow();
  });

  test('little speech is kept (flagged later, not refused), however quiet', () => {
    expect(() => assertHasSpeech(detection(0.05, -60))).not.toThrow();
  });

  test('no detected speech in a loud signal is kept: the detector is the likelier one to be wrong', () => {
    expect(() => assertHasSpeech(detection(0, SILENCE_DBFS))).not.toThrow();
  });

  test('loudWindowDbfs: the loud stretch, not the average, and not one click', () => {
    expect(loudWindowDbfs(new Float32Array(16000))).toBe(-Infinity);
    expect(loudWindowDbfs(whiteNoise(2, 16000, 0.01))).toBeLessThan(SILENCE_DBFS); // about -45 dBFS
    const word = new Float32Array(3 * 16000);
    word.set(sine(200, 0.3, 16000, 0.3), 16000); // 0.3 s of sound in 3 s: 10% of the windows
    expect(loudWindowDbfs(word)).toBeGreaterThan(-15);
    const click = new Float32Array(3 * 16000);
    click[20000] = 1;
    expect(loudWindowDbfs(click)).toBe(-Infinity);
  });
});

/** Each line of the split's Kaldi `text` file begins with the utterance id. */
function splitIds(split: string): string[] {
  return readFileSync(path.join(SHARED_DATA_DIR, split, 'text'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/)[0]!);
}

describeWithSpeech('every SpeechOcean762 dev recording passes voice activity checks', () => {
  const detector = new SpeechDetector();
  afterAll(() => detector.close());

  test('batched detection gives the same result as one at a time', async () => {
    const a = whiteNoise(1, 16000, 0.3);
    const b = (await decodeAudio(readSpeechOceanFlac(), { maxSeconds: 60, minSeconds: 0 })).samples;
    const [many, one] = [await detector.probabilitiesMany([a, b]), await detector.probabilities(b)];
    expect(many[1]!.length).toBe(one.length);
    for (let i = 0; i < one.length; i++) expect(many[1]![i]).toBeCloseTo(one[i]!, 4);
  });

  // Silero finds no speech in a few of these real learner recordings; none may be refused.
  test('none is NO_SPEECH_DETECTED (VAD only, no model; batches of 32)', async () => {
    const ids = splitIds('dev');
    expect(ids.length).toBeGreaterThan(500);
    const refused: string[] = [];
    for (let at = 0; at < ids.length; at += 32) {
      const batch = ids.slice(at, at + 32);
      const audio = await Promise.all(batch.map((id) => decodeAudio(readSpeechOceanFlac(id), { maxSeconds: 60, minSeconds: 0 })));
      const detections = await detector.detectMany(audio.map((a) => a.samples));
      detections.forEach((d, i) => {
        try {
          assertHasSpeech(d);
        } catch {
          refused.push(batch[i]!);
        }
      });
    }
    expect(refused).toEqual([]);
  }, 300_000);
});
