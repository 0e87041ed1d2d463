import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode, type GqlClient } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';
import { checkRationale } from '../../src/rationale/check.js';
import { checkAgainstHuman, humanCheckForNewRationale } from '../../src/assessment/human.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import type { AssessmentLabels, ReferenceWord } from '../../src/types.js';

const DATABASES = await testDatabases();

const ATTACH = `mutation($u: ID!, $labels: HumanLabelsInput!, $rater: String) {
  attachHumanLabels(utteranceId: $u, labels: $labels, rater: $rater) {
    id source rater model { version } rationale { text }
    sentence { accuracy fluency prosody completeness total }
    words { index text accuracy stress total phonemes { index symbol accuracy } }
  } }`;

const ALIGNMENT = `humanAlignment { humanLabels { id } flags plausibility { accuracy fluency prosody overall }
  words { criticised praised precision recall mentions errorTokens }
  phonemes { criticised praised precision recall mentions errorTokens } }`;
const AGREEMENT = `agreementWithHuman { humanLabels { id } sentence { accuracy fluency prosody completeness total }
  wordAccuracyMae wordExactMatchShare wordsCompared phonemeAccuracyMae phonemesCompared }`;
const UTTERANCE = `query($id: ID!) { utterance(id: $id) {
  humanLabels { id source rater }
  assessments { edges { node { id source ${AGREEMENT} rationale { text flags ${ALIGNMENT} } } } }
} }`;

const TEXT = 'We call it bear';
const RATIONALE = `Your pronunciation of "BEAR" needs work, and "CALL" was unclear. "WE" was clear. Your fluency was good.`;

type PhoneScores = number[];
function labels(sentence: AssessmentLabels['sentence'], ref: ReferenceWord[], words: [number, PhoneScores][]): AssessmentLabels {
  return {
    sentence,
    words: words.map(([accuracy, phones], i) => ({
      text: ref[i]!.text, accuracy, stress: 10, total: accuracy,
      phonemes: phones.map((a, j) => ({ symbol: ref[i]!.phones[j]!, accuracy: a })),
    })),
  };
}

/** The API's input shape for labels. */
function toInput(l: AssessmentLabels, withWords = true) {
  return {
    sentence: { ...l.sentence },
    words: withWords ? l.words.map((w) => ({ text: w.text.toLowerCase(), accuracy: w.accuracy, stress: w.stress, total: w.total, phonemes: w.phonemes.map((p) => p.accuracy) })) : null,
  };
}

/** What GraphQL serves for a stored check. */
function served(check: ReturnType<typeof checkRationale>) {
  const tf = (f: typeof check.words) => ({ criticised: f.criticised, praised: f.praised, precision: f.precision, recall: f.recall, mentions: f.mentions, errorTokens: f.errorTokens });
  const p = check.plausibility;
  return {
    flags: check.flags,
    plausibility: { accuracy: p.accuracy.toUpperCase(), fluency: p.fluency.toUpperCase(), prosody: p.prosody.toUpperCase(), overall: p.overall.toUpperCase() },
    words: tf(check.words),
    phonemes: tf(check.phonemes),
  };
}

