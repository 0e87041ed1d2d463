/**
 * The `flag`, `score`, `humanLabels` and `metadata` filters of `Query.utterances` and `Learner.utterances`, over real HTTP
 * on PGlite and PostgreSQL: the flag is the latest MODEL assessment's (a later re-assessment without
 * it, or human labels, decide as they should), metadata matches by containment; each page and its
 * totalCount agree with a recomputation from the rows, and bad metadata is BAD_USER_INPUT naming
 * `filter.metadata`.
 */
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import type { AssessmentLabels } from '../../src/types.js';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';

const DATABASES = await testDatabases();

const labels = (total: number): AssessmentLabels => ({
  sentence: { accuracy: total, fluency: total, prosody: total, completeness: 10, total },
  words: [{ text: 'HI', accuracy: total, stress: 10, total, phonemes: [{ symbol: 'HH', accuracy: 2 }, { symbol: 'AY1', accuracy: 2 }] }],
});

const ALL = `query($filter: UtteranceFilter) { utterances(first: 50, filter: $filter) { totalCount edges { node { referenceText metadata } } } }`;
const OF_LEARNER = `query($id: ID!, $filter: LearnerUtteranceFilter) { node(id: $id) { ... on Learner { utterances(first: 50, filter: $filter) { totalCount edges { node { referenceText } } } } } }`;

