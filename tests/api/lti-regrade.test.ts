/**
 * Re-grading end to end: real HTTP (multipart uploads), real database, real ONNX scoring of espeak-ng
 * speech, and a local LTI platform (tests/support/lti-platform.ts) that verifies every token request
 * and score. Two users read under LATEST; the line item is switched to BEST and re-graded: each
 * user's grade must reach the platform recomputed here from the assessments the API reports, with
 * its reason, event and audit record. Then a graded reading is deleted: its user's grade is made
 * again from the other reading; deleting a user's only reading posts nothing.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { waitFor } from '../jobs/fixtures.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { completeReading, lineItemWithReadings } from '../support/lti-grading.js';

const DATABASES = await testDatabases();

const TASK = 'We will see you tomorrow at the stream';
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { id gradingPolicy } }`;
const REGRADE = `mutation($id: ID!, $userIds: [String!]) { regradeLtiLineItem(id: $id, userIds: $userIds) {
  lineItem { id gradingPolicy } usersRegraded usersWithoutReadings } }`;
const DELETE = `mutation($id: ID!) { deleteUtterance(id: $id) { utteranceId gradesReposted } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const ASSESSMENT = `query($id: ID!) { assessment(id: $id) { sentence { fluency } rationale { text } } }`;
const DELIVERIES = `query($lineItemId: ID!, $userId: String!) { gradeDeliveries(first: 20, filter: { lineItemId: $lineItemId, userId: $userId }) {
  edges { node { status reason scoreGiven gradingPolicy attemptsGraded gradingProgress comment assessment { id } } } } }`;

interface Reading {
  utteranceId: string;
  assessmentId: string;
  fluency: number;
  rationale: string;
}

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('LTI re-grading on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let learnerId: string;
  const fluent = espeakWav(TASK);
  const halting = espeakWav(`<speak>We <break time="1500ms"/> will see you <break time="1500ms"/> tomorrow <break time="1500ms"/> at the stream</speak>`, { ssml: true });

  beforeAll(async () => {
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    lms = await LtiTestPlatform.start();
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    learnerId = (await t.admin.request(`mutation { createLearner(input: { externalId: "regrade" }) { id } }`)).data.createLearner.id;
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  async function read(bytes: Uint8Array, lineItemId: string, userId: string): Promise<Reading> {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TASK, audio: null, lti: { lineItemId, userId } } }, 'variables.input.audio', { bytes, name: 'take.wav' });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const a = (await t.admin.request(ASSESSMENT, { id: job.assessment.id })).data.assessment;
    return { utteranceId: res.data.submitUtterance.utterance.id, assessmentId: job.assessment.id, fluency: a.sentence.fluency, rationale: a.rationale.text };
  }

  /** The user's grade deliveries on the line item, newest first, once every one is delivered. */
  const delivered = (lineItemId: string, userId: string, count: number) => waitFor(async () => {
    const edges = (await t.admin.request(DELIVERIES, { lineItemId, userId })).data.gradeDeliveries.edges.map((e: any) => e.node);
    return edges.length === count && edges.every((d: any) => d.status === 'DELIVERED') ? edges : null;
  }, 30_000, 50);
  /** What the platform received for `userId` on the line item at `path`, in order. */
  const received = (path: string, userId: string) => lms.scores.filter((s) => s.lineItem === path && s.body.userId === userId).map((s) => s.body);

  test('a change of policy, then a re-grade: every user\'s grade posted again under the new policy; a deleted reading re-grades its user', async () => {
    const path = `regrade-${kind}`;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(path), aspect: 'FLUENCY', scoreMaximum: 100 } });
    const lineItemId = item.data.createLtiLineItem.id;
    const a1 = await read(fluent, lineItemId, 'user-a');
    const a2 = await read(halting, lineItemId, 'user-a');
    const b1 = await read(fluent, lineItemId, 'user-b');
    await delivered(lineItemId, 'user-a', 2);
    await delivered(lineItemId, 'user-b', 1);
    // The readings do what the test needs: the halting one is less fluent, so LATEST posted it.
    expect(a2.fluency).toBeLessThan(a1.fluency);
    expect(received(path, 'user-a').at(-1)).toMatchObject({ scoreGiven: a2.fluency * 10 });

    expect((await t.admin.request(UPDATE, { id: lineItemId, input: { gradingPolicy: 'BEST' } })).data.updateLtiLineItem.gradingPolicy).toBe('BEST');
    const regraded = await t.admin.request(REGRADE, { id: lineItemId });
    expect(regraded.errors).toBeUndefined();
    expect(regraded.data.regradeLtiLineItem).toEqual({ lineItem: { id: lineItemId, gradingPolicy: 'BEST' }, usersRegraded: 2, usersWithoutReadings: 0 });

    const [aGrade] = await delivered(lineItemId, 'user-a', 3);
    const [bGrade] = await delivered(lineItemId, 'user-b', 2);
    const best = Math.max(a1.fluency, a2.fluency) * 10;
    expect(aGrade).toEqual({
      status: 'DELIVERED', reason: 'REGRADED', scoreGiven: best, gradingPolicy: 'BEST', attemptsGraded: 2, gradingProgress: 'FULLY_GRADED',
      comment: `Grade: the best of 2 readings; feedback on the latest.\n\n${a2.rationale}`, assessment: { id: a2.assessmentId },
    });
    expect(bGrade).toMatchObject({ reason: 'REGRADED', scoreGiven: b1.fluency * 10, attemptsGraded: 1, assessment: { id: b1.assessmentId } });
    // The platform got them, each stamped after the user's previous score (AGS keeps the newest).
    const aScores = received(path, 'user-a');
    expect(aScores.at(-1)).toMatchObject({ scoreGiven: best, scoreMaximum: 100, gradingProgress: 'FullyGraded', activityProgress: 'Completed' });
    expect(Date.parse(aScores.at(-1)!.timestamp as string)).toBeGreaterThan(Date.parse(aScores.at(-2)!.timestamp as string));
    expect(received(path, 'user-b').at(-1)).toMatchObject({ scoreGiven: b1.fluency * 10 });

    // One event for the re-grade, and the audit record.
    const events = await t.admin.request(`{ events(first: 5, filter: { types: ["ltiLineItem.regraded"] }) { edges { node { type payload } } } }`);
    expect(events.errors).toBeUndefined();
    const event = events.data.events.edges[0].node;
    expect(event.payload.data).toMatchObject({ lineItem: { id: lineItemId, aspect: 'FLUENCY', scoreMaximum: 100, gradingPolicy: 'BEST' }, users: 2 });
    const audit = await t.app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: 'ltiLineItem.regraded' }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toMatchObject({ usersRegraded: 2, usersWithoutReadings: 0, gradingPolicy: 'BEST' });

    // Only the users asked for; one without a submission posts nothing.
    const some = await t.admin.request(REGRADE, { id: lineItemId, userIds: ['user-b', 'nobody'] });
    expect(some.data.regradeLtiLineItem).toMatchObject({ usersRegraded: 1, usersWithoutReadings: 1 });
    await delivered(lineItemId, 'user-b', 3);
    await delivered(lineItemId, 'user-a', 3); // user-a untouched

    // MEAN, then LATEST (the newest reading by submission: a2, though a1 is the better one).
    await t.admin.request(UPDATE, { id: lineItemId, input: { gradingPolicy: 'MEAN' } });
    expect((await t.admin.request(REGRADE, { id: lineItemId, userIds: ['user-a'] })).data.regradeLtiLineItem.usersRegraded).toBe(1);
    const [mean] = await delivered(lineItemId, 'user-a', 4);
    expect(mean).toMatchObject({ reason: 'REGRADED', gradingPolicy: 'MEAN', scoreGiven: Math.round(((a1.fluency + a2.fluency) / 2) * 10 * 10_000) / 10_000, attemptsGraded: 2 });
    await t.admin.request(UPDATE, { id: lineItemId, input: { gradingPolicy: 'LATEST' } });
    await t.admin.request(REGRADE, { id: lineItemId, userIds: ['user-a'] });
    const [latest] = await delivered(lineItemId, 'user-a', 5);
    expect(latest).toEqual({
      status: 'DELIVERED', reason: 'REGRADED', scoreGiven: a2.fluency * 10, gradingPolicy: 'LATEST', attemptsGraded: 1, gradingProgress: 'FULLY_GRADED',
      comment: a2.rationale, assessment: { id: a2.assessmentId },
    });
    await t.admin.request(UPDATE, { id: lineItemId, input: { gradingPolicy: 'BEST' } });

    // Deleting the better (first) reading: user-a's grade is made again from the halting one alone.
    const deleted = await t.admin.request(DELETE, { id: a1.utteranceId });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteUtterance.gradesReposted).toBe(1);
    // a1's own delivery is gone; a2's, and the re-grades that name a2 (the newest reading), stay.
    const [afterDeletion] = await delivered(lineItemId, 'user-a', 5);
    expect(afterDeletion).toMatchObject({ reason: 'READING_DELETED', scoreGiven: a2.fluency * 10, attemptsGraded: 1, gradingPolicy: 'BEST', assessment: { id: a2.assessmentId } });
    expect(received(path, 'user-a').at(-1)).toMatchObject({ scoreGiven: a2.fluency * 10 });

    // Deleting user-b's only reading: no reading left, nothing posted (AGS cannot take a score back).
    const before = received(path, 'user-b').length;
    const onlyOne = await t.admin.request(DELETE, { id: b1.utteranceId });
    expect(onlyOne.data.deleteUtterance.gradesReposted).toBe(0);
    expect((await t.admin.request(DELIVERIES, { lineItemId, userId: 'user-b' })).data.gradeDeliveries.edges).toEqual([]);
    expect(received(path, 'user-b')).toHaveLength(before);
    expect(lms.problems).toEqual([]);
  });

  test("the README's mutation: a change of policy and a re-grade in one request", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const query = /```graphql\n(mutation Regrade[\s\S]*?)```/.exec(readme)![1]!;
    const path = `readme-${kind}`;
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(path), aspect: 'FLUENCY', scoreMaximum: 100 } });
    const lineItemId = item.data.createLtiLineItem.id;
    const only = await read(fluent, lineItemId, 'user-c');
    await delivered(lineItemId, 'user-c', 1);
    const res = await t.admin.request(query, { lineItem: lineItemId });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      updateLtiLineItem: { gradingPolicy: 'BEST' },
      regradeLtiLineItem: { usersRegraded: 1, usersWithoutReadings: 0, lineItem: { gradingPolicy: 'BEST' } },
    });
    const [grade] = await delivered(lineItemId, 'user-c', 2);
    expect(grade).toMatchObject({ reason: 'REGRADED', gradingPolicy: 'BEST', scoreGiven: only.fluency * 10, attemptsGraded: 1 });
  });

  test('bad input: an unknown line item is NOT_FOUND, too many user ids BAD_USER_INPUT naming the cap', async () => {
    const unknown = await t.admin.request(REGRADE, { id: toGlobalId('LtiLineItem', '00000000-0000-0000-0000-000000000000') });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const item = await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(`cap-${kind}`), aspect: 'TOTAL', scoreMaximum: 10 } });
    const tooMany = await t.admin.request(REGRADE, { id: item.data.createLtiLineItem.id, userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toContain('1000');
  });
});