describe.each(DATABASES)('human labels on %s', (kind) => {
  let t: TestApp;
  let utterance: Awaited<ReturnType<typeof seedUtterance>>;
  let ref: ReferenceWord[];
  let modelLabels: AssessmentLabels;
  let humanLabels: AssessmentLabels;
  let modelId: string;
  let utteranceGid: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow();
    utterance = await seedUtterance(prisma, org.id, TEXT);
    utteranceGid = toGlobalId('Utterance', utterance.id);
    ref = utterance.referenceWords as unknown as ReferenceWord[];
    modelLabels = labels({ accuracy: 6, fluency: 8, prosody: 7, completeness: 10, total: 6 }, ref, [
      [10, [2, 2]], [4, [2, 0.5, 2]], [9, [2, 2]], [3, [1, 0, 2]],
    ]);
    humanLabels = labels({ accuracy: 8, fluency: 3, prosody: 5, completeness: 10, total: 7 }, ref, [
      [10, [2, 2]], [6, [2, 1.5, 2]], [5, [2, 1.6]], [3, [0.4, 0, 2]],
    ]);
    modelId = await seedModelAssessment(prisma, utterance, modelLabels, { text: RATIONALE, check: checkRationale(RATIONALE, modelLabels) });
  });
  afterAll(() => t?.dispose());

  const read = (client: GqlClient = t.admin) => client.request(UTTERANCE, { id: utteranceGid });
  const counts = async () => {
    const prisma = t.app.services.prisma;
    return {
      assessments: await prisma.assessment.count(),
      words: await prisma.wordAssessment.count(),
      phonemes: await prisma.phonemeAssessment.count(),
      checked: await prisma.rationale.count({ where: { humanCheck: { not: { equals: null } } } }),
    };
  };

  test('without human labels every new field is null', async () => {
    const res = await read();
    expect(res.errors).toBeUndefined();
    expect(res.data.utterance.humanLabels).toBeNull();
    const [edge] = res.data.utterance.assessments.edges;
    expect(edge.node.agreementWithHuman).toBeNull();
    expect(edge.node.rationale.humanAlignment).toBeNull();
  });

  const invalid: [string, (input: any) => void, string][] = [
    ['sentence out of range', (i) => (i.sentence.accuracy = 11), 'labels.sentence.accuracy must be an integer from 0 to 10 (got 11).'],
    ['negative sentence score', (i) => (i.sentence.total = -1), 'labels.sentence.total must be an integer from 0 to 10 (got -1).'],
    ['too few words', (i) => i.words.pop(),
      'labels.words has 3 entries but the reference text has 4 words (WE CALL IT BEAR); give every word in order, or omit words.'],
    ['words out of order', (i) => ([i.words[1], i.words[2]] = [i.words[2], i.words[1]]), 'labels.words[1].text is "it" but reference word 1 is "CALL".'],
    ['word accuracy out of range', (i) => (i.words[3].accuracy = 12), 'labels.words[3].accuracy must be an integer from 0 to 10 (got 12).'],
    ['stress not 5 or 10', (i) => (i.words[0].stress = 7), 'labels.words[0].stress must be 5 or 10 (got 7).'],
    ['phone count mismatch', (i) => i.words[1].phonemes.push(2),
      'labels.words[1].phonemes has 4 scores but "CALL" has 3 canonical phones (K AO0 L).'],
    ['phoneme out of range', (i) => (i.words[2].phonemes[1] = 2.5), 'labels.words[2].phonemes[1] must be from 0 to 2 (got 2.5).'],
  ];
  test.each(invalid)('refuses %s with a precise message and leaves nothing behind', async (_name, spoil, message) => {
    const before = await counts();
    const input = toInput(humanLabels);
    spoil(input);
    const res = await t.admin.request(ATTACH, { u: utteranceGid, labels: input });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toBe(message);
    expect(await counts()).toEqual(before);
  });

  test('needs the admin scope, and another organisation cannot reach the utterance', async () => {
    const before = await counts();
    const writer = await keyWithScopes(t, ['ASSESS_WRITE', 'SCORES_READ']);
    expect(errorCode(await writer.request(ATTACH, { u: utteranceGid, labels: toInput(humanLabels) }))).toBe('FORBIDDEN');
    const other = await otherOrganization(t);
    expect(errorCode(await other.client.request(ATTACH, { u: utteranceGid, labels: toInput(humanLabels) }))).toBe('NOT_FOUND');
    expect(await counts()).toEqual(before);
  });

  let firstHumanId: string;
  test('attaches labels as a HUMAN assessment with its rater, aligned to the reference words', async () => {
    const res = await t.admin.request(ATTACH, { u: utteranceGid, labels: toInput(humanLabels), rater: '  rater-7 ' });
    expect(res.errors).toBeUndefined();
    const a = res.data.attachHumanLabels;
    firstHumanId = a.id;
    expect(a).toMatchObject({ source: 'HUMAN', rater: 'rater-7', model: null, rationale: null, sentence: humanLabels.sentence });
    expect(a.words).toEqual(humanLabels.words.map((w, index) => ({
      index, text: w.text, accuracy: w.accuracy, stress: 10, total: w.total,
      phonemes: w.phonemes.map((p, j) => ({ index: j, symbol: p.symbol, accuracy: p.accuracy })),
    })));
    const u = (await read()).data.utterance;
    expect(u.humanLabels).toEqual({ id: a.id, source: 'HUMAN', rater: 'rater-7' });
  });

  test('re-checks the existing model rationale against the human labels', async () => {
    const u = (await read()).data.utterance;
    const model = u.assessments.edges.map((e: any) => e.node).find((n: any) => n.source === 'MODEL');
    const human = u.assessments.edges.map((e: any) => e.node).find((n: any) => n.source === 'HUMAN');
    expect(human.agreementWithHuman).toBeNull();
    expect(human.rationale).toBeNull();
    const expected = checkRationale(RATIONALE, humanLabels);
    expect(model.rationale.humanAlignment).toEqual({ humanLabels: { id: firstHumanId }, ...served(expected) });
    // The point of the check: the human labels disagree where the model's own did not.
    expect(model.rationale.flags).toEqual([]);
    expect(model.rationale.humanAlignment.flags).toEqual(['SENTIMENT_MISMATCH']);
    expect(model.rationale.humanAlignment.words.recall).toBeCloseTo(2 / 3, 12);
  });

  test('agreement is exactly what the stored labels imply', async () => {
    const u = (await read()).data.utterance;
    const model = u.assessments.edges.map((e: any) => e.node).find((n: any) => n.source === 'MODEL');
    const ag = model.agreementWithHuman;
    expect(ag.humanLabels.id).toBe(firstHumanId);
    expect(ag.sentence).toEqual({ accuracy: 2, fluency: 5, prosody: 2, completeness: 0, total: 1 });
    // word accuracy |10-10|, |4-6|, |9-5|, |3-3|
    expect(ag.wordsCompared).toBe(4);
    expect(ag.wordAccuracyMae).toBe(1.5);
    expect(ag.wordExactMatchShare).toBe(0.5);
    // phonemes: 0,0 | 0,1,0 | 0,0.4 | 0.6,0,0
    expect(ag.phonemesCompared).toBe(10);
    expect(ag.phonemeAccuracyMae).toBeCloseTo(0.2, 12);
  });

  let sentenceOnlyId: string;
  test('newer sentence-only labels replace the alignment: plausibility only, no token comparison', async () => {
    const sentence = { accuracy: 6, fluency: 9, prosody: 7, completeness: 10, total: 6 };
    const res = await t.admin.request(ATTACH, { u: utteranceGid, labels: { sentence } });
    expect(res.errors).toBeUndefined();
    sentenceOnlyId = res.data.attachHumanLabels.id;
    expect(res.data.attachHumanLabels.words).toEqual([]);
    expect(res.data.attachHumanLabels.rater).toBeNull();
    const u = (await read()).data.utterance;
    expect(u.humanLabels.id).toBe(sentenceOnlyId);
    const model = u.assessments.edges.map((e: any) => e.node).find((n: any) => n.source === 'MODEL');
    expect(model.rationale.humanAlignment).toEqual({
      humanLabels: { id: sentenceOnlyId },
      flags: [],
      plausibility: { accuracy: 'NOT_MENTIONED', fluency: 'CONSISTENT', prosody: 'NOT_MENTIONED', overall: 'NOT_MENTIONED' },
      words: null,
      phonemes: null,
    });
    expect(model.agreementWithHuman).toEqual({
      humanLabels: { id: sentenceOnlyId },
      sentence: { accuracy: 0, fluency: 1, prosody: 0, completeness: 0, total: 0 },
      wordAccuracyMae: null, wordExactMatchShare: null, wordsCompared: 0, phonemeAccuracyMae: null, phonemesCompared: 0,
    });
  });

  test('a model assessment written after labels exist is checked against them when written', async () => {
    // Back to word-level labels, then write the way the worker's handler does.
    await t.admin.request(ATTACH, { u: utteranceGid, labels: toInput(humanLabels) });
    const prisma = t.app.services.prisma;
    const id = await prisma.$transaction(async (tx) =>
      writeAssessment(tx, {
        organizationId: utterance.organizationId, utteranceId: utterance.id, jobId: null, source: 'MODEL',
        model: { name: 'm', version: '2', executionProvider: 'cpu' }, inferenceMs: 1, labels: modelLabels,
        rationale: { text: RATIONALE, check: checkRationale(RATIONALE, modelLabels), humanCheck: await humanCheckForNewRationale(tx, utterance, RATIONALE) },
      }),
    );
    const res = await t.admin.request(`query($id: ID!) { assessment(id: $id) { rationale { ${ALIGNMENT} } } }`, { id: toGlobalId('Assessment', id) });
    const alignment = res.data.assessment.rationale.humanAlignment;
    expect(alignment).toEqual({ humanLabels: { id: expect.any(String) }, ...served(checkRationale(RATIONALE, humanLabels)) });
    expect((await read()).data.utterance.humanLabels.id).toBe(alignment.humanLabels.id);
    void modelId;
  });

  test('another organisation sees none of it', async () => {
    const other = await otherOrganization(t);
    const res = await read(other.client);
    expect(res.errors).toBeUndefined();
    expect(res.data.utterance).toBeNull();
    const human = await other.client.request(`query($id: ID!) { assessment(id: $id) { id } node(id: $id) { id } }`, { id: firstHumanId });
    expect(human.data).toEqual({ assessment: null, node: null });
    // Its own utterance with a model assessment: no human labels leak in from the first organisation.
    const prisma = t.app.services.prisma;
    const own = await seedUtterance(prisma, other.org.id, TEXT);
    await seedModelAssessment(prisma, own, modelLabels, { text: RATIONALE, check: checkRationale(RATIONALE, modelLabels) });
    const mine = (await other.client.request(UTTERANCE, { id: toGlobalId('Utterance', own.id) })).data.utterance;
    expect(mine.humanLabels).toBeNull();
    expect(mine.assessments.edges[0].node.agreementWithHuman).toBeNull();
    expect(mine.assessments.edges[0].node.rationale.humanAlignment).toBeNull();
  });
});

