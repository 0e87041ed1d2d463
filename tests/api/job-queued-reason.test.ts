/**
 * `Job.queuedReason` and `Job.nextAttemptAt`: why a QUEUED job has not started, over real HTTP on
 * the real server (no in-process worker), with real workers' heartbeats (HeartbeatPublisher, as a
 * worker on another host writes them) and the real queue's claim and failure paths.
 */
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { seedUtterance } from '../support/seed.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { HeartbeatPublisher } from '../../src/jobs/heartbeat.js';
import { claimJob, failJob } from '../../src/jobs/queue.js';
import { readManifest } from '../../src/inference/bundle.js';

const DATABASES = await testDatabases();
const DEFAULT_VERSION = readManifest(path.resolve('models/default')).version;
const JOB = `query($id: ID!) { job(id: $id) { status attempts queuedReason nextAttemptAt leaseExpiresAt stalled createdAt requestedModelVersion error { code } } }`;

describe.each(DATABASES)('why a queued job waits [%s]', (kind) => {
  let t: TestApp;
  let utteranceId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false, readyWorkerSeconds: 30 });
    const org = await t.app.services.prisma.organization.findFirstOrThrow();
    utteranceId = toGlobalId('Utterance', (await seedUtterance(t.app.services.prisma, org.id, 'WE CALL IT BEAR')).id);
  });
  afterAll(() => t?.dispose());

  const reassess = async (modelVersion?: string) => {
    const res = await t.admin.request(`mutation($u: ID!, $v: String) { reassessUtterance(utteranceId: $u, modelVersion: $v) { id } }`, { u: utteranceId, v: modelVersion ?? null });
    expect(res.errors).toBeUndefined();
    return res.data.reassessUtterance.id as string;
  };
  const job = async (id: string) => {
    const res = await t.admin.request(JOB, { id });
    expect(res.errors).toBeUndefined();
    return res.data.job;
  };
  const worker = (id: string, versions: string[]) =>
    new HeartbeatPublisher(
      t.app.services.prisma,
      { workerId: `${id}:1:x`, host: id, pid: 1, model: { ...readManifest(path.resolve('models/default')), version: versions[0]! }, modelVersions: versions, executionProvider: 'cpu', concurrency: 1 },
      () => 0,
      60_000,
    );

  test('no live worker: WAITING_FOR_WORKER; a worker for its version: IN_LINE; one for another version only: still waiting', async () => {
    const any = await reassess();
    const pinned = await reassess(DEFAULT_VERSION);
    const waiting = await job(any);
    expect(waiting).toMatchObject({ status: 'QUEUED', queuedReason: 'WAITING_FOR_WORKER', requestedModelVersion: null, error: null });
    expect(Math.abs(Date.parse(waiting.nextAttemptAt) - Date.parse(waiting.createdAt))).toBeLessThan(5_000);
    expect((await job(pinned)).queuedReason).toBe('WAITING_FOR_WORKER');

    const other = worker('other-host', ['other-9.9']);
    await other.start();
    try {
      // Any worker will do for a job that asks for no version; the pinned one needs its own.
      expect((await job(any)).queuedReason).toBe('IN_LINE');
      expect((await job(pinned)).queuedReason).toBe('WAITING_FOR_WORKER');
      const serving = worker('gpu-host', [DEFAULT_VERSION]);
      await serving.start();
      try {
        expect((await job(pinned)).queuedReason).toBe('IN_LINE');
      } finally {
        await serving.stop();
      }
      // A stopped worker serves nothing.
      expect((await job(pinned)).queuedReason).toBe('WAITING_FOR_WORKER');
    } finally {
      await other.stop();
    }
  });

  test('after a transient failure: RETRY_BACKOFF until nextAttemptAt; running: neither', async () => {
    const { prisma } = t.app.services;
    await prisma.job.updateMany({ where: { status: 'QUEUED' }, data: { status: 'FAILED' } }); // the other test's jobs
    const id = await reassess();
    const claimed = (await claimJob(prisma, 'w-test', 30))!;
    expect(toGlobalId('Job', claimed.id)).toBe(id);
    const running = await job(id);
    expect(running).toMatchObject({ status: 'RUNNING', queuedReason: null, nextAttemptAt: null, stalled: false });
    // The 30 s lease, from the claim.
    expect(Date.parse(running.leaseExpiresAt) - Date.now()).toBeGreaterThan(20_000);
    expect(Date.parse(running.leaseExpiresAt) - Date.now()).toBeLessThan(31_000);

    const before = Date.now();
    expect(await failJob(prisma, claimed, 'w-test', { code: 'MODEL_UNAVAILABLE', message: 'restarting', transient: true }, () => 1)).toBe('retry');
    const retrying = await job(id);
    expect(retrying).toMatchObject({ status: 'QUEUED', queuedReason: 'RETRY_BACKOFF', error: { code: 'MODEL_UNAVAILABLE' } });
    // The first retry waits 2 s (jitter 1.0).
    expect(Date.parse(retrying.nextAttemptAt) - before).toBeGreaterThan(1_000);
    expect(Date.parse(retrying.nextAttemptAt) - before).toBeLessThan(3_000);
    // Once the delay is over it waits for a worker again, like any due job.
    await prisma.job.update({ where: { id: claimed.id }, data: { runAfter: new Date(Date.now() - 1_000) } });
    expect((await job(id)).queuedReason).toBe('WAITING_FOR_WORKER');
    expect(await job(id)).toMatchObject({ leaseExpiresAt: null, stalled: null });
  });

  test('a worker that stops renewing its lease: stalled once the lease is over, until a claim takes the job back', async () => {
    const { prisma } = t.app.services;
    await prisma.job.updateMany({ where: { status: { in: ['QUEUED', 'RUNNING'] } }, data: { status: 'FAILED' } }); // the other tests' jobs
    const id = await reassess();
    // A worker that claims with a 3 s lease and then dies: it never renews.
    const claimed = (await claimJob(prisma, 'w-dies', 3))!;
    expect(toGlobalId('Job', claimed.id)).toBe(id);
    const held = await job(id);
    expect(held).toMatchObject({ status: 'RUNNING', attempts: 1, stalled: false, queuedReason: null });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(held.leaseExpiresAt) - Date.now()) + 300));
    const stalled = await job(id);
    expect(stalled).toMatchObject({ status: 'RUNNING', attempts: 1, stalled: true, leaseExpiresAt: held.leaseExpiresAt });

    // The next claim takes it back as a new attempt, saying why the first ended.
    const again = (await claimJob(prisma, 'w-next', 30))!;
    expect(again.id).toBe(claimed.id);
    expect(await job(id)).toMatchObject({ status: 'RUNNING', attempts: 2, stalled: false, error: { code: 'LEASE_EXPIRED' } });
    const done = await job(id);
    expect(Date.parse(done.leaseExpiresAt)).toBeGreaterThan(Date.parse(held.leaseExpiresAt));
  });
});
