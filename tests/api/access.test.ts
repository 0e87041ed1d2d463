/**
 * Issue 8, the finding itself: a key with ASSESS_WRITE only was refused `utterance(id)` but read
 * every score through a mutation payload. Scopes are now checked where data is loaded, so the
 * payload paths are refused the same way (src/graphql/access.ts has the policy).
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient, type GqlResponse } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';
import { seedScoredUtterance } from '../support/scored.js';
import { speechLikeWav } from '../support/audio-fixtures.js';

const DATABASES = await testDatabases();

const SCORES = `latestAssessment { id sentence { accuracy fluency prosody completeness total }
  words { text accuracy phonemes { symbol accuracy } } rationale { text flags } }
  assessments { edges { node { id sentence { total } } } }`;
const REASSESS = `mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id status utterance { id ${SCORES} } } }`;
const REASSESS_JOB_ONLY = `mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id status attempts } }`;
const SUBMIT_SCORES = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) {
  utterance { id referenceText ${SCORES} learner { id utterances { edges { node { id ${SCORES} } } } } }
  job { id status utterance { id ${SCORES} } } } }`;
const SUBMIT_OWN = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) {
  utterance { id referenceText referenceWords { text } audio { format } } job { id status } replayed } }`;
const NODE_SCORES = `query($id: ID!) { node(id: $id) { id ... on Assessment { sentence { total } } } }`;

/** Every number anywhere in a response: a score would be one. */
function numbers(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return value.flatMap(numbers);
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbers);
  return [];
}

function forbidden(res: GqlResponse, scope: string) {
  expect(res.errors?.length).toBeGreaterThan(0);
  for (const e of res.errors!) {
    expect(e.extensions?.code).toBe('FORBIDDEN');
    expect(e.message).toContain(scope);
  }
}

describe.each(DATABASES)('scopes on mutation payloads on %s', (kind) => {
  let t: TestApp;
  let seeded: Awaited<ReturnType<typeof seedScoredUtterance>>;
  let writer: GqlClient;
  let writerReader: GqlClient;

  beforeAll(async () => {
    t = await startTestApp(kind);
    seeded = await seedScoredUtterance(t);
    await t.app.worker?.stop({ graceful: true }); // the jobs queued below stay QUEUED
    writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    writerReader = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
  });
  afterAll(() => t?.dispose());

  const submit = (client: GqlClient, query: string, seconds: number) =>
    client.upload(query, { input: { learnerId: seeded.learnerId, referenceText: 'It is a bear', audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(seconds),
      name: 'speech.wav',
    });

  test('the scores exist and a key with SCORES_READ reads them through the payload', async () => {
    const res = await writerReader.request(REASSESS, { u: seeded.utteranceId });
    expect(res.errors).toBeUndefined();
    const u = res.data.reassessUtterance.utterance;
    expect(u.latestAssessment.id).toBe(seeded.assessmentId);
    expect(u.latestAssessment.words.length).toBe(4);
    expect(u.assessments.edges.length).toBe(1);
  });

  test('ASSESS_WRITE only: reassessUtterance payload gives no scores, FORBIDDEN naming SCORES_READ', async () => {
    const jobsBefore = await t.app.services.prisma.job.count();
    const res = await writer.request(REASSESS, { u: seeded.utteranceId });
    forbidden(res, 'SCORES_READ');
    expect(res.data).toBeNull(); // Job.utterance is non-null: the refusal nulls the payload
    expect(numbers(res.data)).toEqual([]);
    // The write itself happened (the scope to write is there), and a payload without scores works.
    expect(await t.app.services.prisma.job.count()).toBe(jobsBefore + 1);
    const ok = await writer.request(REASSESS_JOB_ONLY, { u: seeded.utteranceId });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.reassessUtterance).toMatchObject({ status: 'QUEUED', attempts: 0 });
  });

  test('ASSESS_WRITE only: submitUtterance payload gives no scores, nor the learner\'s other utterances', async () => {
    const res = await submit(writer, SUBMIT_SCORES, 0.9);
    forbidden(res, 'SCORES_READ');
    expect(numbers(res.data)).toEqual([]);
    expect(JSON.stringify(res)).not.toContain(seeded.utteranceId);
    // What it wrote it may see: the utterance and job it created, as it created them.
    const own = await submit(writer, SUBMIT_OWN, 0.8);
    expect(own.errors).toBeUndefined();
    expect(own.data.submitUtterance).toMatchObject({
      utterance: { referenceText: 'It is a bear', audio: { format: 'wav' } },
      job: { status: 'QUEUED' },
      replayed: false,
    });
    // ...and the key with SCORES_READ as well sees everything the same path reaches.
    const full = await submit(writerReader, SUBMIT_SCORES, 0.7);
    expect(full.errors).toBeUndefined();
    const nodes = full.data.submitUtterance.utterance.learner.utterances.edges.map((e: any) => e.node);
    expect(nodes.find((n: any) => n.id === seeded.utteranceId).latestAssessment.id).toBe(seeded.assessmentId);
  });

  test('ASSESS_WRITE only: node(id), job(id) and utterance(id) are refused too', async () => {
    forbidden(await writer.request(NODE_SCORES, { id: seeded.assessmentId }), 'SCORES_READ');
    forbidden(await writer.request(`query($id: ID!) { job(id: $id) { status assessment { sentence { total } } } }`, { id: seeded.jobId }), 'SCORES_READ');
    forbidden(await writer.request(`query($id: ID!) { utterance(id: $id) { ${SCORES} } }`, { id: seeded.utteranceId }), 'SCORES_READ');
  });

  test('another organisation\'s admin cannot reach the utterance through a mutation', async () => {
    const other = await otherOrganization(t);
    const res = await other.client.request(REASSESS, { u: seeded.utteranceId });
    expect(errorCode(res)).toBe('NOT_FOUND');
    expect(res.data).toBeNull();
  });
});
