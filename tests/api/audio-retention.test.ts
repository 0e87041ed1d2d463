/**
 * Audio retention over real HTTP on both databases: an admin sets the organisation's days (audited,
 * checked, back to the server's with null); the server's own sweep (every 200 ms here) removes the
 * recordings past it, keeping scores: a removed recording answers 410 AUDIO_REMOVED at /audio/, has
 * no audioUrl, cannot be re-assessed (one request nor a bulk one), and a job already queued for it
 * fails AUDIO_REMOVED; a file another kept utterance shares stays, identical bytes uploaded later
 * are stored again, and erasure counts only the files it really removes. A recording with a job
 * queued or running waits.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes } from '../support/seed.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { removeExpiredAudio } from '../../src/assessment/audio-retention.js';
import { waitFor } from '../jobs/fixtures.js';
import { sha256Hex } from '../../src/audio/store.js';

const DATABASES = await testDatabases();

const SET = `mutation($days: Int) { setAudioRetention(days: $days) { audioRetentionDays } }`;
const ORG = `{ viewer { organization { audioRetentionDays } } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const UTTERANCE = `query($id: ID!) { node(id: $id) { ... on Utterance { audioRemovedAt audioUrl audio { sha256 durationMs } latestAssessment { sentence { total } } } } }`;
const DAY_MS = 24 * 3600 * 1000;

describe.each(DATABASES)('audio retention on %s', (kind) => {
  let t: TestApp;
  const prisma = () => t.app.services.prisma;
  const store = () => t.app.services.intake.store;

  beforeAll(async () => {
    t = await startTestApp(kind, { audioRetentionSweepSeconds: 0.2, audioRetentionDays: 0 });
  });
  afterAll(() => t?.dispose());

  /** A learner's recording through the API, assessed; returns its global id and the stored row. */
  async function recording(learnerId: string, bytes: Uint8Array) {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: 'We call it bear', audio: null } }, 'variables.input.audio', { bytes, name: 'take.wav' });
    expect(res.errors).toBeUndefined();
    expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    const id = res.data.submitUtterance.utterance.id as string;
    return { id, row: await prisma().utterance.findUniqueOrThrow({ where: { id: fromGlobalId(id)!.id } }) };
  }

  const backdate = (id: string, days: number) =>
    prisma().utterance.update({ where: { id: fromGlobalId(id)!.id }, data: { createdAt: new Date(Date.now() - days * DAY_MS) } });

  test("an admin sets the days (audited); bad values name `days`; null returns to the server's; other keys are refused", async () => {
    expect((await t.admin.request(ORG)).data.viewer.organization.audioRetentionDays).toBe(0);
    for (const days of [-1, 36501]) {
      const bad = await t.admin.request(SET, { days });
      expect(errorCode(bad)).toBe('BAD_USER_INPUT');
      expect(bad.errors![0]!.extensions!.argument).toBe('days');
    }
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(SET, { days: 1 }))).toBe('FORBIDDEN');
    expect((await t.admin.request(SET, { days: 365 })).data.setAudioRetention).toEqual({ audioRetentionDays: 365 });
    expect((await reader.request(ORG)).data.viewer.organization.audioRetentionDays).toBe(365);
    expect((await t.admin.request(SET, { days: null })).data.setAudioRetention).toEqual({ audioRetentionDays: 0 });
    // The README's mutation, as written.
    const section = readFileSync('README.md', 'utf8').split('### Audio retention')[1]!;
    const readme = await t.admin.request(/```graphql\n([\s\S]*?)```/.exec(section)![1]!);
    expect(readme.data.setAudioRetention).toEqual({ audioRetentionDays: 90 });
    expect((await t.admin.request(SET, { days: null })).errors).toBeUndefined();
    const audit = await t.admin.request(`{ auditEvents(first: 2, action: "organization.audioRetentionSet") { edges { node { details } } } }`);
    expect(audit.data.auditEvents.edges.map((e: { node: { details: unknown } }) => e.node.details)).toEqual([{ from: 90, to: null }, { from: null, to: 90 }]);
  });

  test('recordings past the retention are removed by the sweep; scores stay; playback, re-assessment and queued jobs say AUDIO_REMOVED; shared bytes stay', async () => {
    const learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `retention-${randomUUID()}` })).data.createLearner.id;
    const shared = speechLikeWav(1.2, 101);
    const oldShared = await recording(learnerId, shared);
    const recentShared = await recording(learnerId, shared);
    const oldOwn = await recording(learnerId, speechLikeWav(1.3, 202));
    await backdate(oldShared.id, 40);
    await backdate(oldOwn.id, 40);
    expect(await store().has(oldOwn.row.audioSha256)).toBe(true);

    expect((await t.admin.request(SET, { days: 30 })).errors).toBeUndefined();
    // Stamped first, then the file removed: wait for both.
    const removed = await waitFor(async () => {
      const node = (await t.admin.request(UTTERANCE, { id: oldOwn.id })).data.node;
      return node.audioRemovedAt && !(await store().has(oldOwn.row.audioSha256)) ? node : null;
    }, 20_000, 50);
    // Scores, digest and measurements stay; the recording does not.
    expect(removed).toMatchObject({ audioUrl: null, audio: { sha256: oldOwn.row.audioSha256, durationMs: oldOwn.row.durationMs }, latestAssessment: { sentence: { total: expect.any(Number) } } });
    expect(await store().has(oldOwn.row.audioSha256)).toBe(false);
    const sharedNode = (await t.admin.request(UTTERANCE, { id: oldShared.id })).data.node;
    expect(sharedNode.audioRemovedAt).not.toBeNull();
    // The same bytes are still another utterance's recording: the file stays, and plays for that one.
    expect(await store().has(oldShared.row.audioSha256)).toBe(true);
    const recentNode = (await t.admin.request(UTTERANCE, { id: recentShared.id })).data.node;
    expect(recentNode.audioRemovedAt).toBeNull();
    expect((await fetch(new URL(recentNode.audioUrl, t.app.url))).status).toBe(200);

    // Playback: 410 with the code and when.
    const gone = await fetch(new URL(`/audio/${oldOwn.id}`, t.app.url), { headers: { authorization: `Bearer ${t.admin.apiKey}` } });
    expect(gone.status).toBe(410);
    const body = await gone.json();
    expect(body.errors[0].extensions).toEqual({ code: 'AUDIO_REMOVED', audioRemovedAt: removed.audioRemovedAt });

    // Re-assessment: refused, nothing queued; a bulk one selects only the kept recording.
    const jobsBefore = await prisma().job.count({ where: { utteranceId: oldOwn.row.id } });
    const again = await t.admin.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: oldOwn.id });
    expect(errorCode(again)).toBe('AUDIO_REMOVED');
    expect(await prisma().job.count({ where: { utteranceId: oldOwn.row.id } })).toBe(jobsBefore);
    const bulk = await t.admin.request(`mutation($i: ReassessUtterancesInput!) { reassessUtterances(input: $i) { id progress { total } } }`, { i: { learnerId } });
    expect(bulk.errors).toBeUndefined();
    expect(bulk.data.reassessUtterances.progress.total).toBe(1);

    // A job queued before the removal (written directly, as one asked for a moment earlier) fails for good.
    const queued = await prisma().job.create({ data: { organizationId: oldOwn.row.organizationId, utteranceId: oldOwn.row.id } });
    const failed = await waitForJob(t.admin, toGlobalId('Job', queued.id));
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'AUDIO_REMOVED' } });

    // The same bytes uploaded again are stored again and play.
    const reupload = await recording(learnerId, speechLikeWav(1.3, 202));
    expect(reupload.row.audioSha256).toBe(oldOwn.row.audioSha256);
    expect(await store().has(oldOwn.row.audioSha256)).toBe(true);
    const reNode = (await t.admin.request(UTTERANCE, { id: reupload.id })).data.node;
    expect((await fetch(new URL(reNode.audioUrl, t.app.url))).status).toBe(200);

    // Erasure removes the two files the learner still keeps and counts nothing for the removed ones.
    await waitFor(async () => ((await prisma().job.count({ where: { utterance: { learnerId: fromGlobalId(learnerId)!.id }, status: { in: ['QUEUED', 'RUNNING'] } } })) === 0 ? true : null), 60_000, 100);
    const erased = await t.admin.request(`mutation($id: ID!) { eraseLearner(id: $id) { utterances audioFilesRemoved audioFilesKept audioFilesNotRemoved } }`, { id: learnerId });
    expect(erased.errors).toBeUndefined();
    expect(erased.data.eraseLearner).toEqual({ utterances: 4, audioFilesRemoved: 2, audioFilesKept: 0, audioFilesNotRemoved: 0 });
    expect(await store().has(oldOwn.row.audioSha256)).toBe(false);
    expect(await store().has(oldShared.row.audioSha256)).toBe(false);
    expect((await t.admin.request(SET, { days: null })).errors).toBeUndefined();
  });

  test('a recording with a job queued or running waits for the job; 0 days keeps everything', async () => {
    const learnerId = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e}) { id } }`, { e: `retention-busy-${randomUUID()}` })).data.createLearner.id;
    const busy = await recording(learnerId, speechLikeWav(1.1, 303));
    await backdate(busy.id, 400);
    // The app's sweep is off for this organisation (0 days); the sweep is called here, where the job cannot run.
    const job = await prisma().job.create({ data: { organizationId: busy.row.organizationId, utteranceId: busy.row.id, status: 'RUNNING', startedAt: new Date(), leaseExpiresAt: new Date(Date.now() + 600_000), lockedBy: 'elsewhere' } });
    expect(await removeExpiredAudio(prisma(), store(), 0)).toEqual({ utterances: 0, files: 0 });
    await prisma().organization.update({ where: { id: busy.row.organizationId }, data: { audioRetentionDays: 30 } });
    try {
      expect(await removeExpiredAudio(prisma(), store(), 0)).toMatchObject({ utterances: 0 });
      expect((await prisma().utterance.findUniqueOrThrow({ where: { id: busy.row.id } })).audioRemovedAt).toBeNull();
      await prisma().job.update({ where: { id: job.id }, data: { status: 'SUCCEEDED', finishedAt: new Date(), leaseExpiresAt: null, lockedBy: null } });
      // Either this call or the app's own sweep removes it now. The sweep marks the row, then
      // removes the file: when the app's sweep marked it first, its removal may still be under way.
      await removeExpiredAudio(prisma(), store(), 0);
      expect((await prisma().utterance.findUniqueOrThrow({ where: { id: busy.row.id } })).audioRemovedAt).not.toBeNull();
      await waitFor(async () => ((await store().has(busy.row.audioSha256)) ? null : true), 10_000, 50);
    } finally {
      await prisma().organization.update({ where: { id: busy.row.organizationId }, data: { audioRetentionDays: null } });
    }
  });

  test('an audio file no utterance references (a removal that failed after its commit) is removed by the running server, not only at its next start', async () => {
    // What an erasure whose file removal failed leaves: the file, with no row pointing to it.
    const orphan = speechLikeWav(1.1, 404);
    const young = speechLikeWav(1.1, 405);
    const stored = await store().put(orphan, 'wav');
    await store().put(young, 'wav');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stored.path, twoHoursAgo, twoHoursAgo);
    // The server's own sweep (every 200 ms here) finds it; a file younger than an hour may be a
    // submit in flight and stays.
    expect(await waitFor(async () => ((await store().has(sha256Hex(orphan))) ? null : true), 10_000, 50)).toBe(true);
    expect(await store().has(sha256Hex(young))).toBe(true);
  });
});
