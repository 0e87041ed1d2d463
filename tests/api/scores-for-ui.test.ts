/**
 * What a learner-facing UI reads beside the integer scores: the model's continuous predictions,
 * the five-level labels, and IPA for every sound (issue 11, "Scores a UI can use"). A real recording
 * goes through the real scorer; human labels (integers only) get labels and no continuous values.
 */
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { proficiencyLabel, PROFICIENCY_BANDS } from '../../src/assessment/proficiency.js';

const TEXT = 'We call it bear';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const SENTENCE = `sentence { accuracy fluency prosody completeness total accuracyScore fluencyScore prosodyScore completenessScore totalScore
  accuracyLabel fluencyLabel prosodyLabel completenessLabel totalLabel }`;
const WORDS = `words { text accuracy total accuracyScore totalScore accuracyLabel totalLabel ipa phonemes { symbol ipa accuracy label } }`;
const LATEST = `query($id: ID!) { utterance(id: $id) { latestAssessment { model { version } ${SENTENCE} ${WORDS} } } }`;
const ATTACH = `mutation($u: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $labels) { ${SENTENCE} ${WORDS} } }`;

/** The rubric written out again, independently of proficiency.ts: [label, lowest, highest] per scale. */
const RUBRIC: Record<string, [string, number, number][]> = {
  accuracy: [['EXCELLENT', 9, 10], ['GOOD', 7, 8], ['AVERAGE', 5, 6], ['BAD', 3, 4], ['WORST', 0, 2]],
  fluency: [['EXCELLENT', 8, 10], ['GOOD', 6, 7], ['AVERAGE', 4, 5], ['BAD', 2, 3], ['WORST', 0, 1]],
  word: [['EXCELLENT', 10, 10], ['GOOD', 7, 9], ['AVERAGE', 4, 6], ['BAD', 2, 3], ['WORST', 0, 1]],
  phoneme: [['EXCELLENT', 1.9, 2], ['GOOD', 1.5, 1.8], ['AVERAGE', 1.0, 1.4], ['BAD', 0.5, 0.9], ['WORST', 0, 0.4]],
};
const rubricLabel = (scale: keyof typeof RUBRIC, v: number) => {
  const x = scale === 'phoneme' ? Math.round(v * 10) / 10 : Math.round(v);
  return RUBRIC[scale]!.find(([, lo, hi]) => x >= lo && x <= hi)![0];
};

describe('proficiency labels follow the written rubric at every boundary', () => {
  test.each([
    ['SENTENCE_ACCURACY', 'accuracy', 10], ['FLUENCY', 'fluency', 10], ['WORD_ACCURACY', 'word', 10], ['PHONEME', 'phoneme', 2],
  ] as const)('%s', (scale, rubric, max) => {
    const step = max === 2 ? 0.05 : 0.25;
    for (let v = 0; v <= max + 1e-9; v += step) expect([v, proficiencyLabel(scale, v)]).toEqual([v, rubricLabel(rubric, v)]);
    expect(PROFICIENCY_BANDS[scale]).toHaveLength(4);
  });
});

describe('continuous scores, labels and IPA through the API', () => {
  let t: TestApp;
  let utteranceId: string;
  let model: any;

  beforeAll(async () => {
    t = await startTestApp('pglite');
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "ui-1"}) { id } }`)).data.createLearner.id;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(2.5), name: 'recording.wav',
    });
    expect(res.errors).toBeUndefined();
    utteranceId = res.data.submitUtterance.utterance.id;
    expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    model = (await t.admin.request(LATEST, { id: utteranceId })).data.utterance.latestAssessment;
  }, 120_000);
  afterAll(() => t?.dispose());

  test('each sentence score has its continuous prediction, which the integer is the rounding of', () => {
    const s = model.sentence;
    for (const aspect of ['accuracy', 'fluency', 'prosody', 'completeness', 'total']) {
      const c = s[`${aspect}Score`];
      expect(typeof c).toBe('number');
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(10);
      expect(s[aspect]).toBe(Math.round(c));
    }
    expect(s.accuracyLabel).toBe(rubricLabel('accuracy', s.accuracyScore));
    expect(s.fluencyLabel).toBe(rubricLabel('fluency', s.fluencyScore));
  });

  test('words carry continuous scores, a label and IPA; phonemes IPA and a label', () => {
    expect(model.words.map((w: any) => w.text)).toEqual(['WE', 'CALL', 'IT', 'BEAR']);
    for (const w of model.words) {
      expect(w.accuracy).toBe(Math.round(w.accuracyScore));
      expect(w.total).toBe(Math.round(w.totalScore));
      expect(w.accuracyLabel).toBe(rubricLabel('word', w.accuracyScore));
      expect(w.totalLabel).toBe(rubricLabel('word', w.totalScore));
      expect(w.ipa).toBe(w.phonemes.map((p: any) => p.ipa).join(''));
      for (const p of w.phonemes) expect(p.label).toBe(rubricLabel('phoneme', p.accuracy));
    }
    const we = model.words[0];
    expect(we.phonemes.map((p: any) => [p.symbol, p.ipa])).toEqual([['W', 'w'], ['IY0', 'i']]);
    expect(we.ipa).toBe('wi');
  });

  test('human labels (integers only): no continuous values, labels from the integers', async () => {
    const labels = {
      sentence: { accuracy: 8, fluency: 5, prosody: 3, completeness: 10, total: 6 },
      words: model.words.map((w: any) => ({ text: w.text, accuracy: 7, stress: 10, total: 7, phonemes: w.phonemes.map(() => 1.2) })),
    };
    const res = await t.admin.request(ATTACH, { u: utteranceId, labels });
    expect(res.errors).toBeUndefined();
    const h = res.data.attachHumanLabels;
    expect(h.sentence).toMatchObject({
      accuracyScore: null, fluencyScore: null, totalScore: null,
      accuracyLabel: 'GOOD', fluencyLabel: 'AVERAGE', prosodyLabel: 'BAD', completenessLabel: 'EXCELLENT', totalLabel: 'AVERAGE',
    });
    expect(h.words[0]).toMatchObject({ accuracyScore: null, accuracyLabel: 'GOOD', totalLabel: 'GOOD', ipa: 'wi' });
    expect(h.words[0].phonemes[0]).toMatchObject({ accuracy: 1.2, label: 'AVERAGE' });
  });
});
