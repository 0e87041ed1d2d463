/**
 * What a LISTEN connection that was down missed (src/events/notify.ts changesSince), on both
 * databases: every job that changed since, with its status now. A job sent back to QUEUED while the
 * connection was down (a transient failure retried after a backoff, or an attempt handed back at a
 * graceful stop) changes none of createdAt, startedAt and finishedAt, and must be replayed all the same.
 */
import { changesSince } from '../../src/events/notify.js';
import { claimJob, failJob, releaseJob } from '../../src/jobs/queue.js';
import { describeEachDatabase } from '../support/db.js';
import { createJobs, sleep } from '../jobs/fixtures.js';

describeEachDatabase('changesSince', (ctx) => {
  beforeEach(() => ctx.db.reset());

  const learnerOf = async (utteranceId: string) => (await ctx.prisma.utterance.findUniqueOrThrow({ where: { id: utteranceId } })).learnerId;
  const replayed = async (since: Date, learnerIds: string[]) =>
    (await changesSince(ctx.prisma, since, learnerIds)).changes.map((c) => c.event as { type: string; jobId?: string; status?: string; learnerId?: string });

  test('a job retried or handed back while the listener was down is replayed as QUEUED', async () => {
    const [retried, released, untouched] = await createJobs(ctx.prisma, 3, { maxAttempts: 3 });
    const first = (await claimJob(ctx.prisma, 'w1', 60))!;
    const second = (await claimJob(ctx.prisma, 'w1', 60))!;
    expect(new Set([first.id, second.id])).toEqual(new Set([retried!.id, released!.id]));
    await sleep(20);
    // The listener goes down now (the database's clock, as the replay compares with it).
    const [{ now: since }] = await ctx.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
    await sleep(20);
    const claimedRetried = first.id === retried!.id ? first : second;
    const claimedReleased = first.id === released!.id ? first : second;
    expect(await failJob(ctx.prisma, claimedRetried, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'busy', transient: true })).toBe('retry');
    expect(await releaseJob(ctx.prisma, claimedReleased, 'w1')).toBe(true);
    const learnerId = await learnerOf(retried!.utteranceId);
    const jobs = (await replayed(since, [learnerId])).filter((e) => e.type === 'job');
    expect(jobs).toEqual(expect.arrayContaining([
      expect.objectContaining({ jobId: retried!.id, status: 'QUEUED' }),
      expect.objectContaining({ jobId: released!.id, status: 'QUEUED' }),
    ]));
    // A job nothing happened to since is not replayed.
    expect(jobs.map((e) => e.jobId)).not.toContain(untouched!.id);
    // Each says whose it is; another learner's changes are not read.
    expect(jobs.every((e) => e.learnerId === learnerId)).toBe(true);
    expect(await replayed(since, [])).toEqual([]);
  });

  test('a learner with more changes than the limit is reported as overflowed, none of its changes sent; the others are whole', async () => {
    const [{ now: since }] = await ctx.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
    const busy = await createJobs(ctx.prisma, 3);
    const quiet = await createJobs(ctx.prisma, 2);
    const [busyLearner, quietLearner] = [await learnerOf(busy[0]!.utteranceId), await learnerOf(quiet[0]!.utteranceId)];
    const { changes, overflowed } = await changesSince(ctx.prisma, since, [busyLearner, quietLearner], 2);
    expect(overflowed).toEqual([busyLearner]);
    expect(changes.map((c) => (c.event as { jobId: string }).jobId).sort()).toEqual(quiet.map((j) => j.id).sort());
    expect(changes.every((c) => c.event.learnerId === quietLearner && c.at instanceof Date)).toBe(true);
  });
});
