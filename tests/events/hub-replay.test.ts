/**
 * The hub's replay after its LISTEN connection comes back (src/events/hub.ts), with a real
 * listener (src/events/listener.ts) on PostgreSQL: the test terminates the listener's backend, and
 * the hub re-reads what was missed with the real changesSince. Cases the API-level suite
 * (tests/api/subscriptions-replay.test.ts) cannot set up through the server:
 * - a replay whose read does not come back (a pooled socket left half-open by a failover) must not
 *   hold every live notification for ever: it gives up after its timeout;
 * - the wall clock stepping back must not hold live events from earlier subscriptions;
 * - a change committed after a subscribe, by a transaction that began well before it, reaches it;
 * - a job reclaimed (RUNNING again) while a replay is read is news, not a repeat of RUNNING.
 */
import { jest } from '@jest/globals';
import pg from 'pg';
import { EventHub, type HubOptions } from '../../src/events/hub.js';
import { listenPostgres } from '../../src/events/listener.js';
import { changesSince, CHANNEL_SQL, notifyJobChanged, type ChangeEvent } from '../../src/events/notify.js';
import { parsePostgresUrl, quoteIdent } from '../../src/db/client.js';
import { claimJob } from '../../src/jobs/queue.js';
import type { Job } from '../../src/generated/prisma/client.js';
import { describeEachDatabase } from '../support/db.js';
import { createJobs, sleep, waitFor } from '../jobs/fixtures.js';

