/**
 * The API process with its in-process worker (issue 14, "off the request thread"): by default the
 * model's sessions are created and run in a thread of their own, so the thread that serves HTTP
 * creates no onnxruntime session at all (voice activity has its own pool of threads); the
 * assessment is the same as with the model on that thread (SPEECHMARK_INFERENCE_THREAD=false), and
 * closing the app ends the model's thread. Real HTTP, a real upload, real sessions.
 */
import { AssessorPool } from '../../src/inference/assessor-pool.js';
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { sessionsCreatedHere } from '../support/sessions.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const RESULT = `query($id: ID!) { job(id: $id) { status assessment { executionProvider model { version } sentence { accuracy fluency prosody completeness total }
  words { text accuracy phonemes { symbol accuracy } } } } model { version executionProvider } }`;

/** One upload through `t`, waited for; its result. */
async function assessOne(t: TestApp, externalId: string, seconds = 1.6, hz = 150): Promise<any> {
  const learner = await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: externalId });
  const up = await t.admin.upload(SUBMIT, { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
    bytes: speechLikeWav(seconds, hz),
    name: 'take.wav',
  });
  expect(up.errors).toBeUndefined();
  const jobId = up.data.submitUtterance.job.id;
  await waitForJob(t.admin, jobId);
  return (await t.admin.request(RESULT, { id: jobId })).data;
}

async function startAndAssess(inferenceThread: boolean): Promise<{ t: TestApp; result: any }> {
  const t = await startTestApp('pglite', { inferenceThread, vadThreads: 1 });
  return { t, result: await assessOne(t, `thread-${inferenceThread}`) };
}

describe('the in-process worker\'s model thread', () => {
  test('by default the HTTP thread creates no onnxruntime session; the assessment equals the one made with the model on that thread', async () => {
    const threaded = await sessionsCreatedHere(() => startAndAssess(true));
    const models = threaded.result.t.app.models!;
    try {
      expect(threaded.created).toBe(0);
      expect(threaded.result.result.job.status).toBe('SUCCEEDED');
    } finally {
      await threaded.result.t.dispose();
    }
    // closing the app ended the model's thread: it takes no more work
    await expect(models.primary.assess(new Float32Array(16000), [{ text: 'WE', phones: ['W', 'IY0'], source: 'dataset' }]))
      .rejects.toThrow('model thread has shut down');

    const onMain = await sessionsCreatedHere(() => startAndAssess(false));
    try {
      expect(onMain.created).toBeGreaterThan(0); // the count sees the model's sessions when they are made here
      expect(threaded.result.result).toEqual(onMain.result.result);
      expect(onMain.result.result.model).toEqual({ version: models.primary.modelVersion, executionProvider: 'cpu' });
    } finally {
      await onMain.result.t.dispose();
    }
  }, 120_000);

  test('SPEECHMARK_MODEL_THREADS=2: the jobs in hand are shared by two model threads, each assessed as one thread assesses it', async () => {
    const t = await startTestApp('pglite', { vadThreads: 1, modelThreads: 2, workerConcurrency: 2 });
    let pooled: any[];
    try {
      const primary = t.app.models!.primary as AssessorPool;
      expect(primary).toBeInstanceOf(AssessorPool);
      expect(primary.size).toBe(2);
      pooled = await Promise.all([assessOne(t, 'pool-a'), assessOne(t, 'pool-b', 1.4, 170)]);
    } finally {
      await t.dispose();
    }
    const one = await startTestApp('pglite', { vadThreads: 1 });
    try {
      expect(pooled.map((r) => r.job.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const alone = [await assessOne(one, 'one-a'), await assessOne(one, 'one-b', 1.4, 170)];
      expect(pooled.map((r) => r.job.assessment.sentence)).toEqual(alone.map((r) => r.job.assessment.sentence));
      expect(pooled.map((r) => r.job.assessment.words.map((w: any) => [w.text, w.accuracy]))).toEqual(alone.map((r) => r.job.assessment.words.map((w: any) => [w.text, w.accuracy])));
    } finally {
      await one.dispose();
    }
  }, 120_000);

  test('a model thread that dies mid-way is replaced: the job is retried and succeeds', async () => {
    // Batches of 2 waiting 3 s: the lone job's request waits in the thread's batcher when the thread
    // is killed, not inside a native run (terminating a thread there can abort the process).
    const t = await startTestApp('pglite', { vadThreads: 1, jobMaxAttempts: 3, batchSize: 2, batchWaitMs: 3_000 });
    try {
      const threaded = t.app.models!.primary as unknown as { killThread(): Promise<void>; assess: (...a: any[]) => Promise<unknown> };
      // The first assessment sent to the thread kills it before it answers (as a crash would).
      const assess = threaded.assess.bind(threaded);
      let first = true;
      threaded.assess = async (...args: any[]) => {
        if (!first) return assess(...args);
        first = false;
        const pending = assess(...args);
        await threaded.killThread();
        return pending;
      };
      const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "crash"}) { id } }`);
      const up = await t.admin.upload(SUBMIT, { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', {
        bytes: speechLikeWav(1.4, 160),
        name: 'take.wav',
      });
      const job = await waitForJob(t.admin, up.data.submitUtterance.job.id);
      expect(first).toBe(false);
      expect(job.status).toBe('SUCCEEDED');
      const attempts = await t.admin.request(`query($id: ID!) { job(id: $id) { attempts } }`, { id: up.data.submitUtterance.job.id });
      expect(attempts.data.job.attempts).toBe(2);
    } finally {
      await t.dispose();
    }
  }, 120_000);
});
