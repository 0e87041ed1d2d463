/**
 * The replay after the API process's LISTEN connection comes back (src/events/hub.ts catch-up),
 * through real graphql-ws clients against the real server on PostgreSQL: the test kills the
 * listener's backend (pg_terminate_backend), changes rows while it is away (the long first
 * reconnect delay keeps it away), and reads what each subscriber got once it is back.
 * - a burst of another learner's changes does not end a learner's subscription, nor push its own
 *   change out of the replay; a burst of its own that the replay cannot hold ends it with the
 *   overflow error (SERVICE_UNAVAILABLE), rather than dropping events silently;
 * - what a subscriber already got live before the drop is not sent again;
 * - a subscription made while the connection was down gets only what changed after it started;
 * - live events that arrive while the replay is read come after it, each once;
 * - the replay looks up whose utterance each change is once, not once per learner subscription.
 */
import pg from 'pg';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { createApiKey } from '../../src/graphql/auth.js';
import { notifyAssessmentCreated, notifyJobChanged } from '../../src/events/notify.js';
import { parsePostgresUrl, quoteIdent } from '../../src/db/client.js';
import { MAX_BUFFERED, SUBSCRIBED_GRACE_MS } from '../../src/events/hub.js';
import { subscribe, type Subscription } from '../support/subscriptions.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { sleep, waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();
const POSTGRES = DATABASES.includes('postgres') ? describe : describe.skip;

const JOBS = `subscription($learnerId: ID) { jobStatusChanged(learnerId: $learnerId) { id status } }`;
const ASSESSMENTS = `subscription($learnerId: ID) { assessmentCreated(learnerId: $learnerId) { id source } }`;
const ATTACH = `mutation($u: ID!) {
  attachHumanLabels(utteranceId: $u, labels: { sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 } }, rater: "replay") { id }
}`;
/**
 * The listener stays away this long after its backend is killed: the test's changes fall in the gap
 * (one test waits out SUBSCRIBED_GRACE_MS, 5 s, in it).
 */
const RECONNECT_MS = 8_000;

