/**
 * Reference texts as users write them, through a real multipart upload: the scored words, their
 * IPA beside ARPAbet and the normalised text come back on the utterance, and read back the same.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { arpabetToIpa } from '../../src/text/phones.js';

const DATABASES = await testDatabases();

const UTTERANCE_FIELDS = 'id referenceText normalizedText referenceWords { text phonemes ipa source }';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { ${UTTERANCE_FIELDS} } } }`;
const READ = `query($id: ID!) { node(id: $id) { ... on Utterance { ${UTTERANCE_FIELDS} } } }`;

describe.each(DATABASES)('reference text normalisation on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "norm-1"}) { id } }`)).data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  const submit = async (referenceText: string) => {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText, audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(1.2, 7), name: 'recording.wav',
    });
    expect(res.errors).toBeUndefined();
    return res.data.submitUtterance.utterance;
  };

  test.each([
    ['DR. SMITH paid $0.50 at 10:30.', 'DOCTOR SMITH PAID FIFTY CENTS AT TEN THIRTY'],
    ['In 1999 Dr. Jones lived on Elm Dr. It was ½ a mile & more.', 'IN NINETEEN NINETY NINE DOCTOR JONES LIVED ON ELM DRIVE IT WAS HALF A MILE AND MORE'],
  ])('%j is scored as %s', async (text, expected) => {
    const u = await submit(text);
    expect(u.referenceText).toBe(text);
    expect(u.normalizedText).toBe(expected);
    expect(u.referenceWords.map((w: any) => w.text).join(' ')).toBe(expected);
    for (const w of u.referenceWords) {
      expect(w.phonemes.length).toBeGreaterThan(0);
      expect(w.ipa).toEqual(w.phonemes.map(arpabetToIpa));
    }
    const doctor = u.referenceWords.find((w: any) => w.text === 'DOCTOR');
    expect(doctor.source).not.toBe('G2P');
    expect(doctor.ipa.slice(0, 3)).toEqual(['d', expect.stringMatching(/^[ɑʌ]$/), 'k']);
    expect((await t.admin.request(READ, { id: u.id })).data.node).toEqual(u);
  });
});
