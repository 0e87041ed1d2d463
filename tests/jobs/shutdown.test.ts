/**
 * Graceful shutdown of a real `npm run worker` process (PostgreSQL: a separate worker needs a server).
 * A job it holds when SIGTERM arrives and that does not finish within SPEECHMARK_SHUTDOWN_GRACE_SECONDS
 * is handed back (QUEUED, the attempt not counted against the budget, lease cleared), the process exits 0, and another
 * worker takes the job at once instead of after the lease (300 s here) expires.
 *
 * To hold the job deterministically, the test locks the "Utterance" table (ACCESS EXCLUSIVE) from its
 * own connection: the worker claims the job (the "Job" table is free), then its handler waits on the
 * utterance read, as a slow inference would keep it busy.
 */
import pg from 'pg';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { parsePostgresUrl } from '../../src/db/client.js';
import { runEntry, type ChildRun } from '../support/processes.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';
import { waitFor } from './fixtures.js';

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const hasPostgres = (await testDatabases()).includes('postgres');
const describePg = hasPostgres ? describeWithSpeech : (name: string) => test.skip(`${name} (PostgreSQL unreachable)`, () => undefined);

describePg('SIGTERM to a worker process', () => {
  let t: TestApp;
  let sql: pg.Client;
  const children: ChildRun[] = [];
  const worker = (env: Record<string, string> = {}) => {
    const run = runEntry('src/worker-main.ts', {
      DATABASE_URL: t.config.databaseUrl,
      SPEECHMARK_AUDIO_DIR: t.config.audioDir,
      SPEECHMARK_JOB_LEASE_SECONDS: '300',
      SPEECHMARK_SHUTDOWN_GRACE_SECONDS: '1',
      ...env,
    });
    children.push(run);
    return run;
  };

  beforeAll(async () => {
    t = await startTestApp('postgres', { inProcessWorker: false });
    const { connectionString, schema } = parsePostgresUrl(t.config.databaseUrl!);
    sql = new pg.Client({ connectionString, options: `-c search_path="${schema}"` });
    sql.on('error', () => undefined);
    await sql.connect();
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await sql?.end();
    await t?.dispose();
  });

  const jobRow = async (id: string) =>
    (await sql.query(`SELECT "status", "attempts", "maxAttempts", "lockedBy", "leaseExpiresAt", "errorCode" FROM "Job" WHERE "id" = $1`, [id])).rows[0];

  test('hands its running job back and exits 0; a second worker finishes it without waiting for the lease', async () => {
    const [u] = speechOceanUtterances('train', 1);
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "sigterm"}) { id } }`)).data.createLearner.id;
    await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: u!.text, audio: null } }, 'variables.input.audio', { bytes: u!.bytes, name: 'a.flac' });
    const { id: jobId } = (await sql.query(`SELECT "id" FROM "Job"`)).rows[0];

    await sql.query('BEGIN');
    await sql.query('LOCK TABLE "Utterance" IN ACCESS EXCLUSIVE MODE');
    const a = worker();
    await a.waitFor(/speechmark worker: /);
    const held = await waitFor(async () => {
      const j = await jobRow(jobId);
      return j.status === 'RUNNING' && j;
    }, 60_000, 50);
    expect(held.lockedBy).toContain(`:${a.pid}:`);
    expect(held.attempts).toBe(1);

    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.stdout()).toMatch(/SIGTERM: no new jobs/);
    expect(await jobRow(jobId)).toMatchObject({ status: 'QUEUED', attempts: 1, maxAttempts: held.maxAttempts + 1, lockedBy: null, leaseExpiresAt: null });
    await sql.query('ROLLBACK');

    const b = worker();
    await b.waitFor(/speechmark worker: /);
    const done = await waitFor(async () => {
      const j = await jobRow(jobId);
      return j.status === 'SUCCEEDED' && j;
    }, 60_000, 100);
    expect(done.lockedBy).toContain(`:${b.pid}:`);
    // Attempt 2 within the budget it had: handed back, not a lease expiry (that would count attempt 1).
    expect(done).toMatchObject({ attempts: 2, maxAttempts: held.maxAttempts + 1, errorCode: null });
    expect((await sql.query(`SELECT count(*)::int AS n FROM "Assessment" WHERE "jobId" = $1`, [jobId])).rows[0].n).toBe(1);

    b.child.kill('SIGINT'); // idle: stops at once
    expect(await b.exited).toEqual({ code: 0, signal: null });
  });
});
