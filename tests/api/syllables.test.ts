/**
 * Syllable-level scores through the API: a real recording of a sentence with long words goes up as a
 * multipart upload, the real scorer assesses it, and each word's syllables must be its own phones
 * regrouped (in order, each once, one vowel each), scored as their mean, timed by their first and
 * last phones; human labels get the same syllables without times. The query is the README's.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { isVowel } from '../../src/text/phones.js';
import { syllableNuclei } from '../../src/text/syllables.js';

const TEXT = 'Tomorrow people read another table';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const PHONES = `phonemes { index symbol ipa accuracy startMs endMs }`;
const WORDS = `words { text ${PHONES} syllables { index symbols ipa grapheme stress accuracy label startMs endMs phonemes { index symbol accuracy } } }`;
const ATTACH = `mutation($u: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $labels) { ${WORDS} } }`;
const PHONE_BANDS: [string, number][] = [['EXCELLENT', 1.9], ['GOOD', 1.5], ['AVERAGE', 1.0], ['BAD', 0.5], ['WORST', 0]];
const phoneLabel = (v: number) => PHONE_BANDS.find(([, lo]) => Math.round(v * 10) / 10 >= lo)![0];

function readmeQuery(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Syllables'));
  return /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
}

/** What must hold of any word's syllables against its phones. */
function expectSyllablesOf(word: any, timed: boolean): void {
  const { syllables, phonemes } = word;
  expect(syllables.map((s: any) => s.index)).toEqual(syllables.map((_: any, i: number) => i));
  // the phones regrouped: each once, in order, the same objects
  expect(syllables.flatMap((s: any) => s.phonemes)).toEqual(phonemes.map((p: any) => ({ index: p.index, symbol: p.symbol, accuracy: p.accuracy })));
  // the letters spell the word, a piece per syllable
  expect(syllables.map((s: any) => s.grapheme).join('')).toBe(word.text);
  for (const s of syllables) {
    expect(s.grapheme).toMatch(/[A-Z]/);
    expect(s.symbols).toEqual(s.phonemes.map((p: any) => p.symbol));
    // one nucleus: a vowel, or a syllabic consonant of the word's (PEOPLE's final L)
    const nuclei = syllableNuclei(word.phonemes.map((p: any) => p.symbol));
    expect(s.phonemes.filter((p: any) => nuclei.includes(p.index))).toHaveLength(1);
    const own = s.phonemes.map((q: any) => phonemes.find((p: any) => p.index === q.index));
    expect(s.ipa).toBe(own.map((p: any) => p.ipa).join(''));
    const mean = own.reduce((sum: number, p: any) => sum + p.accuracy, 0) / own.length;
    expect(s.accuracy).toBeCloseTo(mean, 2);
    expect(s.label).toBe(phoneLabel(s.accuracy));
    const vowel = s.symbols.find(isVowel);
    expect(s.stress).toBe(vowel ? ({ 1: 'PRIMARY', 2: 'SECONDARY', 0: 'UNSTRESSED' } as Record<string, string>)[vowel.slice(-1)] : 'UNSTRESSED');
    if (timed) expect([s.startMs, s.endMs]).toEqual([own[0].startMs, own.at(-1).endMs]);
    else expect([s.startMs, s.endMs]).toEqual([null, null]);
  }
}

describe('syllables through the API', () => {
  let t: TestApp;
  let utteranceId: string;
  let words: any[];

  beforeAll(async () => {
    t = await startTestApp('pglite');
    const learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "syllables-1"}) { id } }`)).data.createLearner.id;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: speechLikeWav(3), name: 'recording.wav',
    });
    expect(res.errors).toBeUndefined();
    utteranceId = res.data.submitUtterance.utterance.id;
    expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
    const latest = await t.admin.request(`query($id: ID!) { utterance(id: $id) { latestAssessment { ${WORDS} } } }`, { id: utteranceId });
    expect(latest.errors).toBeUndefined();
    words = latest.data.utterance.latestAssessment.words;
  }, 120_000);
  afterAll(() => t?.dispose());

  test('each word of a model assessment: its phones in syllables, scored and timed by them', () => {
    expect(words.map((w) => w.text)).toEqual(['TOMORROW', 'PEOPLE', 'READ', 'ANOTHER', 'TABLE']);
    for (const w of words) expectSyllablesOf(w, true);
    const tomorrow = words[0];
    expect(tomorrow.syllables.map((s: any) => s.symbols.join(' '))).toEqual(['T AH0', 'M AH1', 'R OW0']);
    expect(tomorrow.syllables.map((s: any) => s.stress)).toEqual(['UNSTRESSED', 'PRIMARY', 'UNSTRESSED']);
    expect(tomorrow.syllables.map((s: any) => s.ipa)).toEqual(['tə', 'mʌ', 'ɹoʊ']);
    expect(words.map((w) => w.syllables.map((s: any) => s.grapheme).join('|'))).toEqual(['TO|MOR|ROW', 'PEO|PLE', 'READ', 'A|NO|THER', 'TA|BLE']);
    expect(words[1].syllables.map((s: any) => [s.symbols.join(' '), s.stress])).toEqual([['P IY1', 'PRIMARY'], ['P L', 'UNSTRESSED']]);
    expect(words[2].syllables).toHaveLength(1);
  });

  test('human labels: the same syllables, scored from the raters\' phones, without times', async () => {
    const labels = {
      sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
      // TOMORROW's stressed syllable wrong (M AA1: 0 and 1), the rest right
      words: words.map((w) => ({ text: w.text, accuracy: 8, stress: 10, total: 8, phonemes: w.phonemes.map((_: any, i: number) => (w.text === 'TOMORROW' && (i === 2 || i === 3) ? i - 2 : 2)) })),
    };
    const res = await t.admin.request(ATTACH, { u: utteranceId, labels });
    expect(res.errors).toBeUndefined();
    const human = res.data.attachHumanLabels.words;
    for (const w of human) expectSyllablesOf(w, false);
    expect(human[0].syllables.map((s: any) => [s.grapheme, s.accuracy, s.label])).toEqual([['TO', 2, 'EXCELLENT'], ['MOR', 0.5, 'BAD'], ['ROW', 2, 'EXCELLENT']]);
  });

  test("the README's query answers the same syllables", async () => {
    const res = await t.admin.request(readmeQuery(), { id: utteranceId });
    expect(res.errors).toBeUndefined();
    const readme = res.data.utterance.latestAssessment.words;
    expect(readme.map((w: any) => w.syllables.map((s: any) => s.symbols))).toEqual(words.map((w) => w.syllables.map((s: any) => s.symbols)));
    expect(readme[0].syllables[1]).toMatchObject({ index: 1, grapheme: 'MOR', stress: 'PRIMARY', phonemes: [{ index: 2 }, { index: 3 }] });
  });
});
