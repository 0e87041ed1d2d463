/**
 * A voiding the LRS refuses for a statement it does not hold is moot only once that is sure.
 *
 * xAPI says an LRS SHOULD NOT (1.0.3 Data 2.3.2) / shall not (IEEE 9274.1.1, xAPI 2.0) refuse a
 * voiding statement whose target it does not hold; some refuse anyway (the test LRS's
 * refuseVoidingUnknown). A single 404 to `GET statements?statementId=` does not prove the target
 * will never be there: an LRS may answer before what it stored can be read (Communication 2.1.2:
 * X-Experience-API-Consistent-Through says how far its reads are complete), a statement voided
 * already answers 404 too (it is read by voidedStatementId), and a statement still on its way
 * (its delivery in flight when the learner was erased) lands after the read. So the target is
 * read by statementId and by voidedStatementId; a 404 read before the window in which a statement
 * on its way lands (by default twice the request timeout after the voiding's time) is read again once the
 * window has passed (a statement that landed meanwhile is voided then); and a 404 from an LRS whose
 * reads are complete only up to before that window is no proof: the attempt is retried.
 *
 * A real database (the real server's services), the test LRS (tests/support/xapi-lrs.ts) over real
 * HTTP, sendVoiding called as the delivery worker calls it.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { emitEvent } from '../../src/outbox/events.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { queueVoiding, sendVoiding, voidingStatementIdFor } from '../../src/xapi/voiding.js';
import type { Fetch } from '../../src/xapi/lrs.js';

const DATABASES = await testDatabases();
// The window after the voiding's time (by default twice the request timeout: a delivery's in-flight
// POST ends within it); long enough that the attempt's first read falls in it on a loaded machine.
const SETTLE_MS = 3_000;

describe.each(DATABASES)('a voiding refused for a statement the LRS does not hold, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  const prisma = () => t.app.services.prisma;
  const config = () => ({ endpoint: lrs.url, username: lrs.username, password: lrs.password });

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    lrs.refuseVoidingUnknown = true;
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
    await lrs?.stop();
  });
  afterEach(() => {
    lrs.consistencyLagMs = 0;
  });

  /** An erasure's event voiding `targets` as of `at` (the erasing transaction's part, src/admin/erase.ts). */
  async function erasure(targets: string[], at = new Date()): Promise<string> {
    const learnerId = fromGlobalId((await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `xapi-moot-${randomUUID()}` })).data.createLearner.id)!.id;
    const { organizationId } = await prisma().learner.findUniqueOrThrow({ where: { id: learnerId } });
    return prisma().$transaction(async (tx) => {
      const id = await emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: { learner: { id: toGlobalId('Learner', learnerId) } } });
      await queueVoiding(tx, { organizationId, eventId: id, at }, targets, config());
      return id;
    });
  }

  /** A statement with this id posted to the LRS by someone else (a delivery, or another voiding). */
  async function post(statement: object): Promise<void> {
    const res = await fetch(`${lrs.url}statements`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${lrs.username}:${lrs.password}`).toString('base64')}`,
        'x-experience-api-version': '1.0.3',
        'content-type': 'application/json',
      },
      body: JSON.stringify(statement),
    });
    expect(res.status).toBe(200);
  }
  const scored = (id: string) => ({
    id,
    actor: { objectType: 'Agent', account: { homePage: 'https://lms.example', name: 'learner-1' } },
    verb: { id: 'http://adlnet.gov/expapi/verbs/scored', display: { 'en-US': 'scored' } },
    object: { objectType: 'Activity', id: 'https://speechmark.dev/xapi/activities/read-aloud/x' },
  });

  test('a statement landing after the first 404 (its delivery in flight at the erasure) is read again after the window, and voided', async () => {
    const target = statementIdFor(randomUUID());
    const eventId = await erasure([target]);
    // Erased as the attempt starts, as when the worker takes the delivery at once (the test's own
    // erasure above takes its time on a loaded machine).
    const voidedAt = Date.now();
    await prisma().xapiVoiding.updateMany({ where: { eventId }, data: { voidedAt: new Date(voidedAt) } });
    // The in-flight delivery's POST lands right after the first read answered 404, within the window.
    let landing: Promise<void> | null = null;
    const reading: Fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (init.method === 'GET' && res.status === 404 && !landing) landing = post(scored(target));
      return { status: res.status, text: () => res.text(), headers: res.headers };
    };
    const outcome = await sendVoiding(prisma(), t.config.xapi, config(), { id: eventId }, { settleMs: SETTLE_MS, fetch: reading });
    await landing;
    expect([outcome.kind, (outcome as { reason?: string }).reason]).toEqual(['delivered', undefined]);
    expect(outcome).toMatchObject({ kind: 'delivered', status: 200 });
    expect(lrs.voided.has(target)).toBe(true);
    expect(lrs.stored.has(voidingStatementIdFor(target))).toBe(true);
    // Read again once the window had passed.
    const reads = lrs.requests.filter((r) => r.query.startsWith(`?statementId=${target}`));
    expect(reads.map((r) => r.status)).toEqual([404, 200]);
    expect(Date.now() - voidedAt).toBeGreaterThanOrEqual(SETTLE_MS);
  });

  test('voided already (a read by voidedStatementId answers 200): moot at once, within the window', async () => {
    const target = statementIdFor(randomUUID());
    await post(scored(target));
    await post({ ...scored(randomUUID()), verb: { id: 'http://adlnet.gov/expapi/verbs/voided', display: { 'en-US': 'voided' } }, object: { objectType: 'StatementRef', id: target } });
    const eventId = await erasure([target]);
    const reads = lrs.requests.length;
    const started = Date.now();
    const outcome = await sendVoiding(prisma(), t.config.xapi, config(), { id: eventId }, { settleMs: 60_000 });
    expect(outcome).toMatchObject({ kind: 'delivered', note: expect.stringContaining('1 of 1 statements are not in the LRS') });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The batch refused, the statement alone refused, the read by statementId (404), the read by
    // voidedStatementId (200, which also shows the endpoint is an LRS's: no About read).
    expect(lrs.requests.slice(reads).map((r) => [r.status, r.query.split('=')[0]])).toEqual([[400, ''], [400, ''], [404, '?statementId'], [200, '?voidedStatementId']]);
  });

  test('never received, read after the window: moot; while the LRS is consistent only up to before the window, retried instead', async () => {
    const target = statementIdFor(randomUUID());
    const eventId = await erasure([target], new Date(Date.now() - 60_000));
    lrs.consistencyLagMs = 3_600_000; // its reads are complete up to an hour ago
    const lagging = await sendVoiding(prisma(), t.config.xapi, config(), { id: eventId }, { settleMs: SETTLE_MS });
    expect(lagging).toMatchObject({ kind: 'retry', errorCode: 'LRS_NOT_CONSISTENT' });
    expect((lagging as { reason: string }).reason).toContain(target);

    lrs.consistencyLagMs = 0;
    const moot = await sendVoiding(prisma(), t.config.xapi, config(), { id: eventId }, { settleMs: SETTLE_MS });
    expect(moot).toMatchObject({ kind: 'delivered', note: expect.stringContaining('1 of 1 statements are not in the LRS') });
    expect(lrs.stored.has(voidingStatementIdFor(target))).toBe(false);
  });
});
