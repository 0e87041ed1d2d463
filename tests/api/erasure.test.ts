/**
 * eraseLearner over real HTTP on the real server: what it deletes is counted straight from the
 * database and the audio store on disk, shared recordings survive, other learners and organisations
 * are untouched, and a worker holding one of the learner's jobs cannot bring any row back (nor one
 * holding the job of a recording deleteUtterance removes).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment } from '../support/seed.js';
import { encodeWav, sine } from '../support/audio-fixtures.js';
import { AudioStore } from '../../src/audio/store.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { checkRationale } from '../../src/rationale/check.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { humanCheckForNewRationale } from '../../src/assessment/human.js';
import { classifyAssessError } from '../../src/assessment/handler.js';
import { Worker, type JobOutcome } from '../../src/jobs/worker.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import type { AssessmentLabels, ReferenceWord } from '../../src/types.js';

const DATABASES = await testDatabases();

const TEXT = 'We call it bear';
const ERASE = `mutation($id: ID!) { eraseLearner(id: $id) {
  learnerId learners utterances assessments jobs audioFilesRemoved audioFilesKept audioFilesNotRemoved } }`;
const CREATE_LEARNER = `mutation($x: String!) { createLearner(input: {externalId: $x}) { id } }`;

function labelsFor(ref: ReferenceWord[]): AssessmentLabels {
  return {
    sentence: { accuracy: 7, fluency: 8, prosody: 7, completeness: 10, total: 7 },
    words: ref.map((w) => ({ text: w.text, accuracy: 7, stress: 10, total: 7, phonemes: w.phones.map((symbol) => ({ symbol, accuracy: 1.5 })) })),
  };
}

/** A recording really in the store, and an utterance row that references it. */
async function recordedUtterance(prisma: PrismaClient, store: AudioStore, organizationId: string, learnerId: string, hz: number) {
  const bytes = encodeWav(sine(hz, 0.5, 16000), 16000);
  const { sha256, path } = await store.put(bytes, 'wav');
  const utterance = await prisma.utterance.create({
    data: {
      organizationId, learnerId, referenceText: TEXT, referenceWords: analyzeReferenceText(TEXT) as never,
      audioSha256: sha256, audioFormat: 'wav', audioBytes: bytes.length, durationMs: 500,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 400,
    },
  });
  return { utterance, path };
}

/** Rows still in the database for these utterances (raw SQL, no API in between). */
async function rowsOf(prisma: PrismaClient, utteranceIds: string[]) {
  const count = async (sql: string) =>
    Number((await prisma.$queryRawUnsafe<{ n: number }[]>(sql, utteranceIds))[0]!.n);
  const inAssessments = `"assessmentId" IN (SELECT "id" FROM "Assessment" WHERE "utteranceId"::text = ANY($1::text[]))`;
  return {
    utterances: await count(`SELECT count(*)::int AS n FROM "Utterance" WHERE "id"::text = ANY($1::text[])`),
    assessments: await count(`SELECT count(*)::int AS n FROM "Assessment" WHERE "utteranceId"::text = ANY($1::text[])`),
    words: await count(`SELECT count(*)::int AS n FROM "WordAssessment" WHERE ${inAssessments}`),
    phonemes: await count(`SELECT count(*)::int AS n FROM "PhonemeAssessment" WHERE ${inAssessments}`),
    rationales: await count(`SELECT count(*)::int AS n FROM "Rationale" WHERE ${inAssessments}`),
    jobs: await count(`SELECT count(*)::int AS n FROM "Job" WHERE "utteranceId"::text = ANY($1::text[])`),
  };
}

const NONE = { utterances: 0, assessments: 0, words: 0, phonemes: 0, rationales: 0, jobs: 0 };

