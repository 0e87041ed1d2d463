/**
 * A teacher's scores settle a grade: real HTTP (multipart uploads), real database, real ONNX scoring
 * of espeak-ng speech, and the local LTI platform (tests/support/lti-platform.ts). A learner reads
 * another sentence than the task: the model flags it READ_WRONG_TEXT and the gradebook gets
 * PendingManual. A teacher attaches human labels: the user's grade is posted again, FullyGraded with
 * the teacher's score. Under BEST the rated reading then counts as a reading of the task; and a later
 * model assessment of it (a re-assessment) does not undo the teacher's score.
 */
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { waitFor } from '../jobs/fixtures.js';
import { completeReading, lineItemWithReadings } from '../support/lti-grading.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const TASK = 'We will see you tomorrow at the stream';
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { gradingPolicy } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const ASSESSMENT = `query($id: ID!) { assessment(id: $id) { flags sentence { total } } }`;
const ATTACH = `mutation($id: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $id, labels: $labels, rater: "ms-lee") {
  id source gradeDeliveries { reason gradingProgress scoreGiven comment status } } }`;
const DELIVERIES = `query($lineItemId: ID!, $userId: String!) { gradeDeliveries(first: 20, filter: { lineItemId: $lineItemId, userId: $userId }) {
  edges { node { status reason scoreGiven gradingPolicy attemptsGraded gradingProgress comment assessment { id source } } } } }`;

const sentence = (total: number) => ({ accuracy: total, fluency: total, prosody: total, completeness: total, total });

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('a teacher\'s labels grade a reading on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    lms = await LtiTestPlatform.start();
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    learnerId = (await t.admin.request(`mutation { createLearner(input: { externalId: "rated" }) { id } }`)).data.createLearner.id;
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  async function read(said: string, lineItemId: string, userId: string) {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TASK, audio: null, lti: { lineItemId, userId } } }, 'variables.input.audio', { bytes: espeakWav(said), name: 'take.wav' });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const a = (await t.admin.request(ASSESSMENT, { id: job.assessment.id })).data.assessment;
    return { utteranceId: res.data.submitUtterance.utterance.id as string, assessmentId: job.assessment.id as string, flags: a.flags as string[], total: a.sentence.total as number };
  }
  const delivered = (lineItemId: string, userId: string, count: number) => waitFor(async () => {
    const edges = (await t.admin.request(DELIVERIES, { lineItemId, userId })).data.gradeDeliveries.edges.map((e: any) => e.node);
    return edges.length === count && edges.every((d: any) => d.status === 'DELIVERED') ? edges : null;
  }, 30_000, 50);
  const received = (path: string, userId: string) => lms.scores.filter((s) => s.lineItem === path && s.body.userId === userId).map((s) => s.body);

  test('PendingManual, then the teacher\'s labels: FullyGraded with the teacher\'s score; under BEST the rated reading counts', async () => {
    const path = `rated-${kind}`;
    const lineItemId = (await t.admin.request(LINE_ITEM, { input: { platformId, url: lms.lineItemUrl(path), aspect: 'TOTAL', scoreMaximum: 10 } })).data.createLtiLineItem.id;
    const wrong = await read('The quick brown fox jumps over the lazy dog', lineItemId, 'user-r');
    expect(wrong.flags).toEqual(['READ_WRONG_TEXT']);
    await delivered(lineItemId, 'user-r', 1);
    expect(received(path, 'user-r')).toMatchObject([{ gradingProgress: 'PendingManual', scoreGiven: wrong.total }]);

    // The teacher listened and scored it 7 (another total than the model's, so the grade shows whose it is).
    const teacher = wrong.total === 7 ? 6 : 7;
    const attached = await t.admin.request(ATTACH, { id: wrong.utteranceId, labels: { sentence: sentence(teacher) } });
    expect(attached.errors).toBeUndefined();
    const human = attached.data.attachHumanLabels;
    expect(human.source).toBe('HUMAN');
    // Queued before the mutation returns: the HUMAN assessment already names its grade.
    expect(human.gradeDeliveries).toEqual([{ reason: 'HUMAN_LABELS', gradingProgress: 'FULLY_GRADED', scoreGiven: teacher, comment: 'Scored by your teacher.', status: expect.any(String) }]);
    const [settled] = await delivered(lineItemId, 'user-r', 2);
    expect(settled).toEqual({
      status: 'DELIVERED', reason: 'HUMAN_LABELS', scoreGiven: teacher, gradingPolicy: 'LATEST', attemptsGraded: 1, gradingProgress: 'FULLY_GRADED',
      comment: 'Scored by your teacher.', assessment: { id: human.id, source: 'HUMAN' },
    });
    const scores = received(path, 'user-r');
    expect(scores.at(-1)).toMatchObject({ userId: 'user-r', scoreGiven: teacher, scoreMaximum: 10, gradingProgress: 'FullyGraded', activityProgress: 'Completed', comment: 'Scored by your teacher.' });
    expect(Date.parse(scores.at(-1)!.timestamp as string)).toBeGreaterThan(Date.parse(scores.at(-2)!.timestamp as string));
    const audit = await t.app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: 'humanLabels.attached' }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toMatchObject({ assessmentId: human.id, rater: 'ms-lee', gradesReposted: 1 });

    // BEST: a reading of the task; the grade is the best of it and the rated reading (no longer left out).
    await t.admin.request(UPDATE, { id: lineItemId, input: { gradingPolicy: 'BEST' } });
    const right = await read(TASK, lineItemId, 'user-r');
    expect(right.flags).toEqual([]);
    const [best] = await delivered(lineItemId, 'user-r', 3);
    expect(best).toMatchObject({ reason: 'ASSESSED', gradingPolicy: 'BEST', attemptsGraded: 2, gradingProgress: 'FULLY_GRADED', scoreGiven: Math.max(teacher, right.total) });
    expect(lms.problems).toEqual([]);
  });

  test('a reading without a line item posts nothing; the audit says so', async () => {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TASK, audio: null } }, 'variables.input.audio', { bytes: espeakWav(TASK), name: 'take.wav' });
    await waitForJob(t.admin, res.data.submitUtterance.job.id);
    const attached = await t.admin.request(ATTACH, { id: res.data.submitUtterance.utterance.id, labels: { sentence: sentence(5) } });
    expect(attached.errors).toBeUndefined();
    expect(attached.data.attachHumanLabels.gradeDeliveries).toEqual([]);
    const audit = await t.app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: 'humanLabels.attached' }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toMatchObject({ assessmentId: attached.data.attachHumanLabels.id, gradesReposted: 0 });
  });
});

