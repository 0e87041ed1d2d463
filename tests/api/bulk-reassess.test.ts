/**
 * Bulk re-assessment (issue 14) through the real HTTP server on PGlite and PostgreSQL, with no
 * worker running so the jobs stay where the test puts them: selection by learner, group, whole
 * organisation and `since`; batches past BATCH_SIZE; progress as jobs are claimed, completed and
 * failed through the real queue; cancellation; idempotency; scopes and tenancy.
 */
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { BATCH_SIZE, completeIfDone, STALLED_ENQUEUE_MS, startBulkReassessment, sweepBulkCompletion, sweepBulkEnqueueing } from '../../src/assessment/bulk.js';
import { BulkEnqueueSweeper } from '../../src/assessment/bulk-sweeper.js';
import { cliActor } from '../../src/admin/audit.js';
import { claimJob, completeJob, failJob } from '../../src/jobs/queue.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { openDatabase } from '../../src/db/client.js';

const DATABASES = await testDatabases();

const OP_FIELDS = `id status oneLearner groupExternalId wholeOrganisation since modelVersion postGrades createdAt cancelledAt
  progress { total queued running succeeded failed cancelled }`;
const START = `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { ${OP_FIELDS} } }`;
const GET = `query($id: ID!) { bulkOperation(id: $id) { ${OP_FIELDS} } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename ... on BulkOperation { id progress { total } } } }`;
const CANCEL = `mutation($id: ID!) { cancelBulkOperation(id: $id) { ${OP_FIELDS} } }`;

