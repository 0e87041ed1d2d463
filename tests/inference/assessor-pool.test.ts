/**
 * Several model threads for one bundle (src/inference/assessor-pool.ts, SPEECHMARK_MODEL_THREADS):
 * the same labels as one thread, concurrent assessments shared out to the least-loaded thread,
 * each thread's share of the cores, the worker settings it is refused with, and a load of the
 * default bundle through loadModelSet. Real threads, real ONNX sessions, real audio.
 */
import { loadConfig, workerProblems } from '../../src/config.js';
import { AssessorPool, intraOpThreadsPerModelThread } from '../../src/inference/assessor-pool.js';
import { loadModelSet } from '../../src/inference/model-set.js';
import { ThreadedAssessor } from '../../src/inference/threaded-assessor.js';
import type { ReferenceWord } from '../../src/types.js';
import { syntheticSpeech } from '../support/audio-fixtures.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE } from './helpers.js';

const WORDS: ReferenceWord[] = [
  { text: 'WE', phones: ['W', 'IY0'], source: 'dataset' },
  { text: 'CALL', phones: ['K', 'AO1', 'L'], source: 'dataset' },
  { text: 'IT', phones: ['IH0', 'T'], source: 'dataset' },
  { text: 'BEAR', phones: ['B', 'EH1', 'R'], source: 'dataset' },
];

const toClose: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(toClose.map((a) => a.close()));
  cleanupTempDirs();
});

describe('a bundle served by two model threads', () => {
  let pool: AssessorPool;
  let single: ThreadedAssessor;
  beforeAll(async () => {
    pool = await AssessorPool.start(DEFAULT_BUNDLE, { providers: ['cpu'], threads: 2 });
    single = await ThreadedAssessor.start(DEFAULT_BUNDLE, { providers: ['cpu'] });
    toClose.push(pool, single);
    await Promise.all([pool.warmUp(), single.warmUp()]);
  }, 90_000);

  test("names the bundle's model, version and provider as one thread does", () => {
    expect(pool.size).toBe(2);
    expect({ name: pool.modelName, version: pool.modelVersion, provider: pool.executionProvider, dir: pool.bundle.dir })
      .toEqual({ name: single.modelName, version: single.modelVersion, provider: single.executionProvider, dir: single.bundle.dir });
  });

  test('concurrent assessments go to the thread with the fewest in hand, and each gives what one thread gives', async () => {
    const recordings = [2.0, 2.4, 1.8, 2.2].map((s, i) => syntheticSpeech(s, 16000, i + 11));
    expect(pool.load).toEqual([0, 0]);
    const first = pool.assess(recordings[0]!, WORDS);
    expect(pool.load).toEqual([1, 0]);
    const rest = recordings.slice(1).map((r) => pool.assess(r, WORDS));
    expect(pool.load).toEqual([2, 2]);
    const pooled = await Promise.all([first, ...rest]);
    expect(pool.load).toEqual([0, 0]);
    for (const [i, r] of recordings.entries()) {
      const alone = await single.assess(r, WORDS);
      // the pooled sessions run on fewer intra-op threads: the same graph, summed in another order at most
      expect(pooled[i]!.labels.sentence).toEqual(alone.labels.sentence);
      expect(pooled[i]!.labels.words.map((w) => [w.text, w.accuracy, w.total])).toEqual(alone.labels.words.map((w) => [w.text, w.accuracy, w.total]));
      expect(pooled[i]!.content?.score).toBeCloseTo(alone.content!.score, 4);
    }
  }, 90_000);

  test('a refusal arrives with its code, and the thread is free again', async () => {
    await expect(pool.assess(syntheticSpeech(1, 16000), [])).rejects.toMatchObject({ code: 'EMPTY_REFERENCE_TEXT' });
    expect(pool.load).toEqual([0, 0]);
  });
});

