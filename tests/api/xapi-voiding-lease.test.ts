/**
 * An erasure's voiding delivery with many statements, against a slow LRS, under a short delivery
 * lease: the attempt takes several leases' time (a batch answered 409 is sent again one statement
 * at a time, each read back), and renews its lease as it makes progress, so no other claim takes
 * it over mid-way (LEASE_EXPIRED) and its DELIVERED record is not fenced off: one attempt, DELIVERED.
 *
 * The real server over HTTP (its LRS set through GraphQL; its own delivery worker off), a real
 * database, two real delivery workers sharing the queue with a 2 s lease, and the test LRS
 * (tests/support/xapi-lrs.ts) behind a pass-through that delays every request.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LrsLink, TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { AddressPolicy } from '../../src/outbox/address-policy.js';
import { emitEvent } from '../../src/outbox/events.js';
import { DeliveryWorker, type DeliveryOutcome } from '../../src/outbox/worker.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { queueVoiding, voidingStatement } from '../../src/xapi/voiding.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`;
const VOIDINGS = 250;
// Progress renews a lease once a quarter of it has passed, so each step (a statement and its read)
// must fit in the other three quarters: 0.5 s was less than one step took on a loaded CI machine.
const LEASE_SECONDS = 2;

describe.each(DATABASES)('a voiding delivery longer than its lease, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let link: LrsLink;
  const workers: DeliveryWorker[] = [];
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    link = await new LrsLink(lrs).start();
    // Only the two workers below send.
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true, deliveryWorker: false });
    expect((await t.admin.request(SET, { input: { endpoint: link.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop({ deadlineMs: 0 });
    await t?.dispose();
    await link?.stop();
    await lrs?.stop();
  });

  test('an attempt spanning several leases renews its lease: one attempt, DELIVERED, no LEASE_EXPIRED takeover, every statement voided once', async () => {
    const learnerId = fromGlobalId((await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-lease-${randomUUID()}` })).data.createLearner.id)!.id;
    const { organizationId } = await prisma().learner.findUniqueOrThrow({ where: { id: learnerId } });
    const targets = Array.from({ length: VOIDINGS }, () => statementIdFor(randomUUID()));
    // The erasing transaction's part (src/admin/erase.ts): its event, the voidings and their XAPI delivery.
    const eventId = await prisma().$transaction(async (tx) => {
      const id = await emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: { learner: { id: toGlobalId('Learner', learnerId) } } });
      expect(await queueVoiding(tx, { organizationId, eventId: id, at: new Date() }, targets, null)).toBe(VOIDINGS);
      return id;
    });
    // An earlier attempt stored the first batch but its answer was lost: that batch is answered 409
    // and sent again one statement at a time, each 409 read back (two requests per statement).
    const rows = await prisma().xapiVoiding.findMany({ where: { eventId }, orderBy: { statementId: 'asc' } });
    const firstBatch = rows.slice(0, 100).map((r) => voidingStatement(t.config.xapi, r.statementId, r.voidedAt));
    const stored = await fetch(`${lrs.url}statements`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${lrs.username}:${lrs.password}`).toString('base64')}`,
        'x-experience-api-version': '1.0.3',
        'content-type': 'application/json',
      },
      body: JSON.stringify(firstBatch),
    });
    expect(stored.status).toBe(200);

    link.delayMs = 35; // 203 requests: the attempt outlasts three leases
    const settled: { worker: number; outcome: DeliveryOutcome; errorCode: string | null }[] = [];
    for (const n of [0, 1]) {
      const w = new DeliveryWorker({
        prisma: prisma(),
        concurrency: 2,
        pollIntervalMs: 50,
        retentionDays: 0,
        timeoutMs: 2_000,
        maxPayloadBytes: 64 * 1024,
        schedule: { baseMs: 200, capMs: 1_000, maxAttempts: 3 },
        policy: new AddressPolicy(['127.0.0.1']),
        xapi: t.config.xapi,
        leaseSeconds: LEASE_SECONDS,
        onSettled: (_d, outcome, record) => settled.push({ worker: n, outcome, errorCode: record.errorCode }),
        onError: () => undefined,
      });
      workers.push(w);
      w.start();
    }

    const delivery = await waitFor(async () => {
      const d = await prisma().delivery.findFirst({ where: { eventId, channel: 'XAPI' }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
      return d && (d.status === 'DELIVERED' || d.status === 'FAILED') ? d : null;
    }, 60_000, 50);
    expect(delivery.attemptLog.map((a) => [a.number, a.statusCode, a.errorCode])).toEqual([[1, 200, null]]);
    // The attempt did outlast its first lease several times over.
    expect(delivery.attemptLog[0]!.durationMs).toBeGreaterThan(3 * LEASE_SECONDS * 1000);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 1, lastErrorCode: null });
    expect(settled).toEqual([{ worker: expect.any(Number), outcome: 'delivered', errorCode: null }]);
    expect(await prisma().deliveryAttempt.count({ where: { errorCode: 'LEASE_EXPIRED' } })).toBe(0);
    // Every statement voided, each sent by the one attempt only: the first batch's POST, each of its
    // statements again with its read, then the other two batches.
    for (const target of targets) expect(lrs.voided.has(target)).toBe(true);
    expect(link.requests).toBe(1 + 100 * 2 + 2);

    const listed = (await t.admin.request(`{ xapiDeliveries(first: 10) { edges { node { id status } } } }`)).data.xapiDeliveries.edges as { node: { id: string; status: string } }[];
    expect(listed.map((e) => e.node).find((n) => n.id === toGlobalId('XapiDelivery', delivery.id))).toEqual({ id: toGlobalId('XapiDelivery', delivery.id), status: 'DELIVERED' });
  });
});