/** The iterator's next result, or 'nothing' if none comes within `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'nothing'> =>
  Promise.race([p, sleep(ms).then(() => 'nothing' as const)]);

describeEachDatabase('the hub replay with a real listener', (ctx) => {
  beforeEach(() => ctx.db.reset());

  const clientConfig = (): pg.ClientConfig => {
    const { connectionString, schema } = parsePostgresUrl(ctx.db.url!);
    return { connectionString, ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}) };
  };
  const learnerOf = async (job: Job) => (await ctx.prisma.utterance.findUniqueOrThrow({ where: { id: job.utteranceId } })).learnerId;
  const statusOf = (r: IteratorResult<ChangeEvent> | 'nothing') => (r === 'nothing' ? r : r.value && r.value.type === 'job' ? `${r.value.jobId}:${r.value.status}` : r);

  /** A hub on a real LISTEN connection, replaying with changesSince; `drops` counts what the listener reported. */
  async function startHub(options: HubOptions = {}) {
    const hub = new EventHub();
    const drops = { down: 0, up: 0 };
    await hub.start(
      (onNotification, listenOptions = {}) => listenPostgres(clientConfig(), onNotification, {
        ...listenOptions,
        onDisconnected: () => { drops.down++; listenOptions.onDisconnected?.(); },
        onReconnected: (since) => { drops.up++; listenOptions.onReconnected?.(since); },
      }),
      { catchUp: (since, learnerIds) => changesSince(ctx.prisma, since, learnerIds), reconnectMs: 300, ...options },
    );
    return { hub, drops };
  }

  const listenStatement = async () => {
    const [{ channel }] = await ctx.prisma.$queryRawUnsafe<{ channel: string }[]>(`SELECT ${CHANNEL_SQL} AS "channel"`);
    return `LISTEN "${channel}"`;
  };
  const listening = async () =>
    (await ctx.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS "n" FROM pg_stat_activity WHERE "query" = $1`, await listenStatement()))[0]!.n;

  /** Terminates the listener's backend and waits until the hub has heard of the drop. */
  async function dropListener(drops: { down: number }): Promise<void> {
    const before = drops.down;
    const killed = await ctx.prisma.$queryRawUnsafe<{ ok: boolean }[]>(
      `SELECT pg_terminate_backend("pid") AS "ok" FROM pg_stat_activity WHERE "query" = $1`, await listenStatement(),
    );
    expect(killed).toEqual([{ ok: true }]);
    await waitFor(async () => drops.down > before, 5_000, 10);
  }

  /** The notification a producer sends for this job in this status (without touching the Job table). */
  const notifyStatus = (job: Job, status: string) =>
    ctx.prisma.$queryRawUnsafe(
      `SELECT pg_notify(${CHANNEL_SQL}, $1)::text AS "sent"`,
      JSON.stringify({ type: 'job', organizationId: job.organizationId, jobId: job.id, utteranceId: job.utteranceId, status }),
    );

  /**
   * Holds "Utterance" (which the replay's read joins, and nothing else here touches) locked until
   * `release`; `readWaiting` resolves once a read waits behind the lock.
   */
  async function lockUtterances() {
    const blocker = new pg.Client(clientConfig());
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE "Utterance" IN ACCESS EXCLUSIVE MODE');
    let released: Promise<void> | null = null;
    return {
      readWaiting: () => waitFor(async () => {
        const { rows } = await blocker.query<{ n: number }>(`SELECT count(*)::int AS "n" FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids("pid"))`);
        return rows[0]!.n > 0;
      }, 10_000, 10),
      release: () => (released ??= blocker.query('COMMIT').then(() => blocker.end())),
    };
  }

  test("a replay whose read does not come back in time ends the replayed subscriptions and releases what was held", async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const learnerId = await learnerOf(job!);
    const { hub, drops } = await startHub({ catchUpTimeoutMs: 500 });
    const lock = await lockUtterances();
    try {
      const replayed = hub.subscribe(() => true, { learnerId });
      await dropListener(drops);
      await lock.readWaiting(); // the replay's read hangs, as on a half-open pooled socket
      const later = hub.subscribe(() => true, { learnerId });
      await notifyStatus(job!, 'RUNNING'); // held behind the replay
      const ended = await within(replayed.next().then(() => 'not ended', (e: unknown) => e), 3_000);
      expect(ended).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
      expect((ended as Error).message).toMatch(/subscribe again/);
      // What was held is released to the subscription made during the replay, and live events flow again.
      expect(statusOf(await within(later.next(), 3_000))).toBe(`${job!.id}:RUNNING`);
      await notifyStatus(job!, 'SUCCEEDED');
      expect(statusOf(await within(later.next(), 3_000))).toBe(`${job!.id}:SUCCEEDED`);
    } finally {
      await lock.release();
      await hub.close();
    }
  }, 30_000);

  test('the wall clock stepping back does not hold live events from subscriptions made before the step', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const { hub } = await startHub();
    try {
      const events = hub.subscribe(() => true, { learnerId: await learnerOf(job!) });
      const wall = Date.now.bind(Date);
      const stepBack = jest.spyOn(Date, 'now').mockImplementation(() => wall() - 3_600_000); // NTP, a VM resumed
      try {
        await notifyStatus(job!, 'RUNNING');
        expect(statusOf(await within(events.next(), 3_000))).toBe(`${job!.id}:RUNNING`);
      } finally {
        stepBack.mockRestore();
      }
    } finally {
      await hub.close();
    }
  }, 30_000);

  test('a change committed after a subscribe, by a transaction that began seconds before it, is replayed to it', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const learnerId = await learnerOf(job!);
    const { hub, drops } = await startHub({ reconnectMs: 2_000 });
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    try {
      // completeJob's way: finishedAt = now() (the transaction's start), then the result is written, then it commits.
      const completed = ctx.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`UPDATE "Job" SET "status" = 'SUCCEEDED', "startedAt" = now(), "finishedAt" = now() WHERE "id" = $1::uuid`, job!.id);
        await notifyJobChanged(tx, job!.id);
        await committing;
      }, { timeout: 20_000 });
      await sleep(2_000); // writing the result takes a while
      await dropListener(drops);
      const events = hub.subscribe(() => true, { learnerId });
      commit();
      await completed; // its notification is lost: nobody listens
      expect(await listening()).toBe(0);
      expect(statusOf(await within(events.next(), 10_000))).toBe(`${job!.id}:SUCCEEDED`);
    } finally {
      commit();
      await hub.close();
    }
  }, 30_000);

  test('a job reclaimed (RUNNING again) while a replay is read reaches its subscribers', async () => {
    const [job] = await createJobs(ctx.prisma, 1);
    const { hub, drops } = await startHub();
    const events = hub.subscribe(() => true, { learnerId: await learnerOf(job!) });
    const lock = await lockUtterances();
    try {
      expect((await claimJob(ctx.prisma, 'w1', 1))?.id).toBe(job!.id);
      expect(statusOf(await within(events.next(), 3_000))).toBe(`${job!.id}:RUNNING`);
      await dropListener(drops);
      await lock.readWaiting();
      await sleep(1_100); // w1's lease expires
      expect((await claimJob(ctx.prisma, 'w2', 60))?.id).toBe(job!.id); // notified RUNNING again, held behind the replay
      await sleep(300);
      await lock.release();
      expect(statusOf(await within(events.next(), 5_000))).toBe(`${job!.id}:RUNNING`);
    } finally {
      await lock.release();
      await hub.close();
    }
  }, 30_000);
}, { kinds: ['postgres'] });
