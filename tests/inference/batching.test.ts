/**
 * Dynamic batching of acoustic runs (src/inference/batcher.ts, src/inference/gop/batched-acoustic.ts):
 * the batched graph's rows against the unbatched graph on real recordings of different lengths,
 * the scorer with batching on against the scorer without, a failing batch, and the settings.
 * Real ONNX sessions, real audio; nothing timed.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeAudio } from '../../src/audio/decode.js';
import { ConfigError, loadConfig, workerProblems } from '../../src/config.js';
import { loadModelBundle, sha256File } from '../../src/inference/bundle.js';
import { Batcher, buckets } from '../../src/inference/batcher.js';
import { acousticBatcher, runAcousticBatch } from '../../src/inference/gop/batched-acoustic.js';
import { runAcoustic, type AcousticResult, type RunGraph } from '../../src/inference/gop/engine.js';
import { padSamples } from '../../src/inference/scorer-base.js';
import { Scorer } from '../../src/inference/scorer.js';
import { acousticBatches } from '../../src/ops/metrics.js';
import type { RawScores } from '../../src/inference/labels.js';
import type { ReferenceWord } from '../../src/types.js';
import { describeWithSpeech } from '../support/speech.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE, SHARED_SO762 } from './helpers.js';

afterAll(cleanupTempDirs);

/**
 * Tolerances measured by scripts/export-batched/verify.ts on 40 train/ recordings in batches of 8
 * (README "Dynamic batching"): log-posteriors differ by at most 7.1e-5, frame energy by 7.7e-6,
 * the heads' continuous scores by 1.3e-3 (a tree threshold crossed once); the bounds leave room.
 */
const LOGP_TOLERANCE = 5e-4;
const ENERGY_TOLERANCE = 5e-5;
const SCORE_TOLERANCE = 1e-2;

interface Recording { id: string; samples: Float32Array; words: ReferenceWord[] }

/** Train/ utterances spread over the split (different lengths), decoded and padded as the scorer pads them. */
async function recordings(count: number): Promise<Recording[]> {
  const scores = JSON.parse(readFileSync(path.join(SHARED_SO762, 'train', 'scores.json'), 'utf8')) as Record<string, { words: { text: string; phones: string[] }[] }>;
  const ids = Object.keys(scores).sort().filter((_, i) => i % 97 === 0).slice(0, count);
  return Promise.all(ids.map(async (id) => {
    const audio = await decodeAudio(new Uint8Array(readFileSync(path.join(SHARED_SO762, 'audio', `${id}.flac`))), { maxSeconds: 60, minSeconds: 0.3 });
    return { id, samples: padSamples(audio.samples), words: scores[id]!.words.map((w) => ({ text: w.text, phones: w.phones, source: 'dataset' as const })) };
  }));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function expectSameAcoustic(alone: AcousticResult, row: AcousticResult): void {
  expect(row.frames).toBe(alone.frames);
  alone.logp.forEach((m, k) => expect(maxAbsDiff(m, row.logp[k]!)).toBeLessThan(LOGP_TOLERANCE));
  expect(maxAbsDiff(alone.track.energy, row.track.energy)).toBeLessThan(ENERGY_TOLERANCE);
}

function expectSameScores(a: RawScores, b: RawScores): void {
  const flat = (s: RawScores) => Float32Array.from([...s.utterance, ...s.words.flat(), ...s.phones]);
  expect(maxAbsDiff(flat(a), flat(b))).toBeLessThan(SCORE_TOLERANCE);
}

describeWithSpeech('the batched acoustic graph', () => {
  let plain: ort.InferenceSession;
  let batched: ort.InferenceSession;
  let recs: Recording[];
  const runPlain: RunGraph = (f) => plain.run(f);
  const runBatched: RunGraph = (f) => batched.run(f);
  beforeAll(async () => {
    plain = await ort.InferenceSession.create(path.join(DEFAULT_BUNDLE, 'acoustic.onnx'));
    batched = await ort.InferenceSession.create(path.join(DEFAULT_BUNDLE, 'acoustic-batched.onnx'));
    recs = await recordings(5);
  });
  afterAll(async () => {
    await plain?.release();
    await batched?.release();
  });

  test('each row of a batch of different lengths matches the unbatched run of that recording on its own frames', async () => {
    const lengths = new Set(recs.map((r) => r.samples.length));
    expect(lengths.size).toBe(recs.length); // really different lengths: every row but one is padded
    const rows = await runAcousticBatch(runBatched, recs.map((r) => r.samples), 3);
    for (const [i, r] of recs.entries()) expectSameAcoustic(await runAcoustic(runPlain, r.samples, 3), rows[i]!);
  });

  test('a row alone in the batched graph matches the unbatched graph too', async () => {
    const [row] = await runAcousticBatch(runBatched, [recs[0]!.samples], 3);
    expectSameAcoustic(await runAcoustic(runPlain, recs[0]!.samples, 3), row!);
  });

  test('concurrent requests are run as one session call, each caller getting its own recording back', async () => {
    const calls: number[] = [];
    const counted: RunGraph = (f) => {
      calls.push(f.samples!.dims[0]!);
      return runBatched(f);
    };
    const batcher = acousticBatcher(runPlain, counted, 3, { size: recs.length, waitMs: 60_000, maxLengthRatio: 100 });
    const results = await Promise.all(recs.map((r) => batcher.submit(r.samples)));
    expect(calls).toEqual([recs.length]); // the size was reached: one call, no waiting for the timer
    for (const [i, r] of recs.entries()) expectSameAcoustic(await runAcoustic(runPlain, r.samples, 3), results[i]!);
  });

  test('a bucket of one runs the unbatched graph: bitwise today\'s result', async () => {
    const batcher = acousticBatcher(runPlain, runBatched, 3, { size: 8, waitMs: 1 });
    const got = await batcher.submit(recs[1]!.samples);
    const alone = await runAcoustic(runPlain, recs[1]!.samples, 3);
    alone.logp.forEach((m, k) => expect(got.logp[k]).toEqual(m));
    expect(got.track.energy).toEqual(alone.track.energy);
  });

  test('a failing batch rejects every caller of that batch with the error', async () => {
    // the graph has 3 recognisers: asking for 4 makes the output check fail for the whole batch
    const batcher = acousticBatcher(runPlain, runBatched, 4, { size: 3, waitMs: 60_000, maxLengthRatio: 100 });
    const settled = await Promise.allSettled(recs.slice(0, 3).map((r) => batcher.submit(r.samples)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const s of settled) expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'MODEL_OUTPUT_INVALID' });
    // the batcher keeps working after a failed batch
    const ok = acousticBatcher(runPlain, runBatched, 3, { size: 2, waitMs: 60_000, maxLengthRatio: 100 });
    const both = await Promise.all(recs.slice(0, 2).map((r) => ok.submit(r.samples)));
    expect(both.map((b) => b.frames)).toEqual(await Promise.all(recs.slice(0, 2).map(async (r) => (await runAcoustic(runPlain, r.samples, 3)).frames)));
  });
});