describe.each(DATABASES)('utterance filters: flag, score and metadata [%s]', (kind) => {
  let t: TestApp;
  let prisma: PrismaClient;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    const learner = await prisma.learner.create({ data: { organizationId: org.id, externalId: 'filters-1' } });
    const other = await prisma.learner.create({ data: { organizationId: org.id, externalId: 'filters-2' } });
    learnerId = toGlobalId('Learner', learner.id);
    let minute = 0;
    const utterance = (text: string, metadata: Record<string, string>, learnerRow = learner) =>
      prisma.utterance.create({
        data: {
          organizationId: org.id, learnerId: learnerRow.id, referenceText: text, referenceWords: analyzeReferenceText(text) as never, metadata,
          audioSha256: 'e'.repeat(64), audioFormat: 'wav', audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
          createdAt: new Date(Date.UTC(2026, 6, 1, 10, minute++)),
        },
      });
    const assess = async (utteranceId: string, source: 'MODEL' | 'HUMAN', flagged: boolean, at: number, total = 5) => {
      const id = await prisma.$transaction((tx) =>
        writeAssessment(tx, {
          organizationId: org.id, utteranceId, jobId: null, source, inferenceMs: null, rationale: null, rater: source === 'HUMAN' ? 'r1' : null,
          model: source === 'MODEL' ? { name: 'm', version: '1', executionProvider: 'cpu' } : null, labels: labels(total),
          ...(flagged ? { contentMatch: 0.01, flags: ['READ_WRONG_TEXT' as const] } : source === 'MODEL' ? { contentMatch: 0.99, flags: [] } : {}),
        }),
      );
      await prisma.assessment.update({ where: { id }, data: { createdAt: new Date(Date.UTC(2026, 6, 2, 10, at)) } });
    };
    // flagged: its only assessment says another sentence was read.
    const flagged = await utterance('flagged', { attempt: 'a-1', course: 'c-1' });
    await assess(flagged.id, 'MODEL', true, 0);
    // rescored: flagged once, then a newer model's assessment reads it as the sentence.
    const rescored = await utterance('rescored', { attempt: 'a-2', course: 'c-1' });
    await assess(rescored.id, 'MODEL', true, 1, 2);
    await assess(rescored.id, 'MODEL', false, 2, 8);
    // labelled: flagged by the model, then human labels (not a model assessment: the flag stands).
    const labelled = await utterance('labelled', { attempt: 'a-3', course: 'c-2' });
    await assess(labelled.id, 'MODEL', true, 3, 3);
    await assess(labelled.id, 'HUMAN', false, 4, 9);
    // clean, and one not assessed yet.
    const clean = await utterance('clean', { attempt: 'a-4', course: 'c-2' });
    await assess(clean.id, 'MODEL', false, 5, 6);
    await utterance('unassessed', {});
    // Another learner's flagged reading: in Query.utterances, not in this learner's.
    const elsewhere = await utterance('elsewhere', { attempt: 'a-5', course: 'c-1' }, other);
    await assess(elsewhere.id, 'MODEL', true, 6, 4);
  });
  afterAll(() => t?.dispose());

  const texts = (connection: { totalCount: number; edges: { node: { referenceText: string } }[] }) => {
    // The count is of every page; these fit in one.
    expect(connection.totalCount).toBe(connection.edges.length);
    return connection.edges.map((e) => e.node.referenceText);
  };
  const all = async (filter: object) => {
    const res = await t.admin.request(ALL, { filter });
    expect(res.errors).toBeUndefined();
    return texts(res.data.utterances);
  };
  const ofLearner = async (filter: object) => {
    const res = await t.admin.request(OF_LEARNER, { id: learnerId, filter });
    expect(res.errors).toBeUndefined();
    return texts(res.data.node.utterances);
  };

  test('flag: the latest MODEL assessment decides, newest first', async () => {
    expect(await all({ flag: 'READ_WRONG_TEXT' })).toEqual(['elsewhere', 'labelled', 'flagged']);
    expect(await ofLearner({ flag: 'READ_WRONG_TEXT' })).toEqual(['labelled', 'flagged']);
    // With the other filters: all must hold.
    expect(await ofLearner({ flag: 'READ_WRONG_TEXT', referenceText: 'FLAGGED' })).toEqual(['flagged']);
  });

  test("humanLabels: whether a rater scored the utterance; with the flag, a teacher's queue", async () => {
    expect(await all({ humanLabels: true })).toEqual(['labelled']);
    expect(await all({ humanLabels: false })).toEqual(['elsewhere', 'unassessed', 'clean', 'rescored', 'flagged']);
    // The readings of another sentence no teacher has scored yet.
    expect(await all({ flag: 'READ_WRONG_TEXT', humanLabels: false })).toEqual(['elsewhere', 'flagged']);
    expect(await ofLearner({ flag: 'READ_WRONG_TEXT', humanLabels: false })).toEqual(['flagged']);
    expect(await ofLearner({ flag: 'READ_WRONG_TEXT', humanLabels: true })).toEqual(['labelled']);
  });

  test('metadata: every pair given must be there', async () => {
    // The page's rows (raw SQL) carry the column through the codec.
    const page = (await t.admin.request(ALL, { filter: { metadata: { attempt: 'a-2' } } })).data.utterances.edges;
    expect(page.map((e: { node: { metadata: unknown } }) => e.node.metadata)).toEqual([{ attempt: 'a-2', course: 'c-1' }]);
    expect(await all({ metadata: { course: 'c-1' } })).toEqual(['elsewhere', 'rescored', 'flagged']);
    expect(await ofLearner({ metadata: { course: 'c-1' } })).toEqual(['rescored', 'flagged']);
    expect(await all({ metadata: { course: 'c-1', attempt: 'a-2' } })).toEqual(['rescored']);
    expect(await all({ metadata: { course: 'c-1', attempt: 'a-3' } })).toEqual([]);
    expect(await all({ metadata: { attempt: 'a-3' }, flag: 'READ_WRONG_TEXT' })).toEqual(['labelled']);
    // No pairs: no condition.
    expect((await all({ metadata: {} })).length).toBe(6);
  });

  test("score: a sentence score of the latest MODEL assessment in [min, max] (a re-assessment decides, human labels do not)", async () => {
    // Totals, latest model assessment: flagged 5, rescored 8 (2 before), labelled 3 (humans said 9), clean 6, elsewhere 4; unassessed none.
    expect(await all({ score: { aspect: 'TOTAL', max: 4 } })).toEqual(['elsewhere', 'labelled']);
    expect(await all({ score: { aspect: 'TOTAL', min: 5, max: 6 } })).toEqual(['clean', 'flagged']);
    expect(await all({ score: { aspect: 'TOTAL', min: 4.5, max: 5.5 } })).toEqual(['flagged']);
    expect(await ofLearner({ score: { aspect: 'TOTAL', min: 8 } })).toEqual(['rescored']);
    expect(await ofLearner({ score: { aspect: 'FLUENCY', min: 2, max: 2 } })).toEqual([]);
    // Another aspect: every assessed utterance has completeness 10; the unassessed one matches no range.
    expect(await all({ score: { aspect: 'COMPLETENESS', min: 10 } })).toEqual(['elsewhere', 'clean', 'labelled', 'rescored', 'flagged']);
    // With the other filters: all must hold.
    expect(await all({ score: { aspect: 'ACCURACY', max: 5 }, flag: 'READ_WRONG_TEXT', metadata: { course: 'c-1' } })).toEqual(['elsewhere', 'flagged']);
  });

  test('a score range without bounds, outside 0-10 or inverted is BAD_USER_INPUT naming the bound', async () => {
    const refused = async (score: object) => {
      const res = await t.admin.request(ALL, { filter: { score } });
      return [errorCode(res), res.errors?.[0]?.extensions?.argument];
    };
    expect(await refused({ aspect: 'TOTAL' })).toEqual(['BAD_USER_INPUT', 'filter.score.min']);
    expect(await refused({ aspect: 'TOTAL', min: 11 })).toEqual(['BAD_USER_INPUT', 'filter.score.min']);
    expect(await refused({ aspect: 'TOTAL', max: -0.5 })).toEqual(['BAD_USER_INPUT', 'filter.score.max']);
    expect(await refused({ aspect: 'TOTAL', min: 6, max: 5 })).toEqual(['BAD_USER_INPUT', 'filter.score.min']);
    const ofOne = await t.admin.request(OF_LEARNER, { id: learnerId, filter: { score: { aspect: 'TOTAL', min: 6, max: 5 } } });
    expect(ofOne.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', arguments: ['filter.score.min', 'filter.score.max'] });
  });

  test('bad metadata in a filter is BAD_USER_INPUT naming filter.metadata', async () => {
    for (const [query, vars] of [[ALL, {}], [OF_LEARNER, { id: learnerId }]] as const) {
      const res = await t.admin.request(query, { ...vars, filter: { metadata: { course: 7 } } });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.extensions!.argument).toBe('filter.metadata');
    }
  });
});