/** The model assessing a rated reading again (a re-assessment) grades it by the teacher's scores still. */
describe.each(DATABASES)('a model assessment of a rated reading on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const rawId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1]!;
  const scoresOf = (lineItemId: string, userId: string) =>
    t.app.services.prisma.ltiScore.findMany({ where: { lineItemId, userId }, orderBy: { scoredAt: 'asc' } }).then((all) => all.map((s) => [s.reason, s.scoreGiven, s.attemptsGraded]));

  test("the teacher's score stands when the model assesses the reading again; under LATEST labels on an older reading post nothing; under MEAN the rated reading counts by them", async () => {
    const prisma = t.app.services.prisma;
    const { organizationId, lineItemId, utterances } = await lineItemWithReadings(t.admin, prisma, {
      url: 'https://lms.example/lineitems/rated/lineitem', gradingPolicy: 'LATEST', userId: 'rated-user', readings: 2,
    });
    const [older, newer] = utterances as [(typeof utterances)[number], (typeof utterances)[number]];
    await completeReading(prisma, organizationId, older, 4, Promise.resolve());
    const attached = await t.admin.request(ATTACH, { id: toGlobalId('Utterance', older.id), labels: { sentence: sentence(9) } });
    expect(attached.errors).toBeUndefined();
    // The model assesses the rated reading again with 2: the grade is still the teacher's 9, of the rater's assessment.
    const again = await prisma.ltiScore.findUniqueOrThrow({ where: { id: await completeReading(prisma, organizationId, older, 2, Promise.resolve()) } });
    expect([again.reason, again.scoreGiven, again.comment, again.gradingProgress, again.assessmentId]).toEqual(['ASSESSED', 9, 'Scored by your teacher.', 'FULLY_GRADED', rawId(attached.data.attachHumanLabels.id)]);

    // LATEST: the newer reading makes the grade; labels on the older one change nothing, so nothing is posted.
    await completeReading(prisma, organizationId, newer, 5, Promise.resolve());
    const relabelled = await t.admin.request(ATTACH, { id: toGlobalId('Utterance', older.id), labels: { sentence: sentence(8) } });
    expect(relabelled.data.attachHumanLabels.gradeDeliveries).toEqual([]);
    const audit = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'humanLabels.attached' }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toMatchObject({ gradesReposted: 0 });
    expect(await scoresOf(lineItemId, 'rated-user')).toEqual([['ASSESSED', 4, 1], ['HUMAN_LABELS', 9, 1], ['ASSESSED', 9, 1], ['ASSESSED', 5, 1]]);

    // MEAN: the newer reading (model 5) and the rated one by its latest labels (8, not the model's 2).
    await prisma.ltiLineItem.update({ where: { id: lineItemId }, data: { gradingPolicy: 'MEAN' } });
    await completeReading(prisma, organizationId, newer, 5, Promise.resolve());
    expect((await scoresOf(lineItemId, 'rated-user')).at(-1)).toEqual(['ASSESSED', 6.5, 2]);
  });

  test("deleting a rated reading re-grades its user, though the grade named another reading", async () => {
    const prisma = t.app.services.prisma;
    const { organizationId, lineItemId, utterances } = await lineItemWithReadings(t.admin, prisma, {
      url: 'https://lms.example/lineitems/rated-deleted/lineitem', gradingPolicy: 'BEST', userId: 'rated-deleted', readings: 2,
    });
    const [older, newer] = utterances as [(typeof utterances)[number], (typeof utterances)[number]];
    // The older reading was never assessed by the model (its job failed); the newer one was: 5.
    await completeReading(prisma, organizationId, newer, 5, Promise.resolve());
    // A teacher scores the older one 9: BEST is 9, posted naming the newest reading's assessment (the newer one's).
    const attached = await t.admin.request(ATTACH, { id: toGlobalId('Utterance', older.id), labels: { sentence: sentence(9) } });
    expect(attached.errors).toBeUndefined();
    expect(attached.data.attachHumanLabels.gradeDeliveries).toEqual([]);
    expect(await scoresOf(lineItemId, 'rated-deleted')).toEqual([['ASSESSED', 5, 1], ['HUMAN_LABELS', 9, 2]]);

    const deleted = await t.admin.request(`mutation($id: ID!) { deleteUtterance(id: $id) { gradesReposted } }`, { id: toGlobalId('Utterance', older.id) });
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteUtterance.gradesReposted).toBe(1);
    expect((await scoresOf(lineItemId, 'rated-deleted')).at(-1)).toEqual(['READING_DELETED', 5, 1]);
  });
});
