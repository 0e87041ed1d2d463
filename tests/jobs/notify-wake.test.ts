/**
 * A separate worker (`npm run worker`, a child process) is woken by PostgreSQL NOTIFY when a job is
 * queued, not by its poll: the worker here polls once every 10 minutes, so a job it runs within the
 * test was started by the notification. The API process runs no model; `Query.model` and the
 * assessment name the provider of the worker that ran the job. PostgreSQL only (PGlite allows one
 * process per data folder, where the in-process worker is woken directly).
 */
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { runEntry, type ChildRun } from '../support/processes.js';

const DATABASES = await testDatabases();
const onPostgres = DATABASES.includes('postgres') ? describe : describe.skip;

onPostgres('a separate worker woken by NOTIFY [postgres]', () => {
  let t: TestApp;
  let worker: ChildRun;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp('postgres', { inProcessWorker: false });
    worker = runEntry('src/worker-main.ts', {
      DATABASE_URL: t.config.databaseUrl,
      SPEECHMARK_AUDIO_DIR: t.config.audioDir,
      SPEECHMARK_WORKER_POLL_MS: String(10 * 60_000),
      SPEECHMARK_DELIVERY_WORKER: 'none',
      SPEECHMARK_LOG_LEVEL: 'warn',
    });
    await worker.waitFor(/speechmark worker: /);
  }, 120_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    if (worker) await worker.exited;
    await t?.dispose();
  });

  test('a submitted job is claimed without waiting for the poll, and reports the worker provider', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "notify"}) { id } }`);
    const res = await t.admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
      { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.5), name: 'speech.wav' },
    );
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id, 90_000);
    expect(job.status).toBe('SUCCEEDED');
    const read = await t.admin.request(
      `query($id: ID!) { job(id: $id) { assessment { executionProvider } } model { executionProvider } workers { pid executionProvider } }`,
      { id: job.id },
    );
    expect(read.data.workers).toEqual([{ pid: worker.pid, executionProvider: 'cpu' }]);
    expect(read.data.job.assessment.executionProvider).toBe('cpu');
    expect(read.data.model.executionProvider).toBe('cpu');
    learnerId = learner.data.createLearner.id;
  }, 120_000);

  test('a bulk re-assessment wakes the worker too (one notification per queued batch), and runs to the end', async () => {
    expect(learnerId).toBeDefined();
    const started = await t.admin.request(
      `mutation($l: ID!) { reassessUtterances(input: {learnerId: $l}) { id progress { total } } }`,
      { l: learnerId },
    );
    expect(started.errors).toBeUndefined();
    const op = started.data.reassessUtterances;
    expect(op.progress.total).toBe(1);
    const deadline = Date.now() + 90_000;
    let progress: Record<string, number> = {};
    while (Date.now() < deadline) {
      const r = await t.admin.request(`query($id: ID!) { bulkOperation(id: $id) { status progress { succeeded failed queued running } } }`, { id: op.id });
      progress = r.data.bulkOperation.progress;
      if (progress.succeeded + progress.failed === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The worker polls every 10 minutes: only the notification can have started this job.
    expect(progress).toMatchObject({ succeeded: 1, failed: 0, queued: 0, running: 0 });
  }, 120_000);
});
