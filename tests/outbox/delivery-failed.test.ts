/**
 * gradeDelivery.failed / xapiDelivery.failed at the delivery store: written in the transaction that
 * gives a delivery up (an attempt's verdict, or a claim retiring one whose last attempt's process
 * died), fanned out to the endpoints subscribed to it like every event; never for a webhook's own
 * failure, nor for failures that follow our own side's deletions. (The end-to-end cases, a platform
 * and an LRS refusing, are in tests/api/lti.test.ts and tests/api/xapi-delivery.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { describeEachDatabase } from '../support/db.js';
import { emitEvent } from '../../src/outbox/events.js';
import { claimDeliveries, recordAttempt, type AttemptRecord, type ClaimedDelivery } from '../../src/outbox/store.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { sleep } from '../jobs/fixtures.js';
import { endpoint, organisation } from './fixtures.js';

/** An assessment.completed event of the learner and its XAPI delivery, as a completed job writes them. */
async function statementOwed(db: PrismaClient, organizationId: string, learnerId: string) {
  const assessmentId = randomUUID();
  const eventId = await db.$transaction((tx) =>
    emitEvent(tx, { organizationId, learnerId, type: 'assessment.completed', data: { assessment: { id: toGlobalId('Assessment', assessmentId) } } }));
  const delivery = await db.delivery.create({ data: { organizationId, eventId, channel: 'XAPI' } });
  return { assessmentId, eventId, deliveryId: delivery.id };
}

const failed = (errorCode: string, statusCode: number | null = null): AttemptRecord => ({
  verdict: { kind: 'failed' }, startedAt: new Date(), durationMs: 3, statusCode, errorCode, error: `${errorCode} for the test`, responseBody: null,
});

async function failureEvents(db: PrismaClient, organizationId: string) {
  const rows = await db.outboxEvent.findMany({ where: { organizationId, type: { in: ['gradeDelivery.failed', 'xapiDelivery.failed'] } }, include: { deliveries: true } });
  return rows.map((r) => ({ ...r, parsed: JSON.parse(r.body) as { type: string; data: Record<string, any> } }));
}

