/**
 * SIGKILL at random points of jobs, then restart, until everything is done: every one of 50 jobs
 * ends SUCCEEDED with exactly one MODEL assessment (per job and per utterance), none written twice.
 * The outbox holds exactly one utterance.submitted per utterance and one assessment.completed per job
 * (never lost, never invented), and a webhook receiver in this process gets every one of them at
 * least once, whatever deliveries the kills interrupted (duplicates, which the shared webhook-id lets
 * a receiver drop, are counted).
 *
 * - PostgreSQL: the API in its own process (SPEECHMARK_WORKER=none) and two `npm run worker`
 *   processes; one of them is killed at a random moment of its life, restarted, and so on.
 * - PGlite: the worker runs inside the server process, which holds the data folder: the whole
 *   server is killed and restarted on the same folder.
 * Leases are 2 s so a killed worker's job is re-claimed quickly. Kill times come from a seeded RNG;
 * the seed is printed (KILL_SEED=<n> npm run test:stress -- kill reruns the same schedule).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { GqlClient } from '../support/client.js';
import { testDatabases } from '../support/app.js';
import { dropTestSchema, TEST_POSTGRES_URL } from '../support/db.js';
import { runEntry, type ChildRun } from '../support/processes.js';
import { hasSharedData, speechOceanUtterances } from '../support/speech.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { Receiver } from '../support/receiver.js';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { webhookId } from '../../src/outbox/signing.js';

const JOBS = 50;
const SEED = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const DATABASES = await testDatabases();

/** mulberry32: a small seeded PRNG, so a failing kill schedule can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const COMMON_ENV = {
  SPEECHMARK_JOB_LEASE_SECONDS: '2',
  SPEECHMARK_JOB_MAX_ATTEMPTS: '100', // kills must not exhaust a job's attempts
  SPEECHMARK_SHUTDOWN_GRACE_SECONDS: '5',
  PORT: '0',
  // Webhooks to the receiver on 127.0.0.1, with a short timeout (delivery lease 4 × 2 s + 10 s) and quick retries.
  SPEECHMARK_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.1',
  SPEECHMARK_WEBHOOK_ALLOW_HTTP: 'true',
  SPEECHMARK_WEBHOOK_TIMEOUT_SECONDS: '2',
  SPEECHMARK_WEBHOOK_BACKOFF_BASE_SECONDS: '1',
  SPEECHMARK_WEBHOOK_BACKOFF_CAP_SECONDS: '5',
};
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;

type Query = (sql: string) => Promise<any[]>;

/** Registers the receiver, submits the 50 utterances through the API; returns the job ids (GraphQL ids). */
async function submitAll(client: GqlClient, utterances: { text: string; bytes: Uint8Array }[], receiver: Receiver): Promise<string[]> {
  const hook = await client.request(`mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }`, {
    i: { url: receiver.url, eventTypes: ['utterance.submitted', 'assessment.completed', 'assessment.failed'] },
  });
  if (hook.errors) throw new Error(`webhook endpoint: ${JSON.stringify(hook.errors)}`);
  const learner = await client.request(`mutation { createLearner(input: {externalId: "kill-test"}) { id } }`);
  const learnerId = learner.data.createLearner.id;
  const ids: string[] = [];
  for (const [i, u] of utterances.entries()) {
    const res = await client.upload(SUBMIT, { input: { learnerId, referenceText: u.text, audio: null, idempotencyKey: `k${i}` } }, 'variables.input.audio', {
      bytes: u.bytes,
      name: 'take.flac',
    });
    if (res.errors) throw new Error(`submit ${i}: ${JSON.stringify(res.errors)}`);
    ids.push(res.data.submitUtterance.job.id);
  }
  return ids;
}

/** Waits until the receiver has accepted `n` distinct webhook-ids. */
async function waitForWebhooks(receiver: Receiver, n: number, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (new Set(receiver.delivered().map((d) => d.id)).size < n) {
    if (Date.now() > deadline) throw new Error(`only ${new Set(receiver.delivered().map((d) => d.id)).size} of ${n} webhooks arrived`);
    await sleep(250);
  }
}