describe.each(DATABASES)('human-label fields without N+1 on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  const PAGE = `query($id: ID!, $first: Int!) { learner(id: $id) { utterances(first: $first) { edges { node {
    humanLabels { rater words { phonemes { accuracy } } }
    latestAssessment { ${AGREEMENT} rationale { ${ALIGNMENT} } }
  } } } } }`;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
  });
  afterAll(() => t?.dispose());

  test('a page of 20 utterances with agreement and alignment costs the same SQL as a page of 4', async () => {
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow();
    const learner = await prisma.learner.create({ data: { organizationId: org.id, externalId: 'n1-human' } });
    for (let i = 0; i < 20; i++) {
      const u = await seedUtterance(prisma, org.id, TEXT);
      await prisma.utterance.update({ where: { id: u.id }, data: { learnerId: learner.id } });
      const ref = u.referenceWords as unknown as ReferenceWord[];
      const model = labels({ accuracy: i % 11, fluency: 8, prosody: 7, completeness: 10, total: 6 }, ref, [[10, [2, 2]], [4, [2, 0.5, 2]], [9, [2, 2]], [3, [1, 0, 2]]]);
      const res = await t.admin.request(ATTACH, { u: toGlobalId('Utterance', u.id), labels: toInput(model), rater: 'r' });
      expect(res.errors).toBeUndefined();
      // Written after the labels, as the worker would: the newest assessment is the model's.
      const humanCheck = checkAgainstHuman(RATIONALE, { id: fromGlobalId(res.data.attachHumanLabels.id)!.id, ...model }, ref);
      await seedModelAssessment(prisma, u, model, { text: RATIONALE, check: checkRationale(RATIONALE, model), humanCheck });
    }
    const cost = async (first: number) => {
      statements.length = 0;
      const res = await t.admin.request(PAGE, { id: toGlobalId('Learner', learner.id), first });
      expect(res.errors).toBeUndefined();
      const nodes = res.data.learner.utterances.edges.map((e: any) => e.node);
      expect(nodes).toHaveLength(first);
      for (const n of nodes) {
        const model = n.latestAssessment;
        expect(model.agreementWithHuman.wordAccuracyMae).toBe(0);
        expect(model.rationale.humanAlignment.humanLabels).toBeTruthy();
      }
      // The API key's look-up is cached for a few seconds: not part of the page's cost.
      return statements.filter((s) => !/"ApiKey"/.test(s)).length;
    };
    const four = await cost(4);
    const twenty = await cost(20);
    // Per-item queries would add at least 16 statements. On PostgreSQL the human and model words of
    // one wave can land in two batches depending on which connection answers first (PGlite is
    // exact), so allow that one split and nothing that grows with the page.
    expect(four).toBeLessThanOrEqual(12);
    expect(Math.abs(twenty - four)).toBeLessThanOrEqual(kind === 'postgres' ? 2 : 0);
  });
});
