/**
 * The delivery worker against a real HTTP receiver on 127.0.0.1: signed requests the reference
 * library verifies, the retry rules (2xx delivered, 410 disables the endpoint, 429/5xx/timeouts
 * retried with backoff and Retry-After, attempts running out), the SSRF policy at connection time,
 * fencing after an expired lease, and several workers sharing the queue without sending twice.
 */
import { describeEachDatabase } from '../support/db.js';
import { Receiver, verifyStandardWebhook } from '../support/receiver.js';
import { emitEvent, type EventType } from '../../src/outbox/events.js';
import { AddressPolicy } from '../../src/outbox/address-policy.js';
import { DeliveryWorker, type DeliveryOutcome } from '../../src/outbox/worker.js';
import pg from 'pg';
import { claimDeliveries, deleteOldEvents, recordAttempt } from '../../src/outbox/store.js';
import { MAX_SIGNING_SECRETS, resendDelivery, resendFailedDeliveries, rotateSecret, updateEndpoint } from '../../src/outbox/endpoints.js';
import { webhookId } from '../../src/outbox/signing.js';
import { attemptWebhook } from '../../src/outbox/webhook.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { sleep, waitFor } from '../jobs/fixtures.js';
import { ACTOR, endpoint, LOOPBACK, organisation } from './fixtures.js';

const SCHEDULE = { baseMs: 150, capMs: 2_000, maxAttempts: 3 };

function worker(prisma: PrismaClient, overrides: Partial<ConstructorParameters<typeof DeliveryWorker>[0]> = {}) {
  const settled: { id: string; outcome: DeliveryOutcome }[] = [];
  const w = new DeliveryWorker({
    prisma,
    concurrency: 4,
    pollIntervalMs: 50,
    retentionDays: 0,
    timeoutMs: 2_000,
    maxPayloadBytes: 64 * 1024,
    schedule: SCHEDULE,
    policy: new AddressPolicy(['127.0.0.1']),
    onSettled: (d, outcome) => settled.push({ id: d.id, outcome }),
    onError: () => undefined,
    ...overrides,
  });
  return Object.assign(w, { settled });
}

async function emit(prisma: PrismaClient, organizationId: string, learnerId: string, type: EventType = 'assessment.completed', data: Record<string, unknown> = { n: 1 }) {
  return prisma.$transaction((tx) => emitEvent(tx, { organizationId, learnerId, type, data }));
}