/** The end state, read straight from the database. */
async function verify(query: Query, label: string, kills: number, killsHolding: number | null, receiver: Receiver) {
  const jobs = await query(`SELECT "status"::text AS status, "attempts", "utteranceId" FROM "Job"`);
  const assessments = await query(`SELECT "jobId", "utteranceId", "source"::text AS source FROM "Assessment"`);
  const dupJobs = await query(`SELECT "jobId" FROM "Assessment" GROUP BY "jobId" HAVING count(*) > 1`);
  const dupUtterances = await query(`SELECT "utteranceId" FROM "Assessment" GROUP BY "utteranceId" HAVING count(*) > 1`);
  const jobsWithout = await query(`SELECT j."id" FROM "Job" j LEFT JOIN "Assessment" a ON a."jobId" = j."id" WHERE a."id" IS NULL`);
  const incomplete = await query(
    `SELECT a."id" FROM "Assessment" a
      LEFT JOIN "Rationale" r ON r."assessmentId" = a."id"
      WHERE r."id" IS NULL OR NOT EXISTS (SELECT 1 FROM "WordAssessment" w WHERE w."assessmentId" = a."id")`,
  );
  const lostAttempts = jobs.reduce((n, j) => n + Number(j.attempts) - 1, 0);
  // The outbox: one utterance.submitted per utterance, one assessment.completed per job, naming an
  // assessment that exists; nothing else.
  const events = await query(`SELECT "id"::text AS id, "type", "body" FROM "OutboxEvent"`);
  const assessmentIds = new Set((await query(`SELECT "id"::text AS id FROM "Assessment"`)).map((a) => a.id));
  const completed = events.filter((e) => e.type === 'assessment.completed').map((e) => JSON.parse(e.body).data);
  const completedJobs = new Set(completed.map((d) => d.job.id));
  const received = receiver.delivered().map((d) => d.id);
  const summary = {
    seed: SEED,
    jobs: jobs.length,
    succeeded: jobs.filter((j) => j.status === 'SUCCEEDED').length,
    assessments: assessments.length,
    modelAssessments: assessments.filter((a) => a.source === 'MODEL').length,
    duplicatesPerJob: dupJobs.length,
    duplicatesPerUtterance: dupUtterances.length,
    jobsWithoutAssessment: jobsWithout.length,
    assessmentsMissingParts: incomplete.length,
    kills,
    ...(killsHolding === null ? {} : { killsWithAJobInHand: killsHolding }),
    attemptsLostToKills: lostAttempts,
    jobsRetried: jobs.filter((j) => Number(j.attempts) > 1).length,
    maxAttempts: Math.max(...jobs.map((j) => Number(j.attempts))),
    events: events.length,
    submittedEvents: events.filter((e) => e.type === 'utterance.submitted').length,
    completedEvents: completed.length,
    jobsWithACompletedEvent: completedJobs.size,
    completedEventsNamingNoAssessment: completed.filter((d) => !assessmentIds.has(fromGlobalId(d.assessment.id)!.id)).length,
    eventsNotReceived: events.filter((e) => !received.includes(webhookId(e.id))).length,
    webhooksReceivedTwice: received.length - new Set(received).size,
  };
  console.log(`[kill test ${label}] ${JSON.stringify(summary)}`);
  expect(summary).toMatchObject({
    jobs: JOBS, succeeded: JOBS, assessments: JOBS, modelAssessments: JOBS,
    duplicatesPerJob: 0, duplicatesPerUtterance: 0, jobsWithoutAssessment: 0, assessmentsMissingParts: 0,
    events: 2 * JOBS, submittedEvents: JOBS, completedEvents: JOBS, jobsWithACompletedEvent: JOBS,
    completedEventsNamingNoAssessment: 0, eventsNotReceived: 0,
  });
  expect(kills).toBeGreaterThan(0);
  expect(lostAttempts).toBeGreaterThan(0); // kills did land mid-job
}