describeEachDatabase('delivery failure events', (ctx) => {
  test("a statement whose last attempt's process died is retired FAILED with its xapiDelivery.failed event, sent to the endpoints subscribed", async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const subscribed = await endpoint(db, org.id, 'http://127.0.0.1:9/hook', ['xapiDelivery.failed']);
    const owed = await statementOwed(db, org.id, learner.id);
    const [claimed] = await claimDeliveries(db, 'dead-process', 1, 10, 1);
    expect(claimed).toMatchObject({ id: owed.deliveryId, channel: 'XAPI' });
    expect(await failureEvents(db, org.id)).toEqual([]);
    await sleep(1200);
    expect(await claimDeliveries(db, 'w', 30, 10, 1)).toEqual([]);
    expect(await db.delivery.findUniqueOrThrow({ where: { id: owed.deliveryId } })).toMatchObject({ status: 'FAILED', lastErrorCode: 'LEASE_EXPIRED' });
    const [event, ...more] = await failureEvents(db, org.id);
    expect(more).toEqual([]);
    expect(event!.learnerId).toBe(learner.id);
    expect(event!.parsed).toEqual({
      type: 'xapiDelivery.failed',
      timestamp: expect.any(String),
      data: {
        xapiDelivery: { id: toGlobalId('XapiDelivery', owed.deliveryId), status: 'FAILED', attempts: 1, lastErrorCode: 'LEASE_EXPIRED', lastHttpStatus: null, statementId: statementIdFor(owed.assessmentId), voidedStatementIds: [] },
        assessment: { id: toGlobalId('Assessment', owed.assessmentId) },
        // No such assessment row here (the event names an id only), so no recording either.
        utterance: null,
        learner: { id: toGlobalId('Learner', learner.id), externalId: learner.externalId },
      },
    });
    expect(event!.deliveries.map((d) => [d.channel, d.webhookEndpointId, d.status])).toEqual([['WEBHOOK', subscribed.endpoint.id, 'PENDING']]);
  });

  test('a give-up whose learner is being erased (its row locked) is recorded at once, without the event (no deadlock with the erasure)', async () => {
    // PGlite has one connection: no transaction can hold the learner while another records.
    if (ctx.kind !== 'postgres') return;
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const owed = await statementOwed(db, org.id, learner.id);
    const [claimed] = (await claimDeliveries(db, 'w', 30, 20, 3)).filter((d) => d.id === owed.deliveryId);
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    // As eraseLearner does first: the learner's row FOR UPDATE, held.
    const erasing = db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT "id" FROM "Learner" WHERE "id" = ${learner.id}::uuid FOR UPDATE`;
      locked();
      await released;
    }, { timeout: 60_000 });
    try {
      await isLocked;
      expect(await recordAttempt(db, claimed!, 'w', failed('HTTP_STATUS', 400))).toBe(true);
      expect(await db.delivery.findUniqueOrThrow({ where: { id: owed.deliveryId } })).toMatchObject({ status: 'FAILED', lastStatusCode: 400 });
      expect(await failureEvents(db, org.id)).toEqual([]);
    } finally {
      release();
      await erasing;
    }
  });

  test('a webhook given up raises nothing, nor a statement given up after our own side removed its assessment or the LRS; a refused one does', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, 'http://127.0.0.1:9/hook', ['assessment.completed', 'gradeDelivery.failed', 'xapiDelivery.failed']);
    const owed = await Promise.all([0, 1, 2].map(() => statementOwed(db, org.id, learner.id)));
    const claimed = await claimDeliveries(db, 'w', 30, 20, 3);
    const byId = new Map<string, ClaimedDelivery>(claimed.map((d) => [d.id, d]));
    const hooks = claimed.filter((d) => d.channel === 'WEBHOOK' && d.organizationId === org.id);
    expect(hooks).toHaveLength(3);
    for (const d of hooks) expect(await recordAttempt(db, d, 'w', failed('HTTP_STATUS', 500))).toBe(true);
    expect(await recordAttempt(db, byId.get(owed[0]!.deliveryId)!, 'w', failed('LRS_NOT_CONFIGURED'))).toBe(true);
    expect(await recordAttempt(db, byId.get(owed[1]!.deliveryId)!, 'w', failed('ASSESSMENT_DELETED'))).toBe(true);
    expect(await failureEvents(db, org.id)).toEqual([]);
    expect(await recordAttempt(db, byId.get(owed[2]!.deliveryId)!, 'w', failed('HTTP_STATUS', 403))).toBe(true);
    const events = await failureEvents(db, org.id);
    expect(events.map((e) => [e.parsed.type, e.parsed.data.xapiDelivery.id, e.parsed.data.xapiDelivery.lastHttpStatus])).toEqual([
      ['xapiDelivery.failed', toGlobalId('XapiDelivery', owed[2]!.deliveryId), 403],
    ]);
    // A delivery voiding an erasure's statements, refused: its event names them, no assessment and no learner.
    const erasedEvent = await db.$transaction((tx) => emitEvent(tx, { organizationId: org.id, learnerId: null, type: 'learner.erased', data: { learner: { id: 'gone' } } }));
    const voided = [randomUUID(), randomUUID()].sort();
    await db.xapiVoiding.createMany({ data: voided.map((statementId) => ({ organizationId: org.id, eventId: erasedEvent, statementId, voidedAt: new Date() })) });
    const voiding = await db.delivery.create({ data: { organizationId: org.id, eventId: erasedEvent, channel: 'XAPI' } });
    const [claimedVoiding] = (await claimDeliveries(db, 'w', 30, 20, 3)).filter((d) => d.id === voiding.id);
    expect(await recordAttempt(db, claimedVoiding!, 'w', failed('HTTP_STATUS', 400))).toBe(true);
    const voidingEvent = (await failureEvents(db, org.id)).find((e) => e.parsed.data.xapiDelivery.id === toGlobalId('XapiDelivery', voiding.id));
    expect(voidingEvent!.learnerId).toBeNull();
    expect(voidingEvent!.parsed.data).toEqual({
      xapiDelivery: { id: toGlobalId('XapiDelivery', voiding.id), status: 'FAILED', attempts: 1, lastErrorCode: 'HTTP_STATUS', lastHttpStatus: 400, statementId: null, voidedStatementIds: voided },
      assessment: null,
      utterance: null,
      learner: null,
    });
    await db.delivery.deleteMany({ where: { eventId: erasedEvent } });
    await db.outboxEvent.deleteMany({ where: { type: 'xapiDelivery.failed', body: { contains: toGlobalId('XapiDelivery', voiding.id) } } });

    // A stale attempt (fenced off) writes no event either.
    expect(await recordAttempt(db, byId.get(owed[2]!.deliveryId)!, 'w', failed('HTTP_STATUS', 403))).toBe(false);
    expect(await failureEvents(db, org.id)).toHaveLength(1);
  });
});
