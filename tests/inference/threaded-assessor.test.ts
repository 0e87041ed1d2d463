/**
 * The model in a worker thread (src/inference/threaded-assessor.ts): the same labels, stage times
 * and refusals as the model on the calling thread, dynamic batching across the thread boundary
 * (its batch counts reach this thread's /metrics registry), a start that fails with the loader's
 * own error, a thread that dies and is replaced, and a closed one. Real ONNX sessions, real audio.
 */
import { loadAssessor, type Assessor } from '../../src/inference/assessor.js';
import { loadModelSet } from '../../src/inference/model-set.js';
import { ThreadedAssessor } from '../../src/inference/threaded-assessor.js';
import { acousticBatches } from '../../src/ops/metrics.js';
import type { StageTimes } from '../../src/ops/stage-times.js';
import type { ReferenceWord } from '../../src/types.js';
import { syntheticSpeech } from '../support/audio-fixtures.js';
import { sessionsCreatedHere } from '../support/sessions.js';
import { cleanupTempDirs, copyDefaultBundle, DEFAULT_BUNDLE } from './helpers.js';

const WORDS: ReferenceWord[] = [
  { text: 'WE', phones: ['W', 'IY0'], source: 'dataset' },
  { text: 'CALL', phones: ['K', 'AO1', 'L'], source: 'dataset' },
  { text: 'IT', phones: ['IH0', 'T'], source: 'dataset' },
  { text: 'BEAR', phones: ['B', 'EH1', 'R'], source: 'dataset' },
];

const threaded: ThreadedAssessor[] = [];
async function startThreaded(dir = DEFAULT_BUNDLE, batch?: { size: number; waitMs: number }): Promise<ThreadedAssessor> {
  const a = await ThreadedAssessor.start(dir, { providers: ['cpu'], batch });
  threaded.push(a);
  return a;
}

afterAll(async () => {
  await Promise.all(threaded.map((a) => a.close()));
  cleanupTempDirs();
});

describe('the model in a worker thread', () => {
  let here: Assessor;
  let there: ThreadedAssessor;
  beforeAll(async () => {
    here = await loadAssessor(DEFAULT_BUNDLE, { providers: ['cpu'] });
    there = await startThreaded();
    await there.warmUp();
  }, 60_000);

  test("names the bundle's model, version and provider as the loader on this thread does", () => {
    expect({ name: there.modelName, version: there.modelVersion, provider: there.executionProvider, dir: there.bundle.dir, manifest: there.bundle.manifest })
      .toEqual({ name: here.modelName, version: here.modelVersion, provider: here.executionProvider, dir: here.bundle.dir, manifest: here.bundle.manifest });
  });

  test('the same labels and content match as on this thread, with the stage times of the work done there', async () => {
    const samples = syntheticSpeech(2.5, 16000, 3);
    const times: StageTimes = { queued: 7 };
    const [mine, theirs] = [await here.assess(samples, WORDS), await there.assess(samples, WORDS, { times })];
    expect(theirs).toEqual(mine);
    expect(theirs.labels.words.map((w) => w.text)).toEqual(['WE', 'CALL', 'IT', 'BEAR']);
    // the thread's own stages are added to what the caller had
    expect(times.queued).toBe(7);
    for (const stage of ['acoustic', 'features', 'heads']) expect(times[stage]).toBeGreaterThan(0);
  });

  test('the samples sent are a copy: the caller keeps its array, views into a larger buffer included', async () => {
    const big = syntheticSpeech(3, 16000, 5);
    const view = big.subarray(8000, 40000);
    const before = Float32Array.from(view);
    const out = await there.assess(view, WORDS);
    expect(view.length).toBe(32000);
    expect(Array.from(view.subarray(0, 100))).toEqual(Array.from(before.subarray(0, 100)));
    expect(out).toEqual(await here.assess(before, WORDS));
  });

  test('a refusal arrives as the same AppError, code and message', async () => {
    const direct = await here.assess(syntheticSpeech(1, 16000), []).catch((e: unknown) => e);
    const relayed = await there.assess(syntheticSpeech(1, 16000), []).catch((e: unknown) => e);
    expect(direct).toMatchObject({ code: 'EMPTY_REFERENCE_TEXT' });
    expect(relayed).toMatchObject({ name: 'AppError', code: (direct as { code: string }).code, message: (direct as Error).message });
  });

  test('no onnxruntime session is created on this thread for it', async () => {
    const threadedRun = await sessionsCreatedHere(async () => {
      const other = await startThreaded();
      return other.assess(syntheticSpeech(1, 16000), WORDS);
    });
    expect(threadedRun.created).toBe(0);
    // the count does see sessions made here: the same bundle loaded on this thread
    const hereRun = await sessionsCreatedHere(() => loadAssessor(DEFAULT_BUNDLE, { providers: ['cpu'] }));
    expect(hereRun.created).toBeGreaterThan(0);
  }, 60_000);
});

