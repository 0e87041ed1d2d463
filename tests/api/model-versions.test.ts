/**
 * Several model versions at once (issue 14), on the real server over HTTP, PGlite and PostgreSQL,
 * real ONNX sessions: a worker serving two bundles runs each job on the bundle it asked for; a
 * worker that does not serve a version leaves its jobs QUEUED for one that does; an unknown version
 * is refused at the API before anything is written; and /metrics shows the per-stage latency.
 * The second bundle is models/so762-scorer-1.1.0 (an end-to-end scorer, a version of its own).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createHeartbeat, createWorker } from '../../src/app.js';
import { loadModelSet } from '../../src/inference/model-set.js';
import { readManifest } from '../../src/inference/bundle.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { errorCode } from '../support/client.js';
import { expectGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();
const TOKEN = 'metrics-token-for-tests-0123456789';
const DEFAULT_DIR = path.resolve('models/default');
const SECOND_DIR = path.resolve('models/so762-scorer-1.1.0');
const DEFAULT_VERSION = readManifest(DEFAULT_DIR).version;
const SECOND_VERSION = readManifest(SECOND_DIR).version;

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id status } } }`;
const JOB = `query($id: ID!) { job(id: $id) { status assessment { model { name version } executionProvider } } }`;

async function createLearner(t: TestApp): Promise<string> {
  const res = await t.admin.request(`mutation { createLearner(input: {externalId: "mv-${Math.random()}"}) { id } }`);
  return res.data.createLearner.id;
}

/** A multipart submit of synthetic speech, optionally asking for a model version; the raw response. */
function submit(t: TestApp, learnerId: string, modelVersion?: string, idempotencyKey?: string) {
  return t.admin.upload(
    SUBMIT,
    { input: { learnerId, referenceText: 'We call it bear', audio: null, ...(modelVersion ? { modelVersion } : {}), ...(idempotencyKey ? { idempotencyKey } : {}) } },
    'variables.input.audio',
    { bytes: speechLikeWav(1.5, 3), name: 'speech.wav' },
  );
}

async function submitOk(t: TestApp, learnerId: string, modelVersion?: string): Promise<{ jobId: string; utteranceId: string }> {
  const res = await submit(t, learnerId, modelVersion);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return { jobId: res.data.submitUtterance.job.id, utteranceId: res.data.submitUtterance.utterance.id };
}