describeWithSpeech('the gop scorer with batching on', () => {
  let unbatched: Scorer;
  let batching: Scorer;
  let recs: Recording[];
  beforeAll(async () => {
    unbatched = await Scorer.load(DEFAULT_BUNDLE, { providers: ['cpu'] });
    batching = await Scorer.load(DEFAULT_BUNDLE, { providers: ['cpu'], batch: { size: 4, waitMs: 50, maxLengthRatio: 100 } });
    recs = await recordings(4);
  });
  afterAll(async () => {
    await unbatched?.release();
    await batching?.release();
  });

  test('concurrent requests of different lengths score as they do one by one', async () => {
    const fullRuns = acousticBatches.get({ rows: '4' });
    const together = await Promise.all(recs.map((r) => batching.scoreDetailed(r.samples, r.words)));
    expect(acousticBatches.get({ rows: '4' })).toBe(fullRuns + 1); // all four in one acoustic run
    for (const [i, r] of recs.entries()) {
      const alone = await unbatched.scoreDetailed(r.samples, r.words);
      expectSameScores(alone.raw, together[i]!.raw);
      expect(together[i]!.labels.words.map((w) => w.text)).toEqual(r.words.map((w) => w.text));
    }
  });

  test('batch size 1 is today\'s path: the same outputs, bitwise', async () => {
    const one = await Scorer.load(DEFAULT_BUNDLE, { providers: ['cpu'], batch: { size: 1, waitMs: 5 } });
    try {
      const [a, b] = await Promise.all([one.scoreDetailed(recs[0]!.samples, recs[0]!.words), one.scoreDetailed(recs[1]!.samples, recs[1]!.words)]);
      expect(a.raw).toEqual((await unbatched.scoreDetailed(recs[0]!.samples, recs[0]!.words)).raw);
      expect(b.raw).toEqual((await unbatched.scoreDetailed(recs[1]!.samples, recs[1]!.words)).raw);
    } finally {
      await one.release();
    }
  });

  test('a bundle without a batched graph refuses a batch size above 1, naming the setting', async () => {
    const dir = copyDefaultBundle((m) => delete m.batched);
    await expect(Scorer.load(dir, { providers: ['cpu'], batch: { size: 2, waitMs: 5 } })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE',
      message: expect.stringMatching(/no "batched" acoustic graph.*SPEECHMARK_BATCH_SIZE=1/),
    });
    const unbatchedCopy = await Scorer.load(dir, { providers: ['cpu'], batch: { size: 1, waitMs: 5 } });
    await unbatchedCopy.release();
  });
});