async function deliveryOf(prisma: PrismaClient, eventId: string) {
  return prisma.delivery.findFirstOrThrow({ where: { eventId }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
}

describeEachDatabase('delivery worker', (ctx) => {
  const receiver = new Receiver();
  let w: ReturnType<typeof worker> | null = null;
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(async () => {
    receiver.received.length = 0;
    receiver.answer = () => ({ status: 204 });
    // Each test starts with nothing due (an earlier test may leave a delivery pending on purpose).
    await ctx.db.prisma.delivery.updateMany({ where: { status: { in: ['PENDING', 'SENDING'] } }, data: { status: 'FAILED' } });
  });
  afterEach(async () => {
    await w?.stop({ deadlineMs: 0 });
    w = null;
  });

  test('delivers a signed request the reference library verifies; the attempt is recorded', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { secret } = await endpoint(db, org.id, receiver.url);
    const eventId = await emit(db, org.id, learner.id, 'assessment.completed', { naïve: 'ünïcode 😀' });
    w = worker(db);
    w.start();
    await receiver.waitForCount(1);
    const got = receiver.received[0]!;
    expect(got.headers['webhook-id']).toBe(webhookId(eventId));
    expect(got.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(verifyStandardWebhook(secret, got)).toMatchObject({ type: 'assessment.completed', data: { naïve: 'ünïcode 😀' } });
    expect(got.body).toBe((await db.outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).body);
    const d = await waitFor(async () => {
      const row = await deliveryOf(db, eventId);
      return row.status === 'DELIVERED' ? row : null;
    });
    expect(d).toMatchObject({ attempts: 1, lastStatusCode: 204, lastErrorCode: null, lockedBy: null, leaseExpiresAt: null });
    expect(d.deliveredAt).not.toBeNull();
    expect(d.attemptLog).toEqual([expect.objectContaining({ number: 1, statusCode: 204, errorCode: null })]);
  });

  test('5xx is retried after a backoff, with the same webhook-id and a fresh timestamp signature', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { secret } = await endpoint(db, org.id, receiver.url);
    let n = 0;
    receiver.answer = () => (n++ === 0 ? { status: 503, body: 'busy' } : { status: 200 });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db);
    w.start();
    await receiver.waitForCount(2);
    const [first, second] = receiver.received;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(SCHEDULE.baseMs * 0.8 - 20);
    expect(first!.headers['webhook-id']).toBe(second!.headers['webhook-id']);
    expect(() => verifyStandardWebhook(secret, second!)).not.toThrow();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'DELIVERED' ? deliveryOf(db, eventId) : null));
    expect(d.attemptLog.map((a) => [a.number, a.statusCode, a.errorCode, a.responseBody])).toEqual([
      [1, 503, 'HTTP_STATUS', 'busy'],
      [2, 200, null, null],
    ]);
  });

  test('429 with Retry-After waits at least that long; other 4xx and 3xx are retried too', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    const answers = [{ status: 429, retryAfter: '1' }, { status: 302 }, { status: 404 }, { status: 200 }];
    receiver.answer = () => answers.shift() ?? { status: 200 };
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { schedule: { ...SCHEDULE, maxAttempts: 5 } });
    w.start();
    await receiver.waitForCount(4, 20_000);
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(950);
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'DELIVERED' ? deliveryOf(db, eventId) : null));
    expect(d.attemptLog.map((a) => a.statusCode)).toEqual([429, 302, 404, 200]);
  });

  test('410 Gone disables the endpoint: that delivery fails, later ones fail without a request', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 410 });
    const first = await emit(db, org.id, learner.id);
    w = worker(db);
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, first)).status === 'FAILED' ? deliveryOf(db, first) : null));
    await waitFor(async () => w!.settled.some((s) => s.id === d.id)); // the endpoint's health is written after the attempt's record
    expect(d.attemptLog.map((a) => [a.statusCode, a.errorCode])).toEqual([[410, 'ENDPOINT_GONE']]);
    const disabled = await db.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    expect(disabled.disabledAt).not.toBeNull();
    expect(disabled.disabledReason).toMatch(/410 Gone/);
    // The audit log says the system did it, and why.
    expect(await db.auditEvent.findMany({ where: { organizationId: org.id, action: 'webhookEndpoint.disabled' }, select: { actor: true, targetId: true, details: true } }))
      .toEqual([{ actor: 'system:delivery-worker', targetId: ep.id, details: { reason: disabled.disabledReason, deliveryId: d.id } }]);
    // A delivery created before the disable, still pending: failed on its attempt, nothing sent.
    const pending = await db.delivery.create({ data: { organizationId: org.id, eventId: first, channel: 'WEBHOOK', webhookEndpointId: ep.id } });
    w.wake();
    const p = await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: pending.id } });
      return row.status === 'FAILED' ? row : null;
    });
    expect(p.lastErrorCode).toBe('ENDPOINT_DISABLED');
    expect(receiver.received).toHaveLength(1);
    // A new event's delivery to it is FAILED from the start (recoverable once re-enabled), nothing sent.
    const later = await emit(db, org.id, learner.id);
    expect(await db.delivery.findFirstOrThrow({ where: { eventId: later } })).toMatchObject({ status: 'FAILED', lastErrorCode: 'ENDPOINT_DISABLED', attempts: 0 });
    await sleep(200);
    expect(receiver.received).toHaveLength(1);
  });

  test('attempts run out: FAILED after maxAttempts, each one logged', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 500 });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db);
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'FAILED' ? deliveryOf(db, eventId) : null), 20_000);
    expect(d.attempts).toBe(3);
    expect(d.attemptLog.map((a) => a.number)).toEqual([1, 2, 3]);
    expect(d).toMatchObject({ lastStatusCode: 500, lastErrorCode: 'HTTP_STATUS' });
  });

  test('an endpoint whose every attempt failed for the configured days is disabled at its next failure, with the reason and a system audit event; a delivery ends a run; enabling it starts afresh', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    const row = () => db.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } });
    /** One event, its one attempt settled; the endpoint as that left it. */
    const settle = async () => {
      const eventId = await emit(db, org.id, learner.id);
      w!.wake();
      const d = await waitFor(async () => (['DELIVERED', 'FAILED'].includes((await deliveryOf(db, eventId)).status) ? deliveryOf(db, eventId) : null), 20_000);
      // Settled once the endpoint's health is written too (after the attempt's record).
      await waitFor(async () => w!.settled.some((s) => s.id === d.id), 20_000);
      return { d, ep: await row() };
    };
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);
    w = worker(db, { schedule: { ...SCHEDULE, maxAttempts: 1 }, disableAfterFailingDays: 5 });
    w.start();

    receiver.answer = () => ({ status: 500 });
    const first = await settle();
    expect(first.d.lastErrorCode).toBe('HTTP_STATUS');
    expect(first.ep.failingSince).not.toBeNull(); // a run begins
    expect(first.ep.disabledAt).toBeNull();
    // A later failure leaves the run's start where it was; one delivery ends the run.
    const fourDaysAgo = daysAgo(4);
    await db.webhookEndpoint.update({ where: { id: ep.id }, data: { failingSince: fourDaysAgo } });
    expect(await settle()).toMatchObject({ ep: { failingSince: fourDaysAgo, disabledAt: null } });
    receiver.answer = () => ({ status: 204 });
    expect(await settle()).toMatchObject({ d: { status: 'DELIVERED' }, ep: { failingSince: null, disabledAt: null } });

    // A run that began 5 days ago (and a minute): the next failure disables the endpoint.
    receiver.answer = () => ({ status: 503 });
    expect((await settle()).ep.disabledAt).toBeNull();
    const since = daysAgo(5 + 1 / 1440);
    await db.webhookEndpoint.update({ where: { id: ep.id }, data: { failingSince: since } });
    const sent = receiver.received.length;
    const last = await settle();
    expect(last.d.attemptLog.map((a) => [a.statusCode, a.errorCode])).toEqual([[503, 'HTTP_STATUS']]);
    expect(last.ep.disabledAt).not.toBeNull();
    expect(last.ep.disabledReason).toBe(`Every delivery attempt failed for 5 days (since ${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}); enable it once it answers again, and re-send what failed.`);
    const audits = await db.auditEvent.findMany({ where: { organizationId: org.id, action: 'webhookEndpoint.disabled' } });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: 'system:delivery-worker', actorApiKeyId: null, targetType: 'WebhookEndpoint', targetId: ep.id, details: { reason: last.ep.disabledReason, deliveryId: last.d.id } });
    // Disabled: the next event is not sent.
    const after = await emit(db, org.id, learner.id);
    expect(await db.delivery.findFirstOrThrow({ where: { eventId: after } })).toMatchObject({ status: 'FAILED', lastErrorCode: 'ENDPOINT_DISABLED' });
    expect(receiver.received).toHaveLength(sent + 1);

    // Enabled again: the run starts afresh, so its next failure does not disable it at once.
    const enabled = await updateEndpoint(db, LOOPBACK, { organizationId: org.id, id: ep.id }, { enabled: true, descriptionGiven: false }, ACTOR);
    expect(enabled).toMatchObject({ disabledAt: null, disabledReason: null, failingSince: null });
    const again = await settle();
    expect(again.d.lastErrorCode).toBe('HTTP_STATUS');
    expect(again.ep.disabledAt).toBeNull();
    expect(again.ep.failingSince!.getTime()).toBeGreaterThan(daysAgo(1).getTime());
    expect(await db.auditEvent.count({ where: { organizationId: org.id, action: 'webhookEndpoint.disabled' } })).toBe(1);
  });

  test('with disabling after failures off (0 days), a run of any length leaves the endpoint enabled', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 500 });
    await db.webhookEndpoint.update({ where: { id: ep.id }, data: { failingSince: new Date(Date.now() - 365 * 86_400_000) } });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { schedule: { ...SCHEDULE, maxAttempts: 1 }, disableAfterFailingDays: 0 });
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'FAILED' ? deliveryOf(db, eventId) : null), 20_000);
    await waitFor(async () => w!.settled.some((s) => s.id === d.id), 20_000);
    expect(await db.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.id } })).toMatchObject({ disabledAt: null });
  });

  test('a fault inside the server is retried on the backoff schedule, not every baseMs', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    await db.webhookSecret.updateMany({ where: { endpointId: ep.id }, data: { secret: 'not a secret' } });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { random: () => 1 }); // jitter at its top: each delay × 1.2
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'FAILED' ? deliveryOf(db, eventId) : null), 20_000);
    expect(d.attemptLog.map((a) => a.errorCode)).toEqual(['INTERNAL_ERROR', 'INTERNAL_ERROR', 'INTERNAL_ERROR']);
    const [first, second, third] = d.attemptLog.map((a) => a.startedAt.getTime());
    // 150 ms × 1.2 after the first, 150 ms × 3 × 1.2 after the second; before, 150 ms every time.
    expect(second! - first!).toBeGreaterThanOrEqual(180);
    expect(third! - second!).toBeGreaterThanOrEqual(540);
  });

  test('a fault inside the server (a stored secret that is not whsec_): INTERNAL_ERROR with a fixed message; the cause goes to the log', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    await db.webhookSecret.updateMany({ where: { endpointId: ep.id }, data: { secret: 'corrupted at /srv/speechmark/secrets' } });
    const eventId = await emit(db, org.id, learner.id);
    const logged: { err: unknown; deliveryId?: string }[] = [];
    w = worker(db, { onError: (err, where) => logged.push({ err, deliveryId: where.deliveryId }) });
    w.start();
    const d = await waitFor(async () => {
      const row = await deliveryOf(db, eventId);
      return row.attemptLog.length > 0 ? row : null;
    });
    expect(d.attemptLog[0]).toMatchObject({ errorCode: 'INTERNAL_ERROR', statusCode: null });
    expect(d.attemptLog[0]!.error).toBe("The attempt failed inside the server before a request was sent; its log has the cause under this delivery's id.");
    expect(d.lastError ?? '').not.toMatch(/whsec_|\/srv/);
    expect(receiver.received).toHaveLength(0);
    const cause = logged.find((l) => l.deliveryId === d.id);
    expect((cause?.err as Error)?.message).toMatch(/whsec_/);
  });

  test('rotations within the overlap: only the newest MAX_SIGNING_SECRETS secrets sign, so the signature header stays bounded', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep, secret: first } = await endpoint(db, org.id, receiver.url);
    const secrets = [first];
    for (let i = 0; i < MAX_SIGNING_SECRETS + 2; i++) {
      secrets.push((await rotateSecret(db, { organizationId: org.id, id: ep.id }, { expireOldAfterSeconds: 3600 }, ACTOR)).secret);
    }
    // Before, every rotation within the overlap added a signature (about 340 of them made a 16 KB header).
    const valid = await db.webhookSecret.findMany({ where: { endpointId: ep.id, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] } });
    expect(valid.map((v) => v.secret).sort()).toEqual(secrets.slice(-MAX_SIGNING_SECRETS).sort());
    await emit(db, org.id, learner.id);
    w = worker(db);
    w.start();
    await receiver.waitForCount(1);
    const got = receiver.received[0]!;
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(MAX_SIGNING_SECRETS);
    expect(() => verifyStandardWebhook(secrets.at(-1)!, got)).not.toThrow();
    expect(() => verifyStandardWebhook(secrets.at(-MAX_SIGNING_SECRETS)!, got)).not.toThrow();
    expect(() => verifyStandardWebhook(secrets.at(-MAX_SIGNING_SECRETS - 1)!, got)).toThrow();
  });

  /** A receiver that takes every request and answers long after the worker's timeout (a black hole). */
  async function blackHole(): Promise<Receiver> {
    const hole = await new Receiver().start();
    hole.answer = () => ({ status: 200, delayMs: 30_000 });
    return hole;
  }
  const sendingOf = (db: PrismaClient, where: { organizationId?: string; webhookEndpointId?: string }) =>
    db.delivery.count({ where: { ...where, status: 'SENDING' } });

  test('one organisation whose endpoints never answer cannot take the slot another organisation waits for: it is delivered at once', async () => {
    const db = ctx.db.prisma;
    const hole = await blackHole();
    try {
      const a = await organisation(db);
      await endpoint(db, a.org.id, hole.url);
      await endpoint(db, a.org.id, hole.url);
      for (let i = 0; i < 6; i++) await emit(db, a.org.id, a.learner.id, 'utterance.submitted', { i });
      const b = await organisation(db);
      await endpoint(db, b.org.id, receiver.url);
      const bEvent = await emit(db, b.org.id, b.learner.id);
      w = worker(db, { concurrency: 4, timeoutMs: 3_000 });
      w.start();
      // Before, the 12 older deliveries of A filled all 4 slots, and B waited 3 timeouts (9 s). Now B
      // is delivered while A's first attempts are still waiting on the black hole: none has ended.
      await waitFor(async () => (await deliveryOf(db, bEvent)).status === 'DELIVERED', 20_000, 50);
      expect(await db.deliveryAttempt.count({ where: { organizationId: a.org.id } })).toBe(0);
      // A holds its half of the slots and the spare one B did not need, not more.
      expect(await sendingOf(db, { organizationId: a.org.id })).toBeLessThanOrEqual(4);
      expect(await sendingOf(db, { organizationId: a.org.id })).toBeGreaterThanOrEqual(2);
    } finally {
      await w?.stop({ deadlineMs: 0 });
      await hole.stop();
    }
  });

  test('an endpoint that never answers cannot take the slots its organisation\'s other endpoint waits for: it is delivered at once', async () => {
    const db = ctx.db.prisma;
    const hole = await blackHole();
    try {
      const { org, learner } = await organisation(db);
      const { endpoint: stuck } = await endpoint(db, org.id, hole.url);
      const { endpoint: fine } = await endpoint(db, org.id, receiver.url);
      for (let i = 0; i < 10; i++) await emit(db, org.id, learner.id, 'utterance.submitted', { i });
      w = worker(db, { concurrency: 8, timeoutMs: 3_000 });
      w.start();
      await waitFor(async () => (await db.delivery.count({ where: { webhookEndpointId: fine.id, status: 'DELIVERED' } })) === 10, 20_000, 50);
      // Delivered while the stuck endpoint's first attempts were still waiting: none has ended.
      expect(await db.deliveryAttempt.count({ where: { delivery: { webhookEndpointId: stuck.id } } })).toBe(0);
      // The stuck endpoint holds its 2 slots and, with nothing else waiting, spare ones up to half of 8.
      expect(await sendingOf(db, { webhookEndpointId: stuck.id })).toBeGreaterThanOrEqual(2);
      expect(await sendingOf(db, { webhookEndpointId: stuck.id })).toBeLessThanOrEqual(4);
    } finally {
      await w?.stop({ deadlineMs: 0 });
      await hole.stop();
    }
  });

  test('a lone organisation is not held to its share: with nobody else waiting it uses every slot but one, at most half on one endpoint', async () => {
    const db = ctx.db.prisma;
    const hole = await blackHole();
    try {
      const { org, learner } = await organisation(db);
      const { endpoint: one } = await endpoint(db, org.id, hole.url);
      const { endpoint: two } = await endpoint(db, org.id, hole.url);
      for (let i = 0; i < 10; i++) await emit(db, org.id, learner.id, 'utterance.submitted', { i });
      w = worker(db, { concurrency: 8, timeoutMs: 3_000 });
      w.start();
      // 7 of 8: one slot is kept back for a delivery within the caps (another organisation's).
      await waitFor(async () => ((await sendingOf(db, { organizationId: org.id })) === 7 ? true : null), 20_000, 50);
      expect(await sendingOf(db, { webhookEndpointId: one.id })).toBeLessThanOrEqual(4);
      expect(await sendingOf(db, { webhookEndpointId: two.id })).toBeLessThanOrEqual(4);
    } finally {
      await w?.stop({ deadlineMs: 0 });
      await hole.stop();
    }
  });

  test("a busy organisation's backlog larger than a claim's window does not take the slot another organisation's later delivery needs", async () => {
    const db = ctx.db.prisma;
    const hole = await blackHole();
    try {
      const a = await organisation(db);
      await endpoint(db, a.org.id, hole.url);
      await endpoint(db, a.org.id, hole.url);
      for (let i = 0; i < 40; i++) await emit(db, a.org.id, a.learner.id, 'utterance.submitted', { i }); // 80 deliveries, older than B's
      w = worker(db, { concurrency: 4, timeoutMs: 3_000 });
      w.start();
      // A takes its half and the spare slot; one stays free.
      await waitFor(async () => ((await sendingOf(db, { organizationId: a.org.id })) === 3 ? true : null), 20_000, 50);
      const b = await organisation(db);
      await endpoint(db, b.org.id, receiver.url);
      const bEvent = await emit(db, b.org.id, b.learner.id);
      w.wake();
      await waitFor(async () => (await deliveryOf(db, bEvent)).status === 'DELIVERED', 20_000, 50);
      expect(await db.deliveryAttempt.count({ where: { organizationId: a.org.id } })).toBe(0);
    } finally {
      await w?.stop({ deadlineMs: 0 });
      await hole.stop();
    }
  });

  test('an attempt whose event went after the claim (an erasure, a deleted utterance) says so: EVENT_DELETED, not ENDPOINT_DELETED', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    const { endpoint: ep } = await endpoint(db, org.id, receiver.url);
    const settings = { timeoutMs: 2_000, maxPayloadBytes: 64 * 1024, schedule: SCHEDULE, policy: new AddressPolicy(['127.0.0.1']) };
    const erased = await emit(db, org.id, learner.id);
    const [claimed] = await claimDeliveries(db, 'w', 30, 10, 3);
    await db.outboxEvent.delete({ where: { id: erased } });
    const gone = await attemptWebhook(db, claimed!, settings, new AbortController().signal);
    expect(gone).toMatchObject({ verdict: { kind: 'failed' }, errorCode: 'EVENT_DELETED', error: 'The event no longer exists (its utterance was deleted or its learner erased since it was queued).' });
    const kept = await emit(db, org.id, learner.id);
    const [second] = await claimDeliveries(db, 'w', 30, 10, 3);
    expect(second!.eventId).toBe(kept);
    await db.webhookEndpoint.delete({ where: { id: ep.id } });
    const noEndpoint = await attemptWebhook(db, second!, settings, new AbortController().signal);
    expect(noEndpoint).toMatchObject({ verdict: { kind: 'failed' }, errorCode: 'ENDPOINT_DELETED', error: 'The endpoint no longer exists.' });
    expect(receiver.received).toHaveLength(0);
  });

  test('a receiver slower than the timeout: TIMEOUT, retried', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    let n = 0;
    receiver.answer = () => (n++ === 0 ? { status: 200, delayMs: 5000 } : { status: 200 });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { timeoutMs: 300 });
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'DELIVERED' ? deliveryOf(db, eventId) : null), 20_000);
    expect(d.attemptLog[0]).toMatchObject({ errorCode: 'TIMEOUT', statusCode: null });
    expect(d.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(290);
    expect(d.attemptLog[0]!.durationMs).toBeLessThan(5000); // cut by the timeout, not ended by the late answer
    expect(d.attemptLog.at(-1)).toMatchObject({ statusCode: 200 });
  });

  test('an answer whose body never ends counts by its status (not a timeout to retry)', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 202, stallBody: true, body: 'accepted, still talking' });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { timeoutMs: 400 });
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'DELIVERED' ? deliveryOf(db, eventId) : null));
    expect(d.attemptLog).toEqual([expect.objectContaining({ statusCode: 202, errorCode: null, responseBody: 'accepted, still talking' })]);
    expect(receiver.received).toHaveLength(1);
  });

  test('SSRF: a name resolving to loopback is refused at connection time, without a request or a retry', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    // Registered while the policy allowed it (or a DNS record changed since): checked again on connecting.
    await endpoint(db, org.id, receiver.url.replace('127.0.0.1', 'localhost'));
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db, { policy: new AddressPolicy() });
    // The server's log (warnings go to console.error), read for the address refused.
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => lines.push(args.join(' '));
    let d;
    try {
      w.start();
      d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'FAILED' ? deliveryOf(db, eventId) : null));
    } finally {
      console.error = original;
    }
    expect(d.attempts).toBe(1);
    expect(d.attemptLog[0]).toMatchObject({ errorCode: 'ADDRESS_NOT_ALLOWED', statusCode: null });
    // Names the host, not what it resolved to: the organisation's admins read this, and an internal
    // address is the operator's to know (it goes to the server's log).
    expect(d.attemptLog[0]!.error).toMatch(/^the address of localhost is not allowed: it is not a public address/);
    expect(d.lastError).toBe(d.attemptLog[0]!.error);
    expect(d.lastError).not.toMatch(/127\.0\.0\.1|::1/);
    const logged = lines.filter((l) => /resolves to an address that is not allowed/.test(l));
    expect(logged).toEqual([expect.stringMatching(/"host":"localhost".*"address":"(127\.0\.0\.1|::1)"/)]);
    // An IP literal too.
    await db.webhookEndpoint.updateMany({ where: { organizationId: org.id }, data: { url: receiver.url } });
    const second = await emit(db, org.id, learner.id);
    w.wake();
    const d2 = await waitFor(async () => ((await deliveryOf(db, second)).status === 'FAILED' ? deliveryOf(db, second) : null));
    expect(d2.lastErrorCode).toBe('ADDRESS_NOT_ALLOWED');
    expect(receiver.received).toHaveLength(0);
  });

  test('an attempt whose process died: re-claimed after the lease, logged as LEASE_EXPIRED; the dead attempt is fenced off', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    const eventId = await emit(db, org.id, learner.id);
    const [dead] = await claimDeliveries(db, 'dead-process', 1, 10, 3);
    expect(dead).toMatchObject({ eventId, attempts: 1 });
    expect(await claimDeliveries(db, 'other', 30, 10, 3)).toEqual([]); // leased
    await sleep(1200);
    w = worker(db);
    w.start();
    const d = await waitFor(async () => ((await deliveryOf(db, eventId)).status === 'DELIVERED' ? deliveryOf(db, eventId) : null));
    expect(d.attemptLog.map((a) => [a.number, a.errorCode, a.statusCode])).toEqual([
      [1, 'LEASE_EXPIRED', null],
      [2, null, 204],
    ]);
    // Says what happened, not which host and process it was (admins of the organisation read it).
    expect(d.attemptLog[0]!.error).toBe('Attempt 1 did not finish (its process stopped or stalled).');
    // The dead attempt's late answer changes nothing.
    const late = await recordAttempt(db, dead!, 'dead-process', {
      verdict: { kind: 'failed' }, startedAt: new Date(), durationMs: 1, statusCode: 500, errorCode: 'HTTP_STATUS', error: 'late', responseBody: null,
    });
    expect(late).toBe(false);
    expect((await deliveryOf(db, eventId)).status).toBe('DELIVERED');
  });

  test('the last allowed attempt dying marks the delivery FAILED instead of sending again', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    const eventId = await emit(db, org.id, learner.id);
    await claimDeliveries(db, 'dead-process', 1, 10, 1);
    await sleep(1200);
    expect(await claimDeliveries(db, 'w', 30, 10, 1)).toEqual([]);
    const d = await deliveryOf(db, eventId);
    expect(d).toMatchObject({ status: 'FAILED', lastErrorCode: 'LEASE_EXPIRED' });
    expect(d.lastError).toMatch(/no attempts left/);
    expect(receiver.received).toHaveLength(0);
  });

  test('two workers share 40 deliveries: each sent once, none twice', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 200, delayMs: 10 });
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(await emit(db, org.id, learner.id, 'utterance.submitted', { i }));
    w = worker(db);
    const w2 = worker(db);
    w.start();
    w2.start();
    try {
      await receiver.waitForCount(40);
      await Promise.all([w.drain(), w2.drain()]);
    } finally {
      await w2.stop({ deadlineMs: 0 });
    }
    const sent = receiver.received.map((r) => String(r.headers['webhook-id']));
    expect(new Set(sent).size).toBe(40);
    expect(sent).toHaveLength(40);
    expect(new Set(sent)).toEqual(new Set(ids.map(webhookId)));
    expect(w.settled.length + w2.settled.length).toBe(40);
    expect(await db.delivery.count({ where: { organizationId: org.id, status: 'DELIVERED' } })).toBe(40);
  });

  test('a graceful stop past its deadline hands the delivery in flight back, unspent', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    receiver.answer = () => ({ status: 200, delayMs: 1500 });
    const eventId = await emit(db, org.id, learner.id);
    w = worker(db);
    w.start();
    const claimed = await waitFor(async () => {
      const d = await deliveryOf(db, eventId);
      return d.status === 'SENDING' ? d : null;
    });
    // The lease covers the four requests an LTI attempt may make at the 2 s timeout, plus 10 s.
    expect(claimed.leaseExpiresAt!.getTime() - claimed.updatedAt.getTime()).toBeGreaterThanOrEqual(17_000);
    await w.stop({ deadlineMs: 100 });
    const d = await deliveryOf(db, eventId);
    expect(d).toMatchObject({ status: 'PENDING', attempts: 0, lockedBy: null });
    expect(d.attemptLog).toEqual([]);
    expect(w.settled.map((s) => s.outcome)).toEqual(['released']);
  });

  test('payload cap: an assessment too large goes without its words; too large even so, it fails', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    const words = Array.from({ length: 30 }, (_, i) => ({ text: `W${i}`, accuracy: 9, stress: 10, total: 9, phonemes: [] }));
    const fat = await emit(db, org.id, learner.id, 'assessment.completed', { assessment: { id: 'a', words } });
    const huge = await emit(db, org.id, learner.id, 'utterance.submitted', { utterance: { referenceText: 'x'.repeat(2000) } });
    w = worker(db, { maxPayloadBytes: 500 });
    w.start();
    await receiver.waitForCount(1);
    expect(JSON.parse(receiver.received[0]!.body).data.assessment).toEqual({ id: 'a', wordsOmitted: true });
    const d = await waitFor(async () => ((await deliveryOf(db, huge)).status === 'FAILED' ? deliveryOf(db, huge) : null));
    expect(d.lastErrorCode).toBe('PAYLOAD_TOO_LARGE');
    await waitFor(async () => (await deliveryOf(db, fat)).status === 'DELIVERED');
  });

  test('retention deletes old settled events with their deliveries, never pending ones', async () => {
    const db = ctx.db.prisma;
    const { org, learner } = await organisation(db);
    await endpoint(db, org.id, receiver.url);
    const settled = await emit(db, org.id, learner.id);
    const pending = await emit(db, org.id, learner.id);
    const recent = await emit(db, org.id, learner.id);
    await db.delivery.updateMany({ where: { eventId: { in: [settled, recent] } }, data: { status: 'DELIVERED' } });
    await db.outboxEvent.updateMany({ where: { id: { in: [settled, pending] } }, data: { createdAt: new Date(Date.now() - 40 * 86400_000) } });
    expect(await deleteOldEvents(db, 30)).toBeGreaterThanOrEqual(1);
    const left = (await db.outboxEvent.findMany({ where: { organizationId: org.id } })).map((e) => e.id).sort();
    expect(left).toEqual([pending, recent].sort());
    expect(await db.delivery.count({ where: { eventId: settled } })).toBe(0);
  });

  // Two transactions at once need a second connection: PostgreSQL only (PGlite has one).
  async function oldFailedEvents(db: PrismaClient) {
    const { org, learner } = await organisation(db);
    const hook = (await endpoint(db, org.id, receiver.url)).endpoint;
    const events = [await emit(db, org.id, learner.id), await emit(db, org.id, learner.id)];
    await db.delivery.updateMany({ where: { eventId: { in: events } }, data: { status: 'FAILED' } });
    await db.outboxEvent.updateMany({ where: { id: { in: events } }, data: { createdAt: new Date(Date.now() - 40 * 86400_000) } });
    return { org, hook, events };
  }
  const actor = { apiKeyId: null, label: 'test' };
  async function secondConnection() {
    const [url, schema] = ctx.db.url!.split('?schema=');
    const client = new pg.Client({ connectionString: url, options: `-c search_path="${schema}"` });
    await client.connect();
    return client;
  }
  /**
   * Until a statement waits for a lock `client` holds. Not any waiter on the server: other suites
   * run on the same server at the same time, and some of them hold locks on purpose.
   */
  const someoneWaits = async (client: pg.Client) => {
    const { rows: [me] } = await client.query(`SELECT pg_backend_pid() AS pid`);
    return waitFor(async () => {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`, [me.pid]);
      return rows[0].n > 0;
    });
  };
  const statuses = async (db: PrismaClient, eventId: string) => (await db.delivery.findMany({ where: { eventId } })).map((d) => d.status).sort();

  const onPostgres = ctx.kind === 'postgres' ? test : test.skip;

  onPostgres('retention leaves an event whose resend is in flight, so the new delivery is not deleted with it', async () => {
    const db = ctx.db.prisma;
    const { org, events: [one, other] } = await oldFailedEvents(db);
    const failed = await deliveryOf(db, one!);
    // A second connection holds the failed delivery's row: the resend locks the event, then waits there.
    const blocker = await secondConnection();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "Delivery" WHERE "id" = $1 FOR UPDATE`, [failed.id]);
      const resent = resendDelivery(db, { organizationId: org.id, id: failed.id }, actor);
      await someoneWaits(blocker);
      // Before, retention chose this event too and deleted it, with the new delivery, once the resend committed.
      await deleteOldEvents(db, 30);
      expect(await db.outboxEvent.count({ where: { id: one! } })).toBe(1);
      expect(await db.outboxEvent.count({ where: { id: other! } })).toBe(0);
      await blocker.query('COMMIT');
      expect((await resent).status).toBe('PENDING');
    } finally {
      await blocker.end();
    }
    expect(await statuses(db, one!)).toEqual(['FAILED', 'PENDING']);
  });

  onPostgres('a bulk resend that waits for retention to commit resends what is left and fails on nothing', async () => {
    const db = ctx.db.prisma;
    const { org, hook, events } = await oldFailedEvents(db);
    // Retention, on a second connection, has deleted both events but not committed yet.
    const retention = await secondConnection();
    try {
      await retention.query('BEGIN');
      const { rowCount } = await retention.query(`DELETE FROM "OutboxEvent" WHERE "id" = ANY($1::uuid[])`, [events]);
      expect(rowCount).toBe(2);
      const resent = resendFailedDeliveries(db, { organizationId: org.id, endpointId: hook.id }, new Date(0), actor);
      await someoneWaits(retention);
      await retention.query('COMMIT');
      // Before, the insert's foreign key check failed once the events were gone: INTERNAL for the admin.
      expect(await resent).toEqual({ count: 0, hasMore: false });
    } finally {
      await retention.end();
    }
    expect(await db.delivery.count({ where: { eventId: { in: events } } })).toBe(0);
  });
});