describe('starting and closing', () => {
  test("a bundle that will not load fails the start with the loader's own error", async () => {
    const broken = copyDefaultBundle((m) => {
      m.sha256 = '0'.repeat(64);
    });
    await expect(AssessorPool.start(broken, { providers: ['cpu'], threads: 2 })).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  }, 60_000);

  test('loadModelSet serves the default bundle from a pool when asked for threads, and closing ends them', async () => {
    const set = await loadModelSet(DEFAULT_BUNDLE, [], { providers: ['cpu'], thread: true, threads: 2 });
    expect(set.primary).toBeInstanceOf(AssessorPool);
    const out = await set.primary.assess(syntheticSpeech(1.5, 16000, 3), WORDS);
    expect(out.labels.words.map((w) => w.text)).toEqual(['WE', 'CALL', 'IT', 'BEAR']);
    await set.close();
    await expect(set.primary.assess(syntheticSpeech(1, 16000), WORDS)).rejects.toThrow('model thread has shut down');
  }, 90_000);

  test('several threads need the model off the calling thread', async () => {
    await expect(loadModelSet(DEFAULT_BUNDLE, [], { providers: ['cpu'], thread: false, threads: 2 })).rejects.toThrow(/several model threads need `thread`/);
  });
});

describe('sharing the cores and the settings', () => {
  test("each thread's sessions get the cores divided by the threads, at least one", () => {
    expect(intraOpThreadsPerModelThread(1, 16)).toBe(16);
    expect(intraOpThreadsPerModelThread(2, 16)).toBe(8);
    expect(intraOpThreadsPerModelThread(3, 16)).toBe(5);
    expect(intraOpThreadsPerModelThread(2, 2)).toBe(1);
    expect(intraOpThreadsPerModelThread(4, 2)).toBe(1);
  });

  test('SPEECHMARK_MODEL_THREADS: 1 by default, a whole number from 1 to 64', () => {
    expect(loadConfig({}).modelThreads).toBe(1);
    expect(loadConfig({ SPEECHMARK_MODEL_THREADS: '2', SPEECHMARK_WORKER_CONCURRENCY: '4' }).modelThreads).toBe(2);
    for (const bad of ['0', '1.5', '65', 'two']) expect(() => loadConfig({ SPEECHMARK_MODEL_THREADS: bad, SPEECHMARK_WORKER_CONCURRENCY: '64' })).toThrow(/SPEECHMARK_MODEL_THREADS/);
  });

  test('refused where a thread could never get a job, with the model on the HTTP thread, or where a batch could never fill', () => {
    expect(() => loadConfig({ SPEECHMARK_MODEL_THREADS: '4', SPEECHMARK_WORKER_CONCURRENCY: '2' }))
      .toThrow(/SPEECHMARK_MODEL_THREADS \(4\) must be at most SPEECHMARK_WORKER_CONCURRENCY \(2\)/);
    expect(() => loadConfig({ SPEECHMARK_MODEL_THREADS: '2', SPEECHMARK_WORKER_CONCURRENCY: '2', SPEECHMARK_INFERENCE_THREAD: 'false' }))
      .toThrow(/SPEECHMARK_MODEL_THREADS \(2\) needs SPEECHMARK_INFERENCE_THREAD=true/);
    expect(() => loadConfig({ SPEECHMARK_MODEL_THREADS: '2', SPEECHMARK_WORKER_CONCURRENCY: '8', SPEECHMARK_BATCH_SIZE: '8' }))
      .toThrow(/SPEECHMARK_BATCH_SIZE \(8\) must be at most SPEECHMARK_WORKER_CONCURRENCY \/ SPEECHMARK_MODEL_THREADS \(8 \/ 2, so 4\)/);
    expect(loadConfig({ SPEECHMARK_MODEL_THREADS: '2', SPEECHMARK_WORKER_CONCURRENCY: '8', SPEECHMARK_BATCH_SIZE: '4' }).batchSize).toBe(4);
    // every problem at once, one line each
    const problems = workerProblems({ modelThreads: 3, workerConcurrency: 2, batchSize: 2, inferenceThread: false });
    expect(problems).toHaveLength(3);
    // an API process that runs no worker is not refused for a worker's settings
    expect(loadConfig({ SPEECHMARK_MODEL_THREADS: '4', SPEECHMARK_WORKER_CONCURRENCY: '1', SPEECHMARK_WORKER: 'none' }).modelThreads).toBe(4);
  });
});
