/**
 * Learner.ageGroup (issue 12): set by createLearner, changed or cleared by updateLearner, and a
 * CHILD learner's rationale is worded for children: the same recording read by an adult and by a
 * child gets the same scores and criticises the same words, in different words, each passing its
 * own checks. Real HTTP, real database, real ONNX model, real SpeechOcean762 audio.
 */
import { randomUUID } from 'node:crypto';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';
import { ASPECT_PHRASES } from '../../src/rationale/wording.js';

const DATABASES = await testDatabases();

const CREATE = `mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id ageGroup } }`;
const UPDATE = `mutation($id: ID!, $i: UpdateLearnerInput!) { updateLearner(id: $id, input: $i) { id ageGroup } }`;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const RESULT = `query($id: ID!) { job(id: $id) { status assessment {
  sentence { accuracy fluency prosody total } rationale { text flags words { criticised } phonemes { criticised } } } } }`;

const childLines = new Set(Object.values(ASPECT_PHRASES.child).flat().map((p) => p.text));
const adultLines = new Set(Object.values(ASPECT_PHRASES.adult).flat().map((p) => p.text));

describe.each(DATABASES)('learner age group on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
  });
  afterAll(() => t?.dispose());

  test('createLearner stores it, updateLearner changes and clears it, an unknown value is refused', async () => {
    const made = await t.admin.request(CREATE, { i: { externalId: `age-${randomUUID()}`, ageGroup: 'CHILD' } });
    expect(made.data.createLearner.ageGroup).toBe('CHILD');
    const id = made.data.createLearner.id;
    expect((await t.admin.request(UPDATE, { id, i: { ageGroup: 'ADULT' } })).data.updateLearner.ageGroup).toBe('ADULT');
    expect((await t.admin.request(UPDATE, { id, i: { displayName: 'kept' } })).data.updateLearner.ageGroup).toBe('ADULT');
    expect((await t.admin.request(UPDATE, { id, i: { ageGroup: null } })).data.updateLearner.ageGroup).toBeNull();
    const plain = await t.admin.request(CREATE, { i: { externalId: `age-${randomUUID()}` } });
    expect(plain.data.createLearner.ageGroup).toBeNull();
    expect(errorCode(await t.admin.request(CREATE, { i: { externalId: `age-${randomUUID()}`, ageGroup: 'TEEN' } }))).toBe('BAD_USER_INPUT');
  });
});

describeWithSpeech('a child learner\'s rationale', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    const [reading] = speechOceanUtterances('train', 1);
    beforeAll(async () => {
      t = await startTestApp(kind);
    });
    afterAll(() => t?.dispose());

    const assess = async (ageGroup: string | null) => {
      const learner = await t.admin.request(CREATE, { i: { externalId: `age-${randomUUID()}`, ageGroup } });
      const input = { learnerId: learner.data.createLearner.id, referenceText: reading!.text, audio: null };
      const res = await t.admin.upload(SUBMIT, { input }, 'variables.input.audio', { bytes: reading!.bytes, name: 'r.flac' });
      const job = res.data.submitUtterance.job.id;
      expect((await waitForJob(t.admin, job)).status).toBe('SUCCEEDED');
      return (await t.admin.request(RESULT, { id: job })).data.job.assessment;
    };

    test('same scores and criticised tokens, child wording, no flags', async () => {
      const adult = await assess(null);
      const child = await assess('CHILD');
      expect(child.sentence).toEqual(adult.sentence);
      expect(child.rationale.words.criticised).toEqual(adult.rationale.words.criticised);
      expect(child.rationale.phonemes.criticised).toEqual(adult.rationale.phonemes.criticised);
      const childText: string[] = child.rationale.text.split('\n');
      const adultText: string[] = adult.rationale.text.split('\n');
      expect(childText.slice(0, 4).every((l) => childLines.has(l))).toBe(true);
      expect(adultText.slice(0, 4).every((l) => adultLines.has(l))).toBe(true);
      expect(child.rationale.flags).toEqual([]);
      expect(adult.rationale.flags).toEqual([]);
    });
  });
});
