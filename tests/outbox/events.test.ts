/**
 * Outbox events are written in the transaction that makes them true: committed together with the
 * change, rolled back with it, fanned out to exactly the enabled endpoints subscribed to the type,
 * and written by the job queue when a job ends FAILED (either way it can end so).
 */
import { describeEachDatabase } from '../support/db.js';
import { emitEvent } from '../../src/outbox/events.js';
import { claimJob, failJob } from '../../src/jobs/queue.js';
import { emitJobFailed } from '../../src/outbox/events.js';
import { createJobs, sleep } from '../jobs/fixtures.js';
import { endpoint, organisation } from './fixtures.js';

describeEachDatabase('outbox events', (ctx) => {
  const prisma = () => ctx.db.prisma;

  test('an event commits with its transaction and fans out to the endpoints subscribed to its type (disabled ones: FAILED, unsent)', async () => {
    const db = prisma();
    const { org, learner } = await organisation(db);
    const other = await organisation(db);
    const all = await endpoint(db, org.id, 'http://127.0.0.1:9/all');
    const completedOnly = await endpoint(db, org.id, 'http://127.0.0.1:9/completed', ['assessment.completed']);
    const disabled = await endpoint(db, org.id, 'http://127.0.0.1:9/disabled');
    await db.webhookEndpoint.update({ where: { id: disabled.endpoint.id }, data: { disabledAt: new Date(), disabledReason: 'test' } });
    await endpoint(db, other.org.id, 'http://127.0.0.1:9/other-org');

    const at = new Date('2026-03-01T12:00:00.123Z');
    const id = await db.$transaction((tx) =>
      emitEvent(tx, { organizationId: org.id, learnerId: learner.id, type: 'utterance.submitted', data: { n: 1 }, at }),
    );
    const event = await db.outboxEvent.findUniqueOrThrow({ where: { id } });
    expect(event.body).toBe('{"type":"utterance.submitted","timestamp":"2026-03-01T12:00:00.123Z","data":{"n":1}}');
    expect(event.createdAt.toISOString()).toBe(at.toISOString());
    const deliveries = await db.delivery.findMany({ where: { eventId: id } });
    const byEndpoint = new Map(deliveries.map((d) => [d.webhookEndpointId, d]));
    expect(deliveries).toHaveLength(2);
    expect(byEndpoint.get(all.endpoint.id)).toMatchObject({ status: 'PENDING', attempts: 0, channel: 'WEBHOOK', organizationId: org.id, lastErrorCode: null });
    expect(byEndpoint.get(disabled.endpoint.id)).toMatchObject({ status: 'FAILED', attempts: 0, lastErrorCode: 'ENDPOINT_DISABLED' });
    expect(byEndpoint.get(disabled.endpoint.id)!.lastError).toMatch(/disabled \(test\)/);

    const id2 = await db.$transaction((tx) =>
      emitEvent(tx, { organizationId: org.id, learnerId: learner.id, type: 'assessment.completed', data: {} }),
    );
    const targets = (await db.delivery.findMany({ where: { eventId: id2, status: 'PENDING' } })).map((d) => d.webhookEndpointId).sort();
    expect(targets).toEqual([all.endpoint.id, completedOnly.endpoint.id].sort());
  });

  test('a rolled-back transaction leaves neither the event nor a delivery', async () => {
    const db = prisma();
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, 'http://127.0.0.1:9/x');
    const before = await db.outboxEvent.count({ where: { organizationId: org.id } });
    await expect(
      db.$transaction(async (tx) => {
        await emitEvent(tx, { organizationId: org.id, learnerId: learner.id, type: 'assessment.completed', data: {} });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await db.outboxEvent.count({ where: { organizationId: org.id } })).toBe(before);
    expect(await db.delivery.count({ where: { organizationId: org.id } })).toBe(0);
  });

  test('failJob writes assessment.failed with the FAILED state; a retry writes none; a failing hook rolls the FAILED back', async () => {
    const db = prisma();
    const [job] = await createJobs(db, 1, { maxAttempts: 2 });
    const claimed = (await claimJob(db, 'w1', 30))!;
    // transient with attempts left: a retry, no event
    expect(await failJob(db, claimed, 'w1', { code: 'MODEL_UNAVAILABLE', message: 'down', transient: true }, () => 0, { onFailed: emitJobFailed })).toBe('retry');
    expect(await db.outboxEvent.count({ where: { organizationId: job!.organizationId } })).toBe(0);
    await db.job.update({ where: { id: job!.id }, data: { runAfter: new Date(0) } });
    const again = (await claimJob(db, 'w1', 30))!;
    // a hook that fails: the job stays RUNNING (nothing committed), so the attempt can still be recorded
    await expect(
      failJob(db, again, 'w1', { code: 'CORRUPT_AUDIO', message: 'bad', transient: false }, () => 0, {
        onFailed: async () => { throw new Error('outbox unavailable'); },
      }),
    ).rejects.toThrow('outbox unavailable');
    expect((await db.job.findUniqueOrThrow({ where: { id: job!.id } })).status).toBe('RUNNING');
    expect(await failJob(db, again, 'w1', { code: 'CORRUPT_AUDIO', message: 'bad', transient: false }, () => 0, { onFailed: emitJobFailed })).toBe('failed');
    const events = await db.outboxEvent.findMany({ where: { organizationId: job!.organizationId } });
    expect(events.map((e) => e.type)).toEqual(['assessment.failed']);
    const body = JSON.parse(events[0]!.body);
    expect(body.data.job).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'CORRUPT_AUDIO', message: 'bad' } });
    expect(body.data.learner.externalId).toMatch(/^l-/);
    expect(events[0]!.learnerId).not.toBeNull();
  });

  test('a job retired by a claim (last attempt lost its lease) writes assessment.failed in the same transaction', async () => {
    const db = prisma();
    const [job] = await createJobs(db, 1, { maxAttempts: 1 });
    expect(await claimJob(db, 'dies', 1)).not.toBeNull();
    await sleep(1300);
    expect(await claimJob(db, 'w2', 30, { onFailed: emitJobFailed })).toBeNull();
    const row = await db.job.findUniqueOrThrow({ where: { id: job!.id } });
    expect(row.status).toBe('FAILED');
    const events = await db.outboxEvent.findMany({ where: { organizationId: job!.organizationId } });
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.body).data.job.error.code).toBe('LEASE_EXPIRED');
  });

  test('erasing the learner removes their events and deliveries', async () => {
    const db = prisma();
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, 'http://127.0.0.1:9/x');
    await db.$transaction((tx) => emitEvent(tx, { organizationId: org.id, learnerId: learner.id, type: 'utterance.submitted', data: {} }));
    expect(await db.delivery.count({ where: { organizationId: org.id } })).toBe(1);
    await db.learner.delete({ where: { id: learner.id } });
    expect(await db.outboxEvent.count({ where: { organizationId: org.id } })).toBe(0);
    expect(await db.delivery.count({ where: { organizationId: org.id } })).toBe(0);
  });
});
