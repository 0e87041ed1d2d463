import { openDatabase } from '../../src/db/client.js';
import {
  backoffMs, BACKOFF_CAP_MS, claimJob, completeJob, countClaimableJobs, extendLease, failJob, LEASE_EXPIRED, releaseJob,
} from '../../src/jobs/queue.js';
import { describeEachDatabase } from '../support/db.js';
import { createJobs, sleep, waitFor, writeAssessment } from './fixtures.js';
import { emitJobFailed } from '../../src/outbox/events.js';

describe('backoffMs', () => {
  test('2 s base, doubling, 5 min cap, jitter in the upper half', () => {
    expect(backoffMs(1, () => 0)).toBe(1000);
    expect(backoffMs(1, () => 1)).toBe(2000);
    expect(backoffMs(2, () => 1)).toBe(4000);
    expect(backoffMs(3, () => 0.5)).toBe(6000);
    expect(backoffMs(20, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffMs(20, () => 0)).toBe(BACKOFF_CAP_MS / 2);
    for (let i = 0; i < 50; i++) {
      const v = backoffMs(4);
      expect(v).toBeGreaterThanOrEqual(8000);
      expect(v).toBeLessThanOrEqual(16000);
    }
  });
});

describeEachDatabase('job queue', (ctx) => {
  beforeEach(async () => {
    await ctx.db.reset();
  });

  test('nothing to claim', async () => {
    expect(await claimJob(ctx.prisma, 'w1', 30)).toBeNull();
  });

  test('claim takes the oldest due job and leases it', async () => {
    const [first, second] = await createJobs(ctx.prisma, 2);
    await createJobs(ctx.prisma, 1, { runAfter: new Date(Date.now() + 60_000) }); // not due
    const job = await claimJob(ctx.prisma, 'w1', 30);
    expect(job).toMatchObject({ id: first!.id, status: 'RUNNING', attempts: 1, lockedBy: 'w1' });
    expect(job!.startedAt).toBeInstanceOf(Date);
    const leaseMs = job!.leaseExpiresAt!.getTime() - Date.now();
    expect(leaseMs).toBeGreaterThan(25_000);
    expect(leaseMs).toBeLessThan(35_000);
    expect((await claimJob(ctx.prisma, 'w2', 30))!.id).toBe(second!.id);
    expect(await claimJob(ctx.prisma, 'w3', 30)).toBeNull();
    expect(await countClaimableJobs(ctx.prisma)).toBe(0);
  });

  test('complete writes the result and marks SUCCEEDED in one transaction, only for the holder', async () => {
    const [created] = await createJobs(ctx.prisma, 1);
    const job = (await claimJob(ctx.prisma, 'w1', 30))!;
    let called = false;
    expect(await completeJob(ctx.prisma, job, 'intruder', async () => { called = true; })).toBe(false);
    expect(called).toBe(false);

    // A writer that throws rolls everything back: job still RUNNING, no assessment.
    await expect(
      completeJob(ctx.prisma, job, 'w1', async (tx) => {
        await writeAssessment(job)(tx);
        throw new Error('writer bug');
      }),
    ).rejects.toThrow('writer bug');
    expect(await ctx.prisma.assessment.count()).toBe(0);
    expect((await ctx.prisma.job.findUniqueOrThrow({ where: { id: created!.id } })).status).toBe('RUNNING');

    expect(await completeJob(ctx.prisma, job, 'w1', writeAssessment(job))).toBe(true);
    const done = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job.id }, include: { assessment: true } });
    expect(done).toMatchObject({ status: 'SUCCEEDED', leaseExpiresAt: null, errorCode: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(done.assessment?.jobId).toBe(job.id);
    // Completing twice does nothing.
    expect(await completeJob(ctx.prisma, job.id, 'w1', async () => { called = true; })).toBe(false);
    expect(called).toBe(false);
  });

  test('transient failure re-queues with backoff; permanent or exhausted failure is FAILED', async () => {
    await createJobs(ctx.prisma, 1, { maxAttempts: 2 });
    const a1 = (await claimJob(ctx.prisma, 'w1', 30))!;
    expect(await failJob(ctx.prisma, a1, 'w2', { code: 'X', message: 'not yours', transient: true })).toBe('lost');
    const t0 = Date.now();
    expect(await failJob(ctx.prisma, a1, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'model server restarting', transient: true }, () => 1)).toBe('retry');
    const queued = await ctx.prisma.job.findUniqueOrThrow({ where: { id: a1.id } });
    expect(queued).toMatchObject({ status: 'QUEUED', attempts: 1, lockedBy: null, leaseExpiresAt: null, errorCode: 'MODEL_UNAVAILABLE', errorMessage: 'model server restarting', finishedAt: null });
    const delay = queued.runAfter.getTime() - t0;
    expect(delay).toBeGreaterThan(1500); // attempt 1 with jitter 1.0 → 2 s
    expect(delay).toBeLessThan(2500);
    expect(await claimJob(ctx.prisma, 'w1', 30)).toBeNull(); // still backing off

    await ctx.prisma.job.update({ where: { id: a1.id }, data: { runAfter: new Date(Date.now() - 1000) } });
    const a2 = (await claimJob(ctx.prisma, 'w1', 30))!;
    expect(a2.attempts).toBe(2);
    // attempts == maxAttempts: a transient error is final now.
    expect(await failJob(ctx.prisma, a2, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'still down', transient: true })).toBe('failed');
    const failed = await ctx.prisma.job.findUniqueOrThrow({ where: { id: a1.id } });
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 2, errorCode: 'MODEL_UNAVAILABLE', leaseExpiresAt: null });
    expect(failed.finishedAt).toBeInstanceOf(Date);

    const [other] = await createJobs(ctx.prisma, 1);
    const b = (await claimJob(ctx.prisma, 'w1', 30))!;
    expect(b.id).toBe(other!.id);
    expect(
      await failJob(ctx.prisma, b, 'w1', { code: 'MODEL_OUTPUT_INVALID', message: 'no JSON in response', rawOutput: 'Score: great', transient: false }),
    ).toBe('failed');
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: b.id } })).toMatchObject({
      status: 'FAILED', attempts: 1, errorCode: 'MODEL_OUTPUT_INVALID', rawOutput: 'Score: great',
    });
  });

  test('an expired lease is claimed again; the old holder can no longer extend or complete', async () => {
    await createJobs(ctx.prisma, 1);
    const first = (await claimJob(ctx.prisma, 'w1', 1))!;
    expect(await extendLease(ctx.prisma, first, 'w1', 1)).toBe(true);
    expect(await claimJob(ctx.prisma, 'w2', 1)).toBeNull();
    await sleep(1300);
    const second = (await claimJob(ctx.prisma, 'w2', 30))!;
    expect(second).toMatchObject({ id: first.id, status: 'RUNNING', attempts: 2, lockedBy: 'w2', errorCode: LEASE_EXPIRED });
    expect(await extendLease(ctx.prisma, first, 'w1', 30)).toBe(false);
    expect(await completeJob(ctx.prisma, first, 'w1', writeAssessment(first))).toBe(false);
    expect(await failJob(ctx.prisma, first, 'w1', { code: 'X', message: 'x', transient: false })).toBe('lost');
    // Even the same worker id cannot finish an attempt that was taken over (attempt fencing).
    await sleep(50);
    expect(await completeJob(ctx.prisma, second, 'w2', writeAssessment(second))).toBe(true);
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: first.id } })).toMatchObject({ status: 'SUCCEEDED', attempts: 2, errorCode: null });
  });

  test('same worker id reclaiming its own expired job fences the older attempt', async () => {
    await createJobs(ctx.prisma, 1);
    const a1 = (await claimJob(ctx.prisma, 'w1', 1))!;
    await sleep(1300);
    const a2 = (await claimJob(ctx.prisma, 'w1', 30))!;
    expect(a2.attempts).toBe(2);
    expect(await completeJob(ctx.prisma, a1, 'w1', writeAssessment(a1))).toBe(false);
    expect(await extendLease(ctx.prisma, a2, 'w1', 30)).toBe(true);
  });

  test('a job whose last attempt lost its lease is marked FAILED, not run again', async () => {
    const [job] = await createJobs(ctx.prisma, 1, { maxAttempts: 1 });
    const [next] = await createJobs(ctx.prisma, 1, { runAfter: new Date(Date.now() + 500) });
    await claimJob(ctx.prisma, 'w1', 1);
    await sleep(1300);
    const claimed = await claimJob(ctx.prisma, 'w2', 30);
    expect(claimed?.id).toBe(next!.id); // the exhausted one was retired, the next due one returned
    const retired = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
    expect(retired).toMatchObject({ status: 'FAILED', attempts: 1, errorCode: LEASE_EXPIRED, leaseExpiresAt: null, lockedBy: 'w1' });
    expect(retired.errorMessage).toContain('no attempts left');
    expect(retired.finishedAt).toBeInstanceOf(Date);
  });

  test('release hands a held job back at once, the attempt not counted against the budget; only the holder can release', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const budget = job!.maxAttempts;
    const a1 = (await claimJob(ctx.prisma, 'w1', 300))!;
    expect(await releaseJob(ctx.prisma, a1, 'w2')).toBe(false);
    expect(await releaseJob(ctx.prisma, { id: a1.id, attempts: a1.attempts + 1 }, 'w1')).toBe(false);
    expect(await releaseJob(ctx.prisma, a1, 'w1')).toBe(true);
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: a1.id } })).toMatchObject({
      status: 'QUEUED', attempts: 1, maxAttempts: budget + 1, lockedBy: null, leaseExpiresAt: null, startedAt: null,
    });
    expect(await countClaimableJobs(ctx.prisma)).toBe(1); // no lease to wait for
    // Claimed again by the same worker id (a restarted worker): the number is new (attempt numbers
    // never repeat), so the released attempt is fenced off by its number alone; the new one is not.
    const a2 = (await claimJob(ctx.prisma, 'w1', 300))!;
    expect(a2).toMatchObject({ id: a1.id, attempts: 2, lockedBy: 'w1' });
    expect(await extendLease(ctx.prisma, a1, 'w1', 300)).toBe(false);
    expect(await releaseJob(ctx.prisma, a1, 'w1')).toBe(false);
    expect(await completeJob(ctx.prisma, a1, 'w1', writeAssessment(a1))).toBe(false);
    expect(await completeJob(ctx.prisma, a2, 'w1', writeAssessment(a2))).toBe(true);
    expect(await releaseJob(ctx.prisma, a2, 'w1')).toBe(false); // finished jobs stay finished
    expect(await ctx.prisma.assessment.count()).toBe(1);
  });

  test('a released attempt does not lengthen the backoff of the next failure', async () => {
    await createJobs(ctx.prisma, 1);
    const a1 = (await claimJob(ctx.prisma, 'w1', 300))!;
    expect(await releaseJob(ctx.prisma, a1, 'w1')).toBe(true);
    const a2 = (await claimJob(ctx.prisma, 'w1', 300))!;
    expect(a2).toMatchObject({ attempts: 2, releasedAttempts: 1 });
    const t0 = Date.now();
    expect(await failJob(ctx.prisma, a2, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'down', transient: true }, () => 1)).toBe('retry');
    const queued = await ctx.prisma.job.findUniqueOrThrow({ where: { id: a2.id } });
    expect(queued).toMatchObject({ status: 'QUEUED', attempts: 2, releasedAttempts: 1 });
    // The first failure waits the first delay (2 s at jitter 1.0), not the second's 4 s.
    const delay = queued.runAfter.getTime() - t0;
    expect(delay).toBeGreaterThan(1500);
    expect(delay).toBeLessThan(2500);

    // A second failure after that doubles it, as for a job never released.
    await ctx.prisma.job.update({ where: { id: a2.id }, data: { runAfter: new Date(Date.now() - 1000) } });
    const a3 = (await claimJob(ctx.prisma, 'w1', 300))!;
    const t1 = Date.now();
    expect(await failJob(ctx.prisma, a3, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'down', transient: true }, () => 1)).toBe('retry');
    const again = (await ctx.prisma.job.findUniqueOrThrow({ where: { id: a3.id } })).runAfter.getTime() - t1;
    expect(again).toBeGreaterThan(3500);
    expect(again).toBeLessThan(4500);
  });

  test('a retired job gets its assessment.failed event with the FAILED row', async () => {
    const [job] = await createJobs(ctx.prisma, 1, { maxAttempts: 1 });
    await claimJob(ctx.prisma, 'w1', 1);
    await sleep(1300);
    expect(await claimJob(ctx.prisma, 'w2', 30, { onFailed: emitJobFailed })).toBeNull();
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).toMatchObject({ status: 'FAILED', errorCode: LEASE_EXPIRED });
    const events = await ctx.prisma.outboxEvent.findMany({ where: { organizationId: job!.organizationId } });
    expect(events.map((e) => e.type)).toEqual(['assessment.failed']);
    expect(JSON.parse(events[0]!.body).data).toMatchObject({ job: { status: 'FAILED', error: { code: LEASE_EXPIRED } } });
  });

  if (ctx.kind === 'postgres') {
    test('retiring an exhausted job while its learner is being erased: the claim waits for the erasure, no deadlock', async () => {
      const [job] = await createJobs(ctx.prisma, 1, { maxAttempts: 1 });
      const { learnerId } = await ctx.prisma.utterance.findUniqueOrThrow({ where: { id: job!.utteranceId } });
      await claimJob(ctx.prisma, 'w1', 1);
      await sleep(1300);
      const eraser = await openDatabase({ databaseUrl: ctx.db.url, dataDir: 'memory://' });
      try {
        // An erasure's lock order (src/admin/erase.ts): the learner, then its jobs, then the deletion.
        let learnerLocked!: (xid: string) => void;
        const locked = new Promise<string>((resolve) => (learnerLocked = resolve));
        let claimWaits!: () => void;
        const waiting = new Promise<void>((resolve) => (claimWaits = resolve));
        const erasure = eraser.prisma.$transaction(async (tx) => {
          await tx.$queryRawUnsafe(`SELECT "id" FROM "Learner" WHERE "id" = $1::uuid FOR UPDATE`, learnerId);
          const [{ xid }] = await tx.$queryRawUnsafe<{ xid: string }[]>(`SELECT pg_current_xact_id()::text AS "xid"`);
          learnerLocked(xid);
          await waiting;
          await tx.$queryRawUnsafe(`SELECT "id" FROM "Job" WHERE "utteranceId" = $1::uuid FOR UPDATE`, job!.utteranceId);
          await tx.$executeRawUnsafe(`DELETE FROM "Learner" WHERE "id" = $1::uuid`, learnerId);
        }, { timeout: 30_000 });
        const xid = await locked;
        const claim = claimJob(ctx.prisma, 'w2', 30, { onFailed: emitJobFailed });
        // The claim (the only other transaction on this learner) now waits for the erasure's lock.
        await waitFor(async () => {
          const [{ n }] = await ctx.prisma.$queryRawUnsafe<{ n: number }[]>(
            `SELECT count(*)::int AS "n" FROM pg_locks WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted`, xid);
          return n > 0;
        });
        claimWaits();
        // Before the fix the claim held the job's row while it waited: the erasure's next lock closed
        // the cycle and PostgreSQL aborted one of them (40P01).
        await expect(erasure).resolves.toBeUndefined();
        await expect(claim).resolves.toBeNull();
        expect(await ctx.prisma.job.count({ where: { id: job!.id } })).toBe(0);
        expect(await ctx.prisma.outboxEvent.count({ where: { organizationId: job!.organizationId } })).toBe(0);
      } finally {
        await eraser.close();
      }
    });

    test('concurrent claimers (separate clients) never get the same job', async () => {
      const jobs = await createJobs(ctx.prisma, 40);
      const clients = await Promise.all([0, 1, 2].map(() => openDatabase({ databaseUrl: ctx.db.url, dataDir: 'memory://' })));
      try {
        const claimers = [ctx.prisma, ...clients.map((c) => c.prisma)].flatMap((prisma, i) =>
          [0, 1].map(async (j) => {
            const got: string[] = [];
            for (;;) {
              const job = await claimJob(prisma, `w${i}.${j}`, 30);
              if (!job) return got;
              got.push(job.id);
            }
          }),
        );
        const claimed = (await Promise.all(claimers)).flat();
        expect(claimed).toHaveLength(jobs.length);
        expect(new Set(claimed).size).toBe(jobs.length);
        const rows = await ctx.prisma.job.findMany();
        expect(rows.every((r) => r.status === 'RUNNING' && r.attempts === 1)).toBe(true);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });
  }
});
