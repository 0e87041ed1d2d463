/**
 * A grade's `timestamp` after a graded reading is deleted, against the local LTI platform
 * (tests/support/lti-platform.ts). AGS platforms keep a user's score with the latest timestamp and
 * drop one that is not after it, so the re-grade that follows the deletion must be stamped after
 * every score the platform holds, the deleted reading's included, whichever process's clock stamped
 * that one. Here the deleted reading's grade reached the platform stamped ten minutes ahead of the
 * database's clock, as a worker whose clock ran ahead stamped grades before they came from one clock.
 */
import { LOCAL_PEERS, startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { completeReading } from '../support/lti-grading.js';
import { seedUtterance } from '../support/seed.js';
import { waitFor } from '../jobs/fixtures.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`;
const RESEND = `mutation($id: ID!) { resendGradeDelivery(id: $id) { id } }`;
const DELETE = `mutation($id: ID!) { deleteUtterance(id: $id) { gradesReposted } }`;
const AHEAD_MS = 10 * 60_000;

describe.each(DATABASES)('the grade after a deleted reading on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, LOCAL_PEERS);
    lms = await LtiTestPlatform.start();
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  const received = (path: string) => lms.scores.filter((s) => s.lineItem === path).map((s) => s.body);
  const undelivered = () => t.app.services.prisma.delivery.count({ where: { channel: 'LTI_SCORE', status: { not: 'DELIVERED' } } });
  const settled = (path: string, count: number) => waitFor(async () => (received(path).length >= count && (await undelivered()) === 0 ? true : null), 30_000, 50);

  test('is stamped after the deleted reading\'s grade, though that one was stamped ahead of the database\'s clock', async () => {
    const prisma = t.app.services.prisma;
    const path = `clock-${kind}`;
    const organizationId = (await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
    const created = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(path), aspect: 'TOTAL', scoreMaximum: 10 } });
    const lineItemId = Buffer.from(created.data.createLtiLineItem.id, 'base64url').toString('utf8').split(':')[1]!;
    const readings = [];
    for (const total of [4, 9]) {
      const u = await seedUtterance(prisma, organizationId, 'We call it bear');
      await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId, userId: 'user-clock' } });
      readings.push({ utterance: u, scoreId: await completeReading(prisma, organizationId, u, total, Promise.resolve()) });
      await settled(path, readings.length);
    }
    // The newer reading's grade as a worker ten minutes ahead stamped it, and the platform holds it so.
    const ahead = new Date(Date.now() + AHEAD_MS);
    await prisma.ltiScore.update({ where: { id: readings[1]!.scoreId }, data: { scoredAt: ahead } });
    const delivery = await prisma.delivery.findFirstOrThrow({ where: { ltiScoreId: readings[1]!.scoreId } });
    expect((await t.admin.request(RESEND, { id: toGlobalId('GradeDelivery', delivery.id) })).errors).toBeUndefined();
    await settled(path, 3);
    expect(received(path).at(-1)).toMatchObject({ scoreGiven: 9, timestamp: ahead.toISOString() });

    // Deleting it re-grades the user from the older reading: a score the platform must not drop.
    const deleted = await t.admin.request(DELETE, { id: toGlobalId('Utterance', readings[1]!.utterance.id) });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteUtterance.gradesReposted).toBe(1);
    await settled(path, 4);
    const regrade = received(path).at(-1)!;
    expect(regrade).toMatchObject({ scoreGiven: 4 });
    expect(Date.parse(regrade.timestamp as string)).toBeGreaterThan(ahead.getTime());
    expect(lms.problems).toEqual([]);
  });
});