describe('SIGKILL at random points of jobs', () => {
  // Real learners' recordings when ../shared is here; speech-like audio made in code otherwise, so
  // a fresh clone runs the kill test too.
  const utterances = hasSharedData
    ? speechOceanUtterances('train', JOBS)
    : Array.from({ length: JOBS }, (_, i) => ({ text: 'WE CALL IT BEAR', bytes: speechLikeWav(3, i + 1) }));
  let tmp: string;
  const receiver = new Receiver();
  const children: ChildRun[] = [];
  const track = (c: ChildRun) => (children.push(c), c);

  beforeAll(async () => {
    console.log(`[kill test] seed ${SEED} (KILL_SEED=${SEED} replays this schedule)`);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-kill-'));
    await receiver.start();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await receiver.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const testPg = DATABASES.includes('postgres') ? test : test.skip;
  testPg('PostgreSQL: API process + two worker processes, workers killed and restarted', async () => {
    const random = rng(SEED);
    const schema = `kill_${process.pid}_${randomUUID().slice(0, 8)}`;
    const url = new URL(TEST_POSTGRES_URL);
    url.searchParams.set('schema', schema);
    const env = { ...COMMON_ENV, DATABASE_URL: url.toString(), SPEECHMARK_DATA_DIR: path.join(tmp, 'pg'), SPEECHMARK_AUDIO_DIR: path.join(tmp, 'pg', 'audio') };
    const sql = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path="${schema}"` });
    sql.on('error', () => undefined);
    try {
      const api = track(runEntry('src/main.ts', { ...env, SPEECHMARK_WORKER: 'none' }));
      const [, apiUrl, key] = await api.waitFor(/GraphQL API: (\S+)[\s\S]*\n\s+(sm_\S+)/);
      await submitAll(new GqlClient(apiUrl!, key!), utterances, receiver);
      await sql.connect();
      const succeeded = async () => (await sql.query(`SELECT count(*)::int AS n FROM "Job" WHERE "status" = 'SUCCEEDED'`)).rows[0].n as number;

      const MAX_KILLS = 10;
      let kills = 0;
      let killsHolding = 0;
      /** One worker slot: start, let it run a random while, SIGKILL, again; then run until done. */
      const slot = async () => {
        while ((await succeeded()) < JOBS) {
          const w = track(runEntry('src/worker-main.ts', env));
          await w.waitFor(/speechmark worker: /);
          if (kills >= MAX_KILLS) {
            while ((await succeeded()) < JOBS) await sleep(250);
            w.child.kill('SIGTERM');
            expect(await w.exited).toEqual({ code: 0, signal: null });
            return;
          }
          await sleep(300 + random() * 2500);
          kills++;
          w.child.kill('SIGKILL');
          await w.exited;
          const held = await sql.query(`SELECT count(*)::int AS n FROM "Job" WHERE "status" = 'RUNNING' AND "lockedBy" LIKE $1`, [`%:${w.pid}:%`]);
          if (held.rows[0].n > 0) killsHolding++;
        }
      };
      await Promise.all([slot(), slot()]);
      // Deliveries a killed worker had in flight are taken over (by the API's delivery worker) once their leases expire.
      await waitForWebhooks(receiver, 2 * JOBS);
      api.child.kill('SIGTERM');
      expect(await api.exited).toEqual({ code: 0, signal: null });
      await verify(async (q) => (await sql.query(q)).rows, 'postgres', kills, killsHolding, receiver);
    } finally {
      await sql.end().catch(() => undefined);
      await dropTestSchema(schema);
    }
  });

  test('PGlite: the server process (in-process worker) killed and restarted on its data folder', async () => {
    const random = rng(SEED ^ 0x9e3779b9);
    const dataDir = path.join(tmp, 'pglite');
    const env = { ...COMMON_ENV, SPEECHMARK_DATA_DIR: dataDir };
    const start = async () => {
      const s = track(runEntry('src/main.ts', env));
      const [, url] = await s.waitFor(/GraphQL API: (\S+)/);
      return { s, url: url! };
    };
    // First life without a worker, so the jobs are all waiting when the kills begin.
    const intake = track(runEntry('src/main.ts', { ...env, SPEECHMARK_WORKER: 'none' }));
    const [, intakeUrl, key] = await intake.waitFor(/GraphQL API: (\S+)[\s\S]*\n\s+(sm_\S+)/);
    const ids = await submitAll(new GqlClient(intakeUrl!, key!), utterances, receiver);
    intake.child.kill('SIGTERM');
    expect(await intake.exited).toEqual({ code: 0, signal: null });
    let { s: server, url } = await start();

    const done = new Set<string>();
    const allDone = async (client: GqlClient) => {
      for (const id of ids) {
        if (done.has(id)) continue;
        const res = await client.request(`query($id: ID!) { job(id: $id) { status } }`, { id }).catch(() => null);
        if (res?.data?.job?.status === 'SUCCEEDED') done.add(id);
        else return false;
      }
      return true;
    };
    const MAX_KILLS = 6;
    let kills = 0;
    for (;;) {
      const client = new GqlClient(url, key!);
      if (kills >= MAX_KILLS) {
        while (!(await allDone(client))) await sleep(500);
        break;
      }
      // A random point measured in progress, not in time (the job rate depends on the machine and
      // the audio): after 1-6 more jobs have finished, plus up to 0.2 s, so the kill lands mid-job.
      const target = done.size + 1 + Math.floor(random() * 6);
      let finished = false;
      while (done.size < target && !(finished = await allDone(client))) await sleep(50);
      if (finished) break;
      await sleep(random() * 200);
      kills++;
      server.child.kill('SIGKILL');
      await server.exited;
      ({ s: server, url } = await start());
    }
    await waitForWebhooks(receiver, 2 * JOBS);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const db = await openDatabase({ databaseUrl: undefined, dataDir });
    try {
      await verify((q) => db.prisma.$queryRawUnsafe(q), 'pglite', kills, null, receiver);
    } finally {
      await db.close();
    }
  });
});
