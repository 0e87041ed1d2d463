/**
 * Wrong sentence / off-task speech (issue 11) end to end: a recording submitted with its own text is
 * scored as usual; the same recording submitted with another sentence comes back READ_WRONG_TEXT,
 * with completeness 0, a capped total and a rationale that asks for the right sentence. Real HTTP
 * (multipart), real database, real ONNX sessions, real audio.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { describeWithSpeech, speechOceanUtterances } from '../support/speech.js';

const DATABASES = await testDatabases();
const THRESHOLD = (JSON.parse(readFileSync(path.resolve('models/default/manifest.json'), 'utf8')) as { contentMatch: { threshold: number } }).contentMatch.threshold;

/** The query the README's "Wrong sentence" section shows, as written there. */
function readmeQuery(): string {
  const section = readFileSync('README.md', 'utf8').split('### Wrong sentence')[1]!;
  const block = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).join('\n');
}

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const ASSESSMENT = `query($id: ID!) { job(id: $id) { status assessment {
  contentMatch flags sentence { accuracy completeness total completenessScore totalScore }
  rationale { text flags trusted }
} } }`;

interface Recording {
  text: string;
  bytes: Uint8Array;
}

/** Submit `audio` read against `referenceText` and return its finished assessment. */
async function assess(t: TestApp, learnerId: string, audio: Recording, referenceText: string) {
  const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText, audio: null } }, 'variables.input.audio', { bytes: audio.bytes, name: 'take.bin' });
  expect(res.errors).toBeUndefined();
  const jobId = res.data.submitUtterance.job.id;
  expect((await waitForJob(t.admin, jobId)).status).toBe('SUCCEEDED');
  const detailed = (await t.admin.request(ASSESSMENT, { id: jobId })).data.job.assessment;
  // the README's query answers with the same values
  const shown = (await t.admin.request(readmeQuery(), { id: jobId })).data.job.assessment;
  expect(shown).toEqual({
    contentMatch: detailed.contentMatch, flags: detailed.flags, sentence: { completeness: detailed.sentence.completeness, total: detailed.sentence.total },
    rationale: { text: detailed.rationale.text },
  });
  return detailed;
}

function expectOrdinary(a: any): void {
  expect(a.flags).toEqual([]);
  expect(a.contentMatch).toBeGreaterThanOrEqual(THRESHOLD);
  expect(a.contentMatch).toBeLessThanOrEqual(1);
  expect(a.sentence.completeness).toBeGreaterThan(0);
  expect(a.rationale.text).not.toMatch(/does not match the sentence/);
}

function expectWrongText(a: any): void {
  expect(a.flags).toEqual(['READ_WRONG_TEXT']);
  expect(a.contentMatch).toBeGreaterThanOrEqual(0);
  expect(a.contentMatch).toBeLessThan(THRESHOLD);
  expect(a.sentence.completeness).toBe(0);
  expect(a.sentence.completenessScore).toBe(0);
  expect(a.sentence.total).toBeLessThanOrEqual(2);
  expect(a.sentence.totalScore).toBeLessThanOrEqual(2);
  expect(a.rationale.text).toMatch(/does not match the sentence you were asked to read/);
  // the wrong-text rationale is grounded like the ordinary one: its checks raise nothing
  expect(a.rationale.flags).toEqual([]);
  expect(a.rationale.trusted).toBe(true);
}

/** Two recordings of different sentences of similar length, each with its own text. */
function runPairs(name: string, recordings: () => [Recording, Recording]) {
  describe.each(DATABASES)(`${name} on %s`, (kind) => {
    let t: TestApp;
    let learnerId: string;
    let a: Recording;
    let b: Recording;
    beforeAll(async () => {
      [a, b] = recordings();
      t = await startTestApp(kind);
      learnerId = (await t.admin.request(`mutation { createLearner(input: { externalId: "wrong-text" }) { id } }`)).data.createLearner.id;
    });
    afterAll(() => t?.dispose());

    test('a recording with its own text is an ordinary assessment with a high content match', async () => {
      expectOrdinary(await assess(t, learnerId, a, a.text));
    });

    test('the same recording with another sentence is READ_WRONG_TEXT, not a confident score', async () => {
      expectWrongText(await assess(t, learnerId, a, b.text));
    });

    test('and the other way round', async () => {
      expectWrongText(await assess(t, learnerId, b, a.text));
    });
  });
}

describeWithSpeech('wrong sentence: learner recordings from dev/', () => {
  runPairs('dev recordings', () => {
    const utts = speechOceanUtterances('dev', 40);
    const first = utts[0]!;
    const words = first.text.split(' ').length;
    const other = utts.find((u) => u.text !== first.text && Math.abs(u.text.split(' ').length - words) <= 1)!;
    return [first, other];
  });
});

// Dataset-free (CI's rerun without ../shared): speech synthesised by espeak-ng.
(hasEspeak ? describe : describe.skip)('wrong sentence: synthesised speech (espeak-ng)', () => {
  runPairs('espeak-ng speech', () => {
    const said = ['We will see you tomorrow at the stream', 'The quick brown fox jumps over the lazy dog'];
    return said.map((text) => ({ text, bytes: espeakWav(text) })) as [Recording, Recording];
  });
});