describe('dynamic batching in the thread', () => {
  test('concurrent requests share one acoustic run, counted in this thread\'s registry', async () => {
    const batched = await startThreaded(DEFAULT_BUNDLE, { size: 3, waitMs: 2_000 });
    const before = acousticBatches.get({ rows: '3' });
    const lengths = [1.6, 1.8, 2.0];
    const out = await Promise.all(lengths.map((s, i) => batched.assess(syntheticSpeech(s, 16000, i + 1), WORDS)));
    expect(out).toHaveLength(3);
    expect(acousticBatches.get({ rows: '3' })).toBe(before + 1);
  }, 60_000);
});

describe('starting, dying and closing', () => {
  test("a bundle that will not load fails the start with the loader's own error, and leaves no thread", async () => {
    const broken = copyDefaultBundle((m) => {
      m.sha256 = '0'.repeat(64);
    });
    const direct = await loadAssessor(broken, { providers: ['cpu'] }).catch((e: unknown) => e);
    const relayed = await ThreadedAssessor.start(broken, { providers: ['cpu'] }).catch((e: unknown) => e);
    expect(direct).toMatchObject({ code: 'MODEL_UNAVAILABLE' });
    expect(relayed).toMatchObject({ code: 'MODEL_UNAVAILABLE', message: (direct as Error).message });
  }, 60_000);

  test('a set with a bundle that will not load closes the threads it had started', async () => {
    const broken = copyDefaultBundle((m) => {
      m.sha256 = '0'.repeat(64);
    });
    const closes: string[] = [];
    const close = ThreadedAssessor.prototype.close;
    ThreadedAssessor.prototype.close = async function (this: ThreadedAssessor) {
      closes.push(this.modelVersion);
      return close.call(this);
    };
    try {
      await expect(loadModelSet(DEFAULT_BUNDLE, [broken], { providers: ['cpu'], thread: true })).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
      expect(closes).toHaveLength(1);
    } finally {
      ThreadedAssessor.prototype.close = close;
    }
  }, 60_000);

  test('a thread that dies fails what it held; the next call starts another', async () => {
    // Batches of 2 waiting up to a minute: a lone request waits in the thread's batcher, not inside
    // a native run (terminating a thread there can abort the process).
    const a = await startThreaded(DEFAULT_BUNDLE, { size: 2, waitMs: 60_000 });
    const samples = syntheticSpeech(2, 16000, 2);
    const held = a.assess(samples, WORDS);
    await a.killThread();
    await expect(held).rejects.toThrow(/model thread exited/);
    const [x, y] = await Promise.all([a.assess(samples, WORDS), a.assess(samples, WORDS)]);
    expect(x).toEqual(y);
    expect(x.labels.words.map((w) => w.text)).toEqual(['WE', 'CALL', 'IT', 'BEAR']);
  }, 60_000);

  test('closing with a model run in flight: the caller is refused at once, the thread exits after the run', async () => {
    const a = await startThreaded();
    const running = a.assess(syntheticSpeech(2, 16000, 4), WORDS).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20)); // let the request reach the thread
    await a.close();
    expect(await running).toMatchObject({ message: 'model thread has shut down' });
    expect(await a.inFlight()).toBe(0);
  }, 60_000);

  test('closed, it refuses more work', async () => {
    const a = await startThreaded();
    await a.close();
    await expect(a.assess(syntheticSpeech(1, 16000), WORDS)).rejects.toThrow('model thread has shut down');
  }, 60_000);
});