POSTGRES('the replay after the LISTEN connection comes back (PostgreSQL)', () => {
  let t: TestApp;
  let readKey: string;
  let orgId: string;
  let channel: string;
  const open: Subscription[] = [];
  const queries: string[] = [];

  beforeAll(async () => {
    t = await startTestApp('postgres', { listenReconnectMs: RECONNECT_MS, inProcessWorker: false }, { onQuery: (sql) => queries.push(sql) });
    const { prisma } = t.app.services;
    const org = await prisma.organization.findFirstOrThrow();
    orgId = org.id;
    readKey = (await createApiKey(prisma, org.id, 'ws-replay', ['SCORES_READ'])).key;
    [{ channel }] = await prisma.$queryRawUnsafe<{ channel: string }[]>(`SELECT 'speechmark_' || left(md5(current_schema()), 12) AS "channel"`);
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.dispose()));
    await waitFor(async () => (t.app.services.events!.size === 0 ? true : null), 10_000, 20);
    // The next test starts with the listener back (and its replay done).
    await waitFor(async () => ((await listeners()) === 1 ? true : null), 20_000, 20);
    await sleep(200);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const sub = (query: string, learnerId: string) => {
    const s = subscribe(t.app.url, readKey, query, { learnerId: toGlobalId('Learner', learnerId) });
    open.push(s);
    return s;
  };
  const hubHolds = (n: number) => waitFor(async () => (t.app.services.events!.size === n ? true : null), 10_000, 20);
  /** The listener's backend: its last query is the LISTEN until its first check (SELECT 1, every 15 s). */
  let listenerPid: number | null = null;
  const listeners = async () => {
    const rows = await t.app.services.prisma.$queryRawUnsafe<{ pid: number; listening: boolean }[]>(
      `SELECT "pid", "query" = $1 AS "listening" FROM pg_stat_activity WHERE "query" = $1 OR "pid" = $2::int`, `LISTEN "${channel}"`, listenerPid ?? 0,
    );
    listenerPid = rows.find((r) => r.listening)?.pid ?? listenerPid;
    return rows.length;
  };
  /** Kill the API process's LISTEN backend; it reconnects RECONNECT_MS later and replays what it missed. */
  async function dropListener(): Promise<void> {
    expect(await listeners()).toBe(1);
    const killed = await t.app.services.prisma.$queryRawUnsafe<{ ok: boolean }[]>(`SELECT pg_terminate_backend($1::int) AS "ok"`, listenerPid);
    expect(killed).toEqual([{ ok: true }]);
    await waitFor(async () => ((await listeners()) === 0 ? true : null), 5_000, 20);
  }
  /** A learner with one utterance (rows written directly: no recording, no model). */
  async function learnerWithUtterance(name: string): Promise<{ learnerId: string; utteranceId: string }> {
    const { prisma } = t.app.services;
    const learner = await prisma.learner.create({ data: { organizationId: orgId, externalId: `${name}-${Date.now()}` } });
    const utterance = await prisma.utterance.create({
      data: {
        organizationId: orgId, learnerId: learner.id, referenceText: 'We call it bear', referenceWords: [],
        audioSha256: 'a'.repeat(64), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
        sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
      },
    });
    return { learnerId: learner.id, utteranceId: utterance.id };
  }
  /** `n` QUEUED jobs on the utterance in one statement, as submits with nobody listening leave them. */
  const insertJobs = (utteranceId: string, n: number) =>
    t.app.services.prisma.$executeRawUnsafe(
      `INSERT INTO "Job" ("id", "organizationId", "utteranceId") SELECT gen_random_uuid(), $1::uuid, $2::uuid FROM generate_series(1, $3::int)`,
      orgId, utteranceId, n,
    );
  /** A QUEUED job, notified by the producers' own call inside its transaction. */
  const queueJob = (utteranceId: string) =>
    t.app.services.prisma.$transaction(async (tx) => {
      const job = await tx.job.create({ data: { organizationId: orgId, utteranceId } });
      await notifyJobChanged(tx, job.id);
      return job.id;
    });
  /** Human labels through the API: a HUMAN assessment and its notification. */
  const attach = async (utteranceId: string): Promise<string> => {
    const res = await t.admin.request(ATTACH, { u: toGlobalId('Utterance', utteranceId) });
    expect(res.errors).toBeUndefined();
    return fromGlobalId(res.data.attachHumanLabels.id)!.id;
  };
  const jobIds = (s: Subscription) => s.received.map((r) => `${fromGlobalId(r.result.data?.jobStatusChanged.id)?.id}:${r.result.data?.jobStatusChanged.status}`);
  const assessmentIds = (s: Subscription) => s.received.map((r) => fromGlobalId(r.result.data?.assessmentCreated.id)?.id);

  test("another learner's burst of changes neither ends a learner's subscription nor pushes its change out of the replay", async () => {
    const quiet = await learnerWithUtterance('quiet');
    const busy = await learnerWithUtterance('busy');
    const jobs = sub(JOBS, quiet.learnerId);
    await hubHolds(1);
    await dropListener();
    // More than the replay's old 10,000-row cap, all another learner's; then one of ours, last.
    await insertJobs(busy.utteranceId, 10_500);
    await sleep(5);
    const [{ id: ours }] = await t.app.services.prisma.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO "Job" ("id", "organizationId", "utteranceId") VALUES (gen_random_uuid(), $1::uuid, $2::uuid) RETURNING "id"`, orgId, quiet.utteranceId,
    );
    expect(await listeners()).toBe(0); // all of it while nobody listened

    const event = await jobs.next();
    expect(event.errors).toBeUndefined();
    expect(fromGlobalId(event.data.jobStatusChanged.id)!.id).toBe(ours);
    expect(event.data.jobStatusChanged.status).toBe('QUEUED');
    await waitFor(async () => ((await listeners()) === 1 ? true : null), 10_000, 20);
    await sleep(300);
    expect(jobs.received).toHaveLength(1);
    expect(t.app.services.events!.size).toBe(1); // still subscribed
  }, 60_000);

  test("a learner's own burst that the replay cannot hold ends its subscription with the overflow error", async () => {
    const flooded = await learnerWithUtterance('flooded');
    const jobs = sub(JOBS, flooded.learnerId);
    await hubHolds(1);
    await dropListener();
    await insertJobs(flooded.utteranceId, MAX_BUFFERED + 100);
    expect(await listeners()).toBe(0);
    const why = await jobs.ended;
    const errors = why.errors ?? jobs.received.find((r) => r.result.errors)?.result.errors;
    expect(errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(errors?.[0]?.message).toMatch(/subscribe again/);
  }, 60_000);

  test('what a subscriber got live before the drop is not replayed to it', async () => {
    const { learnerId, utteranceId } = await learnerWithUtterance('live');
    const jobs = sub(JOBS, learnerId);
    const assessments = sub(ASSESSMENTS, learnerId);
    await hubHolds(2);
    const liveJob = await queueJob(utteranceId);
    const liveAssessment = await attach(utteranceId);
    await jobs.next();
    await assessments.next();
    await dropListener();
    const [{ id: missedJob }] = await t.app.services.prisma.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO "Job" ("id", "organizationId", "utteranceId") VALUES (gen_random_uuid(), $1::uuid, $2::uuid) RETURNING "id"`, orgId, utteranceId,
    );
    const missedAssessment = await attach(utteranceId);
    expect(await listeners()).toBe(0);

    // The replay sends in the order things happened: a repeat of the live ones would come first.
    await waitFor(async () => (jobs.received.length >= 2 ? true : null), 20_000, 20);
    await waitFor(async () => (assessments.received.length >= 2 ? true : null), 20_000, 20);
    expect(jobIds(jobs)).toEqual([`${liveJob}:QUEUED`, `${missedJob}:QUEUED`]);
    expect(assessmentIds(assessments)).toEqual([liveAssessment, missedAssessment]);
    await sleep(300);
    expect(jobs.received).toHaveLength(2);
    expect(assessments.received).toHaveLength(2);
  }, 60_000);

  test('a subscription made while the connection was down gets only what changed after it started', async () => {
    const { learnerId, utteranceId } = await learnerWithUtterance('late');
    const early = sub(ASSESSMENTS, learnerId);
    await hubHolds(1);
    await dropListener();
    const before = await attach(utteranceId);
    await sleep(SUBSCRIBED_GRACE_MS + 500);
    const late = sub(ASSESSMENTS, learnerId);
    await hubHolds(2);
    const after = await attach(utteranceId);
    expect(await listeners()).toBe(0);

    await waitFor(async () => (late.received.length >= 1 && early.received.length >= 2 ? true : null), 20_000, 20);
    expect(assessmentIds(early)).toEqual([before, after]);
    expect(assessmentIds(late)).toEqual([after]);
    await sleep(300);
    expect(late.received).toHaveLength(1);
  }, 60_000);

  test('notifications that arrive while the replay is read come after it, each once', async () => {
    const { learnerId, utteranceId } = await learnerWithUtterance('order');
    const assessments = sub(ASSESSMENTS, learnerId);
    await hubHolds(1);
    await dropListener();
    const missed = await attach(utteranceId);
    const { id: late } = await t.app.services.prisma.assessment.create({
      data: { organizationId: orgId, utteranceId, source: 'HUMAN', accuracy: 7, fluency: 7, prosody: 7, completeness: 10, total: 7 },
    });
    expect(await listeners()).toBe(0);
    // Hold the replay's read (it reads "Job") until a live event has come in behind it.
    const { connectionString, schema } = parsePostgresUrl(t.config.databaseUrl!);
    const blocker = new pg.Client({ connectionString, options: `-c search_path=${quoteIdent(schema!)}` });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE "Job" IN ACCESS EXCLUSIVE MODE');
      // The replay's read waits behind the lock (nothing else of the API process reads "Job" now:
      // no worker, no delivery worker).
      await waitFor(async () => {
        const { rows } = await blocker.query<{ n: number }>(`SELECT count(*)::int AS "n" FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids("pid"))`);
        return rows[0]!.n > 0 ? true : null;
      }, 20_000, 20);
      // Its notification comes in now, while the replay waits (the producers' own call: a
      // transaction that wrote it and commits late). Writing a row now would wait for the lock too.
      await notifyAssessmentCreated(t.app.services.prisma, late);
      await sleep(500); // it has reached the API process
      await blocker.query('COMMIT');

      await waitFor(async () => (assessments.received.length >= 2 ? true : null), 20_000, 20);
      await sleep(300);
      expect(assessmentIds(assessments)).toEqual([missed, late]);
    } finally {
      await blocker.end();
    }
  }, 60_000);

  test("the replay looks up whose change it is once, not once per learner's subscription", async () => {
    const learners = await Promise.all(['one', 'two', 'three'].map((n) => learnerWithUtterance(`lookup-${n}`)));
    const subs = learners.map(({ learnerId }) => sub(JOBS, learnerId));
    await hubHolds(3);
    await dropListener();
    for (const { utteranceId } of learners) await insertJobs(utteranceId, 1);
    expect(await listeners()).toBe(0);
    queries.length = 0;
    for (const s of subs) expect((await s.next()).data.jobStatusChanged.status).toBe('QUEUED');
    // One read of the missed changes (joined to their utterances), no utterance lookup per subscription.
    const utteranceReads = queries.filter((q) => q.includes('"Utterance"'));
    expect(utteranceReads).toHaveLength(1);
    expect(utteranceReads[0]).toContain('"learnerId" = ANY');
  }, 60_000);
});
