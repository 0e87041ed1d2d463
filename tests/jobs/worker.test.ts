import type { Job } from '../../src/generated/prisma/client.js';
import type { JobFailure } from '../../src/jobs/queue.js';
import { Worker, type JobHandler, type WorkerOptions } from '../../src/jobs/worker.js';
import { describeEachDatabase } from '../support/db.js';
import { openDatabase } from '../../src/db/client.js';
import { createJobs, sleep, waitFor, writeAssessment } from './fixtures.js';

class TransientError extends Error {}

const classifyError = (err: unknown): JobFailure =>
  err instanceof TransientError
    ? { code: 'MODEL_UNAVAILABLE', message: err.message, transient: true }
    : { code: 'MODEL_OUTPUT_INVALID', message: (err as Error).message, rawOutput: 'raw!', transient: false };

describeEachDatabase('Worker', (ctx) => {
  const workers: Worker[] = [];
  const make = (handler: JobHandler, extra: Partial<WorkerOptions> = {}) => {
    const w = new Worker({
      prisma: ctx.prisma, leaseSeconds: 30, pollIntervalMs: 50, concurrency: 2, handler, classifyError,
      onError: (err, c) => { if (!String(err).includes('worker stopped')) console.warn(c, err); },
      ...extra,
    });
    workers.push(w);
    return w;
  };
  beforeEach(async () => {
    await ctx.db.reset();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false })));
  });

  test('runs every job to SUCCEEDED with its result, respecting concurrency', async () => {
    const jobs = await createJobs(ctx.prisma, 6);
    let active = 0;
    let maxActive = 0;
    const w = make(async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      active--;
      return writeAssessment(job);
    });
    w.start();
    await w.drain();
    expect(maxActive).toBe(2);
    const rows = await ctx.prisma.job.findMany({ include: { assessment: true } });
    expect(rows).toHaveLength(jobs.length);
    for (const r of rows) {
      expect(r).toMatchObject({ status: 'SUCCEEDED', attempts: 1, lockedBy: w.workerId });
      expect(r.assessment).not.toBeNull();
    }
  });

  test('wake() picks up a job submitted after start without waiting for the poll', async () => {
    const w = make(async (job) => writeAssessment(job), { pollIntervalMs: 60_000 });
    w.start();
    await sleep(200); // first poll found nothing; the next one is a minute away
    const [job] = await createJobs(ctx.prisma, 1);
    w.wake();
    await waitFor(async () => (await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).status === 'SUCCEEDED', 5000, 20);
  });

  test('a transient error retries after backoff; a permanent one fails with the error stored', async () => {
    const [flaky, broken] = await createJobs(ctx.prisma, 2);
    const calls = new Map<string, number>();
    const w = make(async (job: Job) => {
      const n = (calls.get(job.id) ?? 0) + 1;
      calls.set(job.id, n);
      if (job.id === broken!.id) throw new Error('unparseable model output');
      if (n === 1) throw new TransientError('model server busy');
      return writeAssessment(job);
    });
    w.start();
    await w.drain(); // flaky is backing off now (2 s at most), broken is FAILED
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: broken!.id } })).toMatchObject({
      status: 'FAILED', attempts: 1, errorCode: 'MODEL_OUTPUT_INVALID', errorMessage: 'unparseable model output', rawOutput: 'raw!',
    });
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: flaky!.id } })).toMatchObject({ status: 'QUEUED', attempts: 1, errorCode: 'MODEL_UNAVAILABLE' });
    const done = await waitFor(async () => {
      const j = await ctx.prisma.job.findUniqueOrThrow({ where: { id: flaky!.id } });
      return j.status === 'SUCCEEDED' && j;
    }, 8000);
    expect(done).toMatchObject({ attempts: 2, errorCode: null });
  });

  test('an attempt past its time limit is given up as transient, its handler signalled; attempts run out to FAILED', async () => {
    const [job] = await createJobs(ctx.prisma, 1, { maxAttempts: 2 });
    const signals: AbortSignal[] = [];
    // A handler that never settles, as a wedged inference would (the lease is renewed all the while).
    const w = make((_job, signal) => {
      signals.push(signal);
      return new Promise<never>(() => undefined);
    }, { maxAttemptMs: 300 });
    w.start();
    const first = await waitFor(async () => {
      const j = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
      return j.attempts === 1 && j.status === 'QUEUED' && j;
    }, 8000);
    expect(first).toMatchObject({ errorCode: 'ATTEMPT_TIMED_OUT', lockedBy: null });
    expect(signals[0]!.aborted).toBe(true);
    const failed = await waitFor(async () => {
      const j = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
      return j.status === 'FAILED' && j;
    }, 20_000);
    expect(failed).toMatchObject({ attempts: failed.maxAttempts, errorCode: 'ATTEMPT_TIMED_OUT' });
  });

  test('a timed-out attempt keeps its slot until its handler stops (an inference cannot be interrupted): never more attempts at once than the concurrency', async () => {
    await createJobs(ctx.prisma, 2);
    let active = 0;
    let maxActive = 0;
    let slowId: string | undefined;
    const order: string[] = [];
    const w = make(async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const name = (slowId ??= job.id) === job.id ? 'slow' : 'next';
      order.push(`start ${name}`);
      // The first job's first attempt outlasts the limit (400 ms) but stops well within a second one.
      if (order.length === 1) await sleep(550);
      order.push(`end ${name}`);
      active--;
      return writeAssessment(job);
    }, { concurrency: 1, maxAttemptMs: 400 });
    w.start();
    await waitFor(async () => (await ctx.prisma.job.count({ where: { status: 'SUCCEEDED' } })) === 2, 20_000);
    expect(maxActive).toBe(1);
    // The next job waited for the timed-out handler to stop, not only for its failure to be recorded.
    expect(order.slice(0, 3)).toEqual(['start slow', 'end slow', 'start next']);
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: slowId! } })).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  test('the heartbeat keeps a long job leased: another worker never steals it', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const seen: string[] = [];
    const handler: JobHandler = async (j) => {
      seen.push(j.id);
      await sleep(2500); // 2.5 leases
      return writeAssessment(j);
    };
    const a = make(handler, { leaseSeconds: 1, workerId: 'A' });
    const b = make(handler, { leaseSeconds: 1, workerId: 'B' });
    a.start();
    await waitFor(async () => seen.length === 1, 5000, 10);
    b.start();
    await waitFor(async () => (await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).status === 'SUCCEEDED', 8000);
    expect(seen).toHaveLength(1);
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).toMatchObject({ attempts: 1, lockedBy: 'A' });
  });

  test('a worker killed mid-job: a second worker finishes it once the lease expires', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    let started = false;
    const a = make(async (j, signal) => {
      started = true;
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      return writeAssessment(j); // never reached
    }, { leaseSeconds: 1, workerId: 'A' });
    a.start();
    await waitFor(async () => started, 5000, 10);
    await a.stop({ graceful: false });
    const leased = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
    expect(leased).toMatchObject({ status: 'RUNNING', lockedBy: 'A' }); // the kill wrote nothing

    const b = make(async (j) => writeAssessment(j), { leaseSeconds: 1, workerId: 'B' });
    b.start();
    const done = await waitFor(async () => {
      const j = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id }, include: { assessment: true } });
      return j.status === 'SUCCEEDED' && j;
    }, 8000, 50);
    expect(done).toMatchObject({ attempts: 2, lockedBy: 'B' });
    expect(done.assessment).not.toBeNull();
    // taken over once A's lease had run out, not before (waitFor's 8 s bounds how long that took)
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(leased.leaseExpiresAt!.getTime());
  });

  test('graceful stop waits for the running job and records it', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    let started = false;
    const w = make(async (j) => {
      started = true;
      await sleep(300);
      return writeAssessment(j);
    });
    w.start();
    await waitFor(async () => started, 5000, 10);
    await w.stop({ graceful: true });
    expect((await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).status).toBe('SUCCEEDED');
  });
  test('graceful stop past its deadline releases the running job; another worker takes it without waiting for the lease', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    let started = false;
    let aborted = false;
    const outcomes: string[] = [];
    const a = make(async (j, signal) => {
      started = true;
      await new Promise((_, reject) => signal.addEventListener('abort', () => { aborted = true; reject(signal.reason); }));
      return writeAssessment(j); // never reached
    }, { leaseSeconds: 300, workerId: 'A', onJobSettled: (_j, o) => outcomes.push(o) });
    a.start();
    await waitFor(async () => started, 5000, 10);
    await a.stop({ graceful: true, deadlineMs: 100 });
    expect(aborted).toBe(true);
    expect(outcomes).toEqual(['released']);
    // Handed back: attempt 1 keeps its number but not its place in the budget.
    expect(await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).toMatchObject({
      status: 'QUEUED', attempts: 1, maxAttempts: job!.maxAttempts + 1, lockedBy: null, leaseExpiresAt: null,
    });

    // The lease was 300 s: B finishing it at all shows it did not wait for an expiry.
    const b = make(async (j) => writeAssessment(j), { leaseSeconds: 300, workerId: 'B' });
    b.start();
    await b.drain();
    const done = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id }, include: { assessment: true } });
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2, maxAttempts: job!.maxAttempts + 1, lockedBy: 'B', errorCode: null });
    expect(done.assessment).not.toBeNull();
  });

  test('a worker stopped and started again gives the job it handed back a new attempt number, and the old attempt stays fenced off', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const seen: number[] = [];
    let releaseOld: (() => void) | null = null;
    const a = make(async (j, signal) => {
      seen.push(j.attempts);
      if (seen.length === 1) {
        // The first attempt ignores the abort and writes late, after the restart claimed the job.
        await new Promise<void>((resolve) => { releaseOld = resolve; });
        return writeAssessment(j);
      }
      return writeAssessment(j);
    }, { leaseSeconds: 300, workerId: 'A' });
    a.start();
    await waitFor(async () => releaseOld !== null, 5000, 10);
    await a.stop({ graceful: true, deadlineMs: 50 });
    a.start();
    await a.drain();
    releaseOld!();
    await sleep(200);
    expect(seen).toEqual([1, 2]);
    const done = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2, maxAttempts: job!.maxAttempts + 1, lockedBy: 'A' });
    expect(await ctx.prisma.assessment.count({ where: { jobId: job!.id } })).toBe(1);
    await a.stop({ graceful: true });
  });

  // PostgreSQL: a second connection holds the lock; PGlite runs one transaction at a time.
  (ctx.kind === 'postgres' ? test : test.skip)('a completion that waits on a lock past its transaction time is tried again, not failed: a last attempt still succeeds', async () => {
    const [job] = await createJobs(ctx.prisma, 1, { maxAttempts: 1 });
    const utterance = await ctx.prisma.utterance.findUniqueOrThrow({ where: { id: job!.utteranceId } });
    const other = await openDatabase({ databaseUrl: ctx.db.url, dataDir: 'memory://' });
    const phases: string[] = [];
    try {
      // Another transaction holds the learner's row (as an erasure or a re-grade batch would) for
      // longer than the completing transaction may run: completeJob's KEY SHARE lock waits on it.
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      const holder = other.prisma.$transaction(async (tx) => {
        await tx.$queryRawUnsafe(`SELECT 1 FROM "Learner" WHERE "id" = $1::uuid FOR UPDATE`, utterance.learnerId);
        holding();
        await sleep(2500);
      }, { timeout: 20_000 });
      const w = make(async (j) => { await held; return writeAssessment(j); }, { completeTimeoutMs: 700, onError: (_e, c) => phases.push(c.phase) });
      w.start();
      await holder;
      await waitFor(async () => (await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).status !== 'RUNNING', 30_000, 50);
      const done = await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } });
      expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, errorCode: null });
      expect(await ctx.prisma.assessment.count({ where: { jobId: job!.id } })).toBe(1);
      // It waited, and said so: at least one completion timed out on the lock and was tried again.
      expect(phases.some((p) => /^complete \(retry 1 of \d+\)$/.test(p))).toBe(true);
    } finally {
      await other.close();
    }
  });

  test('the poll loop survives database errors: logged, retried with a backoff, and it picks work up again', async () => {
    const errors: string[] = [];
    const w = make(async (j) => writeAssessment(j), { pollIntervalMs: 20, maxPollBackoffMs: 200, onError: (_e, c) => errors.push(c.phase) });
    // A real failure of every claim: the table is not there for a while.
    await ctx.prisma.$executeRawUnsafe('ALTER TABLE "Job" RENAME TO "Job_away"');
    try {
      w.start();
      await waitFor(async () => errors.length >= 3, 10000, 10);
    } finally {
      await ctx.prisma.$executeRawUnsafe('ALTER TABLE "Job_away" RENAME TO "Job"');
    }
    expect(errors[0]).toBe('poll');
    expect(errors[1]).toMatch(/^poll \(failed 2 times in a row\)$/);
    expect(w.isRunning).toBe(true);
    const [job] = await createJobs(ctx.prisma, 1);
    w.wake();
    await waitFor(async () => (await ctx.prisma.job.findUniqueOrThrow({ where: { id: job!.id } })).status === 'SUCCEEDED', 10000, 20);
  });
});
