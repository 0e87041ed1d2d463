/**
 * Prosody break feedback through the API: espeak-ng reads a sentence whose reference text has a
 * comma, three ways (SSML breaks put silence exactly where the test wants it), each recording goes
 * up as a multipart upload and the real scorer aligns it. The comma asks for a pause before
 * TOMORROW: read straight through it is a MISSING_BREAK; with a pause there, none; a long pause
 * between SEE and YOU, where the text has none, is an UNEXPECTED_BREAK that Assessment.pauses
 * reports too. Human labels have no break feedback. The query is the README's.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';

const DATABASES = await testDatabases();

const TEXT = 'We will see you, tomorrow at the stream.';
const WORDS = ['WE', 'WILL', 'SEE', 'YOU', 'TOMORROW', 'AT', 'THE', 'STREAM'];
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;

function readmeQuery(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Breaks'));
  return /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
}

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('break feedback on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind);
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "breaks-1"}) { id } }`)).data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  /** The README's query on the assessment of `said` read for TEXT. */
  async function assess(said: string) {
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: espeakWav(said, { ssml: true }), name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const read = await t.admin.request(readmeQuery().replace('<id>', job.assessment.id));
    expect(read.errors).toBeUndefined();
    const a = read.data.assessment;
    expect(a.flags).toEqual([]);
    expect(a.words.map((w: any) => w.text)).toEqual(WORDS);
    expect(a.words.every((w: any) => w.errorType !== 'OMITTED')).toBe(true);
    return { utteranceId: res.data.submitUtterance.utterance.id as string, id: job.assessment.id as string, ...a };
  }
  const rationaleOf = async (id: string) =>
    (await t.admin.request(`query($id: ID!) { assessment(id: $id) { sentence { fluency prosody } rationale { text flags } } }`, { id })).data.assessment
      .rationale as { text: string; flags: string[] };
  const byText = (a: any) => Object.fromEntries(a.words.map((w: any) => [w.text, w.breakBefore]));

  test('read straight through the comma: a MISSING_BREAK before TOMORROW, nothing else', async () => {
    const a = await assess('<speak>We will see you tomorrow at the stream</speak>');
    const breaks = byText(a);
    expect(breaks.WE).toBeNull(); // the first word has nothing before it
    expect(breaks.TOMORROW).toMatchObject({ expected: true, errorTypes: ['MISSING_BREAK'] });
    expect(breaks.TOMORROW.silenceMs).toBeLessThan(100);
    for (const w of WORDS.slice(1).filter((x) => x !== 'TOMORROW')) {
      expect(breaks[w]).toMatchObject({ expected: false, errorTypes: [] });
      expect(breaks[w].silenceMs).toBeLessThan(200);
    }
    // A word's silence is the time from the previous word's end (no inserted speech here).
    expect(a.insertions).toEqual([]);
    a.words.slice(1).forEach((w: any, i: number) => expect(w.breakBefore.silenceMs).toBe(w.startMs - a.words[i].endMs));
    // The rationale says the reading ran on where the comma asks for a break, and passes its own checks.
    const said = await rationaleOf(a.id);
    expect(said.flags).toEqual([]);
    expect(said.text).toMatch(/runs on where the text asks for a break/);
  });

  test('a pause at the comma is what the text asks for; a long one between SEE and YOU is UNEXPECTED_BREAK, as Assessment.pauses shows', async () => {
    const a = await assess('<speak>We will see <break time="900ms"/> you, <break time="500ms"/> tomorrow at the stream</speak>');
    const breaks = byText(a);
    expect(breaks.TOMORROW).toMatchObject({ expected: true, errorTypes: [] });
    expect(breaks.TOMORROW.silenceMs).toBeGreaterThanOrEqual(300);
    expect(breaks.YOU).toMatchObject({ expected: false, errorTypes: ['UNEXPECTED_BREAK'] });
    expect(breaks.YOU.silenceMs).toBeGreaterThanOrEqual(600);
    // The same silence the pauses list has after SEE (index 2), inserted speech aside.
    const pause = a.pauses.find((p: any) => p.afterWordIndex === 2);
    expect(pause).toBeDefined();
    expect(a.insertions).toEqual([]);
    expect(breaks.YOU.silenceMs).toBe(pause.durationMs);
    for (const w of ['WILL', 'SEE', 'AT', 'THE', 'STREAM']) expect(breaks[w]).toMatchObject({ expected: false, errorTypes: [] });
    // A pause at the comma is phrasing: the rationale says nothing of a missed break.
    const said = await rationaleOf(a.id);
    expect(said.flags).toEqual([]);
    expect(said.text).not.toMatch(/asks for a break/);
  });

  test('human labels have no break feedback', async () => {
    const { utteranceId, id } = await assess('<speak>We will see you, tomorrow at the stream</speak>');
    const model = (await t.admin.request(`query($id: ID!) { assessment(id: $id) { words { text phonemes { symbol } breakBefore { silenceMs } } } }`, { id })).data.assessment;
    expect(model.words[1].breakBefore).not.toBeNull();
    const res = await t.admin.request(`mutation($u: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $labels) { source words { text breakBefore { silenceMs } } } }`, {
      u: utteranceId,
      labels: {
        sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
        words: model.words.map((w: any) => ({ text: w.text, accuracy: 8, stress: 10, total: 8, phonemes: w.phonemes.map(() => 2) })),
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.attachHumanLabels).toEqual({ source: 'HUMAN', words: WORDS.map((text) => ({ text, breakBefore: null })) });
  });
});