describe.each(DATABASES)('eraseLearner on %s', (kind) => {
  let t: TestApp;
  let store: AudioStore;
  let orgId: string;
  const prisma = () => t.app.services.prisma;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    store = new AudioStore(t.config.audioDir);
    orgId = (await prisma().organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } })).id;
  });
  afterAll(() => t?.dispose());

  async function learner(externalId: string, client = t.admin) {
    const res = await client.request(CREATE_LEARNER, { x: externalId });
    expect(res.errors).toBeUndefined();
    return { gid: res.data.createLearner.id as string, id: fromGlobalId(res.data.createLearner.id)!.id };
  }

  test('deletes every row of the learner and the audio only they used; shared audio and other learners stay', async () => {
    const a = await learner('erase-me');
    const b = await learner('stays');
    const other = await otherOrganization(t, ['ADMIN']);
    const c = await learner('other-org', other.client);

    // A: three utterances, two recordings of its own (one uploaded twice) and one whose bytes
    // another organisation's learner uploaded too.
    const a1 = await recordedUtterance(prisma(), store, orgId, a.id, 300);
    const a2 = await recordedUtterance(prisma(), store, orgId, a.id, 300);
    const a3 = await recordedUtterance(prisma(), store, orgId, a.id, 500);
    const shared = await recordedUtterance(prisma(), store, other.org.id, c.id, 500);
    const b1 = await recordedUtterance(prisma(), store, orgId, b.id, 700);
    // B uploaded A's first recording's bytes too: that file stays, for B.
    const b2 = await recordedUtterance(prisma(), store, orgId, b.id, 300);
    expect(a1.path).toBe(a2.path);
    expect(b2.path).toBe(a1.path);
    expect(a3.path).toBe(shared.path);

    const ref = analyzeReferenceText(TEXT);
    const labels = labelsFor(ref);
    const rationale = { text: 'Clear overall, but "BEAR" needs work.', check: checkRationale('Clear overall, but "BEAR" needs work.', labels) };
    for (const u of [a1, a2, b1, shared]) await seedModelAssessment(prisma(), u.utterance, labels, rationale);
    const human = await t.admin.request(
      `mutation($u: ID!) { attachHumanLabels(utteranceId: $u, labels: {sentence: {accuracy: 6, fluency: 6, prosody: 6, completeness: 10, total: 6}}) { id } }`,
      { u: toGlobalId('Utterance', a3.utterance.id) },
    );
    expect(human.errors).toBeUndefined();
    await prisma().job.create({ data: { organizationId: orgId, utteranceId: a1.utterance.id, status: 'SUCCEEDED' } });
    await prisma().job.create({ data: { organizationId: orgId, utteranceId: a2.utterance.id, status: 'FAILED', errorCode: 'X' } });
    await prisma().job.create({ data: { organizationId: orgId, utteranceId: b1.utterance.id, status: 'SUCCEEDED' } });

    const aIds = [a1, a2, a3].map((u) => u.utterance.id);
    const keepIds = [b1, b2, shared].map((u) => u.utterance.id);
    const wordsPer = ref.length;
    const phonesPer = ref.reduce((n, w) => n + w.phones.length, 0);
    expect(await rowsOf(prisma(), aIds)).toEqual({
      utterances: 3, assessments: 3, words: 2 * wordsPer, phonemes: 2 * phonesPer, rationales: 2, jobs: 2,
    });
    const kept = await rowsOf(prisma(), keepIds);

    const res = await t.admin.request(ERASE, { id: a.gid });
    expect(res.errors).toBeUndefined();
    // Kept: the file B still uses. Removed: A's other recording, which only another organisation's
    // identical upload still holds (gone for this one; the count does not tell that it exists).
    expect(res.data.eraseLearner).toEqual({
      learnerId: a.gid, learners: 1, utterances: 3, assessments: 3, jobs: 2, audioFilesRemoved: 1, audioFilesKept: 1, audioFilesNotRemoved: 0,
    });

    expect(await rowsOf(prisma(), aIds)).toEqual(NONE);
    expect(await prisma().learner.count({ where: { id: a.id } })).toBe(0);
    expect(existsSync(a1.path)).toBe(true); // B's
    expect(existsSync(shared.path)).toBe(true); // the other organisation's
    expect(existsSync(b1.path)).toBe(true);
    expect(await rowsOf(prisma(), keepIds)).toEqual(kept);
    expect(await prisma().learner.count({ where: { id: { in: [b.id, c.id] } } })).toBe(2);

    // Gone from the API too; the audit log keeps what was done, by whom, without the learner's data.
    expect((await t.admin.request(`query($id: ID!) { learner(id: $id) { id } }`, { id: a.gid })).data.learner).toBeNull();
    const events = (await t.admin.request(`{ auditEvents(action: "learner.erased") { edges { node { actor targetType targetId details } } } }`))
      .data.auditEvents.edges;
    expect(events).toHaveLength(1);
    expect(events[0].node).toMatchObject({
      targetType: 'Learner', targetId: a.gid,
      details: { learners: 1, utterances: 3, assessments: 3, jobs: 2, audioFilesRemoved: 1, audioFilesKept: 1, audioFilesNotRemoved: 0 },
    });
    expect(events[0].node.actor).toMatch(/^bootstrap admin \(sm_/);
    expect(JSON.stringify(events)).not.toContain('erase-me');

    // Erasing again, or another organisation's learner, is NOT_FOUND and deletes nothing.
    expect(errorCode(await t.admin.request(ERASE, { id: a.gid }))).toBe('NOT_FOUND');
    expect(errorCode(await t.admin.request(ERASE, { id: c.gid }))).toBe('NOT_FOUND');
    expect(errorCode(await t.admin.request(ERASE, { id: toGlobalId('Utterance', b1.utterance.id) }))).toBe('NOT_FOUND');
    expect(await rowsOf(prisma(), keepIds)).toEqual(kept);
  });

  test('a recording the store cannot delete: the rows are erased all the same, the answer counts the file that stayed', async () => {
    const l = await learner('undeletable');
    const { utterance, path } = await recordedUtterance(prisma(), store, orgId, l.id, 1100);
    // A directory where the file was: removing it fails (EISDIR) as a broken disk would.
    rmSync(path);
    mkdirSync(path);
    try {
      const res = await t.admin.request(ERASE, { id: l.gid });
      expect(res.errors).toBeUndefined();
      expect(res.data.eraseLearner).toMatchObject({ utterances: 1, audioFilesRemoved: 0, audioFilesKept: 0, audioFilesNotRemoved: 1 });
      expect(await rowsOf(prisma(), [utterance.id])).toEqual(NONE);
      expect(await prisma().learner.count({ where: { id: l.id } })).toBe(0);
      expect(existsSync(path)).toBe(true);
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });

  test('needs the ADMIN scope', async () => {
    const d = await learner('scoped');
    const writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    expect(errorCode(await writer.request(ERASE, { id: d.gid }))).toBe('FORBIDDEN');
    expect(await prisma().learner.count({ where: { id: d.id } })).toBe(1);
  });

  describe('with a worker holding one of the learner\'s jobs', () => {
    let worker: Worker;
    const settled = new Map<string, (outcome: JobOutcome) => void>();
    const gates = new Map<string, { entered: () => void; committing: () => void; before: Promise<void>; inside: Promise<void> }>();

    /**
     * A job whose handler signals when it runs (`entered`) and when its completing transaction has
     * locked the job and utterance rows (`committing`), and waits for `openBefore` (in place of
     * inference) and `openInside` (inside that transaction).
     */
    function gate(jobId: string) {
      let entered!: () => void;
      let committing!: () => void;
      let openBefore!: () => void;
      let openInside!: () => void;
      const state = {
        entered: new Promise<void>((r) => (entered = r)),
        committing: new Promise<void>((r) => (committing = r)),
        before: new Promise<void>((r) => (openBefore = r)),
        inside: new Promise<void>((r) => (openInside = r)),
        outcome: new Promise<JobOutcome>((r) => settled.set(jobId, r)),
      };
      gates.set(jobId, { entered, committing, before: state.before, inside: state.inside });
      return { ...state, openBefore, openInside };
    }

    beforeAll(() => {
      // The real queue and worker; the handler writes through the platform's own result writers
      // (the model is not needed to show what a completion does after an erasure).
      worker = new Worker({
        prisma: prisma(), leaseSeconds: 30, pollIntervalMs: 50, concurrency: 2, classifyError: classifyAssessError,
        onJobSettled: (job, outcome) => settled.get(job.id)?.(outcome),
        handler: async (job) => {
          const g = gates.get(job.id);
          const utterance = await prisma().utterance.findUniqueOrThrow({ where: { id: job.utteranceId } });
          const labels = labelsFor(utterance.referenceWords as unknown as ReferenceWord[]);
          const text = 'Good overall.';
          g?.entered();
          await g?.before;
          return async (tx) => {
            const humanCheck = await humanCheckForNewRationale(tx, utterance, text);
            g?.committing();
            await g?.inside;
            await writeAssessment(tx, {
              organizationId: job.organizationId, utteranceId: utterance.id, jobId: job.id, source: 'MODEL',
              model: { name: 'gated', version: '1', executionProvider: 'cpu' }, inferenceMs: 1, labels,
              rationale: { text, check: checkRationale(text, labels), humanCheck },
            });
          };
        },
      });
      worker.start();
    });
    afterAll(() => worker?.stop({ graceful: true }));

    async function queuedJob(externalId: string, hz: number) {
      const l = await learner(externalId);
      const { utterance, path } = await recordedUtterance(prisma(), store, orgId, l.id, hz);
      const job = await prisma().job.create({ data: { organizationId: orgId, utteranceId: utterance.id } });
      return { learner: l, utterance, path, job, g: gate(job.id) };
    }

    test('erased while the job runs: the completion finds no job and writes nothing', async () => {
      const { learner: l, utterance, path, job, g } = await queuedJob('running', 900);
      worker.wake();
      await g.entered;
      expect((await prisma().job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe('RUNNING');

      const res = await t.admin.request(ERASE, { id: l.gid });
      expect(res.errors).toBeUndefined();
      expect(res.data.eraseLearner).toMatchObject({ utterances: 1, assessments: 0, jobs: 1, audioFilesRemoved: 1 });

      g.openBefore();
      g.openInside();
      expect(await g.outcome).toBe('lost');
      expect(await rowsOf(prisma(), [utterance.id])).toEqual(NONE);
      expect(await prisma().learner.count({ where: { id: l.id } })).toBe(0);
      expect(existsSync(path)).toBe(false);
    });

    test('erased while the completion is committing: the erasure waits for it and deletes its result too', async () => {
      const { learner: l, utterance, job, g } = await queuedJob('completing', 1100);
      worker.wake();
      await g.entered;
      g.openBefore();
      await g.committing; // the completing transaction holds the job and utterance rows, and waits

      let done = false;
      const erasing = t.admin.request(ERASE, { id: l.gid }).finally(() => (done = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(done).toBe(false); // blocked behind the worker's transaction
      g.openInside();
      const res = await erasing;
      expect(await g.outcome).toBe('succeeded');
      expect(res.errors).toBeUndefined();
      expect(res.data.eraseLearner).toMatchObject({ utterances: 1, assessments: 1, jobs: 1 });
      expect(await rowsOf(prisma(), [utterance.id])).toEqual(NONE);
      expect(await prisma().job.count({ where: { id: job.id } })).toBe(0);
    });

    const DELETE = `mutation($id: ID!) { deleteUtterance(id: $id) { utteranceId assessments jobs audioFilesRemoved } }`;
    /** The learner's rollup counts still above zero (a subtraction leaves zero rows behind). */
    const countedRollups = async (learnerId: string) => ({
      scores: await prisma().learnerScoreRollup.count({ where: { learnerId, count: { not: 0 } } }),
      sounds: await prisma().learnerSoundRollup.count({ where: { learnerId, count: { not: 0 } } }),
    });

    test('deleteUtterance while the job runs: the completion finds no job and writes nothing', async () => {
      const { learner: l, utterance, path, g } = await queuedJob('deleted-running', 1500);
      worker.wake();
      await g.entered;
      const res = await t.admin.request(DELETE, { id: toGlobalId('Utterance', utterance.id) });
      expect(res.errors).toBeUndefined();
      expect(res.data.deleteUtterance).toMatchObject({ assessments: 0, jobs: 1, audioFilesRemoved: 1 });

      g.openBefore();
      g.openInside();
      expect(await g.outcome).toBe('lost');
      expect(await rowsOf(prisma(), [utterance.id])).toEqual(NONE);
      expect(await countedRollups(l.id)).toEqual({ scores: 0, sounds: 0 });
      expect(await prisma().learner.count({ where: { id: l.id } })).toBe(1);
      expect(existsSync(path)).toBe(false);
    });

    test('deleteUtterance while the completion is committing: it waits, then deletes the new result and takes it out of the rollups', async () => {
      const { learner: l, utterance, job, g } = await queuedJob('deleted-completing', 1700);
      worker.wake();
      await g.entered;
      g.openBefore();
      await g.committing; // the completing transaction holds the job row, and waits

      let done = false;
      const deleting = t.admin.request(DELETE, { id: toGlobalId('Utterance', utterance.id) }).finally(() => (done = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(done).toBe(false); // blocked behind the worker's transaction
      g.openInside();
      const res = await deleting;
      expect(await g.outcome).toBe('succeeded');
      expect(res.errors).toBeUndefined();
      expect(res.data.deleteUtterance).toMatchObject({ assessments: 1, jobs: 1 });
      expect(await rowsOf(prisma(), [utterance.id])).toEqual(NONE);
      expect(await prisma().job.count({ where: { id: job.id } })).toBe(0);
      // The completion added the assessment to the rollups; the deletion, which read it once it
      // had committed, took it out again.
      expect(await countedRollups(l.id)).toEqual({ scores: 0, sounds: 0 });
    });

    test('the worker loop goes on with the next jobs', async () => {
      const { utterance, g } = await queuedJob('after', 1300);
      g.openBefore();
      g.openInside();
      worker.wake();
      expect(await g.outcome).toBe('succeeded');
      expect((await rowsOf(prisma(), [utterance.id])).assessments).toBe(1);
    });
  });
});
