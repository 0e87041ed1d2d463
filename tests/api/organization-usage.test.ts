/**
 * Organization.usage over real HTTP on both databases: recordings, their audio, active learners,
 * model assessments and their inference time, jobs failed for good, and grades, statements and
 * webhooks delivered, per calendar bucket in a
 * time zone and over the window, equal to known seeded rows (another organisation's never counted,
 * human labels not counted, a deleted recording gone); a recording uploaded through the API counts
 * with its decoded duration; two statements whatever the window; bad arguments named; admin only.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { otherOrganization, seedModelAssessment } from '../support/seed.js';
import { labels } from '../support/history.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { emitEvent, TEST_EVENT_TYPE } from '../../src/outbox/events.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { fromGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const USAGE = `query($bucket: TimeBucket, $timeZone: String, $from: DateTime, $to: DateTime, $lastBuckets: Int) {
  viewer { organization { usage(bucket: $bucket, timeZone: $timeZone, from: $from, to: $to, lastBuckets: $lastBuckets) {
    bucket timeZone
    buckets { start figures { recordings audioSeconds activeLearners modelAssessments inferenceSeconds failedJobs gradesPosted statementsSent webhooksDelivered } }
    totals { recordings audioSeconds activeLearners modelAssessments inferenceSeconds failedJobs gradesPosted statementsSent webhooksDelivered } } } } }`;

async function recording(prisma: PrismaClient, organizationId: string, learnerId: string, at: string, durationMs: number) {
  return prisma.utterance.create({
    data: {
      organizationId, learnerId, referenceText: 'We call it bear', referenceWords: analyzeReferenceText('We call it bear') as never,
      audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900, createdAt: new Date(at),
    },
  });
}

const TAKE = { total: 7, th: 1, r: 1, think: 7, bear: 7 };

/**
 * One organisation's history: learner A records on 31 January 23:59:30 UTC (already 1 February in
 * Berlin), 10 February and 5 March; learner B on 20 February. Each recording has a model assessment
 * a minute later (1 ms of inference each, as the seed writes); the February one of A also a human
 * label and a failed re-assessment job (and one more behind a Failed grade); one more recording of B is deleted.
 */
async function seedHistory(prisma: PrismaClient, organizationId: string) {
  const learner = (n: string) => prisma.learner.create({ data: { organizationId, externalId: `usage-${n}-${randomUUID()}` } });
  const [a, b] = [await learner('a'), await learner('b')];
  const takes: [string, string, number][] = [
    [a.id, '2026-01-31T23:59:30.000Z', 1500],
    [a.id, '2026-02-10T10:00:00.000Z', 2250],
    [a.id, '2026-03-05T09:00:00.000Z', 1000],
    [b.id, '2026-02-20T12:00:00.000Z', 3000],
  ];
  for (const [learnerId, at, ms] of takes) {
    const u = await recording(prisma, organizationId, learnerId, at, ms);
    const assessmentId = await seedModelAssessment(prisma, u, labels(TAKE), null, { createdAt: new Date(Date.parse(at) + 60_000) });
    if (at.startsWith('2026-02-10')) {
      await prisma.assessment.create({ data: { organizationId, utteranceId: u.id, source: 'HUMAN', accuracy: 7, fluency: 7, prosody: 7, completeness: 10, total: 7 } });
      await prisma.job.create({ data: { organizationId, utteranceId: u.id, status: 'FAILED', errorCode: 'AUDIO_UNREADABLE', finishedAt: new Date('2026-02-11T08:00:00.000Z') } });
      await deliveries(prisma, organizationId, learnerId, assessmentId);
    }
  }
  const gone = await recording(prisma, organizationId, b.id, '2026-02-21T12:00:00.000Z', 9000);
  await prisma.utterance.delete({ where: { id: gone.id } });
}

/**
 * What the February assessment was delivered as: its grade posted and its statement sent on 10
 * February (a second statement delivery FAILED, a Failed score and an erasure's voiding statements
 * delivered the same day: none counted), a webhook on 5 March; re-sends of all three and a test
 * webhook, not counted.
 */