/** The finished job's assessment: which bundle ran it, on which provider. */
async function ranWith(t: TestApp, jobId: string): Promise<{ version: string; provider: string }> {
  expect((await waitForJob(t.admin, jobId, 120_000)).status).toBe('SUCCEEDED');
  const job = (await t.admin.request(JOB, { id: jobId })).data.job;
  return { version: job.assessment.model.version, provider: job.assessment.executionProvider };
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function metricsText(t: TestApp): Promise<string> {
  const res = await fetch(`${t.app.url.replace(/\/graphql$/, '')}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('SPEECHMARK_EXTRA_MODEL_DIRS is checked at start, one line per problem', () => {
  test('a folder without a bundle, the default folder again and a second bundle with the default version are refused', () => {
    // A copy of the default manifest alone (the check reads manifests, not model files): the default's version again.
    const twin = mkdtempSync(path.join(os.tmpdir(), 'speechmark-twin-'));
    copyFileSync(path.join(DEFAULT_DIR, 'manifest.json'), path.join(twin, 'manifest.json'));
    let problems: string[] = [];
    try {
      loadConfig({ SPEECHMARK_MODEL_DIR: DEFAULT_DIR, SPEECHMARK_EXTRA_MODEL_DIRS: `/nonexistent/bundle, ${DEFAULT_DIR},${SECOND_DIR},${twin}` });
    } catch (e) {
      problems = (e as { problems: string[] }).problems;
    } finally {
      rmSync(twin, { recursive: true, force: true });
    }
    expect(problems).toEqual([
      expect.stringMatching(/^SPEECHMARK_EXTRA_MODEL_DIRS: .*\/nonexistent\/bundle.*manifest\.json not found/),
      `SPEECHMARK_EXTRA_MODEL_DIRS: ${DEFAULT_DIR} is already SPEECHMARK_MODEL_DIR`,
      `SPEECHMARK_EXTRA_MODEL_DIRS: ${twin} has model version "${DEFAULT_VERSION}", like SPEECHMARK_MODEL_DIR (${DEFAULT_DIR}); each version must name one bundle`,
    ]);
    expect(loadConfig({ SPEECHMARK_EXTRA_MODEL_DIRS: SECOND_DIR }).extraModelDirs).toEqual([SECOND_DIR]);
    expect(() => loadConfig({ SPEECHMARK_MODEL_DIR: SECOND_DIR, SPEECHMARK_EXTRA_MODEL_DIRS: `${DEFAULT_DIR}, ${path.relative('.', SECOND_DIR)}` })).toThrow(
      /already SPEECHMARK_MODEL_DIR/,
    );
  });
});

describe.each(DATABASES)('model versions [%s]', (kind) => {
  describe('a worker serving two bundles', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { extraModelDirs: [SECOND_DIR], metricsToken: TOKEN });
    }, 180_000);
    afterAll(async () => {
      await t?.dispose();
    });

    test('its heartbeat lists both versions, the default first', async () => {
      const res = await t.admin.request(`{ workers { model { version } modelVersions } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.workers).toEqual([{ model: { version: DEFAULT_VERSION }, modelVersions: [DEFAULT_VERSION, SECOND_VERSION] }]);
    });

    test('a job asking for the second bundle runs on it; one asking for nothing on the default', async () => {
      const learnerId = await createLearner(t);
      const second = await submitOk(t, learnerId, SECOND_VERSION);
      const plain = await submitOk(t, learnerId);
      expect(await ranWith(t, second.jobId)).toEqual({ version: SECOND_VERSION, provider: 'cpu' });
      expect(await ranWith(t, plain.jobId)).toEqual({ version: DEFAULT_VERSION, provider: 'cpu' });
      // reassessUtterance(modelVersion:) is honoured too, and the stored job says what it asked for
      const res = await t.admin.request(`mutation($id: ID!, $v: String) { reassessUtterance(utteranceId: $id, modelVersion: $v) { id } }`, {
        id: plain.utteranceId,
        v: SECOND_VERSION,
      });
      expect(res.errors).toBeUndefined();
      expect(await ranWith(t, res.data.reassessUtterance.id)).toEqual({ version: SECOND_VERSION, provider: 'cpu' });
      const jobs = await t.app.services.prisma.job.findMany({ where: { utteranceId: expectGlobalId(plain.utteranceId, 'Utterance') }, orderBy: { createdAt: 'asc' } });
      expect(jobs.map((j) => j.requestedModelVersion)).toEqual([null, SECOND_VERSION]);
      // ... and so does the API, with the job's priority.
      const read = await t.admin.request(`query($id: ID!) { utterance(id: $id) { jobs(last: 5) { edges { node { priority requestedModelVersion } } } } }`, { id: plain.utteranceId });
      expect(read.data.utterance.jobs.edges.map((e: any) => e.node)).toEqual([
        { priority: 'INTERACTIVE', requestedModelVersion: SECOND_VERSION },
        { priority: 'INTERACTIVE', requestedModelVersion: null },
      ]);
    }, 240_000);

    test('/metrics has the per-stage histograms of jobs and submits', async () => {
      const learnerId = await createLearner(t);
      await ranWith(t, (await submitOk(t, learnerId)).jobId);
      const text = await metricsText(t);
      expect(text).toContain('# TYPE speechmark_job_stage_duration_seconds histogram');
      for (const stage of ['queued', 'claim', 'load', 'decode', 'acoustic', 'features', 'heads', 'inference', 'rationale', 'write', 'total']) {
        expect([stage, sample(text, `speechmark_job_stage_duration_seconds_count{stage="${stage}"}`)]).toEqual([stage, expect.any(Number)]);
        expect(sample(text, `speechmark_job_stage_duration_seconds_count{stage="${stage}"}`)).toBeGreaterThanOrEqual(1);
      }
      for (const stage of ['decode', 'vad', 'store', 'enqueue']) {
        expect(sample(text, `speechmark_submit_stage_duration_seconds_count{stage="${stage}"}`)).toBeGreaterThanOrEqual(1);
      }
    }, 180_000);

    test('an unknown version is UNKNOWN_MODEL_VERSION at submit, reassess and bulk reassess, and nothing is written', async () => {
      const { prisma } = t.app.services;
      const learnerId = await createLearner(t);
      const { utteranceId, jobId } = await submitOk(t, learnerId);
      // Assessed first, so the worker's reading (and dropping) of the kept samples is not counted as a change.
      await ranWith(t, jobId);
      const before = { utterances: await prisma.utterance.count(), jobs: await prisma.job.count(), bulk: await prisma.bulkOperation.count(), files: (await readdir(t.config.audioDir, { recursive: true })).length };
      const refused = await submit(t, learnerId, 'no-such-model-1.0');
      expect(errorCode(refused)).toBe('UNKNOWN_MODEL_VERSION');
      expect(refused.errors![0]!.extensions!.knownVersions).toEqual(expect.arrayContaining([DEFAULT_VERSION, SECOND_VERSION]));
      expect(refused.errors![0]!.extensions!.argument).toBe('input.modelVersion');
      expect(refused.data).toBeNull();
      const reassess = await t.admin.request(`mutation($id: ID!) { reassessUtterance(utteranceId: $id, modelVersion: "no-such-model-1.0") { id } }`, { id: utteranceId });
      expect(errorCode(reassess)).toBe('UNKNOWN_MODEL_VERSION');
      expect(reassess.errors![0]!.extensions!.argument).toBe('modelVersion');
      const bulk = await t.admin.request(`mutation { reassessUtterances(input: {wholeOrganisation: true, modelVersion: "no-such-model-1.0"}) { id } }`);
      expect(errorCode(bulk)).toBe('UNKNOWN_MODEL_VERSION');
      expect(bulk.errors![0]!.extensions!.argument).toBe('input.modelVersion');
      const after = { utterances: await prisma.utterance.count(), jobs: await prisma.job.count(), bulk: await prisma.bulkOperation.count(), files: (await readdir(t.config.audioDir, { recursive: true })).length };
      expect(after).toEqual(before);
    }, 120_000);
  });

  describe('a worker serving only the default leaves a job for another version to a worker serving it', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(kind, { metricsToken: TOKEN });
    }, 180_000);
    afterAll(async () => {
      await t?.dispose();
    });

    test('the job waits QUEUED (counted as unserved while no live worker serves it), then the second worker takes it', async () => {
      const { prisma } = t.app.services;
      const learnerId = await createLearner(t);
      // Before any worker serves it, and with no bundle configured here, the version is unknown.
      expect(errorCode(await submit(t, learnerId, SECOND_VERSION))).toBe('UNKNOWN_MODEL_VERSION');

      // A second worker instance (its own model set, same database) whose heartbeat is up but whose
      // claim loop has not started yet: the version is known, nobody can take its jobs but it.
      const models = await loadModelSet(SECOND_DIR, [], { providers: ['cpu'] });
      const second = createWorker(t.config, { prisma, intake: t.app.services.intake, models });
      const heartbeat = createHeartbeat(t.config, prisma, second, models);
      await heartbeat.start();
      try {
        const forSecond = await submitOk(t, learnerId, SECOND_VERSION);
        const plain = await submitOk(t, learnerId);
        expect(await ranWith(t, plain.jobId)).toEqual({ version: DEFAULT_VERSION, provider: 'cpu' });
        await t.app.worker!.drain(); // nothing left that the default-only worker could claim
        expect((await jobRow(t, forSecond.jobId)).status).toBe('QUEUED');

        // With no live worker serving it, the queue gauge counts it.
        await heartbeat.stop();
        expect(sample(await metricsText(t), `speechmark_queue_unserved_jobs{model_version="${SECOND_VERSION}"}`)).toBe(1);

        await heartbeat.start();
        expect(sample(await metricsText(t), `speechmark_queue_unserved_jobs{model_version="${SECOND_VERSION}"}`)).toBeUndefined();
        second.start();
        expect(await ranWith(t, forSecond.jobId)).toEqual({ version: SECOND_VERSION, provider: 'cpu' });
        expect((await jobRow(t, forSecond.jobId)).lockedBy).toBe(second.workerId);
      } finally {
        await second.stop({ graceful: true });
        await heartbeat.stop();
      }
    }, 300_000);
  });
});

