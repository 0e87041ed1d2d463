/**
 * Reference texts as users write them, through a real multipart upload: the scored words, their
 * IPA beside ARPAbet and the normalised text come back on the utterance, and read back the same.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { arpabetToIpa } from '../../src/text/phones.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization } from '../support/seed.js';

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

  const PREVIEW = `query($text: String!) { previewReferenceText(text: $text) { normalizedText words { text phonemes ipa source } approximateWords } }`;

  test('previewReferenceText: what a submission of the text would be scored on, before anything is recorded, for any key', async () => {
    const text = 'In 1999 Dr. Jones lived on Elm Dr. Zorblax and zorblax & Qwvrt!';
    const u = await submit(text);
    const res = await t.admin.request(PREVIEW, { text });
    expect(res.errors).toBeUndefined();
    const preview = res.data.previewReferenceText;
    // The same words, phones, IPA and sources as the stored utterance, and the same normalised text.
    expect(preview.normalizedText).toBe(u.normalizedText);
    expect(preview.words).toEqual(u.referenceWords);
    // The words only letter-to-sound rules could pronounce, in order, each once.
    const guessed = u.referenceWords.filter((w: any) => w.source === 'G2P').map((w: any) => w.text);
    expect(guessed).toEqual(expect.arrayContaining(['ZORBLAX', 'QWVRT']));
    expect(preview.approximateWords).toEqual([...new Set(guessed)]);
    expect(preview.approximateWords.filter((w: string) => w === 'ZORBLAX')).toHaveLength(1);
    // Nothing stored: any key may ask, another organisation's included, and no utterance appears.
    const before = await t.app.services.prisma.utterance.count();
    for (const client of [await keyWithScopes(t, ['ASSESS_WRITE']), (await otherOrganization(t, ['SCORES_READ'])).client]) {
      expect((await client.request(PREVIEW, { text })).data.previewReferenceText).toEqual(preview);
    }
    expect(await t.app.services.prisma.utterance.count()).toBe(before);
  });

  test("previewReferenceText refuses what submitUtterance refuses, naming `text`", async () => {
    const refused = async (text: string) => {
      const res = await t.admin.request(PREVIEW, { text });
      return [errorCode(res), res.errors?.[0]?.extensions?.argument];
    };
    expect(await refused('   ?! ')).toEqual(['EMPTY_REFERENCE_TEXT', 'text']);
    expect(await refused('word '.repeat(101))).toEqual(['BAD_USER_INPUT', 'text']);
    expect(await refused('x'.repeat(1001))).toEqual(['BAD_USER_INPUT', 'text']);
  });
});