async function deliveries(prisma: PrismaClient, organizationId: string, learnerId: string, assessmentId: string) {
  const eventId = await prisma.$transaction((tx) => emitEvent(tx, { organizationId, learnerId, type: 'assessment.completed', data: { assessment: { id: assessmentId } } }));
  const platform = await prisma.ltiPlatform.create({ data: { organizationId, name: 'LMS', issuer: 'https://lms.example', clientId: 'c', deploymentId: 'd', tokenEndpoint: 'https://lms.example/token' } });
  const lineItem = await prisma.ltiLineItem.create({ data: { organizationId, platformId: platform.id, url: `https://lms.example/items/${randomUUID()}`, aspect: 'TOTAL', scoreMaximum: 10 } });
  const score = await prisma.ltiScore.create({ data: { organizationId, assessmentId, lineItemId: lineItem.id, userId: 'u1', scoreGiven: 7, scoreMaximum: 10, scoredAt: new Date('2026-02-10T10:01:00.000Z') } });
  const delivered = (channel: 'LTI_SCORE' | 'XAPI' | 'WEBHOOK', at: string, extra: { ltiScoreId?: string } = {}) =>
    prisma.delivery.create({ data: { organizationId, eventId, channel, status: 'DELIVERED', attempts: 1, deliveredAt: new Date(at), ...extra } });
  await delivered('LTI_SCORE', '2026-02-10T10:10:00.000Z', { ltiScoreId: score.id });
  await delivered('XAPI', '2026-02-10T10:05:00.000Z');
  await delivered('WEBHOOK', '2026-03-05T09:05:00.000Z');
  await prisma.delivery.create({ data: { organizationId, eventId, channel: 'XAPI', status: 'FAILED', attempts: 3 } });
  // Neither a grade nor usage: a Failed score (grading failed), and the voiding statements of an erasure.
  const { utteranceId } = await prisma.assessment.findUniqueOrThrow({ where: { id: assessmentId }, select: { utteranceId: true } });
  const failedJob = await prisma.job.create({ data: { organizationId, utteranceId, status: 'FAILED', finishedAt: new Date('2026-02-10T10:02:00.000Z'), createdAt: new Date('2026-02-10T10:01:00.000Z') } });
  const failedScore = await prisma.ltiScore.create({ data: { organizationId, jobId: failedJob.id, lineItemId: lineItem.id, userId: 'u2', scoreMaximum: 10, gradingProgress: 'FAILED', reason: 'GRADING_FAILED', attemptsGraded: 0, scoredAt: new Date('2026-02-10T10:02:00.000Z') } });
  await delivered('LTI_SCORE', '2026-02-10T10:12:00.000Z', { ltiScoreId: failedScore.id });
  const erasure = await prisma.$transaction((tx) => emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: {} }));
  await prisma.delivery.create({ data: { organizationId, eventId: erasure, channel: 'XAPI', status: 'DELIVERED', attempts: 1, deliveredAt: new Date('2026-02-10T11:00:00.000Z') } });
  // Nor re-sends of what was accepted already (the same grade, statement and webhook again, the next
  // day and a month on), nor an admin's test webhook.
  for (const at of ['2026-03-06T10:00:00.000Z', '2026-02-11T10:00:00.000Z']) {
    await delivered('LTI_SCORE', at, { ltiScoreId: score.id });
    await delivered('XAPI', at);
  }
  await delivered('WEBHOOK', '2026-03-06T09:05:00.000Z');
  const test = await prisma.outboxEvent.create({ data: { organizationId, type: TEST_EVENT_TYPE, body: '{}' } });
  await prisma.delivery.create({ data: { organizationId, eventId: test.id, channel: 'WEBHOOK', status: 'DELIVERED', attempts: 1, deliveredAt: new Date('2026-03-05T10:00:00.000Z') } });
}

type Figure = 'recordings' | 'audioSeconds' | 'activeLearners' | 'modelAssessments' | 'inferenceSeconds' | 'failedJobs' | 'gradesPosted' | 'statementsSent' | 'webhooksDelivered';
const figures = (f: Partial<Record<Figure, number>>) => ({
  recordings: 0, audioSeconds: 0, activeLearners: 0, modelAssessments: 0, inferenceSeconds: 0, failedJobs: 0, gradesPosted: 0, statementsSent: 0, webhooksDelivered: 0, ...f,
});

