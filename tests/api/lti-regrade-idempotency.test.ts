/**
 * regradeLtiLineItem's idempotencyKey, against the local LTI platform (tests/support/lti-platform.ts)
 * that verifies every token request and score: a retry with the same key posts nothing again and
 * emits no second event; the same key for another line item or other users is CONFLICT, as every
 * idempotency key of this API is; concurrent calls with one key post each grade once.
 */
import { LOCAL_PEERS, startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { completeReading } from '../support/lti-grading.js';
import { seedUtterance } from '../support/seed.js';
import { waitFor } from '../jobs/fixtures.js';
import { errorCode } from '../support/client.js';

const DATABASES = await testDatabases();

const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`;
const REGRADE = `mutation($id: ID!, $userIds: [String!], $key: String) { regradeLtiLineItem(id: $id, userIds: $userIds, idempotencyKey: $key) {
  lineItem { id } usersRegraded usersWithoutReadings } }`;
const EVENTS = `{ events(first: 20, filter: { types: ["ltiLineItem.regraded"] }) { edges { node { id } } } }`;

describe.each(DATABASES)('regradeLtiLineItem with an idempotencyKey on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let organizationId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, LOCAL_PEERS);
    lms = await LtiTestPlatform.start();
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    organizationId = (await t.app.services.prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  /** A line item on the platform with one graded reading per user, every grade delivered. */
  async function gradedLineItem(path: string, users: string[]) {
    const created = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(path), aspect: 'TOTAL', scoreMaximum: 10 } });
    expect(created.errors).toBeUndefined();
    const id: string = created.data.createLtiLineItem.id;
    const lineItemId = Buffer.from(id, 'base64url').toString('utf8').split(':')[1]!;
    const prisma = t.app.services.prisma;
    for (const [i, userId] of users.entries()) {
      const u = await seedUtterance(prisma, organizationId, 'We call it bear');
      await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId, userId } });
      await completeReading(prisma, organizationId, u, 5 + i, Promise.resolve());
    }
    await settled(path, users.length);
    return id;
  }
  /** Waits until the platform holds `count` scores for the line item and no delivery is left to send. */
  const settled = (path: string, count: number) => waitFor(async () => {
    const pending = await t.app.services.prisma.delivery.count({ where: { channel: 'LTI_SCORE', status: { in: ['PENDING', 'SENDING'] } } });
    const got = lms.scores.filter((s) => s.lineItem === path).length;
    return pending === 0 && got >= count ? got : null;
  }, 30_000, 50);
  const regradedEvents = async () => (await t.admin.request(EVENTS)).data.events.edges.length as number;

  test('a retry with the same key returns the first re-grade\'s answer and posts nothing again', async () => {
    const path = `idem-${kind}`;
    const id = await gradedLineItem(path, ['user-a', 'user-b']);
    const eventsBefore = await regradedEvents();
    const first = await t.admin.request(REGRADE, { id, key: 'regrade-1' });
    expect(first.errors).toBeUndefined();
    expect(first.data.regradeLtiLineItem).toEqual({ lineItem: { id }, usersRegraded: 2, usersWithoutReadings: 0 });
    expect(await settled(path, 4)).toBe(4);

    const retry = await t.admin.request(REGRADE, { id, key: 'regrade-1' });
    expect(retry.errors).toBeUndefined();
    expect(retry.data.regradeLtiLineItem).toEqual(first.data.regradeLtiLineItem);
    // userIds given in another order, or repeated, is the same request.
    const sameUsers = await t.admin.request(REGRADE, { id, key: 'regrade-2', userIds: ['user-b', 'user-a'] });
    expect(sameUsers.data.regradeLtiLineItem).toMatchObject({ usersRegraded: 2 });
    const reordered = await t.admin.request(REGRADE, { id, key: 'regrade-2', userIds: ['user-a', 'user-b', 'user-a'] });
    expect(reordered.errors).toBeUndefined();
    expect(reordered.data.regradeLtiLineItem).toEqual(sameUsers.data.regradeLtiLineItem);
    await settled(path, 6);
    await new Promise((r) => setTimeout(r, 300));
    // Two re-grades reached the platform (4 scores), not four; two events, not four.
    expect(lms.scores.filter((s) => s.lineItem === path)).toHaveLength(6);
    expect(await regradedEvents()).toBe(eventsBefore + 2);
    expect(lms.problems).toEqual([]);
  });

  test('the same key for another line item or other users is CONFLICT, naming what differs; nothing is posted', async () => {
    const path = `idem-conflict-${kind}`;
    const id = await gradedLineItem(path, ['user-c']);
    const other = await gradedLineItem(`${path}-other`, ['user-c']);
    expect((await t.admin.request(REGRADE, { id, key: 'conflict-1' })).errors).toBeUndefined();
    await settled(path, 2);
    const eventsBefore = await regradedEvents();

    const otherItem = await t.admin.request(REGRADE, { id: other, key: 'conflict-1' });
    expect(errorCode(otherItem)).toBe('CONFLICT');
    expect(otherItem.errors![0]!.extensions).toMatchObject({ idempotencyKey: 'conflict-1', differs: ['lineItem'] });
    const otherUsers = await t.admin.request(REGRADE, { id, key: 'conflict-1', userIds: ['user-c'] });
    expect(errorCode(otherUsers)).toBe('CONFLICT');
    expect(otherUsers.errors![0]!.extensions).toMatchObject({ differs: ['userIds'] });
    const badKey = await t.admin.request(REGRADE, { id, key: '' });
    expect(errorCode(badKey)).toBe('BAD_USER_INPUT');
    expect(badKey.errors![0]!.extensions).toMatchObject({ argument: 'idempotencyKey' });

    await new Promise((r) => setTimeout(r, 300));
    expect(lms.scores.filter((s) => s.lineItem === path)).toHaveLength(2);
    expect(lms.scores.filter((s) => s.lineItem === `${path}-other`)).toHaveLength(1);
    expect(await regradedEvents()).toBe(eventsBefore);
  });

  test('concurrent calls with one key re-grade each user once', async () => {
    const path = `idem-race-${kind}`;
    const id = await gradedLineItem(path, ['user-d', 'user-e', 'user-f']);
    const eventsBefore = await regradedEvents();
    const answers = await Promise.all([1, 2, 3].map(() => t.admin.request(REGRADE, { id, key: 'race-1' })));
    // The one that created the key runs it; the others take turns with it from its cursor; all answer the same.
    for (const a of answers) {
      expect(a.errors).toBeUndefined();
      expect(a.data.regradeLtiLineItem).toEqual({ lineItem: { id }, usersRegraded: 3, usersWithoutReadings: 0 });
    }
    await settled(path, 6);
    await new Promise((r) => setTimeout(r, 300));
    expect(lms.scores.filter((s) => s.lineItem === path)).toHaveLength(6);
    expect(await regradedEvents()).toBe(eventsBefore + 1);
  });
});
