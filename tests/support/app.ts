import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startSpeechmark, type Speechmark } from '../../src/app.js';
import { MEMORY_DATA_DIR } from '../../src/db/client.js';
import { GqlClient } from './client.js';
import { speechLikeWav } from './audio-fixtures.js';
import { dropTestSchema, postgresUnavailable, TEST_POSTGRES_URL } from './db.js';
import { log } from '../../src/ops/log.js';

// The in-process server logs one JSON line per request and job: in test output only warnings and
// errors (tests/api/operations.test.ts reads the info lines of a child process).
log.configure({ level: 'warn' });

type DatabaseKind = 'pglite' | 'postgres';

/** Databases to run the API suites on: PGlite always; PostgreSQL when reachable, and always in CI. */
export async function testDatabases(): Promise<DatabaseKind[]> {
  const unavailable = await postgresUnavailable();
  if (!unavailable) return ['pglite', 'postgres'];
  if (process.env.CI) throw new Error(`CI needs PostgreSQL at ${TEST_POSTGRES_URL}: ${unavailable}`);
  return ['pglite'];
}


export interface TestApp {
  app: Speechmark;
  /** Authenticated with the bootstrap admin key. */
  admin: GqlClient;
  config: Config;
  dispose(): Promise<void>;
}

/**
 * The real server on an ephemeral port: PGlite in memory, or a fresh schema on the PostgreSQL
 * server, and a temporary audio store. Nothing is mocked.
 */
export async function startTestApp(
  kind: DatabaseKind,
  overrides: Partial<Config> = {},
  options: { onQuery?: (sql: string) => void } = {},
): Promise<TestApp> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-test-'));
  const schema = `sm_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    dataDir: kind === 'pglite' ? MEMORY_DATA_DIR : tmp,
    databaseUrl: kind === 'postgres' ? `${TEST_POSTGRES_URL}?schema=${schema}` : undefined,
    audioDir: path.join(tmp, 'audio'),
    executionProviders: ['cpu'],
    jobLeaseSeconds: 30,
    // Suites send bursts of requests with one key from one address: the rate limits have their own
    // suite (tests/api/http-guards.test.ts) with small limits; elsewhere they are off.
    rateLimitPerMinute: 0,
    authFailuresPerMinute: 0,
    // A suite that counts statements (onQuery) gets no delivery worker polling in the background
    // unless it asks for one.
    deliveryWorker: !options.onQuery,
    // Nor the audio retention sweep (its own suite turns it on).
    audioRetentionSweepSeconds: options.onQuery ? 0 : 3600,
    ...overrides,
  };
  const app = await startSpeechmark(config, { host: '127.0.0.1', onQuery: options.onQuery });
  if (!app.adminKey) throw new Error('a fresh test database must bootstrap an admin key');
  return {
    app,
    config,
    admin: new GqlClient(app.url, app.adminKey),
    async dispose() {
      await app.close();
      if (kind === 'postgres') await dropTestSchema(schema);
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * The settings of a test whose LMS peers (a webhook receiver, an LRS, an LTI platform) run on
 * 127.0.0.1 over http: the operator allows that address and scheme; short backoff, four attempts.
 */
export const LOCAL_PEERS: Readonly<Partial<Config>> = {
  webhookAllowedPrivateNetworks: ['127.0.0.1'],
  webhookAllowHttp: true,
  webhookBackoffBaseMs: 200,
  webhookBackoffCapMs: 1000,
  webhookMaxAttempts: 4,
};

/** Poll a job through the API until it leaves QUEUED/RUNNING. */
export async function waitForJob(client: GqlClient, jobId: string, timeoutMs = 60000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.request(
      `query($id: ID!) { job(id: $id) { id status attempts error { code message rawOutput } assessment { id } } }`,
      { id: jobId },
    );
    const job = res.data?.job;
    if (job && (job.status === 'SUCCEEDED' || job.status === 'FAILED')) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job?.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A 1.2 s speech-like recording of "We call it bear" submitted (a multipart upload; `input` adds or
 * overrides SubmitUtteranceInput fields, learnerId at least) and scored by the app's worker: the job,
 * SUCCEEDED with its assessment.
 */
export async function submitScored(t: TestApp, input: Record<string, unknown>): Promise<any> {
  const res = await t.admin.upload(
    `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
    { input: { referenceText: 'We call it bear', audio: null, ...input } },
    'variables.input.audio',
    { bytes: speechLikeWav(1.2, Math.floor(Math.random() * 1000)), name: 'take.wav' },
  );
  if (res.errors) throw new Error(`submitUtterance refused: ${JSON.stringify(res.errors)}`);
  const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
  if (job.status !== 'SUCCEEDED') throw new Error(`job ${job.id} ${job.status}: ${JSON.stringify(job.error)}`);
  return job;
}