describe.each(DATABASES)('Organization.usage on %s', (kind) => {
  let t: TestApp;
  let admin: GqlClient;
  let organizationId: string;
  const statements: string[] = [];

  beforeAll(async () => {
    // No in-process worker: its polling would add statements that are not the request's.
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    const mine = await otherOrganization(t);
    admin = mine.client;
    organizationId = mine.org.id;
    await seedHistory(prisma, organizationId);
    // The same history in another organisation: never counted.
    await seedHistory(prisma, (await otherOrganization(t)).org.id);
  });
  afterAll(() => t?.dispose());

  test('per UTC month and over the window, as the seeded rows say', async () => {
    const res = await admin.request(USAGE, {});
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer.organization.usage).toEqual({
      bucket: 'MONTH',
      timeZone: 'UTC',
      buckets: [
        { start: '2026-01-01T00:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 1.5, activeLearners: 1 }) },
        // The January recording's assessment was written on 1 February, 00:00:30 UTC.
        { start: '2026-02-01T00:00:00.000Z', figures: figures({ recordings: 2, audioSeconds: 5.25, activeLearners: 2, modelAssessments: 3, inferenceSeconds: 0.003, failedJobs: 2, gradesPosted: 1, statementsSent: 1 }) },
        { start: '2026-03-01T00:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 1, activeLearners: 1, modelAssessments: 1, inferenceSeconds: 0.001, webhooksDelivered: 1 }) },
      ],
      totals: figures({ recordings: 4, audioSeconds: 7.75, activeLearners: 2, modelAssessments: 4, inferenceSeconds: 0.004, failedJobs: 2, gradesPosted: 1, statementsSent: 1, webhooksDelivered: 1 }),
    });
  });

  test("the README's usage query runs as written", async () => {
    const section = readFileSync('README.md', 'utf8').split('#### Usage')[1]!;
    const query = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
    const res = await admin.request(query);
    expect(res.errors).toBeUndefined();
    const usage = res.data.viewer.organization.usage;
    // From 1 January 2026 in Berlin: everything seeded, by Berlin's months.
    expect(usage.totals).toMatchObject({ recordings: 4, activeLearners: 2, modelAssessments: 4, failedJobs: 2 });
    expect(usage.buckets.slice(0, 2).map((b: { start: string; figures: { recordings: number } }) => [b.start, b.figures.recordings]))
      .toEqual([['2026-01-31T23:00:00.000Z', 3], ['2026-02-28T23:00:00.000Z', 1]]);
  });

  test("a time zone's calendar, a window and the latest buckets only (the totals still cover the window)", async () => {
    const berlin = await admin.request(USAGE, { timeZone: 'Europe/Berlin', lastBuckets: 1 });
    expect(berlin.errors).toBeUndefined();
    expect(berlin.data.viewer.organization.usage.buckets).toEqual([
      { start: '2026-02-28T23:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 1, activeLearners: 1, modelAssessments: 1, inferenceSeconds: 0.001, webhooksDelivered: 1 }) },
    ]);
    expect(berlin.data.viewer.organization.usage.totals.recordings).toBe(4);
    const feb = await admin.request(USAGE, { timeZone: 'Europe/Berlin', bucket: 'WEEK', from: '2026-01-31T23:00:00.000Z', to: '2026-03-01T00:00:00.000Z' });
    expect(feb.errors).toBeUndefined();
    expect(feb.data.viewer.organization.usage).toEqual({
      bucket: 'WEEK',
      timeZone: 'Europe/Berlin',
      buckets: [
        // Sunday 1 February, about 1:00 in Berlin: the ISO week from Monday 26 January.
        { start: '2026-01-25T23:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 1.5, activeLearners: 1, modelAssessments: 1, inferenceSeconds: 0.001 }) },
        { start: '2026-02-08T23:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 2.25, activeLearners: 1, modelAssessments: 1, inferenceSeconds: 0.001, failedJobs: 2, gradesPosted: 1, statementsSent: 1 }) },
        { start: '2026-02-15T23:00:00.000Z', figures: figures({ recordings: 1, audioSeconds: 3, activeLearners: 1, modelAssessments: 1, inferenceSeconds: 0.001 }) },
      ],
      totals: figures({ recordings: 3, audioSeconds: 6.75, activeLearners: 2, modelAssessments: 3, inferenceSeconds: 0.003, failedJobs: 2, gradesPosted: 1, statementsSent: 1 }),
    });
    const none = await admin.request(USAGE, { lastBuckets: 0 });
    expect(none.data.viewer.organization.usage.buckets).toEqual([]);
    expect(none.data.viewer.organization.usage.totals.recordings).toBe(4);
  });

  test('a recording uploaded through the API counts, with its decoded duration; two statements whatever the window', async () => {
    const before = (await admin.request(USAGE, { from: '2026-06-01T00:00:00.000Z' })).data.viewer.organization.usage.totals;
    const learnerId = (await admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `usage-api-${randomUUID()}` })).data.createLearner.id;
    const submitted = await admin.upload(
      `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } } }`,
      { input: { learnerId, referenceText: 'We call it bear', audio: null } },
      'variables.input.audio',
      { bytes: speechLikeWav(1.2, 7), name: 'take.wav' },
    );
    expect(submitted.errors).toBeUndefined();
    const stored = await t.app.services.prisma.utterance.findUniqueOrThrow({ where: { id: fromGlobalId(submitted.data.submitUtterance.utterance.id)!.id } });
    expect(stored.organizationId).toBe(organizationId);
    statements.length = 0;
    const after = await admin.request(USAGE, { from: '2026-06-01T00:00:00.000Z', bucket: 'DAY', lastBuckets: 400 });
    expect(after.errors).toBeUndefined();
    expect(statements.filter((s) => /"Utterance"/.test(s))).toHaveLength(2);
    const { totals, buckets } = after.data.viewer.organization.usage;
    expect(totals).toEqual({ ...before, recordings: before.recordings + 1, activeLearners: before.activeLearners + 1, audioSeconds: before.audioSeconds + stored.durationMs! / 1000 });
    expect(stored.durationMs).toBeGreaterThan(1000);
    expect(buckets.at(-1).figures).toMatchObject({ recordings: 1, audioSeconds: stored.durationMs! / 1000 });
  });

  // On a server, where the two statements run on a pooled connection while other connections
  // commit: the totals must be those of the buckets' rows (one snapshot), so recordings committed
  // while usage is read appear in both or in neither.
  (kind === 'postgres' ? test : test.skip)('totals and buckets read one snapshot while recordings are committed', async () => {
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.create({ data: { organizationId, externalId: `usage-busy-${randomUUID()}` } });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await recording(prisma, organizationId, learner.id, new Date(Date.UTC(2026, 7, 1 + (i % 28))).toISOString(), 1000);
    })();
    try {
      for (let i = 0; i < 30; i++) {
        const res = await admin.request(USAGE, { from: '2026-08-01T00:00:00.000Z', bucket: 'DAY', lastBuckets: 400 });
        expect(res.errors).toBeUndefined();
        const { totals, buckets } = res.data.viewer.organization.usage;
        const summed = buckets.reduce((n: number, b: { figures: { recordings: number } }) => n + b.figures.recordings, 0);
        expect([i, summed]).toEqual([i, totals.recordings]);
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(await prisma.utterance.count({ where: { learnerId: learner.id } })).toBeGreaterThan(0);
  });

  test('bad arguments are BAD_USER_INPUT naming them', async () => {
    for (const [variables, argument] of [
      [{ timeZone: '+02:00' }, 'timeZone'],
      [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
      [{ lastBuckets: 401 }, 'lastBuckets'],
      [{ from: '2026-03-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }, 'to'],
    ] as const) {
      const res = await admin.request(USAGE, variables);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).toContain(argument);
    }
  });

  test('admin only: a key that reads scores is refused it, and its organisation stays readable', async () => {
    for (const scopes of [['SCORES_READ'], ['ASSESS_WRITE']] as const) {
      const { client } = await otherOrganization(t, [...scopes]);
      const res = await client.request(`{ viewer { organization { name usage { totals { recordings } } } } }`);
      expect(errorCode(res)).toBe('FORBIDDEN');
      expect(res.errors![0]!.path).toEqual(['viewer', 'organization', 'usage']);
    }
  });
});
