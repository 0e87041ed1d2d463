import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { checkRationale } from '../../src/rationale/check.js';
import type { AssessmentLabels } from '../../src/types.js';

const DATABASES = await testDatabases();

const PAGE = `query($id: ID!, $first: Int!) { learner(id: $id) { utterances(first: $first) { edges { node {
  id referenceText audio { format durationMs } jobs { totalCount edges { node { status } } }
  latestAssessment { sentence { total } model { version } words { text accuracy phonemes { symbol accuracy } }
    rationale { text flags trusted words { precision } phonemes { recall } } }
} } } } }`;

function labelsFor(i: number): AssessmentLabels {
  const words = ['WE', 'CALL', 'IT', 'BEAR'].map((text, w) => ({
    text,
    accuracy: (i + w) % 11,
    stress: 10 as const,
    total: (i + w) % 11,
    phonemes: [{ symbol: 'W', accuracy: ((i + w) % 3) as number }, { symbol: 'IY0', accuracy: 2 }],
  }));
  return { sentence: { accuracy: i % 11, fluency: 8, prosody: 7, completeness: 10, total: i % 11 }, words };
}

/** Stored utterances with whole assessments, written by the platform's own persistence code. */
async function seed(t: TestApp, learnerId: string, count: number) {
  const prisma = t.app.services.prisma;
  const learner = await prisma.learner.findUniqueOrThrow({ where: { id: learnerId } });
  for (let i = 0; i < count; i++) {
    const utterance = await prisma.utterance.create({
      data: {
        organizationId: learner.organizationId, learnerId, referenceText: 'We call it bear', referenceWords: [],
        audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 1, durationMs: 1000,
        sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
      },
    });
    const labels = labelsFor(i);
    const text = `Your pronunciation of "BEAR" needs work.`;
    await prisma.$transaction((tx) =>
      writeAssessment(tx, {
        organizationId: learner.organizationId, utteranceId: utterance.id, jobId: null, source: 'MODEL',
        model: { name: 'm', version: '1', executionProvider: 'cpu' }, inferenceMs: 1, labels,
        rationale: { text, check: checkRationale(text, labels) },
      }),
    );
  }
}

describe.each(DATABASES)('no N+1 on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];

  beforeAll(async () => {
    // No in-process worker: its polling would add statements that are not the request's.
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
  });
  afterAll(() => t?.dispose());

  async function statementsFor(first: number, learnerId: string) {
    statements.length = 0;
    const res = await t.admin.request(PAGE, { id: learnerId, first });
    expect(res.errors).toBeUndefined();
    expect(res.data.learner.utterances.edges).toHaveLength(first);
    for (const e of res.data.learner.utterances.edges) expect(e.node.latestAssessment.words[3].phonemes).toHaveLength(2);
    // The API key's look-up is cached for a few seconds: not part of the page's cost.
    return statements.filter((s) => !/"ApiKey"/.test(s)).length;
  }

  test('a page of 50 utterances with words, phonemes and rationales costs the same SQL as a page of 5', async () => {
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "n1"}) { id } }`)).data.createLearner.id;
    const { fromGlobalId } = await import('../../src/graphql/ids.js');
    await seed(t, fromGlobalId(learnerId)!.id, 50);
    const five = await statementsFor(5, learnerId);
    const fifty = await statementsFor(50, learnerId);
    expect(five).toBeGreaterThan(3);
    expect(fifty).toBe(five);
  });
});
