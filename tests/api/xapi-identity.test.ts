/**
 * A statement's identity is frozen when its delivery is queued (src/xapi/identity.ts): an attempt
 * whose POST the LRS stored but whose answer was lost, then an admin changing the organisation's
 * account home page, then the retry: the retry posts the same statement (same actor), the LRS's 409
 * reads back ours, and the delivery is DELIVERED, not a STATEMENT_CONFLICT with an
 * xapiDelivery.failed event while the LRS holds the statement. The real server over HTTP, a real
 * database, the test LRS (tests/support/xapi-lrs.ts) behind a pass-through that loses one answer.
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_PEERS, startTestApp, submitScored, testDatabases, type TestApp } from '../support/app.js';
import { LrsLink, TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const SET = `mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`;
const HOME = `mutation($u: String) { setXapiAccountHomePage(url: $u) { xapiAccountHomePage } }`;

describe.each(DATABASES)('an xAPI statement retried after its account home page changed, on %s', (kind) => {
  let t: TestApp;
  let lrs: TestLrs;
  let link: LrsLink;
  let learnerId: string;
  const externalId = `xapi-identity-${randomUUID()}`;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lrs = await new TestLrs().start();
    link = await new LrsLink(lrs).start();
    t = await startTestApp(kind, LOCAL_PEERS);
    learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["course-id"]}) { id } }`, { e: externalId })).data.createLearner.id;
    expect((await t.admin.request(SET, { input: { endpoint: link.url, username: lrs.username, password: lrs.password } })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await t?.dispose();
    await link?.stop();
    await lrs?.stop();
  });

  async function assessed(): Promise<string> {
    return fromGlobalId((await submitScored(t, { learnerId })).assessment.id)!.id;
  }

  async function settled(deliveryId: string) {
    return waitFor(async () => {
      const d = await prisma().delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
      return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
    }, 30_000, 50);
  }

  test('stored by the LRS, answer lost, home page changed: the retry is DELIVERED (409 read back as ours), and so is a re-send', async () => {
    expect((await t.admin.request(HOME, { u: 'https://moodle.before.example' })).errors).toBeUndefined();
    link.lose = 1;
    link.whileLost = async () => {
      const changed = await t.admin.request(HOME, { u: 'https://moodle.after.example' });
      expect(changed.data.setXapiAccountHomePage.xapiAccountHomePage).toBe('https://moodle.after.example');
    };
    const assessmentId = await assessed();
    const id = statementIdFor(assessmentId);
    const { id: deliveryId, eventId } = await waitFor(() => prisma().delivery.findFirst({
      where: { channel: 'XAPI', event: { is: { type: 'assessment.completed', body: { contains: Buffer.from(`Assessment:${assessmentId}`).toString('base64url') } } } },
    }), 30_000, 50);
    const delivery = await settled(deliveryId);
    expect(link.lose).toBe(0); // the first POST was stored and its answer lost
    expect(delivery.attemptLog.map((a) => [a.statusCode, a.errorCode])).toEqual([[502, 'HTTP_STATUS'], [409, null]]);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 409, lastErrorCode: null });
    // The LRS holds the statement of the first attempt, under the home page of when it was queued.
    const stored = lrs.stored.get(id) as { actor: { account: { homePage: string; name: string } }; context: { contextActivities: { grouping: { id: string }[] } } };
    expect(stored.actor.account).toEqual({ homePage: 'https://moodle.before.example', name: externalId });
    // The retry compared equal: it was read back, not only answered 409.
    expect(lrs.requests.slice(-2).map((r) => [r.status, r.reason])).toEqual([[409, 'a statement with this id is stored already'], [200, 'read']]);
    expect(await prisma().outboxEvent.count({ where: { organizationId: delivery.organizationId, type: 'xapiDelivery.failed' } })).toBe(0);
    // What the event froze: the organisation's home page when queued, the server's IRI base at the first attempt.
    expect((await prisma().outboxEvent.findUniqueOrThrow({ where: { id: eventId } })).xapiIdentity)
      .toEqual({ iriBase: t.config.xapi.iriBase, accountHomePage: 'https://moodle.before.example', metadata: true });

    // An admin's re-send later: the same statement again (409, compared), delivered.
    const resent = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: toGlobalId('XapiDelivery', deliveryId) });
    expect(resent.errors).toBeUndefined();
    const again = await settled(fromGlobalId(resent.data.resendXapiDelivery.id)!.id);
    expect(again).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 409 });

    // A statement queued after the change names the new home page.
    const later = await assessed();
    const laterStatement = await waitFor(async () => lrs.stored.get(statementIdFor(later)) as { actor: { account: { homePage: string } } } | undefined, 30_000, 50);
    expect(laterStatement.actor.account.homePage).toBe('https://moodle.after.example');

    // A delivery queued before identities were frozen (no snapshot) is built from the live settings,
    // as before: its re-send now meets the stored statement as a conflict.
    await prisma().$executeRawUnsafe(`UPDATE "OutboxEvent" SET "xapiIdentity" = NULL WHERE "id" = $1::uuid`, eventId);
    const legacy = await t.admin.request(`mutation($id: ID!) { resendXapiDelivery(id: $id) { id } }`, { id: resent.data.resendXapiDelivery.id });
    expect(legacy.errors).toBeUndefined();
    const conflict = await settled(fromGlobalId(legacy.data.resendXapiDelivery.id)!.id);
    expect(conflict).toMatchObject({ status: 'FAILED', lastErrorCode: 'STATEMENT_CONFLICT' });
    expect(conflict.lastError).toContain('actor.account.homePage');
  });
});
