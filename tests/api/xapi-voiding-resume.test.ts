/**
 * A voiding delivery that stops mid-way (the LRS drops, the lease is lost) leaves the next attempt
 * only the voidings the LRS did not take: each one taken is recorded on its XapiVoiding row as the
 * answer comes (src/xapi/voiding.ts), so the next attempt does not post them again (and meet a 409
 * and a read-back for each). An answer lost after the LRS stored a batch (nothing recorded) is sent
 * again and read back as ours: still correct. Another LRS gets every voiding.
 *
 * A real database (through the real server's services), the test LRS (tests/support/xapi-lrs.ts)
 * behind a pass-through that counts requests and can lose an answer, real HTTP.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LrsLink, TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { emitEvent } from '../../src/outbox/events.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { queueVoiding, sendVoiding, voidingStatementIdFor } from '../../src/xapi/voiding.js';
import type { Fetch } from '../../src/xapi/lrs.js';

const DATABASES = await testDatabases();
const VOIDINGS = 250; // three batches of 100

describe.each(DATABASES)('a voiding delivery resumed after it stopped mid-way, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let link: LrsLink;
  const prisma = () => t.app.services.prisma;
  const viaLink = () => ({ endpoint: link.url, username: lrs.username, password: lrs.password });

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    link = await new LrsLink(lrs).start();
    // sendVoiding is called by the test itself: no worker sends in the background.
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
    await link?.stop();
    await lrs?.stop();
  });

  /** An erasure's event with VOIDINGS voidings queued (the erasing transaction's part, src/admin/erase.ts). */
  async function erasure(): Promise<{ eventId: string; targets: string[] }> {
    const learnerId = fromGlobalId((await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-resume-${randomUUID()}` })).data.createLearner.id)!.id;
    const { organizationId } = await prisma().learner.findUniqueOrThrow({ where: { id: learnerId } });
    const targets = Array.from({ length: VOIDINGS }, () => statementIdFor(randomUUID())).sort();
    const eventId = await prisma().$transaction(async (tx) => {
      const id = await emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: { learner: { id: toGlobalId('Learner', learnerId) } } });
      expect(await queueVoiding(tx, { organizationId, eventId: id, at: new Date() }, targets, { ...viaLink() })).toBe(VOIDINGS);
      return id;
    });
    return { eventId, targets };
  }

  const conflicts = () => lrs.requests.filter((r) => r.status === 409).length;
  const confirmed = async (eventId: string) => prisma().xapiVoiding.count({ where: { eventId, confirmedAt: { not: null } } });

  test('the lease lost after the first batch: the next attempt posts the other two batches only', async () => {
    const { eventId, targets } = await erasure();
    let renewals = 0;
    const first = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, { keepAlive: async () => renewals++ < 1 });
    expect(first).toMatchObject({ kind: 'retry', errorCode: 'LEASE_EXPIRED' });
    expect((first as { reason: string }).reason).toContain('100 voided');
    expect(await confirmed(eventId)).toBe(100);

    const [requests, conflictsBefore] = [link.requests, conflicts()];
    const second = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {});
    expect(second).toMatchObject({ kind: 'delivered', status: 200, note: expect.stringContaining('100 of 250 voidings were taken by the LRS in earlier attempts') });
    // Two POSTs (batches two and three), no 409 and no read-back for the first batch.
    expect(link.requests - requests).toBe(2);
    expect(conflicts()).toBe(conflictsBefore);
    for (const target of targets) expect(lrs.voided.has(target)).toBe(true);
    expect(await confirmed(eventId)).toBe(VOIDINGS);

    // Everything taken: a re-send of the event to the same LRS sends nothing.
    const third = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {});
    expect(third).toMatchObject({ kind: 'delivered', note: expect.stringContaining('nothing sent') });
    expect(link.requests - requests).toBe(2);
  });

  test('the LRS drops (503) after the first batch: the retry posts only what it did not take', async () => {
    const { eventId } = await erasure();
    // The LRS answers the first POST, then fails the next one.
    let posts = 0;
    const dropping: Fetch = async (url, init) => {
      if (init.method === 'POST' && ++posts === 2) lrs.failNext = 1;
      const res = await fetch(url, init);
      return { status: res.status, text: () => res.text() };
    };
    const first = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, { fetch: dropping });
    expect(first).toMatchObject({ kind: 'retry', status: 503 });
    expect(await confirmed(eventId)).toBe(100);
    const [requests, conflictsBefore] = [link.requests, conflicts()];
    const second = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {});
    expect(second).toMatchObject({ kind: 'delivered', status: 200 });
    expect(link.requests - requests).toBe(2);
    expect(conflicts()).toBe(conflictsBefore);
    expect(await confirmed(eventId)).toBe(VOIDINGS);
  });

  test("an answer lost after the LRS stored a batch: nothing recorded, so the next attempt sends it again and reads it back as ours", async () => {
    const { eventId, targets } = await erasure();
    link.lose = 1; // the first batch is stored, its answer lost (502)
    const first = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {});
    expect(first).toMatchObject({ kind: 'retry', status: 502 });
    expect(await confirmed(eventId)).toBe(0);
    expect(lrs.stored.has(voidingStatementIdFor(targets[0]!))).toBe(true);
    const requests = link.requests;
    const second = await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {});
    expect(second).toMatchObject({ kind: 'delivered', status: 200 });
    // The first batch 409, then each of its statements again with its read, then two batches.
    expect(link.requests - requests).toBe(1 + 100 * 2 + 2);
    expect(await confirmed(eventId)).toBe(VOIDINGS);
  });

  test('taken by one LRS, then the organisation moves to another: the new LRS gets every voiding', async () => {
    const { eventId } = await erasure();
    expect(await sendVoiding(prisma(), t.config.xapi, viaLink(), { id: eventId }, {})).toMatchObject({ kind: 'delivered' });
    const other = await new TestLrs().start();
    try {
      const moved = await sendVoiding(prisma(), t.config.xapi, { endpoint: other.url, username: other.username, password: other.password }, { id: eventId }, {});
      expect(moved).toMatchObject({ kind: 'delivered', status: 200 });
      expect(other.voided.size).toBe(VOIDINGS);
      const rows = await prisma().xapiVoiding.findMany({ where: { eventId }, select: { confirmedEndpoint: true } });
      expect(new Set(rows.map((r) => r.confirmedEndpoint))).toEqual(new Set([other.url]));
    } finally {
      await other.stop();
    }
  });
});
