/**
 * LTI line item grading policies end to end: real HTTP (multipart uploads), real database, real ONNX
 * scoring of espeak-ng speech, and a local LTI platform (tests/support/lti-platform.ts) that verifies
 * every token request and score. One user reads the task well, then haltingly, then reads another
 * sentence; after each, the grade posted under BEST and MEAN is recomputed here from the
 * assessments the API reports and compared with what the platform received.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { waitFor } from '../jobs/fixtures.js';
import { completeReading, lineItemWithReadings } from '../support/lti-grading.js';

const DATABASES = await testDatabases();

const TASK = 'We will see you tomorrow at the stream';
const LINE_ITEM = `mutation($input: CreateLtiLineItemInput!) { createLtiLineItem(input: $input) { id gradingPolicy } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateLtiLineItemInput!) { updateLtiLineItem(id: $id, input: $input) { id gradingPolicy } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const GRADES = `query($id: ID!) { assessment(id: $id) { flags sentence { fluency } rationale { text }
  gradeDeliveries { status scoreGiven gradingPolicy attemptsGraded gradingProgress comment } } }`;

interface Graded {
  flags: string[];
  fluency: number;
  rationale: string;
  delivery: { scoreGiven: number; gradingPolicy: string; attemptsGraded: number; gradingProgress: string; comment: string | null };
}

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('LTI grading policies on %s', (kind) => {
  let t: TestApp;
  let lms: LtiTestPlatform;
  let platformId: string;
  let learnerId: string;
  const readings = {
    fluent: espeakWav(TASK),
    halting: espeakWav(`<speak>We <break time="1500ms"/> will see you <break time="1500ms"/> tomorrow <break time="1500ms"/> at the stream</speak>`, { ssml: true }),
    otherSentence: espeakWav('The quick brown fox jumps over the lazy dog'),
  };

  beforeAll(async () => {
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true });
    lms = await LtiTestPlatform.start();
    platformId = await lms.registerWith(t.admin, t.app.url, 'speechmark-tool');
    learnerId = (await t.admin.request(`mutation { createLearner(input: { externalId: "grading" }) { id } }`)).data.createLearner.id;
  });
  afterAll(async () => {
    await lms?.close();
    await t?.dispose();
  });

  async function lineItem(path: string, gradingPolicy?: string) {
    const res = await t.admin.request(LINE_ITEM, {
      input: { platformId, url: lms.lineItemUrl(path), aspect: 'FLUENCY', scoreMaximum: 100, ...(gradingPolicy ? { gradingPolicy } : {}) },
    });
    expect(res.errors).toBeUndefined();
    return res.data.createLtiLineItem as { id: string; gradingPolicy: string };
  }

  /** Submit a reading of TASK for `userId` to `lineItemId`; its assessment once the grade is delivered. */
  async function read(bytes: Uint8Array, lineItemId: string, userId: string): Promise<Graded> {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TASK, audio: null, lti: { lineItemId, userId } } }, 'variables.input.audio', { bytes, name: 'take.wav' });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const a = await waitFor(async () => {
      const got = (await t.admin.request(GRADES, { id: job.assessment.id })).data.assessment;
      return got.gradeDeliveries[0]?.status === 'DELIVERED' ? got : null;
    }, 30_000, 50);
    const { status: _delivered, ...delivery } = a.gradeDeliveries[0];
    return { flags: a.flags, fluency: a.sentence.fluency, rationale: a.rationale.text, delivery };
  }

  /** What the platform last received for `userId` on the line item at `path`. */
  const received = (path: string, userId: string) => lms.scores.filter((s) => s.lineItem === path && s.body.userId === userId).at(-1)!.body;

  /** The grade recomputed here from the readings' assessments, on the line item's 0-100 scale. */
  function expected(policy: 'BEST' | 'MEAN', graded: Graded[]): number {
    const task = graded.filter((g) => !g.flags.includes('READ_WRONG_TEXT')).map((g) => g.fluency);
    const value = policy === 'BEST' ? Math.max(...task) : task.reduce((s, v) => s + v, 0) / task.length;
    return Math.round(value * 10 * 10_000) / 10_000;
  }

  test('a line item grades the latest reading unless told otherwise', async () => {
    expect((await lineItem('default')).gradingPolicy).toBe('LATEST');
  });

  test.each(['BEST', 'MEAN'] as const)('%s: each reading posts the grade over the readings of the task so far; another sentence is left out', async (policy) => {
    const item = await lineItem(policy.toLowerCase(), policy);
    expect(item.gradingPolicy).toBe(policy);
    const userId = `user-${policy}`;
    const graded: Graded[] = [];
    for (const [name, bytes] of Object.entries(readings)) {
      const g = await read(bytes, item.id, userId);
      graded.push(g);
      const want = expected(policy, graded);
      const counted = graded.filter((x) => !x.flags.includes('READ_WRONG_TEXT')).length;
      expect([name, g.delivery]).toEqual([name, {
        scoreGiven: want, gradingPolicy: policy, attemptsGraded: counted, gradingProgress: 'FULLY_GRADED',
        comment: `Grade: the ${policy === 'BEST' ? 'best' : 'mean'} of ${counted} reading${counted === 1 ? '' : 's'}; feedback on the latest.\n\n${g.rationale}`,
      }]);
      expect(received(policy.toLowerCase(), userId)).toMatchObject({ scoreGiven: want, scoreMaximum: 100, gradingProgress: 'FullyGraded', comment: g.delivery.comment });
    }
    // The readings did what the test needs: two of the task, the halting one less fluent, then another sentence.
    expect(graded.map((g) => g.flags)).toEqual([[], [], ['READ_WRONG_TEXT']]);
    expect(graded[1]!.fluency).toBeLessThan(graded[0]!.fluency);
    // So the grade is not the latest reading's: LATEST would have posted each reading's own score.
    expect(graded[1]!.delivery.scoreGiven).not.toBe(graded[1]!.fluency * 10);
    // And a reading of another sentence leaves the grade as it was.
    expect(graded[2]!.delivery).toMatchObject({ scoreGiven: graded[1]!.delivery.scoreGiven, attemptsGraded: 2 });
  });

  test('with only readings of another sentence, the latest is posted awaiting the teacher', async () => {
    const item = await lineItem('best-wrong', 'BEST');
    const g = await read(readings.otherSentence, item.id, `user-${randomUUID()}`);
    expect(g.flags).toEqual(['READ_WRONG_TEXT']);
    expect(g.delivery).toEqual({ scoreGiven: g.fluency * 10, gradingPolicy: 'BEST', attemptsGraded: 1, gradingProgress: 'PENDING_MANUAL', comment: g.rationale });
  });

  test('a change of policy applies to the scores computed from then on, and is audited', async () => {
    const item = await lineItem('changed', 'BEST');
    const userId = `user-${randomUUID()}`;
    const first = await read(readings.fluent, item.id, userId);
    expect(first.delivery).toMatchObject({ gradingPolicy: 'BEST', attemptsGraded: 1 });
    const updated = await t.admin.request(UPDATE, { id: item.id, input: { gradingPolicy: 'LATEST' } });
    expect(updated.data.updateLtiLineItem).toEqual({ id: item.id, gradingPolicy: 'LATEST' });
    const second = await read(readings.halting, item.id, userId);
    expect(second.delivery).toEqual({ scoreGiven: second.fluency * 10, gradingPolicy: 'LATEST', attemptsGraded: 1, gradingProgress: 'FULLY_GRADED', comment: second.rationale });
    // The first score keeps what it was computed with.
    const audit = await t.app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: 'ltiLineItem.updated' }, orderBy: { createdAt: 'desc' } });
    expect(audit.details).toMatchObject({ changed: ['gradingPolicy'], gradingPolicy: 'LATEST' });
    const bad = await t.admin.request(UPDATE, { id: item.id, input: { gradingPolicy: 'HIGHEST' } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

/**
 * Two readings of one user completing at once, through the completing transaction's own code
 * (writeAssessment, emitEvent, queueLtiScore) on two connections: the second waits for the first's
 * grade lock, then counts the first's reading. Without the lock it could not see that uncommitted
 * reading and would post a grade of one.
 */
describe.each(DATABASES)('LTI grading of concurrent readings on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { deliveryWorker: false });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  test('the later of two concurrent grades counts both readings', async () => {
    const prisma = t.app.services.prisma;
    const { organizationId, utterances } = await lineItemWithReadings(t.admin, prisma, {
      url: 'https://lms.example/lineitems/1/lineitem', gradingPolicy: 'MEAN', userId: 'same-user', readings: 2,
    });
    const complete = (u: (typeof utterances)[number], total: number, hold: Promise<void>, holding?: () => void) =>
      completeReading(prisma, organizationId, u, total, hold, holding);

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstHolds!: () => void;
    const firstHolding = new Promise<void>((resolve) => (firstHolds = resolve));
    const first = complete(utterances[0]!, 8, held, firstHolds);
    await firstHolding; // the first has graded and holds the grade lock, uncommitted
    const second = complete(utterances[1]!, 4, Promise.resolve());
    // Give the second time to reach the lock (PostgreSQL) or the connection (PGlite); had it not, it
    // would start after the first commits and count both all the same.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const [a, b] = await Promise.all([first, second]);
    const scores = await prisma.ltiScore.findMany({ where: { id: { in: [a, b] } } });
    const byId = new Map(scores.map((s) => [s.id, s]));
    expect(byId.get(a)).toMatchObject({ scoreGiven: 8, attemptsGraded: 1, gradingPolicy: 'MEAN' });
    expect(byId.get(b)).toMatchObject({ scoreGiven: 6, attemptsGraded: 2, gradingPolicy: 'MEAN' });
    expect(byId.get(b)!.scoredAt.getTime()).toBeGreaterThanOrEqual(byId.get(a)!.scoredAt.getTime());
  });
});
