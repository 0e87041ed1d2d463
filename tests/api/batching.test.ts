/**
 * Dynamic batching end to end (issue 14): recordings uploaded together (multipart, concurrency
 * above 1) to a server whose worker runs 4 jobs at once are scored the same with batching on
 * (SPEECHMARK_BATCH_SIZE 4) as with it off (1), to the tolerance the batched graph was measured
 * at (README "Dynamic batching"). Real HTTP, real database, real ONNX sessions, real audio.
 */
import { acousticBatches } from '../../src/ops/metrics.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const ASSESSMENT = `query($id: ID!) { job(id: $id) { status assessment {
  sentence { accuracyScore fluencyScore prosodyScore completenessScore totalScore }
  words { text accuracyScore totalScore }
} } }`;

/** The continuous scores are stored to 2 decimals; the batched graph moves them by at most 1.3e-3. */
const TOLERANCE = 0.011;

type Recording = { id: string; text: string; bytes: Uint8Array };

/** Upload every recording at once and return their assessments, in order. */
async function assessTogether(t: TestApp, recordings: readonly Recording[]): Promise<any[]> {
  const learnerId = (await t.admin.request(`mutation { createLearner(input: { externalId: "batching" }) { id } }`)).data.createLearner.id;
  const jobs = await Promise.all(recordings.map(async (r) => {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: r.text, audio: null } }, 'variables.input.audio', { bytes: r.bytes, name: `${r.id}.flac` });
    expect(res.errors).toBeUndefined();
    return res.data.submitUtterance.job.id as string;
  }));
  const done = await Promise.all(jobs.map((id) => waitForJob(t.admin, id, 180_000)));
  expect(done.map((j) => j.status)).toEqual(recordings.map(() => 'SUCCEEDED'));
  return Promise.all(jobs.map(async (id) => (await t.admin.request(ASSESSMENT, { id })).data.job.assessment));
}

function scoresOf(a: any): number[] {
  const s = a.sentence;
  return [s.accuracyScore, s.fluencyScore, s.prosodyScore, s.completenessScore, s.totalScore, ...a.words.flatMap((w: any) => [w.accuracyScore, w.totalScore])];
}

describeWithSpeech('dynamic batching through the API', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    const recordings = speechOceanUtterances('dev', 6);
    let unbatched: any[];
    let batched: any[];
    /** Acoustic runs by rows while the batching server worked (the metric is per process: a delta). */
    const runsByRows = new Map<number, number>();

    beforeAll(async () => {
      const off = await startTestApp(kind, { workerConcurrency: 4, batchSize: 1 });
      try {
        unbatched = await assessTogether(off, recordings);
      } finally {
        await off.dispose();
      }
      const on = await startTestApp(kind, { workerConcurrency: 4, batchSize: 4, batchWaitMs: 200 });
      const before = [1, 2, 3, 4].map((n) => acousticBatches.get({ rows: String(n) }));
      try {
        batched = await assessTogether(on, recordings);
        [1, 2, 3, 4].forEach((n, i) => runsByRows.set(n, acousticBatches.get({ rows: String(n) }) - before[i]!));
      } finally {
        await on.dispose();
      }
    }, 600_000);

    test('with batching on, every recording went through the batcher exactly once', () => {
      // How many ran together depends on when the worker's jobs reach the model (no timed
      // assertions here); tests/inference/batching.test.ts checks full batches deterministically.
      const rows = [...runsByRows].reduce((sum, [n, runs]) => sum + n * runs, 0);
      expect(rows).toBe(recordings.length); // the server's warm-up ran before `before` was read
    });

    test('every recording gets the same words and the same scores with batching on and off', () => {
      expect(new Set(recordings.map((r) => r.bytes.length)).size).toBe(recordings.length); // different lengths
      batched.forEach((a, i) => {
        expect(a.words.map((w: any) => w.text)).toEqual(unbatched[i].words.map((w: any) => w.text));
        const on = scoresOf(a);
        const off = scoresOf(unbatched[i]);
        expect(on.every((v) => typeof v === 'number')).toBe(true);
        on.forEach((v, j) => expect(Math.abs(v - off[j]!)).toBeLessThanOrEqual(TOLERANCE));
      });
    });
  });
});
