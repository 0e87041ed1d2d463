/**
 * Voice activity detection in a pool of threads, batching recordings across rows of one session
 * call: the same detections as the detector in this thread, on real learner recordings; and uploads
 * decoded there, the same samples and the same refusals as decoding in this thread.
 */
import { decodeAudio } from '../../src/audio/decode.js';
import { AppError } from '../../src/errors.js';
import { BatchedSpeechDetector, SpeechDetector, type SpeechDetection } from '../../src/audio/vad.js';
import { VadPool } from '../../src/audio/vad-pool.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AudioStore } from '../../src/audio/store.js';
import { Intake } from '../../src/intake.js';
import { speechLikeWav, whiteNoise } from '../support/audio-fixtures.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const decode = async (bytes: Uint8Array) => (await decodeAudio(bytes, { maxSeconds: 60, minSeconds: 0 })).samples;

describeWithSpeech('VadPool and BatchedSpeechDetector on SpeechOcean762 train recordings', () => {
  let recordings: Float32Array[];
  let expected: SpeechDetection[];
  const inThread = new SpeechDetector();

  beforeAll(async () => {
    const real = await Promise.all(speechOceanUtterances('train', 12).map((u) => decode(u.bytes)));
    // and a recording shorter than one window, silence, and noise: rows that leave the batch early
    recordings = [...real, new Float32Array(300), new Float32Array(16000 * 2), whiteNoise(1.5, 16000, 0.3)];
    expected = [];
    for (const r of recordings) expected.push(await inThread.detect(r));
    expect(expected.filter((d) => d.speechSeconds > 0.5).length).toBeGreaterThanOrEqual(10);
  });
  afterAll(() => inThread.close());

  test('one at a time, the pool gives exactly the in-thread detections', async () => {
    const pool = new VadPool(2);
    try {
      for (let i = 0; i < recordings.length; i++) expect(await pool.detect(recordings[i]!)).toEqual(expected[i]);
    } finally {
      await pool.close();
    }
  });

  test('all at once (batched across recordings in a bounded pool), the same speech, segments and levels', async () => {
    const pool = new VadPool(2, 8);
    try {
      const detections = await Promise.all(recordings.map((r) => pool.detect(r)));
      expect(detections).toEqual(expected);
      expect(pool.threadCount).toBe(2);
    } finally {
      await pool.close();
    }
  });

  test('uploads decoded in the pool: the same samples and detections as decoding and detecting here; refusals keep their code', async () => {
    const uploads = speechOceanUtterances('train', 4);
    const limits = { maxSeconds: 60, minSeconds: 0 };
    const pool = new VadPool(1);
    try {
      const results = await Promise.all(uploads.map((u) => pool.decodeAndDetect(u.bytes, limits)));
      for (let i = 0; i < uploads.length; i++) {
        const here = await decodeAudio(uploads[i]!.bytes, limits);
        expect(results[i]!.audio).toEqual(here);
        expect(results[i]!.detection).toEqual(await inThread.detect(here.samples));
        expect(results[i]!.decodeMs).toBeGreaterThan(0);
      }
      // A refusal of the upload is the same AppError the HTTP thread raised when it decoded itself.
      const garbage = new Uint8Array(4096).fill(7);
      const local = await decodeAudio(garbage, limits).catch((e: unknown) => e);
      const pooled = await pool.decodeAndDetect(garbage, limits).catch((e: unknown) => e);
      expect(pooled).toBeInstanceOf(AppError);
      expect((pooled as AppError).code).toBe((local as AppError).code);
      expect((pooled as AppError).message).toBe((local as AppError).message);
      expect((pooled as AppError).extensions).toEqual((local as AppError).extensions);
      const tooLong = await pool.decodeAndDetect(uploads[0]!.bytes, { maxSeconds: 0.5, minSeconds: 0 }).catch((e: unknown) => e);
      expect((tooLong as AppError).code).toBe(((await decodeAudio(uploads[0]!.bytes, { maxSeconds: 0.5, minSeconds: 0 }).catch((e: unknown) => e)) as AppError).code);
    } finally {
      await pool.close();
    }
  });

  test('BatchedSpeechDetector: recordings joining a running batch and leaving it get their own detections', async () => {
    const batched = new BatchedSpeechDetector(4);
    try {
      const first = recordings.slice(0, 6).map((r) => batched.detect(r)); // 4 rows, 2 waiting for a free row
      await first[0];
      const later = recordings.slice(6).map((r) => batched.detect(r)); // join while others still run
      expect(await Promise.all([...first, ...later])).toEqual(expected);
    } finally {
      await batched.close();
    }
  });

  test('a closed pool refuses work and holds no thread', async () => {
    const pool = new VadPool(1);
    await pool.detect(recordings[0]!);
    expect(pool.threadCount).toBe(1);
    await pool.close();
    expect(pool.threadCount).toBe(0);
    await expect(pool.detect(recordings[0]!)).rejects.toThrow(/shut down/);
  });

  test('a pool whose model will not load fails each detection with an error (masked at the edge, as before) and stays usable', async () => {
    const pool = new VadPool(1, 8, '/nonexistent/silero.onnx');
    try {
      await expect(pool.detect(recordings[0]!)).rejects.toThrow(/voice activity detection failed/);
      const both = await Promise.allSettled([pool.detect(recordings[1]!), pool.detect(recordings[2]!)]);
      expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(pool.inFlight).toBe(0);
      expect(pool.threadCount).toBe(1); // the thread lives on, and tries the load again next time
    } finally {
      await pool.close();
    }
  });

  test('a batched detector whose model will not load fails every detection it was given', async () => {
    const broken = new BatchedSpeechDetector(4, undefined, '/nonexistent/silero.onnx');
    await expect(broken.detect(recordings[0]!)).rejects.toThrow();
    await expect(broken.detect(recordings[1]!)).rejects.toThrow();
    await broken.close();
  });
});

test('VadPool size must be a positive integer', () => {
  expect(() => new VadPool(0)).toThrow(/positive integer/);
});

describe('stored recordings decoded in the pool for their assessment', () => {
  const limits = { maxSeconds: Number.MAX_SAFE_INTEGER, minSeconds: 0 };

  test('pool.decode: the same samples as decoding here, and the same refusal', async () => {
    const pool = new VadPool(1);
    try {
      const bytes = speechLikeWav(1.5);
      expect(await pool.decode(bytes, limits)).toEqual(await decodeAudio(bytes, limits));
      expect(pool.threadCount).toBe(1);
      const garbage = new Uint8Array(4096).fill(7);
      const local = (await decodeAudio(garbage, limits).catch((e: unknown) => e)) as AppError;
      const pooled = (await pool.decode(garbage, limits).catch((e: unknown) => e)) as AppError;
      expect(pooled).toBeInstanceOf(AppError);
      expect([pooled.code, pooled.message]).toEqual([local.code, local.message]);
    } finally {
      await pool.close();
    }
  });

  test('Intake.load decodes a stored original in the pool (a retry or re-assessment), not on the calling thread', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-intake-'));
    const pool = new VadPool(1);
    try {
      const intake = new Intake(new AudioStore(dir), pool, { maxSeconds: 60, minSeconds: 0 });
      const bytes = speechLikeWav(1.5, 3);
      const { sha256 } = await intake.store.put(bytes, 'wav');
      expect(pool.threadCount).toBe(0);
      const loaded = await intake.load(sha256); // no kept samples: the original is decoded again
      expect(loaded.samples).toEqual((await decodeAudio(bytes, limits)).samples);
      expect(pool.threadCount).toBe(1); // the decode ran in the pool's thread
    } finally {
      await pool.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
