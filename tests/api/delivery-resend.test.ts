/**
 * Failed LMS deliveries can be found and sent again (admin scope): grade deliveries (LTI AGS scores)
 * and xAPI statement deliveries are listed with their state and attempts, re-sent one by one, or
 * re-sent in bulk after an outage. Real peers started here: the LTI test platform (verifies every
 * client assertion and score as an LMS does) and the test LRS (validates every statement); real
 * uploads scored by the real model; the app's own delivery worker sends everything.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LOCAL_PEERS, startTestApp, submitScored, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { TestLrs } from '../support/xapi-lrs.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { statementIdFor } from '../../src/xapi/uuid.js';
import { waitFor } from '../jobs/fixtures.js';

const DATABASES = await testDatabases();

const GRADE_FIELDS = 'id status attempts lastErrorCode lastHttpStatus userId scoreGiven deliveredAt createdAt assessment { id } lineItem { id }';
const GRADE = `query($id: ID!) { gradeDelivery(id: $id) { ${GRADE_FIELDS} } }`;
const GRADES = `query($f: GradeDeliveryFilter) { gradeDeliveries(first: 100, filter: $f) { totalCount edges { node { ${GRADE_FIELDS} } } } }`;
const RESEND_GRADE = `mutation($id: ID!) { resendGradeDelivery(id: $id) { ${GRADE_FIELDS} } }`;
const RESEND_FAILED_GRADES = `mutation($l: ID!, $s: DateTime!) { resendFailedGradeDeliveries(lineItemId: $l, since: $s) { count hasMore } }`;
const XAPI_FIELDS = 'id status attempts lastErrorCode lastHttpStatus statementId deliveredAt assessment { id } attemptLog { number statusCode }';
const XAPIS = `query($s: XapiDeliveryStatus) { xapiDeliveries(first: 100, status: $s) { totalCount edges { node { ${XAPI_FIELDS} } } } }`;
const RESEND_XAPI = `mutation($id: ID!) { resendXapiDelivery(id: $id) { ${XAPI_FIELDS} } }`;
const RESEND_FAILED_XAPI = `mutation($s: DateTime!) { resendFailedXapiDeliveries(since: $s) { count } }`;
const AUDIT = `{ auditEvents(first: 5, action: "gradeDelivery.resent") { edges { node { targetType targetId details } } } }`;

interface Grade {
  id: string;
  status: string;
  attempts: number;
  userId: string;
  scoreGiven: number;
  assessment: { id: string };
  lineItem: { id: string };
}

describe.each(DATABASES)('re-sending failed grade and statement deliveries on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let lrs: TestLrs;
  let platformId: string;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    lms = await LtiTestPlatform.start();
    lrs = await new TestLrs().start();
    // Both peers are on 127.0.0.1, over http: the operator allows that. Short backoff, four attempts.
    t = await startTestApp(kind, LOCAL_PEERS);
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-resend');
  });
  afterAll(async () => {
    await t?.dispose();
    await lms?.close();
    await lrs?.stop();
  });

  async function lineItem(path: string): Promise<string> {
    const res = await t.admin.request(`mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`, {
      input: { platformId, url: lms.lineItemUrl(path), aspect: 'TOTAL', scoreMaximum: 100 },
    });
    expect(res.errors).toBeUndefined();
    return res.data.createLtiLineItem.id;
  }

  /** A recording scored by the model; with `lti`, its score is owed to that line item for that user. */
  async function assessed(lti?: { lineItemId: string; userId: string }): Promise<string> {
    const learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `resend-${randomUUID()}` }))
      .data.createLearner.id;
    return (await submitScored(t, { learnerId, ...(lti ? { lti } : {}) })).assessment.id;
  }

  /** The grade deliveries of an assessment once all are settled (DELIVERED or FAILED). */
  async function settledGrades(assessmentId: string): Promise<Grade[]> {
    return waitFor(async () => {
      const res = await t.admin.request(GRADES, {});
      const mine = (res.data.gradeDeliveries.edges as { node: Grade }[]).map((e) => e.node).filter((g) => g.assessment.id === assessmentId);
      return mine.length > 0 && mine.every((g) => g.status === 'DELIVERED' || g.status === 'FAILED') ? mine : null;
    }, 30_000, 50);
  }

  async function settledGrade(id: string): Promise<Grade> {
    return waitFor(async () => {
      const g = (await t.admin.request(GRADE, { id })).data.gradeDelivery as Grade;
      return g.status === 'DELIVERED' || g.status === 'FAILED' ? g : null;
    }, 30_000, 50);
  }

  const postedTo = (path: string) => lms.scores.filter((s) => s.lineItem === path);

  test('a refused score is listed as FAILED and posted again by id, with its original timestamp; the re-send is audited', async () => {
    const item = await lineItem('resend-one');
    lms.failNextScores(400);
    const assessmentId = await assessed({ lineItemId: item, userId: 'user-one' });
    const [failed] = await settledGrades(assessmentId);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, lastHttpStatus: 400, userId: 'user-one', lineItem: { id: item } });
    expect(postedTo('resend-one')).toHaveLength(0);

    // Found by the filters an admin UI uses; another line item's or user's filter leaves it out.
    const listed = await t.admin.request(GRADES, { f: { status: 'FAILED', lineItemId: item } });
    expect(listed.data.gradeDeliveries.edges.map((e: { node: Grade }) => e.node.id)).toEqual([failed!.id]);
    expect(listed.data.gradeDeliveries.totalCount).toBe(1);
    expect((await t.admin.request(GRADES, { f: { lineItemId: item, userId: 'someone-else' } })).data.gradeDeliveries.totalCount).toBe(0);
    expect((await t.admin.request(GRADES, { f: { lineItemId: platformId } })).data.gradeDeliveries.totalCount).toBe(0);

    const resent = await t.admin.request(RESEND_GRADE, { id: failed!.id });
    expect(resent.errors).toBeUndefined();
    const fresh = resent.data.resendGradeDelivery as Grade;
    expect(fresh.id).not.toBe(failed!.id);
    expect(fresh).toMatchObject({ userId: 'user-one', scoreGiven: failed!.scoreGiven, assessment: { id: assessmentId }, lineItem: { id: item } });
    expect(await settledGrade(fresh.id)).toMatchObject({ status: 'DELIVERED', attempts: 1, lastHttpStatus: expect.any(Number) });
    // The failed delivery stays as it was, for the record.
    expect((await t.admin.request(GRADE, { id: failed!.id })).data.gradeDelivery).toMatchObject({ status: 'FAILED', attempts: 1 });

    const [posted] = postedTo('resend-one');
    const score = await prisma().ltiScore.findFirstOrThrow({ where: { assessmentId: fromGlobalId(assessmentId)!.id } });
    // The score as it was owed: the same value and gradingProgress (the noise fixture reads as another sentence: PendingManual).
    expect(posted!.body).toMatchObject({ userId: 'user-one', scoreGiven: failed!.scoreGiven, gradingProgress: score.gradingProgress === 'PENDING_MANUAL' ? 'PendingManual' : 'FullyGraded' });
    expect(Date.parse(posted!.body.timestamp as string)).toBe(score.scoredAt.getTime());
    expect(lms.problems).toEqual([]);

    const audit = (await t.admin.request(AUDIT)).data.auditEvents.edges[0].node;
    expect(audit).toMatchObject({ targetType: 'GradeDelivery', targetId: failed!.id, details: { previousStatus: 'FAILED', deliveryId: fresh.id } });
  });

  test('a score a later one supersedes is CONFLICT naming the later delivery; nothing is created', async () => {
    const item = await lineItem('superseded');
    lms.failNextScores(400);
    const [older] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-two' }));
    const [newer] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-two' }));
    expect([older!.status, newer!.status]).toEqual(['FAILED', 'DELIVERED']);
    const before = await prisma().delivery.count({ where: { channel: 'LTI_SCORE' } });
    const refused = await t.admin.request(RESEND_GRADE, { id: older!.id });
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0]!.extensions!.supersededBy).toBe(newer!.id);
    expect(refused.errors![0]!.message).toMatch(/later score/);
    expect(await prisma().delivery.count({ where: { channel: 'LTI_SCORE' } })).toBe(before);
    // The latest one may be re-sent (a delivered score too: the platform keeps one).
    expect((await t.admin.request(RESEND_GRADE, { id: newer!.id })).errors).toBeUndefined();
    // Settled before the next test tells the platform to refuse its next scores (this post would take one).
    expect((await settledGrades(newer!.assessment.id)).map((g) => g.status)).toEqual(['DELIVERED', 'DELIVERED']);
  });

  test('after an outage, the bulk re-send posts each user\'s latest failed score once, and only that', async () => {
    const item = await lineItem('outage');
    const since = new Date(Date.now() - 1000).toISOString();
    lms.failNextScores(400, 400, 400);
    const [a1] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-a' }));
    const [b1] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-b' }));
    const [a2] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-a' }));
    expect([a1, b1, a2].map((g) => g!.status)).toEqual(['FAILED', 'FAILED', 'FAILED']);

    const { client: other } = await otherOrganization(t);
    expect(errorCode(await other.request(RESEND_FAILED_GRADES, { l: item, s: since }))).toBe('NOT_FOUND');
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(RESEND_FAILED_GRADES, { l: item, s: since }))).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(GRADES, {}))).toBe('FORBIDDEN');
    expect((await t.admin.request(RESEND_FAILED_GRADES, { l: item, s: new Date(Date.now() + 60_000).toISOString() })).data.resendFailedGradeDeliveries.count).toBe(0);

    const bulk = await t.admin.request(RESEND_FAILED_GRADES, { l: item, s: since });
    expect(bulk.errors).toBeUndefined();
    expect(bulk.data.resendFailedGradeDeliveries.count).toBe(2);
    expect(bulk.data.resendFailedGradeDeliveries.hasMore).toBe(false);
    await waitFor(async () => (postedTo('outage').length === 2 ? true : null), 30_000, 50);
    const byUser = Object.fromEntries(postedTo('outage').map((s) => [s.body.userId, s.body.scoreGiven]));
    expect(byUser).toEqual({ 'user-a': a2!.scoreGiven, 'user-b': b1!.scoreGiven });
    // Settled now: nothing left whose deliveries all failed.
    await waitFor(async () => ((await prisma().delivery.count({ where: { channel: 'LTI_SCORE', status: { in: ['PENDING', 'SENDING'] } } })) === 0 ? true : null), 30_000, 50);
    expect((await t.admin.request(RESEND_FAILED_GRADES, { l: item, s: since })).data.resendFailedGradeDeliveries.count).toBe(0);
    expect(postedTo('outage')).toHaveLength(2);
    expect(lms.problems).toEqual([]);
  });

  test('re-sending a delivery whose earlier re-send still waits returns that one and sends once', async () => {
    const item = await lineItem('doubled');
    lms.failNextScores(400);
    const [failed] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-doubled' }));
    // An earlier re-send of it, waiting for its attempt (as after a backoff).
    const failedRow = await prisma().delivery.findUniqueOrThrow({ where: { id: fromGlobalId(failed!.id)!.id } });
    const waiting = await prisma().delivery.create({
      data: { organizationId: failedRow.organizationId, eventId: failedRow.eventId, channel: 'LTI_SCORE', ltiScoreId: failedRow.ltiScoreId, runAfter: new Date(Date.now() + 3_600_000) },
    });
    const before = await prisma().delivery.count({ where: { ltiScoreId: failedRow.ltiScoreId } });
    const again = await t.admin.request(RESEND_GRADE, { id: failed!.id });
    expect(again.errors).toBeUndefined();
    expect(again.data.resendGradeDelivery.id).toBe(toGlobalId('GradeDelivery', waiting.id));
    expect(await prisma().delivery.count({ where: { ltiScoreId: failedRow.ltiScoreId } })).toBe(before);
    // Moved to now: sent at once, and only once.
    expect(await settledGrade(again.data.resendGradeDelivery.id)).toMatchObject({ status: 'DELIVERED' });
    expect(postedTo('doubled')).toHaveLength(1);
  });

  test('two failed deliveries of one score re-sent at once, by id and in bulk, make one new delivery', async () => {
    const item = await lineItem('twice-failed');
    lms.failNextScores(400);
    const [failed] = await settledGrades(await assessed({ lineItemId: item, userId: 'user-twice' }));
    const failedRow = await prisma().delivery.findUniqueOrThrow({ where: { id: fromGlobalId(failed!.id)!.id } });
    const { organizationId, eventId, ltiScoreId } = failedRow;
    const since = new Date(failedRow.createdAt.getTime() - 1000).toISOString();
    // Nothing is sent while the re-sends race (a delivery sent and settled between two of them would
    // rightly be re-sent again); each round starts from every delivery of the score FAILED, one more
    // among them, so the bulk re-send qualifies the score too.
    await t.app.deliveries?.stop({ deadlineMs: 10_000 });
    try {
      for (let round = 0; round < 6; round++) {
        await prisma().delivery.updateMany({ where: { ltiScoreId, status: { not: 'FAILED' } }, data: { status: 'FAILED' } });
        const second = await prisma().delivery.create({ data: { organizationId, eventId, channel: 'LTI_SCORE', ltiScoreId, status: 'FAILED', runAfter: new Date() } });
        const before = await prisma().delivery.count({ where: { ltiScoreId } });
        const [a, b, bulk] = await Promise.all([
          t.admin.request(RESEND_GRADE, { id: failed!.id }),
          t.admin.request(RESEND_GRADE, { id: toGlobalId('GradeDelivery', second.id) }),
          t.admin.request(RESEND_FAILED_GRADES, { l: item, s: since }),
        ]);
        expect({ round, errors: [a.errors, b.errors, bulk.errors] }).toEqual({ round, errors: [undefined, undefined, undefined] });
        expect(a.data.resendGradeDelivery.id).toBe(b.data.resendGradeDelivery.id);
        expect(await prisma().delivery.count({ where: { ltiScoreId } })).toBe(before + 1);
        // The bulk re-send made it (1) or found it made (0).
        expect([0, 1]).toContain(bulk.data.resendFailedGradeDeliveries.count);
      }
    } finally {
      t.app.deliveries?.start();
    }
    // The one open delivery is sent once the worker is back.
    const open = await prisma().delivery.findFirstOrThrow({ where: { ltiScoreId, status: { not: 'FAILED' } } }); // pending, or already taken
    expect(await settledGrade(toGlobalId('GradeDelivery', open.id))).toMatchObject({ status: 'DELIVERED' });
    expect(postedTo('twice-failed')).toHaveLength(1);
  });

  test('ids of another type, another organisation or none are NOT_FOUND; reading needs the admin scope', async () => {
    const own = await assessed({ lineItemId: await lineItem('ids'), userId: 'user-ids' });
    const [mine] = await settledGrades(own);
    const g = { node: mine! };
    const { client: other } = await otherOrganization(t);
    expect(errorCode(await other.request(RESEND_GRADE, { id: g.node.id }))).toBe('NOT_FOUND');
    expect((await other.request(GRADE, { id: g.node.id })).data.gradeDelivery).toBeNull();
    expect(errorCode(await t.admin.request(RESEND_GRADE, { id: toGlobalId('GradeDelivery', randomUUID()) }))).toBe('NOT_FOUND');
    expect(errorCode(await t.admin.request(RESEND_GRADE, { id: platformId }))).toBe('NOT_FOUND');
    expect(errorCode(await t.admin.request(RESEND_XAPI, { id: g.node.id }))).toBe('NOT_FOUND'); // a grade delivery is no statement delivery
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect(errorCode(await reader.request(GRADE, { id: g.node.id }))).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(RESEND_GRADE, { id: g.node.id }))).toBe('FORBIDDEN');
    expect(errorCode(await reader.request(XAPIS, {}))).toBe('FORBIDDEN');
  });

  test("the README's operations run as written: find the failed grade and statement, send each again, then in bulk", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('#### Failed deliveries: find them, send them again'));
    const block = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    const ops = block.split('\n').filter((l) => l.trim());
    expect(ops).toHaveLength(6);
    const run = async (op: string, ids: Record<string, string> = {}) => {
      const filled = Object.entries(ids).reduce((q, [k, v]) => q.replace(`<${k}>`, v), op);
      expect(filled).not.toMatch(/<[a-z ]+>/);
      const res = await t.admin.request(filled);
      expect(res.errors).toBeUndefined();
      return res.data;
    };
    expect((await t.admin.request(`mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`, {
      input: { endpoint: lrs.url, username: lrs.username, password: lrs.password },
    })).errors).toBeUndefined();
    // Two learners' scores and statements fail: one of each is sent again by id, the other by the bulk call.
    const item = await lineItem('readme');
    const takes: { user: string; assessmentId: string; statement: string }[] = [];
    for (const user of ['readme-one', 'readme-two']) {
      lms.failNextScores(400);
      lrs.failNext = 4;
      const assessmentId = await assessed({ lineItemId: item, userId: user });
      await settledGrades(assessmentId);
      // Its statement out of attempts before the next take asks the LRS to fail again.
      await waitFor(async () => ((await prisma().delivery.count({
        where: { channel: 'XAPI', status: 'FAILED', event: { is: { body: { contains: assessmentId } } } },
      })) === 1 ? true : null), 30_000, 50);
      takes.push({ user, assessmentId, statement: statementIdFor(fromGlobalId(assessmentId)!.id) });
    }
    const [one, two] = takes as [typeof takes[0], typeof takes[0]];

    const grade = await waitFor(async () => {
      const nodes = (await run(ops[0]!)).gradeDeliveries.edges.map((e: { node: { userId: string; lineItem: { id: string } } }) => e.node);
      return nodes.find((n: { userId: string; lineItem: { id: string } }) => n.lineItem.id === item && n.userId === one.user) ?? null;
    }, 30_000, 50);
    expect(grade).toMatchObject({ lastHttpStatus: 400, lastErrorCode: 'HTTP_STATUS' });
    expect((await run(ops[1]!, { 'grade delivery id': grade.id })).resendGradeDelivery.status).toBe('PENDING');
    await waitFor(async () => (postedTo('readme').length === 1 ? true : null), 30_000, 50);
    expect(postedTo('readme')[0]!.body.userId).toBe(one.user);
    expect((await run(ops[2]!, { 'line item id': item })).resendFailedGradeDeliveries.count).toBe(1);
    await waitFor(async () => (postedTo('readme').length === 2 ? true : null), 30_000, 50);
    expect(postedTo('readme')[1]!.body.userId).toBe(two.user);

    const statement = await waitFor(async () => {
      const nodes = (await run(ops[3]!)).xapiDeliveries.edges.map((e: { node: { statementId: string } }) => e.node);
      return nodes.find((n: { statementId: string }) => n.statementId === one.statement) ?? null;
    }, 30_000, 50);
    expect(statement).toMatchObject({ lastHttpStatus: 503, assessment: { id: one.assessmentId } });
    expect((await run(ops[4]!, { 'statement delivery id': statement.id })).resendXapiDelivery.status).toBe('PENDING');
    await waitFor(async () => (lrs.stored.has(one.statement) ? true : null), 30_000, 50);
    expect(lrs.stored.has(two.statement)).toBe(false);
    expect((await run(ops[5]!)).resendFailedXapiDeliveries.count).toBe(1);
    await waitFor(async () => (lrs.stored.has(two.statement) ? true : null), 30_000, 50);
    expect(lms.problems).toEqual([]);

    // Narrowed to one learner (and a time window), the lists hold that learner's deliveries only.
    const learnerOf = async (assessmentId: string) =>
      (await t.admin.request(`query($id: ID!) { assessment(id: $id) { utterance { learner { id } } } }`, { id: assessmentId })).data.assessment.utterance.learner.id as string;
    const oneLearner = await learnerOf(one.assessmentId);
    const BY_LEARNER = `query($l: ID, $s: DateTime, $u: DateTime) {
      xapiDeliveries(first: 100, learnerId: $l, since: $s, until: $u) { totalCount edges { node { assessment { id } } } }
      gradeDeliveries(first: 100, filter: {learnerId: $l, since: $s, until: $u}) { totalCount edges { node { userId } } } }`;
    const mine = (await t.admin.request(BY_LEARNER, { l: oneLearner })).data;
    expect(mine.xapiDeliveries.totalCount).toBe(2); // the failed one and its re-send
    expect(mine.xapiDeliveries.edges.every((e: { node: { assessment: { id: string } } }) => e.node.assessment.id === one.assessmentId)).toBe(true);
    expect(mine.gradeDeliveries.totalCount).toBe(2);
    expect(mine.gradeDeliveries.edges.every((e: { node: { userId: string } }) => e.node.userId === one.user)).toBe(true);
    const future = new Date(Date.now() + 60_000).toISOString();
    const later = (await t.admin.request(BY_LEARNER, { l: oneLearner, s: future })).data;
    expect([later.xapiDeliveries.totalCount, later.gradeDeliveries.totalCount]).toEqual([0, 0]);
    const earlier = (await t.admin.request(BY_LEARNER, { l: oneLearner, u: '2026-01-01T00:00:00Z' })).data;
    expect([earlier.xapiDeliveries.totalCount, earlier.gradeDeliveries.totalCount]).toEqual([0, 0]);
    const wrongKind = (await t.admin.request(BY_LEARNER, { l: one.assessmentId })).data;
    expect([wrongKind.xapiDeliveries.totalCount, wrongKind.gradeDeliveries.totalCount]).toEqual([0, 0]);
  });

  test('statements an LRS refused are listed, re-sent by id and in bulk; without an LRS a re-send is CONFLICT', async () => {
    const set = await t.admin.request(`mutation($input: SetXapiLrsInput!) { setXapiLrs(input: $input) { endpoint } }`, {
      input: { endpoint: lrs.url, username: lrs.username, password: lrs.password },
    });
    expect(set.errors).toBeUndefined();
    const since = new Date(Date.now() - 1000).toISOString();
    const failedOf = async (assessmentId: string) =>
      waitFor(async () => {
        const res = await t.admin.request(XAPIS, { s: 'FAILED' });
        return res.data.xapiDeliveries.edges.map((e: { node: { assessment: { id: string } } }) => e.node).find((n: { assessment: { id: string } }) => n.assessment.id === assessmentId) ?? null;
      }, 30_000, 50);

    lrs.failNext = 4; // every attempt of the next statement
    const first = await assessed();
    const failed = await failedOf(first);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 4, lastHttpStatus: 503, lastErrorCode: 'HTTP_STATUS', statementId: statementIdFor(fromGlobalId(first)!.id) });
    expect(failed.attemptLog.map((a: { number: number }) => a.number)).toEqual([1, 2, 3, 4]);
    expect(lrs.stored.has(failed.statementId)).toBe(false);

    const resent = await t.admin.request(RESEND_XAPI, { id: failed.id });
    expect(resent.errors).toBeUndefined();
    expect(resent.data.resendXapiDelivery).toMatchObject({ status: 'PENDING', attempts: 0, statementId: failed.statementId, assessment: { id: first } });
    await waitFor(async () => (lrs.stored.has(failed.statementId) ? true : null), 30_000, 50);

    lrs.failNext = 4;
    const second = await assessed();
    const failedToo = await failedOf(second);
    const bulk = await t.admin.request(RESEND_FAILED_XAPI, { s: since });
    expect(bulk.errors).toBeUndefined();
    expect(bulk.data.resendFailedXapiDeliveries.count).toBe(1); // the first is delivered by its re-send already
    await waitFor(async () => (lrs.stored.has(failedToo.statementId) ? true : null), 30_000, 50);
    const audit = await t.admin.request(`{ auditEvents(first: 2, action: "xapiDelivery.resent") { edges { node { targetType details } } } }`);
    expect(audit.data.auditEvents.edges.map((e: { node: { targetType: string } }) => e.node.targetType)).toEqual(['Organization', 'XapiDelivery']);

    expect((await t.admin.request(`mutation { removeXapiLrs { endpoint } }`)).errors).toBeUndefined();
    const refused = await t.admin.request(RESEND_XAPI, { id: failed.id });
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0]!.message).toMatch(/no Learning Record Store/);
    expect(errorCode(await t.admin.request(RESEND_FAILED_XAPI, { s: since }))).toBe('CONFLICT');
  });

  test('node(id) refetches deliveries, the platform, its line items and audit events, with the scope each type needs', async () => {
    const org = (await t.admin.request('{ viewer { organization { id } } }')).data.viewer.organization.id;
    const organizationId = fromGlobalId(org)!.id;
    // Settled ones from the tests above (this one reads what they left).
    const settled = { status: { in: ['DELIVERED' as const, 'FAILED' as const] } };
    const grade = await prisma().delivery.findFirstOrThrow({ where: { organizationId, channel: 'LTI_SCORE', ...settled }, orderBy: { createdAt: 'asc' } });
    const statement = await prisma().delivery.findFirstOrThrow({ where: { organizationId, channel: 'XAPI', ...settled }, orderBy: { createdAt: 'asc' } });
    const item = await prisma().ltiLineItem.findFirstOrThrow({ where: { organizationId } });
    const audit = await prisma().auditEvent.findFirstOrThrow({ where: { organizationId } });
    const ids = {
      GradeDelivery: toGlobalId('GradeDelivery', grade.id),
      XapiDelivery: toGlobalId('XapiDelivery', statement.id),
      LtiPlatform: platformId,
      LtiLineItem: toGlobalId('LtiLineItem', item.id),
      AuditEvent: toGlobalId('AuditEvent', audit.id),
    };
    const Q = `query($id: ID!) { node(id: $id) { __typename id
      ... on GradeDelivery { status userId lineItem { id } }
      ... on XapiDelivery { statementId }
      ... on LtiPlatform { name }
      ... on LtiLineItem { url }
      ... on AuditEvent { action } } }`;
    for (const [type, id] of Object.entries(ids)) {
      const res = await t.admin.request(Q, { id });
      expect(res.errors).toBeUndefined();
      expect(res.data.node).toMatchObject({ __typename: type, id });
    }
    // The same object its own entry point gives.
    const viaNode = (await t.admin.request(Q, { id: ids.GradeDelivery })).data.node;
    const viaField = (await t.admin.request(`query($id: ID!) { gradeDelivery(id: $id) { status userId lineItem { id } } }`, { id: ids.GradeDelivery })).data.gradeDelivery;
    expect(viaNode).toEqual({ __typename: 'GradeDelivery', id: ids.GradeDelivery, ...viaField });
    const listed = (await t.admin.request(XAPIS, {})).data.xapiDeliveries.edges.map((e: { node: { id: string } }) => e.node).find((n: { id: string }) => n.id === ids.XapiDelivery);
    expect((await t.admin.request(Q, { id: ids.XapiDelivery })).data.node.statementId).toBe(listed.statementId);
    // nodes(ids) answers each in its place.
    const many = await t.admin.request(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, { ids: Object.values(ids) });
    expect(many.data.nodes).toEqual(Object.entries(ids).map(([__typename, id]) => ({ __typename, id })));

    // A key reading scores gets the line item and the grade delivery (as Assessment.gradeDeliveries
    // gives them); admin configuration and logs are refused.
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    for (const type of ['GradeDelivery', 'LtiLineItem'] as const) {
      expect((await reader.request(Q, { id: ids[type] })).data.node).toMatchObject({ __typename: type, id: ids[type] });
    }
    for (const type of ['XapiDelivery', 'LtiPlatform', 'AuditEvent'] as const) {
      const refused = await reader.request(Q, { id: ids[type] });
      expect({ type, code: errorCode(refused), node: refused.data?.node ?? null }).toEqual({ type, code: 'FORBIDDEN', node: null });
    }
    // Another organisation's admin reads none of them; an unknown id of each type reads as null.
    const { client: other } = await otherOrganization(t);
    for (const [type, id] of Object.entries(ids)) {
      expect({ type, node: (await other.request(Q, { id })).data.node }).toEqual({ type, node: null });
      expect({ type, node: (await t.admin.request(Q, { id: toGlobalId(type as 'AuditEvent', randomUUID()) })).data.node }).toEqual({ type, node: null });
    }
    // A grade delivery's id is not a statement delivery's: the id says the type, and the row must be of it.
    expect((await t.admin.request(Q, { id: toGlobalId('XapiDelivery', grade.id) })).data.node).toBeNull();
  });
});