/**
 * A re-grade while a reading of the same user completes, through the completing transaction's own
 * code (writeAssessment, emitEvent, queueLtiScore) held open on another connection: the re-grade
 * waits for that user's grade lock, then counts the new reading, and its grade is stamped after it.
 */
describe.each(DATABASES)('a re-grade beside a completing reading on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('the re-grade waits for the reading completing beside it, then counts it', async () => {
    const prisma = t.app.services.prisma;
    const { organizationId, lineItemId, lineItemGlobalId, utterances } = await lineItemWithReadings(t.admin, prisma, {
      url: 'https://lms.example/lineitems/9/lineitem', gradingPolicy: 'MEAN', userId: 'busy-user', readings: 2,
    });
    const complete = (u: (typeof utterances)[number], total: number, hold: Promise<void>, holding?: () => void) =>
      completeReading(prisma, organizationId, u, total, hold, holding);

    await complete(utterances[0]!, 8, Promise.resolve());
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holds!: () => void;
    const holding = new Promise<void>((resolve) => (holds = resolve));
    const second = complete(utterances[1]!, 4, held, holds);
    await holding; // the second reading has graded and holds the user's grade lock, uncommitted
    const regrade = t.admin.request(`mutation($id: ID!) { regradeLtiLineItem(id: $id) { usersRegraded } }`, { id: lineItemGlobalId });
    if (kind === 'postgres') {
      // Released only once a session of this database waits for an advisory lock (the re-grade, on
      // the user's grade lock): the re-grade reached the lock while the reading was uncommitted.
      const waiting = await waitFor(async () => {
        const [row] = await prisma.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`;
        return row!.n > 0 ? true : null;
      }, 20_000, 20);
      expect(waiting).toBe(true);
    } else {
      await new Promise((r) => setTimeout(r, 300)); // PGlite: one connection, the re-grade queues behind the reading
    }
    release();
    const secondScore = await second;
    const res = await regrade;
    expect(res.errors).toBeUndefined();
    expect(res.data.regradeLtiLineItem.usersRegraded).toBe(1);
    const scores = await prisma.ltiScore.findMany({ where: { lineItemId, userId: 'busy-user' }, orderBy: { scoredAt: 'asc' } });
    expect(scores.map((s) => [s.reason, s.scoreGiven, s.attemptsGraded])).toEqual([['ASSESSED', 8, 1], ['ASSESSED', 6, 2], ['REGRADED', 6, 2]]);
    expect(scores[1]!.id).toBe(secondScore);
    expect(scores[2]!.scoredAt.getTime()).toBeGreaterThan(scores[1]!.scoredAt.getTime());
  });
});

/** Batches: users re-graded a few to a transaction (a small batch size here), every one of them once. */
describe.each(DATABASES)('a re-grade in batches on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('five users in batches of two: each re-graded once, in user id order, counted in the payload and the audit', async () => {
    const prisma = t.app.services.prisma;
    const { regradeLineItem } = await import('../../src/lti/regrade.js');
    const { seedUtterance } = await import('../support/seed.js');
    const { organizationId, lineItemId } = await lineItemWithReadings(t.admin, prisma, {
      url: 'https://lms.example/lineitems/batches/lineitem', gradingPolicy: 'BEST', userId: 'unused', readings: 0,
    });
    const users = ['u-5', 'u-3', 'u-1', 'u-4', 'u-2'];
    for (const [i, userId] of users.entries()) {
      const u = await seedUtterance(prisma, organizationId, 'We call it bear');
      await prisma.ltiSubmission.create({ data: { organizationId, utteranceId: u.id, lineItemId, userId } });
      await completeReading(prisma, organizationId, u, 2 + i, Promise.resolve());
    }
    const actor = { apiKeyId: null, label: 'test', requestId: null, ipAddress: null };
    const result = await regradeLineItem(prisma, organizationId, lineItemId, null, actor, { batchSize: 2 });
    expect([result.usersRegraded, result.usersWithoutReadings]).toEqual([5, 0]);
    const regrades = await prisma.ltiScore.findMany({ where: { lineItemId, reason: 'REGRADED' }, orderBy: { scoredAt: 'asc' } });
    expect(regrades.map((r) => r.userId).sort()).toEqual([...users].sort());
    // Each user's grade is their own reading's (BEST of one): 2 + its position in `users`.
    for (const r of regrades) expect(r.scoreGiven).toBe(2 + users.indexOf(r.userId));
    const audit = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'ltiLineItem.regraded', targetId: lineItemId } });
    expect(audit.details).toMatchObject({ users: 5, usersRegraded: 5, usersWithoutReadings: 0, gradingPolicy: 'BEST' });
  });
});
