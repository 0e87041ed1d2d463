import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { checkRationale } from '../../src/rationale/check.js';
import type { AssessmentLabels } from '../../src/types.js';

const DATABASES = await testDatabases();

const PAGE = `query($id: ID!, $first: Int!) { learner(id: $id) { utterances(first: $first) { edges { node {
  id referenceText audio { format durationMs } jobs { totalCount edges { node { status } } }
  assessments(first: 2) { totalCount pageInfo { hasNextPage } edges { cursor node { id source sentence { total } } } }
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
    for (const e of res.data.learner.utterances.edges) {
      expect(e.node.latestAssessment.words[3].phonemes).toHaveLength(2);
      // Every utterance's assessments, paged as the connection pages them: the latest first.
      const page = e.node.assessments;
      expect(page.totalCount).toBe(1);
      expect(page.pageInfo.hasNextPage).toBe(false);
      expect(page.edges.map((a: any) => a.node.sentence.total)).toEqual([e.node.latestAssessment.sentence.total]);
    }
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

  test('learners with their utterances: the same statements for 1 learner as for 4, and each learner its own page', async () => {
    const { fromGlobalId } = await import('../../src/graphql/ids.js');
    const prisma = t.app.services.prisma;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = (await t.admin.request(`mutation($e: String!) { createLearner(input: {externalId: $e, groups: ["n1-many"]}) { id } }`, { e: `n1-many-${i}` })).data.createLearner.id;
      await seed(t, fromGlobalId(id)!.id, 2 + i);
      ids.push(id);
    }
    const Q = `query($n: Int!) { learners(first: $n, filter: { group: "n1-many" }) { edges { node { id
      utterances(first: 3) { totalCount pageInfo { hasNextPage } edges { node { id latestAssessment { sentence { total } } } } } } } } }`;
    const run = async (n: number) => {
      statements.length = 0;
      const res = await t.admin.request(Q, { n });
      expect(res.errors).toBeUndefined();
      return { learners: res.data.learners.edges.map((e: any) => e.node), reads: statements.filter((x) => !/"ApiKey"/.test(x)).length };
    };
    const one = await run(1);
    const four = await run(4);
    expect(four.learners).toHaveLength(4);
    expect(four.reads).toBe(one.reads);
    for (const l of four.learners) {
      const want = await prisma.utterance.findMany({ where: { learnerId: fromGlobalId(l.id)!.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      expect(l.utterances.totalCount).toBe(want.length);
      expect(l.utterances.pageInfo.hasNextPage).toBe(want.length > 3);
      expect(l.utterances.edges.map((e: any) => fromGlobalId(e.node.id)!.id)).toEqual(want.slice(0, 3).map((u) => u.id));
    }
  });

  test('Utterance.assessments pages both ways over the batched read, newest first', async () => {
    const { fromGlobalId, toGlobalId } = await import('../../src/graphql/ids.js');
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "n1-paging"}) { id } }`)).data.createLearner.id;
    const prisma = t.app.services.prisma;
    await seed(t, fromGlobalId(learnerId)!.id, 1);
    const utterance = await prisma.utterance.findFirstOrThrow({ where: { learnerId: fromGlobalId(learnerId)!.id } });
    for (const i of [1, 2]) {
      await prisma.$transaction((tx) => writeAssessment(tx, {
        organizationId: utterance.organizationId, utteranceId: utterance.id, jobId: null, source: 'MODEL',
        model: { name: 'm', version: String(1 + i), executionProvider: 'cpu' }, inferenceMs: 1, labels: labelsFor(i),
        rationale: { text: 'Clear.', check: checkRationale('Clear.', labelsFor(i)) },
      }));
    }
    const expected = (await prisma.assessment.findMany({ where: { utteranceId: utterance.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }))
      .map((a) => toGlobalId('Assessment', a.id));
    expect(expected).toHaveLength(3);
    const page = async (args: string) => {
      const res = await t.admin.request(`query($id: ID!) { utterance(id: $id) { assessments(${args}) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } }`,
      { id: toGlobalId('Utterance', utterance.id) });
      expect(res.errors).toBeUndefined();
      const c = res.data.utterance.assessments;
      return { ids: c.edges.map((e: any) => e.node.id), info: c.pageInfo, total: c.totalCount };
    };
    const first = await page('first: 2');
    expect(first).toMatchObject({ ids: expected.slice(0, 2), total: 3, info: { hasNextPage: true } });
    const rest = await page(`first: 2, after: "${first.info.endCursor}"`);
    expect(rest).toMatchObject({ ids: expected.slice(2), info: { hasNextPage: false } });
    const oldest = await page('last: 1');
    expect(oldest).toMatchObject({ ids: expected.slice(2), info: { hasPreviousPage: true } });
    const before = await page(`last: 5, before: "${oldest.info.startCursor}"`);
    expect(before).toMatchObject({ ids: expected.slice(0, 2), info: { hasPreviousPage: false } });
  });
});
