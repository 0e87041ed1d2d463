/**
 * The database going away under a running server (PostgreSQL): the server's connections are
 * terminated with pg_terminate_backend from a separate client, only this test's (by
 * application_name: other suites share the server). A request in flight gets a clean
 * SERVICE_UNAVAILABLE (no stack, no driver message), the next one succeeds, and the in-process
 * worker's poll loop survives a failed claim and goes on assessing.
 *
 * To have a request deterministically in flight when its connection dies, the test first locks the
 * table it reads (ACCESS EXCLUSIVE, from its own connection) and waits until the server's backend
 * is seen waiting on that lock in pg_stat_activity.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { startSpeechmark, type Speechmark } from '../../src/app.js';
import { createApiKey } from '../../src/graphql/auth.js';
import { GqlClient, type GqlResponse } from '../support/client.js';
import { waitForJob } from '../support/app.js';
import { dropTestSchema, postgresUnavailable, TEST_POSTGRES_URL } from '../support/db.js';
import { hasSharedData, speechOceanUtterances } from '../support/speech.js';
import { waitFor } from '../jobs/fixtures.js';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI) throw new Error(`CI needs PostgreSQL at ${TEST_POSTGRES_URL}: ${unavailable}`);
const describePg = unavailable ? describe.skip : describe;

describePg('database connections killed under a running server [postgres]', () => {
  const schema = `dbfault_${process.pid}_${randomUUID().slice(0, 8)}`;
  const appName = `speechmark_${schema}`;
  let tmp: string;
  let app: Speechmark;
  let admin: GqlClient;
  let sql: pg.Client;
  const workerErrors: string[] = [];
  const consoleError = console.error;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'speechmark-dbfault-'));
    const u = new URL(TEST_POSTGRES_URL);
    u.searchParams.set('schema', schema);
    u.searchParams.set('application_name', appName);
    app = await startSpeechmark(
      { ...loadConfig({}), port: 0, dataDir: tmp, databaseUrl: u.toString(), audioDir: path.join(tmp, 'audio'), executionProviders: ['cpu'], jobLeaseSeconds: 10 },
      { host: '127.0.0.1' },
    );
    admin = new GqlClient(app.url, app.adminKey!);
    sql = new pg.Client({ connectionString: TEST_POSTGRES_URL, options: `-c search_path="${schema}"` });
    sql.on('error', () => undefined);
    await sql.connect();
    // The worker logs what it survives: note the phases to assert on (and still print everything).
    console.error = (...args: unknown[]) => {
      // One JSON line per error (src/ops/log.ts): the worker's say `"msg":"worker <phase>"`.
      let record: { msg?: unknown } = {};
      try {
        record = JSON.parse(String(args[0])) as { msg?: unknown };
      } catch {
        // not a log line
      }
      const m = /^worker (\w+)/.exec(typeof record.msg === 'string' ? record.msg : '');
      if (m) workerErrors.push(m[1]!);
      consoleError(...args);
    };
  });
  afterAll(async () => {
    console.error = consoleError;
    await app?.close();
    await sql?.end();
    await dropTestSchema(schema);
    await rm(tmp, { recursive: true, force: true });
  });

  /**
   * pg_stat_activity is read inside the test's locking transaction, where PostgreSQL keeps the
   * first read's snapshot for the rest of the transaction: clear it, or later reads see the past.
   */
  const activity = async (sqlText: string, params: unknown[]) => {
    await sql.query('SELECT pg_stat_clear_snapshot()');
    return (await sql.query(sqlText, params)).rows[0].n as number;
  };
  /**
   * The server's backends that wait for a lock (its request or claim is in flight); with `querying`,
   * only those whose statement contains it.
   */
  const waitingBackends = (querying = '') =>
    activity(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = $1 AND wait_event_type = 'Lock' AND strpos(query, $2::text) > 0`,
      [appName, querying],
    );
  const terminateServerBackends = () =>
    activity(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [appName],
    );

  /** Runs `request` while `table` is locked, kills the server's connections once it is blocked, then unlocks. */
  async function killedMidRequest(table: string, request: () => Promise<GqlResponse>): Promise<GqlResponse> {
    await sql.query('BEGIN');
    try {
      await sql.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
      const pending = request();
      await waitFor(async () => (await waitingBackends()) > 0, 20_000, 20);
      expect(await terminateServerBackends()).toBeGreaterThan(0);
      await sql.query('ROLLBACK');
      return await pending;
    } catch (e) {
      await sql.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  const expectCleanUnavailable = (res: GqlResponse) => {
    expect(res.data?.learners ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    const [e] = res.errors!;
    expect(e!.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(e!.extensions?.stacktrace).toBeUndefined();
    expect(e!.message).not.toMatch(/57P01|terminat|prisma|pg_|\n\s+at /i);
  };

  const LEARNERS = `{ learners(first: 5) { edges { node { externalId } } } }`;

  test('a query whose connection is killed gets SERVICE_UNAVAILABLE; the next one succeeds', async () => {
    expect((await admin.request(`mutation { createLearner(input: {externalId: "before"}) { id } }`)).errors).toBeUndefined();
    const res = await killedMidRequest('Learner', () => admin.request(LEARNERS));
    expectCleanUnavailable(res);
    const again = await admin.request(LEARNERS);
    expect(again.errors).toBeUndefined();
    expect(again.data.learners.edges.map((e: any) => e.node.externalId)).toEqual(['before']);
  });

  test('authentication whose connection is killed gets SERVICE_UNAVAILABLE (HTTP 503); then it works again', async () => {
    // A key this process has not verified yet (a verified one is reused from the key cache for a few seconds).
    const org = await app.services.prisma.organization.findFirstOrThrow();
    const fresh = new GqlClient(app.url, (await createApiKey(app.services.prisma, org.id, 'fresh', ['ADMIN'])).key);
    const res = await killedMidRequest('ApiKey', () => fresh.request(LEARNERS));
    expect(res.status).toBe(503);
    expectCleanUnavailable(res);
    expect((await fresh.request(LEARNERS)).errors).toBeUndefined();
  });

  test('the worker survives its claim being killed, and goes on assessing', async () => {
    if (!hasSharedData) return; // needs real speech for the assessment half
    const before = workerErrors.length;
    // The in-process worker polls every second: its claim blocks on the lock, then dies with its
    // connection. Wait for the claim itself (FOR UPDATE SKIP LOCKED): other readers of "Job" (the
    // event listener's catch-up after the earlier kills) can block on the lock first, and killing
    // only them leaves the worker with nothing to report.
    await sql.query('BEGIN');
    try {
      await sql.query('LOCK TABLE "Job" IN ACCESS EXCLUSIVE MODE');
      await waitFor(async () => (await waitingBackends('SKIP LOCKED')) > 0, 20_000, 20);
      expect(await terminateServerBackends()).toBeGreaterThan(0);
    } finally {
      await sql.query('ROLLBACK'); // never leave the table locked: the server could not stop
    }
    await waitFor(async () => workerErrors.length > before, 20_000, 20);
    expect(workerErrors.slice(before)).toContain('poll');
    expect(app.worker!.isRunning).toBe(true);

    const [u] = speechOceanUtterances('train', 1);
    const learnerId = (await admin.request(`mutation { createLearner(input: {externalId: "after"}) { id } }`)).data.createLearner.id;
    const submitted = await admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`,
      { input: { learnerId, referenceText: u!.text, audio: null } },
      'variables.input.audio',
      { bytes: u!.bytes, name: 'a.flac' },
    );
    expect(submitted.errors).toBeUndefined();
    const job = await waitForJob(admin, submitted.data.submitUtterance.job.id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});
