/**
 * Round trips of one assessment job (issue 14), counted from Prisma's query log on the real server:
 * claim, load the utterance, score, complete. What must not be there: a re-read of the job the claim
 * just returned, a human-label look-up for an utterance that has none, a second lock of the
 * utterance. PGlite and PostgreSQL.
 */
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';

const DATABASES = await testDatabases();

describe.each(DATABASES)('statements of one assessment job [%s]', (kind) => {
  let t: TestApp;
  const log: string[] = [];
  let recording = false;

  beforeAll(async () => {
    t = await startTestApp(kind, { workerHeartbeatSeconds: 3600 }, {
      onQuery: (sql) => {
        if (recording) log.push(sql);
      },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  /** Submit with the worker stopped, then start it and record until the queue is drained. */
  async function runOneJob(): Promise<string[]> {
    await t.app.worker!.stop({ graceful: true });
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "count-${Math.random()}"}) { id } }`);
    const res = await t.admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
      { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.5), name: 'speech.wav' },
    );
    log.length = 0;
    recording = true;
    t.app.worker!.start();
    await t.app.worker!.drain();
    recording = false;
    expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    return [...log];
  }

  test('no re-read after the claim, no human-label look-up, one lock of the utterance', async () => {
    const statements = await runOneJob();
    // Printed for the README's figure; the assertions below are what may not come back.
    console.log(`[${kind}] statements from claim to the drained queue: ${statements.length}`);
    const jobReads = statements.filter((s) => /^SELECT .* FROM "[^"]+"\."Job" WHERE/s.test(s));
    expect(jobReads).toEqual([]);
    const humanLookups = statements.filter((s) => /FROM "[^"]+"\."Assessment" WHERE/s.test(s) && /LabelSource/.test(s));
    expect(humanLookups).toEqual([]);
    expect(statements.filter((s) => /FROM "Utterance".*FOR UPDATE/s.test(s))).toHaveLength(1);
    // A bounded number, whatever the text's length: every word row in one INSERT, every phoneme row
    // in one. Measured 22 on both databases: claim (3), the utterance and learner (2), the
    // completing transaction (15: job, assessment rows, rationale, the learner's three rollups,
    // outbox event, LTI and xAPI look-ups, notify, commit), then the empty claim and the drain check.
    expect(statements.filter((s) => /INSERT INTO "[^"]+"\."WordAssessment"/.test(s))).toHaveLength(1);
    expect(statements.filter((s) => /INSERT INTO "[^"]+"\."PhonemeAssessment"/.test(s))).toHaveLength(1);
    expect(statements.length).toBeLessThanOrEqual(22);
  }, 120_000);
});