describe.each(DATABASES)('retries after the workers of a version have gone (%s)', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
  });

  const REASSESS = `mutation($id: ID!, $v: String, $k: String) { reassessUtterance(utteranceId: $id, modelVersion: $v, idempotencyKey: $k) { id } }`;
  const BULK = `mutation($input: ReassessUtterancesInput!) { reassessUtterances(input: $input) { id } }`;

  test('a submit, re-assessment or bulk re-assessment retried with its idempotency key is replayed, not UNKNOWN_MODEL_VERSION', async () => {
    const { prisma } = t.app.services;
    const learnerId = await createLearner(t);
    const models = await loadModelSet(SECOND_DIR, [], { providers: ['cpu'] });
    const second = createWorker(t.config, { prisma, intake: t.app.services.intake, models });
    const heartbeat = createHeartbeat(t.config, prisma, second, models);
    const bulkInput = { learnerId, modelVersion: SECOND_VERSION, idempotencyKey: 'mv-retry-bulk' };
    await heartbeat.start();
    let first: { submit: any; reassess: any; bulk: any };
    try {
      first = {
        submit: (await submit(t, learnerId, SECOND_VERSION, 'mv-retry-submit')).data.submitUtterance,
        reassess: null,
        bulk: (await t.admin.request(BULK, { input: bulkInput })).data.reassessUtterances,
      };
      first.reassess = (await t.admin.request(REASSESS, { id: first.submit.utterance.id, v: SECOND_VERSION, k: 'mv-retry-reassess' })).data.reassessUtterance;
    } finally {
      await heartbeat.stop();
    }
    const counts = async () => ({ utterances: await prisma.utterance.count(), jobs: await prisma.job.count(), bulk: await prisma.bulkOperation.count() });
    const before = await counts();
    // No worker serves the version now: a new request for it is refused ...
    expect(errorCode(await submit(t, learnerId, SECOND_VERSION, 'mv-retry-new'))).toBe('UNKNOWN_MODEL_VERSION');
    // ... but the retries of accepted ones get their first answers.
    const again = await submit(t, learnerId, SECOND_VERSION, 'mv-retry-submit');
    expect(again.errors).toBeUndefined();
    expect(again.data.submitUtterance).toEqual(first.submit);
    const reassess = await t.admin.request(REASSESS, { id: first.submit.utterance.id, v: SECOND_VERSION, k: 'mv-retry-reassess' });
    expect(reassess.errors).toBeUndefined();
    expect(reassess.data.reassessUtterance).toEqual(first.reassess);
    const bulk = await t.admin.request(BULK, { input: bulkInput });
    expect(bulk.errors).toBeUndefined();
    expect(bulk.data.reassessUtterances).toEqual(first.bulk);
    // A used key asking for another (unknown) version is what the key's CONFLICT says, not a replay.
    expect(errorCode(await t.admin.request(REASSESS, { id: first.submit.utterance.id, v: 'no-such-model-1.0', k: 'mv-retry-reassess' }))).toBe('CONFLICT');
    expect(await counts()).toEqual(before);
  }, 180_000);
});

/** The database row of a job by its global id (the id the API returned). */
function jobRow(t: TestApp, globalId: string) {
  return t.app.services.prisma.job.findUniqueOrThrow({ where: { id: expectGlobalId(globalId, 'Job') } });
}
