/**
 * The README's CPU worker command under "Model threads" (`SPEECHMARK_MODEL_THREADS=2 ... npm run
 * worker`), run with the settings as written against PostgreSQL: the worker starts, serves with two
 * model threads and assesses what is submitted to an API that runs no model. A worker whose threads
 * could never all get a job is refused at start with the documented message. PostgreSQL only (a
 * separate worker needs a server).
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { runEntry, type ChildRun } from '../support/processes.js';

const DATABASES = await testDatabases();
const onPostgres = DATABASES.includes('postgres') ? describe : describe.skip;

/** The `VAR=value` settings before `npm run worker` in the sh block under "### Model threads". */
function readmeWorkerSettings(): Record<string, string> {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Model threads'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const line = block.split('\n').find((l) => l.includes('npm run worker'))!;
  const settings = line.slice(0, line.indexOf('npm run worker')).trim().split(/\s+/);
  return Object.fromEntries(settings.map((s) => s.split('=') as [string, string]));
}

onPostgres('the README\'s worker with two model threads [postgres]', () => {
  let t: TestApp;
  let worker: ChildRun;
  const settings = readmeWorkerSettings();

  beforeAll(async () => {
    t = await startTestApp('postgres', { inProcessWorker: false });
    worker = runEntry('src/worker-main.ts', {
      ...settings,
      DATABASE_URL: t.config.databaseUrl,
      SPEECHMARK_AUDIO_DIR: t.config.audioDir,
      SPEECHMARK_DELIVERY_WORKER: 'none',
      SPEECHMARK_LOG_LEVEL: 'warn',
    });
    await worker.waitFor(/speechmark worker: .* on cpu, 2 model threads/);
  }, 180_000);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    if (worker) await worker.exited;
    await t?.dispose();
  });

  test('the command sets two model threads, each with jobs in hand (and a batch size they can fill, if any)', () => {
    expect(settings.SPEECHMARK_MODEL_THREADS).toBe('2');
    expect(Number(settings.SPEECHMARK_WORKER_CONCURRENCY)).toBeGreaterThanOrEqual(2);
    expect(Number(settings.SPEECHMARK_BATCH_SIZE ?? 1)).toBeLessThanOrEqual(Number(settings.SPEECHMARK_WORKER_CONCURRENCY) / 2);
  });

  test('it assesses what is submitted, several at once', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "model-threads"}) { id } }`);
    const submit = (seconds: number, hz: number) => t.admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
      { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear', audio: null } },
      'variables.input.audio',
      { bytes: speechLikeWav(seconds, hz), name: 'speech.wav' },
    );
    const submitted = await Promise.all([submit(1.5, 140), submit(1.7, 160), submit(1.3, 180)]);
    for (const s of submitted) expect(s.errors).toBeUndefined();
    const jobs = await Promise.all(submitted.map((s) => waitForJob(t.admin, s.data.submitUtterance.job.id, 120_000)));
    expect(jobs.map((j) => j.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const read = await t.admin.request(`{ workers { pid executionProvider } }`);
    expect(read.data.workers).toEqual([{ pid: worker.pid, executionProvider: 'cpu' }]);
  }, 180_000);

  test('more model threads than jobs in hand: refused at start, naming both settings', async () => {
    const refused = runEntry('src/worker-main.ts', {
      ...settings,
      SPEECHMARK_MODEL_THREADS: '4',
      SPEECHMARK_WORKER_CONCURRENCY: '2',
      SPEECHMARK_BATCH_SIZE: '1',
      DATABASE_URL: t.config.databaseUrl,
    });
    const { code } = await refused.exited;
    expect(code).not.toBe(0);
    expect(refused.stderr() + refused.stdout()).toContain('SPEECHMARK_MODEL_THREADS (4) must be at most SPEECHMARK_WORKER_CONCURRENCY (2)');
  }, 60_000);
});