describe('the default bundle names its batched graph', () => {
  test('checked like the others: present, its sha256, under 20 MB, a separate file from the unbatched graph', () => {
    const b = loadModelBundle(DEFAULT_BUNDLE);
    expect(b.batchedPath).toBe(path.join(DEFAULT_BUNDLE, 'acoustic-batched.onnx'));
    expect(sha256File(b.batchedPath!)).toBe(b.manifest.batched!.sha256);
    expect(statSync(b.batchedPath!).size).toBeLessThan(20 * 1024 * 1024);
    expect(b.modelPath).toBe(path.join(DEFAULT_BUNDLE, 'acoustic.onnx'));
  });

  test('a batched graph that does not match its sha256, or a malformed entry, refuses the bundle', () => {
    const dir = copyDefaultBundle();
    writeFileSync(path.join(dir, 'acoustic-batched.onnx'), 'not the graph');
    expect(() => loadModelBundle(dir)).toThrow(/sha256 mismatch for "acoustic-batched.onnx"/);
    const malformed = copyDefaultBundle((m) => (m.batched = { file: 'acoustic-batched.onnx' }));
    expect(() => loadModelBundle(malformed)).toThrow(/"batched" must be \{"file", "sha256"\}/);
  });
});

describe('length buckets', () => {
  test('sorted by length, cut at the batch size and where the longest would exceed the ratio', () => {
    const lengths = [100, 310, 140, 120, 300, 110, 400];
    expect(buckets(lengths, (n) => n, { size: 3, waitMs: 0, maxLengthRatio: 1.5 })).toEqual([[100, 110, 120], [140], [300, 310, 400]]);
    expect(buckets(lengths, (n) => n, { size: 8, waitMs: 0, maxLengthRatio: 10 })).toEqual([[100, 110, 120, 140, 300, 310, 400]]);
  });

  test('the batcher hands each caller its own result, in any order of arrival', async () => {
    const batcher = new Batcher<number, string>(async (items) => items.map((n) => `#${n}`), (n) => n, { size: 3, waitMs: 60_000 });
    expect(await Promise.all([batcher.submit(30), batcher.submit(10), batcher.submit(20)])).toEqual(['#30', '#10', '#20']);
  });
});

describe('batching settings', () => {
  test('defaults: batch size 1 (off), 5 ms wait', () => {
    const c = loadConfig({});
    expect([c.batchSize, c.batchWaitMs]).toEqual([1, 5]);
    expect(loadConfig({ SPEECHMARK_BATCH_SIZE: '8', SPEECHMARK_WORKER_CONCURRENCY: '8', SPEECHMARK_BATCH_WAIT_MS: '2.5' }))
      .toMatchObject({ batchSize: 8, batchWaitMs: 2.5 });
  });

  test('a batch larger than the jobs a worker has in hand is refused: it could never fill', () => {
    expect(() => loadConfig({ SPEECHMARK_BATCH_SIZE: '8', SPEECHMARK_WORKER_CONCURRENCY: '4' })).toThrow(
      /SPEECHMARK_BATCH_SIZE \(8\) must be at most SPEECHMARK_WORKER_CONCURRENCY \(4\)/,
    );
    expect(loadConfig({ SPEECHMARK_BATCH_SIZE: '4', SPEECHMARK_WORKER_CONCURRENCY: '4' }).batchSize).toBe(4);
    // An API process that runs no worker batches nothing: a worker's settings shared with it are not its problem.
    expect(loadConfig({ SPEECHMARK_BATCH_SIZE: '8', SPEECHMARK_WORKER_CONCURRENCY: '1', SPEECHMARK_WORKER: 'none' }).batchSize).toBe(8);
    expect(workerProblems({ batchSize: 8, workerConcurrency: 4, modelThreads: 1, inferenceThread: true })).toHaveLength(1);
  });

  test('API keys are cached at most a minute, so a revocation reaches every process within it', () => {
    expect(loadConfig({ SPEECHMARK_API_KEY_CACHE_MS: '60000' }).apiKeyCacheMs).toBe(60_000);
    expect(() => loadConfig({ SPEECHMARK_API_KEY_CACHE_MS: '3600000' })).toThrow(/SPEECHMARK_API_KEY_CACHE_MS must be at most 60000, got "3600000"/);
  });

  test('one clear message per problem', () => {
    let error: unknown;
    try {
      loadConfig({ SPEECHMARK_BATCH_SIZE: '0', SPEECHMARK_BATCH_WAIT_MS: 'soon' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'SPEECHMARK_BATCH_SIZE must be at least 1, got "0"',
      'SPEECHMARK_BATCH_WAIT_MS must be a number, got "soon"',
    ]);
    expect(() => loadConfig({ SPEECHMARK_BATCH_SIZE: '2.5' })).toThrow(/SPEECHMARK_BATCH_SIZE must be a whole number, got "2.5"/);
    expect(() => loadConfig({ SPEECHMARK_BATCH_WAIT_MS: '-1' })).toThrow(/SPEECHMARK_BATCH_WAIT_MS must be at least 0, got "-1"/);
  });
});