/** `n` utterances of a learner recorded `ageDays` ago. */
async function recordFor(prisma: PrismaClient, org: string, learnerId: string, n: number, ageDays = 0) {
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Utterance"(id, "organizationId", "learnerId", "referenceText", "referenceWords", "audioSha256", "audioFormat",
                             "audioBytes", "durationMs", "sourceSampleRate", "sourceChannels", "speechMs", "createdAt")
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'HI', '[]', repeat('b', 64), 'wav', 1, 1000, 16000, 1, 900,
            now() - make_interval(days => $4::int)
       FROM generate_series(1, $3::int)`,
    org, learnerId, n, ageDays,
  );
}

/** A learner of `org` in `groups` with `n` utterances recorded `ageDays` ago. */
async function learnerWith(prisma: PrismaClient, org: string, n: number, groups: string[] = [], ageDays = 0) {
  const learner = await prisma.learner.create({ data: { organizationId: org, externalId: `b-${randomUUID()}`, groups } });
  await recordFor(prisma, org, learner.id, n, ageDays);
  return learner;
}

describe.each(DATABASES)('bulk re-assessment on %s', (kind) => {
  let t: TestApp;
  let writer: GqlClient;
  let prisma: PrismaClient;
  let org: string;

  beforeAll(async () => {
    // Every selection here is queued within the request (however slow the machine), so the tests can
    // read the jobs at once; the background path is tested on its own below.
    t = await startTestApp(kind, { inProcessWorker: false, bulkEnqueueInRequestMs: 60_000 });
    writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    prisma = t.app.services.prisma;
    org = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(() => t?.dispose());
  beforeEach(async () => {
    // Each test counts its own jobs and utterances.
    await prisma.job.deleteMany({});
    await prisma.bulkOperation.deleteMany({});
    await prisma.utterance.deleteMany({});
  });

  const start = async (input: Record<string, unknown>, client = writer) => client.request(START, { i: input });
  const jobsOf = (globalId: string) => prisma.job.findMany({ where: { bulkOperationId: fromGlobalId(globalId)!.id } });

  test('onlyFailed: the utterances whose latest job FAILED (with failedWithCode, that code only), and nothing else', async () => {
    const learner = await learnerWith(prisma, org, 5);
    const [a, b, c, d, e] = await prisma.utterance.findMany({ where: { learnerId: learner.id }, orderBy: { id: 'asc' } });
    const job = (utteranceId: string, status: 'FAILED' | 'SUCCEEDED', errorCode: string | null, minutesAgo: number) => ({
      organizationId: org, utteranceId, status, errorCode, errorMessage: errorCode, attempts: 1, createdAt: new Date(Date.now() - minutesAgo * 60_000),
    });
    await prisma.job.createMany({
      data: [
        job(a!.id, 'FAILED', 'LEASE_EXPIRED', 5), // failed: selected
        job(b!.id, 'FAILED', 'MODEL_UNAVAILABLE', 5), // failed with another code
        job(c!.id, 'SUCCEEDED', null, 5), // assessed: never selected
        job(d!.id, 'FAILED', 'LEASE_EXPIRED', 10), job(d!.id, 'SUCCEEDED', null, 2), // failed once, then assessed: not selected
        // e: no job at all (not failed): not selected
      ],
    });
    expect(e).toBeDefined();
    const id = toGlobalId('Learner', learner.id);
    const queuedFor = async (opId: string) => (await jobsOf(opId)).map((j) => j.utteranceId).sort();

    const any = await t.admin.request(`mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id onlyFailed failedWithCode progress { total } } }`, {
      i: { learnerId: id, onlyFailed: true },
    });
    expect(any.errors).toBeUndefined();
    expect(any.data.reassessUtterances).toMatchObject({ onlyFailed: true, failedWithCode: null, progress: { total: 2 } });
    expect(await queuedFor(any.data.reassessUtterances.id)).toEqual([a!.id, b!.id].sort());

    // Those two now have a QUEUED job as their latest: a second run selects nothing.
    const twice = await start({ learnerId: id, onlyFailed: true });
    expect(twice.errors).toBeUndefined();
    expect(twice.data.reassessUtterances.progress.total).toBe(0);
    // With the queued jobs gone, their failed ones are the latest again.
    await prisma.job.deleteMany({ where: { bulkOperationId: fromGlobalId(any.data.reassessUtterances.id)!.id } });
    const coded = await start({ learnerId: id, onlyFailed: true, failedWithCode: 'LEASE_EXPIRED' });
    expect(coded.errors).toBeUndefined();
    expect(coded.data.reassessUtterances.progress.total).toBe(1);
    expect(await queuedFor(coded.data.reassessUtterances.id)).toEqual([a!.id]);

    const without = await start({ learnerId: id, failedWithCode: 'LEASE_EXPIRED' });
    expect(errorCode(without)).toBe('BAD_USER_INPUT');
    expect(without.errors![0]!.extensions).toMatchObject({ argument: 'input.failedWithCode', arguments: ['input.failedWithCode', 'input.onlyFailed'] });
    const badCode = await start({ learnerId: id, onlyFailed: true, failedWithCode: 'lease expired; DROP' });
    expect(badCode.errors![0]!.extensions!.argument).toBe('input.failedWithCode');
  });

  test("a learner's utterances: one BULK job each, progress counted from the jobs", async () => {
    const learner = await learnerWith(prisma, org, 3);
    await learnerWith(prisma, org, 2); // another learner's: not selected
    const res = await start({ learnerId: toGlobalId('Learner', learner.id) });
    expect(res.errors).toBeUndefined();
    const op = res.data.reassessUtterances;
    expect(op).toMatchObject({
      status: 'RUNNING', oneLearner: true, groupExternalId: null, wholeOrganisation: false,
      progress: { total: 3, queued: 3, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
    });
    const jobs = await jobsOf(op.id);
    expect(jobs).toHaveLength(3);
    expect(jobs.every((j) => j.priority === 'BULK' && j.status === 'QUEUED' && j.organizationId === org)).toBe(true);
    const utterances = await prisma.utterance.findMany({ where: { learnerId: learner.id } });
    expect(new Set(jobs.map((j) => j.utteranceId))).toEqual(new Set(utterances.map((u) => u.id)));
  });

  /** Every selected utterance (of the learner, recorded before `before`) has exactly one job of the operation. */
  async function expectEachQueuedOnce(opId: string, learnerId: string, before = new Date(8.64e15)) {
    const jobs = await prisma.job.findMany({ where: { bulkOperationId: opId } });
    const utterances = await prisma.utterance.findMany({ where: { learnerId, createdAt: { lt: before } }, select: { id: true } });
    expect(jobs).toHaveLength(utterances.length);
    expect(new Set(jobs.map((j) => j.utteranceId))).toEqual(new Set(utterances.map((u) => u.id)));
  }

  test('a selection too large to queue within the request: it returns after the first batch and queues on in the background, beside a sweep, once each', async () => {
    const learner = await learnerWith(prisma, org, 2 * BATCH_SIZE + 7);
    const op = await startBulkReassessment(prisma, { organizationId: org, actor: cliActor(), learnerId: learner.id, maxAttempts: 3, inRequestMs: 0 });
    expect(op.total).toBe(2 * BATCH_SIZE + 7);
    // At least the first batch was queued in the request; the rest follows in the background. A
    // sweep that takes the operation for stalled (its clock far ahead) queues beside it, from the
    // same cursor under the same lock: still one job per utterance.
    expect(await prisma.job.count({ where: { bulkOperationId: op.id } })).toBeGreaterThanOrEqual(BATCH_SIZE);
    await sweepBulkEnqueueing(prisma, 3, new Date(Date.now() + 10 * STALLED_ENQUEUE_MS));
    for (let i = 0; i < 200 && !(await prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } })).enqueuedAt; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await expectEachQueuedOnce(op.id, learner.id);
    expect((await writer.request(GET, { id: toGlobalId('BulkOperation', op.id) })).data.bulkOperation).toMatchObject({
      status: 'RUNNING', progress: { total: 2 * BATCH_SIZE + 7, queued: 2 * BATCH_SIZE + 7 },
    });
  });

  (kind === 'postgres' ? test : test.skip)('a batch failing within the request (a row held past the transaction time) answers the operation, not an error; queueing goes on from its cursor', async () => {
    const learner = await learnerWith(prisma, org, BATCH_SIZE + 3);
    const [last] = await prisma.utterance.findMany({ where: { learnerId: learner.id }, orderBy: { id: 'desc' }, take: 1 });
    // A process whose transactions may run 1.5 s, and another transaction holding the second
    // batch's last utterance (as an erasure would) for longer: that batch's job insert waits on the
    // row and times out.
    const short = await openDatabase({ databaseUrl: t.config.databaseUrl, dataDir: 'memory://', dbTransactionTimeoutMs: 1_500 });
    try {
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holder = prisma.$transaction(async (tx) => {
        await tx.$queryRawUnsafe(`SELECT 1 FROM "Utterance" WHERE "id" = $1::uuid FOR UPDATE`, last!.id);
        holding();
        await new Promise((resolve) => setTimeout(resolve, 4_000));
      }, { timeout: 20_000 });
      await held;
      // The log's process sink writes warnings to stderr (src/ops/log.ts): the failed batch's line is read there.
      const stderr = jest.spyOn(console, 'error');
      let lines: string[] = [];
      let op: Awaited<ReturnType<typeof startBulkReassessment>>;
      try {
        op = await startBulkReassessment(short.prisma, { organizationId: org, actor: cliActor(), learnerId: learner.id, maxAttempts: 3, inRequestMs: 60_000 });
      } finally {
        lines = stderr.mock.calls.map(([line]) => String(line));
        stderr.mockRestore();
      }
      expect(op).toMatchObject({ total: BATCH_SIZE + 3 });
      // A batch did fail within the request (the request could have queued for a minute). Not read
      // from the answer's enqueuedAt: the queueing it leaves to the background starts at once, the
      // row is free by then, and it may finish before the answer's read.
      const failed = lines.filter((line) => line.includes('a batch failed in the request'));
      expect(failed.map((line) => JSON.parse(line).bulkOperationId)).toEqual([op.id]);
      await holder;
      // Once the row is free, the queueing left in the background or a sweep finishes it, once each.
      await sweepBulkEnqueueing(prisma, 3, new Date(Date.now() + 10 * STALLED_ENQUEUE_MS));
      for (let i = 0; i < 200 && !(await prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } })).enqueuedAt; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await expectEachQueuedOnce(op.id, learner.id);
      expect(await prisma.bulkOperation.count({ where: { learnerId: learner.id } })).toBe(1);
    } finally {
      await short.close();
    }
  }, 60_000);

  test('while queueing goes on, the operation reads ENQUEUEING', async () => {
    const learner = await learnerWith(prisma, org, 3);
    // As an operation whose queueing has not finished leaves the row: no enqueuedAt yet.
    const op = await prisma.bulkOperation.create({ data: { organizationId: org, learnerId: learner.id, total: 3 } });
    expect((await writer.request(GET, { id: toGlobalId('BulkOperation', op.id) })).data.bulkOperation.status).toBe('ENQUEUEING');
  });

  test('an operation left part-way (its process ended) is queued on from its cursor by the sweep, once, however many sweep at once', async () => {
    const learner = await learnerWith(prisma, org, 2 * BATCH_SIZE + 3, [], 1);
    // As a process that queued one batch and then died leaves it: created long ago, cursor after batch 1.
    const long = new Date(Date.now() - 10 * STALLED_ENQUEUE_MS);
    const op = await prisma.bulkOperation.create({ data: { organizationId: org, learnerId: learner.id, total: 2 * BATCH_SIZE + 3, createdAt: long } });
    const first = await prisma.utterance.findMany({ where: { learnerId: learner.id }, orderBy: { id: 'asc' }, take: BATCH_SIZE, select: { id: true } });
    await prisma.job.createMany({ data: first.map((u) => ({ organizationId: org, utteranceId: u.id, priority: 'BULK' as const, bulkOperationId: op.id })) });
    await prisma.bulkOperation.update({ where: { id: op.id }, data: { enqueuedThrough: first.at(-1)!.id, enqueuedThroughAt: long } });
    // Recorded while it was being queued (ids are random: some land after the cursor).
    await recordFor(prisma, org, learner.id, 20);
    // A fresh operation (its process may still be queueing it) is left alone.
    const fresh = await prisma.bulkOperation.create({ data: { organizationId: org, learnerId: learner.id, total: 1 } });
    const swept = await Promise.all([sweepBulkEnqueueing(prisma, 3), sweepBulkEnqueueing(prisma, 3)]);
    expect(swept).toEqual([1, 1]);
    expect((await prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } })).enqueuedAt).not.toBeNull();
    // Those recorded while it was queued and landing after the cursor joined it; total follows.
    const queued = await prisma.job.count({ where: { bulkOperationId: op.id } });
    expect(queued).toBeGreaterThanOrEqual(2 * BATCH_SIZE + 3);
    expect((await prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } })).total).toBe(queued);
    expect(new Set((await prisma.job.findMany({ where: { bulkOperationId: op.id } })).map((j) => j.utteranceId)).size).toBe(queued);
    expect(await prisma.job.count({ where: { bulkOperationId: fresh.id } })).toBe(0);
    // A cancelled one is not taken up.
    await prisma.bulkOperation.update({ where: { id: fresh.id }, data: { cancelledAt: new Date(), createdAt: long } });
    expect(await sweepBulkEnqueueing(prisma, 3)).toBe(0);
  });

  test('the sweeper a worker process runs takes up a stalled operation at start', async () => {
    const learner = await learnerWith(prisma, org, 5, [], 1);
    const long = new Date(Date.now() - 10 * STALLED_ENQUEUE_MS);
    const op = await prisma.bulkOperation.create({ data: { organizationId: org, learnerId: learner.id, total: 5, createdAt: long } });
    const sweeper = new BulkEnqueueSweeper(prisma, 3, 60_000);
    sweeper.start();
    for (let i = 0; i < 100 && !(await prisma.bulkOperation.findUniqueOrThrow({ where: { id: op.id } })).enqueuedAt; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sweeper.stop();
    await expectEachQueuedOnce(op.id, learner.id);
  });

  test('priorities: a submission and a single re-assessment are INTERACTIVE, a bulk one BULK', async () => {
    const learner = (await writer.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, { i: { externalId: `p-${randomUUID()}` } }))
      .data.createLearner.id;
    const submitted = await writer.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`,
      { input: { learnerId: learner, referenceText: 'A bear is here', audio: null } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.5), name: 'speech.wav' },
    );
    expect(submitted.errors).toBeUndefined();
    const { utterance, job } = submitted.data.submitUtterance;
    const single = await writer.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: utterance.id });
    const op = (await start({ learnerId: learner })).data.reassessUtterances;
    const priorityOf = async (id: string) => (await prisma.job.findUniqueOrThrow({ where: { id: fromGlobalId(id)!.id } })).priority;
    expect(await priorityOf(job.id)).toBe('INTERACTIVE');
    expect(await priorityOf(single.data.reassessUtterance.id)).toBe('INTERACTIVE');
    expect((await jobsOf(op.id)).map((j) => j.priority)).toEqual(['BULK']);
    // The API shows it: which of an utterance's jobs is the bulk one.
    const read = await t.admin.request(`query($id: ID!) { utterance(id: $id) { jobs { edges { node { priority } } } } }`, { id: utterance.id });
    expect(read.data.utterance.jobs.edges.map((e: any) => e.node.priority)).toEqual(['BULK', 'INTERACTIVE', 'INTERACTIVE']);
  });

  test('progress follows the jobs through the real queue: claimed, succeeded, failed; then COMPLETED', async () => {
    await learnerWith(prisma, org, 3, ['g-progress']);
    const op = (await start({ groupExternalId: 'g-progress' })).data.reassessUtterances;
    const a = (await claimJob(prisma, 'w1', 60))!;
    const b = (await claimJob(prisma, 'w1', 60))!;
    expect((await writer.request(GET, { id: op.id })).data.bulkOperation.progress).toMatchObject({ queued: 1, running: 2 });
    expect(await completeJob(prisma, a, 'w1', async () => undefined)).toBe(true);
    expect(await failJob(prisma, b, 'w1', { code: 'CORRUPT_AUDIO', message: 'x', transient: false })).toBe('failed');
    const c = (await claimJob(prisma, 'w1', 60))!;
    expect(await completeJob(prisma, c, 'w1', async () => undefined)).toBe(true);
    // Every job has ended; COMPLETED once marked (a worker does it as the job settles, with the event).
    expect((await writer.request(GET, { id: op.id })).data.bulkOperation).toMatchObject({ status: 'RUNNING', progress: { queued: 0, running: 0 } });
    expect(await completeIfDone(prisma, fromGlobalId(op.id)!.id)).toBe(true);
    const done = (await writer.request(GET, { id: op.id })).data.bulkOperation;
    expect(done).toMatchObject({ status: 'COMPLETED', progress: { total: 3, queued: 0, running: 0, succeeded: 2, failed: 1, cancelled: 0 } });
  });

  test('completion: completedAt and one bulkOperation.completed event with the counts; none for a cancelled operation; an empty one at once', async () => {
    const completions = (opId: string) =>
      prisma.outboxEvent.findMany({ where: { type: 'bulkOperation.completed', body: { contains: opId } } });
    await learnerWith(prisma, org, 2, ['g-done']);
    const op = (await start({ groupExternalId: 'g-done' })).data.reassessUtterances;
    const a = (await claimJob(prisma, 'w1', 60))!;
    expect(await completeJob(prisma, a, 'w1', async () => undefined)).toBe(true);
    expect(await completeIfDone(prisma, fromGlobalId(op.id)!.id)).toBe(false); // one job still queued
    const b = (await claimJob(prisma, 'w1', 60))!;
    expect(await failJob(prisma, b, 'w1', { code: 'CORRUPT_AUDIO', message: 'x', transient: false })).toBe('failed');
    // Two checks at once (two workers settling its last jobs): one completes it.
    const both = await Promise.all([completeIfDone(prisma, fromGlobalId(op.id)!.id), completeIfDone(prisma, fromGlobalId(op.id)!.id)]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(await sweepBulkCompletion(prisma)).toBe(0);
    const [event] = await completions(op.id);
    expect(await completions(op.id)).toHaveLength(1);
    const read = (await writer.request(`query($id: ID!) { bulkOperation(id: $id) { status completedAt } }`, { id: op.id })).data.bulkOperation;
    expect(read.status).toBe('COMPLETED');
    expect(JSON.parse(event!.body)).toMatchObject({
      type: 'bulkOperation.completed', timestamp: new Date(read.completedAt).toISOString(),
      data: { bulkOperation: { id: op.id, groupExternalId: 'g-done', total: 2, succeeded: 1, failed: 1, completedAt: new Date(read.completedAt).toISOString() } },
    });
    // Cancelling a completed operation changes nothing: it stays COMPLETED.
    expect((await writer.request(CANCEL, { id: op.id })).data.cancelBulkOperation).toMatchObject({ status: 'COMPLETED', cancelledAt: null });

    // Cancelled with a job running: when that job ends, no completion (the canceller knows).
    await learnerWith(prisma, org, 2, ['g-cancelled']);
    const cancelled = (await start({ groupExternalId: 'g-cancelled' })).data.reassessUtterances;
    const running = (await claimJob(prisma, 'w1', 60))!;
    expect((await writer.request(CANCEL, { id: cancelled.id })).errors).toBeUndefined();
    expect(await completeJob(prisma, running, 'w1', async () => undefined)).toBe(true);
    expect(await completeIfDone(prisma, fromGlobalId(cancelled.id)!.id)).toBe(false);
    expect(await sweepBulkCompletion(prisma)).toBe(0);
    expect(await completions(cancelled.id)).toHaveLength(0);

    // Nothing selected: completed as it is queued.
    const empty = (await start({ groupExternalId: 'g-nobody' })).data.reassessUtterances;
    expect(empty).toMatchObject({ status: 'COMPLETED', progress: { total: 0 } });
    expect(await completions(empty.id)).toHaveLength(1);

    // A job that ended where no worker checked: failed by the claim after its worker's lease ran out
    // on its last attempt. The sweep completes the operation.
    await learnerWith(prisma, org, 1, ['g-swept']);
    const swept = (await start({ groupExternalId: 'g-swept' })).data.reassessUtterances;
    await prisma.job.updateMany({ where: { bulkOperationId: fromGlobalId(swept.id)!.id }, data: { maxAttempts: 1 } });
    const lone = (await claimJob(prisma, 'w1', 1))!;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await claimJob(prisma, 'w2', 60)).toBeNull(); // retired, not claimed: LEASE_EXPIRED
    expect(await prisma.job.findUniqueOrThrow({ where: { id: lone.id } })).toMatchObject({ status: 'FAILED', errorCode: 'LEASE_EXPIRED' });
    expect(await sweepBulkCompletion(prisma)).toBe(1);
    expect(await completions(swept.id)).toHaveLength(1);

    // Finished but not yet marked when cancelled: marked now, and it stays COMPLETED (with its event).
    await learnerWith(prisma, org, 1, ['g-late-cancel']);
    const late = (await start({ groupExternalId: 'g-late-cancel' })).data.reassessUtterances;
    expect(await completeJob(prisma, (await claimJob(prisma, 'w1', 60))!, 'w1', async () => undefined)).toBe(true);
    expect((await writer.request(CANCEL, { id: late.id })).data.cancelBulkOperation).toMatchObject({ status: 'COMPLETED', cancelledAt: null });
    expect(await completions(late.id)).toHaveLength(1);

    // The learner it re-assessed was erased meanwhile: completed, and no event names them.
    const erasedLearner = await learnerWith(prisma, org, 1);
    const orphan = (await start({ learnerId: toGlobalId('Learner', erasedLearner.id) })).data.reassessUtterances;
    const orphanJob = (await claimJob(prisma, 'w1', 60))!;
    expect(await completeJob(prisma, orphanJob, 'w1', async () => undefined)).toBe(true);
    expect((await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { learners } }`, { id: toGlobalId('Learner', erasedLearner.id) })).errors).toBeUndefined();
    expect(await sweepBulkCompletion(prisma)).toBe(1);
    expect(await completions(orphan.id)).toHaveLength(0);
    expect((await prisma.bulkOperation.findUniqueOrThrow({ where: { id: fromGlobalId(orphan.id)!.id } })).completedAt).not.toBeNull();
  });

  test('a group selects the learners whose groups contain it; since leaves older utterances out', async () => {
    await learnerWith(prisma, org, 2, ['class-a']);
    await learnerWith(prisma, org, 3, ['class-b', 'class-a']);
    await learnerWith(prisma, org, 4, ['class-a'], 30); // recorded a month ago
    await learnerWith(prisma, org, 5, ['class-b']);
    expect((await start({ groupExternalId: 'class-a' })).data.reassessUtterances.progress.total).toBe(9);
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const recent = (await start({ groupExternalId: 'class-a', since })).data.reassessUtterances;
    expect(recent.progress).toMatchObject({ total: 5, queued: 5 });
    expect(new Date(recent.since).toISOString()).toBe(since);
  });

  test('the whole organisation, past one batch, and nothing of another organisation', async () => {
    const other = await otherOrganization(t, ['ASSESS_WRITE', 'SCORES_READ']);
    await learnerWith(prisma, other.org.id, 7);
    await learnerWith(prisma, org, BATCH_SIZE + 20);
    await learnerWith(prisma, org, 3);
    const op = (await start({ wholeOrganisation: true })).data.reassessUtterances;
    expect(op).toMatchObject({ status: 'RUNNING', wholeOrganisation: true, progress: { total: BATCH_SIZE + 23, queued: BATCH_SIZE + 23 } });
    expect(await prisma.job.count({ where: { organizationId: other.org.id } })).toBe(0);
    expect(await prisma.job.count({ where: { organizationId: org, priority: 'BULK' } })).toBe(BATCH_SIZE + 23);
    // One job per utterance, none twice across batches.
    const jobs = await prisma.job.findMany({ where: { organizationId: org } });
    expect(new Set(jobs.map((j) => j.utteranceId)).size).toBe(BATCH_SIZE + 23);
  });

  test('cancel removes the jobs not started, leaves running ones, and is idempotent', async () => {
    await learnerWith(prisma, org, 6, ['g-cancel']);
    const op = (await start({ groupExternalId: 'g-cancel' })).data.reassessUtterances;
    const running = (await claimJob(prisma, 'w1', 60))!;
    const res = await writer.request(CANCEL, { id: op.id });
    expect(res.errors).toBeUndefined();
    expect(res.data.cancelBulkOperation).toMatchObject({ status: 'CANCELLED', progress: { total: 6, queued: 0, running: 1, cancelled: 5 } });
    expect(res.data.cancelBulkOperation.cancelledAt).not.toBeNull();
    const left = await prisma.job.findMany({ where: { organizationId: org } });
    expect(left.map((j) => j.id)).toEqual([running.id]);
    // The running job still finishes and counts.
    expect(await completeJob(prisma, running, 'w1', async () => undefined)).toBe(true);
    const again = (await writer.request(CANCEL, { id: op.id })).data.cancelBulkOperation;
    expect(again).toMatchObject({ status: 'CANCELLED', cancelledAt: res.data.cancelBulkOperation.cancelledAt, progress: { succeeded: 1, cancelled: 5 } });
    // In the audit log: started and cancelled once (the second cancel changed nothing), by the writing key.
    const events = await prisma.auditEvent.findMany({ where: { targetType: 'BulkOperation', targetId: fromGlobalId(op.id)!.id }, orderBy: { createdAt: 'asc' } });
    const key = await prisma.apiKey.findFirstOrThrow({ where: { organizationId: org, name: 'ASSESS_WRITE+SCORES_READ' }, orderBy: { createdAt: 'asc' } }); // the writer (tests/support/seed.ts names keys by scopes)
    expect(events.map((e) => [e.action, e.actorApiKeyId, e.details])).toEqual([
      ['bulkOperation.started', key.id, { learnerId: null, groupExternalId: 'g-cancel', wholeOrganisation: false, since: null, onlyFailed: false, failedWithCode: null, modelVersion: null, postGrades: false, sendStatements: false, selected: 6 }],
      ['bulkOperation.cancelled', key.id, { jobsRemoved: 5 }],
    ]);
    // Admins read them through the API.
    const audit = await t.admin.request(`{ auditEvents(first: 20, action: "bulkOperation.cancelled") { edges { node { action actor } } } }`);
    expect(audit.errors).toBeUndefined();
    expect(audit.data.auditEvents.edges.map((e: any) => e.node.action)).toContain('bulkOperation.cancelled');
  });

  test('an idempotency key returns the first operation; the same key for another selection is CONFLICT', async () => {
    const learner = await learnerWith(prisma, org, 2);
    const input = { learnerId: toGlobalId('Learner', learner.id), idempotencyKey: `k-${randomUUID()}` };
    const first = (await start(input)).data.reassessUtterances;
    const retry = (await start(input)).data.reassessUtterances;
    expect(retry.id).toBe(first.id);
    expect(first.postGrades).toBe(false);
    expect(await prisma.job.count()).toBe(2);
    const other = await start({ ...input, learnerId: undefined, wholeOrganisation: true });
    expect(errorCode(other)).toBe('CONFLICT');
    // Posting grades or not is part of the request: the same key asking for it is another request.
    expect(errorCode(await start({ ...input, postGrades: true }))).toBe('CONFLICT');
    expect(await prisma.job.count()).toBe(2);
    // A replay starts nothing: one bulkOperation.started for the operation.
    expect(await prisma.auditEvent.count({ where: { action: 'bulkOperation.started', targetId: fromGlobalId(first.id)!.id } })).toBe(1);
    // A group is stored trimmed: the same request sent again replays (it was CONFLICT, compared untrimmed).
    const grouped = { groupExternalId: ' class-7 ', idempotencyKey: `k-${randomUUID()}` };
    const firstGroup = (await start(grouped)).data.reassessUtterances;
    expect(firstGroup.groupExternalId).toBe('class-7');
    expect((await start(grouped)).data.reassessUtterances.id).toBe(firstGroup.id);
    expect((await start({ ...grouped, groupExternalId: 'class-7' })).data.reassessUtterances.id).toBe(firstGroup.id);
  });

  test('refusals: no target or two, an unknown model version, a learner of another organisation', async () => {
    const learner = await learnerWith(prisma, org, 1);
    expect(errorCode(await start({}))).toBe('BAD_USER_INPUT');
    expect(errorCode(await start({ wholeOrganisation: true, groupExternalId: 'x' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await start({ groupExternalId: 'g'.repeat(201) }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await start({ wholeOrganisation: true, modelVersion: 'no-such-version' }))).toBe('UNKNOWN_MODEL_VERSION');
    const version = t.app.services.model().version;
    const ok = (await start({ learnerId: toGlobalId('Learner', learner.id), modelVersion: version })).data.reassessUtterances;
    expect(ok.modelVersion).toBe(version);
    expect((await prisma.job.findFirstOrThrow()).requestedModelVersion).toBe(version);
    const other = await otherOrganization(t, ['ASSESS_WRITE']);
    const foreign = await learnerWith(prisma, other.org.id, 2);
    expect(errorCode(await start({ learnerId: toGlobalId('Learner', foreign.id) }))).toBe('NOT_FOUND');
    expect(await prisma.job.count({ where: { organizationId: other.org.id } })).toBe(0);
  });

  test('scopes and tenancy: ASSESS_WRITE starts and cancels, SCORES_READ reads; another organisation sees null and cannot cancel', async () => {
    await learnerWith(prisma, org, 2, ['g-scope']);
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    const writeOnly = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await start({ groupExternalId: 'g-scope' }, reader))).toBe('FORBIDDEN');
    // The writer gets its own operation back, but not its progress (how many utterances matched,
    // and by `since` when, is learner data), and cannot poll it (like a Job).
    const withProgress = await start({ groupExternalId: 'g-scope' }, writeOnly);
    expect(errorCode(withProgress)).toBe('FORBIDDEN');
    expect(withProgress.errors![0]!.message).toMatch(/SCORES_READ/);
    expect(withProgress.data).toBeNull(); // progress is non-null: the refusal nulls the operation
    const started = await writeOnly.request(
      `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id groupExternalId since createdAt } }`,
      { i: { groupExternalId: 'g-scope', since: '2020-01-01T00:00:00Z' } },
    );
    expect(started.errors).toBeUndefined();
    const op = started.data.reassessUtterances;
    expect(op).toMatchObject({ groupExternalId: 'g-scope', since: '2020-01-01T00:00:00.000Z' });
    expect(errorCode(await writeOnly.request(GET, { id: op.id }))).toBe('FORBIDDEN');
    expect((await reader.request(GET, { id: op.id })).data.bulkOperation.progress).toMatchObject({ total: 2, queued: 2 });
    expect(errorCode(await reader.request(CANCEL, { id: op.id }))).toBe('FORBIDDEN');
    const node = (await writer.request(NODE, { id: op.id })).data.node;
    expect(node).toEqual({ __typename: 'BulkOperation', id: op.id, progress: { total: 2 } });

    const other = await otherOrganization(t, ['ADMIN', 'ASSESS_WRITE', 'SCORES_READ']);
    const seen = await other.client.request(GET, { id: op.id });
    expect(seen.errors).toBeUndefined();
    expect(seen.data.bulkOperation).toBeNull();
    expect(errorCode(await other.client.request(CANCEL, { id: op.id }))).toBe('NOT_FOUND');
    expect(await jobsOf(op.id)).toHaveLength(2);

    // The writer cancels it, and reads back what it asked for, not whether the cancel found the
    // operation still running (cancelledAt stays null on one that had completed).
    const cancelled = await writeOnly.request(`mutation($id: ID!) { cancelBulkOperation(id: $id) { id groupExternalId cancelledAt } }`, { id: op.id });
    expect(errorCode(cancelled)).toBe('FORBIDDEN');
    expect(cancelled.data.cancelBulkOperation).toEqual({ id: op.id, groupExternalId: 'g-scope', cancelledAt: null });
    expect(await jobsOf(op.id)).toHaveLength(0);
    expect((await reader.request(GET, { id: op.id })).data.bulkOperation).toMatchObject({ status: 'CANCELLED', cancelledAt: expect.any(String) });

    // Nor its status or completion: a selection that matched nothing completes at once, so they would
    // tell whether a learner recorded anything since `since`. The writer gets the same answer for an
    // empty selection as for this one; a reader sees the difference.
    const WHERE = `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { groupExternalId completedAt } }`;
    const STATUS = `mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id status } }`;
    for (const group of ['g-scope', 'g-nobody']) {
      const withStatus = await writeOnly.request(STATUS, { i: { groupExternalId: group } });
      expect(errorCode(withStatus)).toBe('FORBIDDEN');
      expect(withStatus.errors![0]!.message).toMatch(/SCORES_READ/);
      expect(withStatus.data).toBeNull(); // status is non-null: the refusal nulls the operation
      const withCompletion = await writeOnly.request(WHERE, { i: { groupExternalId: group } });
      expect(errorCode(withCompletion)).toBe('FORBIDDEN');
      expect(withCompletion.data.reassessUtterances).toEqual({ groupExternalId: group, completedAt: null });
    }
    const empty = await writeOnly.request(`mutation { reassessUtterances(input: {groupExternalId: "g-nobody"}) { id } }`);
    const seenByReader = await reader.request(`query($id: ID!) { bulkOperation(id: $id) { status completedAt progress { total } } }`, { id: empty.data.reassessUtterances.id });
    expect(seenByReader.data.bulkOperation).toMatchObject({ status: 'COMPLETED', completedAt: expect.any(String), progress: { total: 0 } });
  });
});
