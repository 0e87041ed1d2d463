/**
 * Timing and miscues through the API (issue 11): a real learner recording goes up as a multipart
 * upload, the real model scores it, and the word and phoneme times, error types, produced sounds,
 * pauses and insertions come back over GraphQL, on PGlite and PostgreSQL. The same recording is then
 * changed where the first assessment says its words are — 1.5 s of silence put in front, 0.8 s of
 * silence put in the widest gap between two words, one word's audio silenced — and each change must show where the
 * API said it would: times shifted by the padding, a pause at the splice, the silenced word OMITTED.
 */
import { readFileSync } from 'node:fs';
import { decodeAudio } from '../../src/audio/decode.js';
import { arpabetToIpa, stripStress } from '../../src/text/phones.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { encodeWav, readSpeechOceanFlac, SAMPLE_UTTERANCE_ID } from '../support/audio-fixtures.js';
import { describeWithSpeech } from '../support/speech.js';

const DATABASES = await testDatabases();
const TEXT = 'WE CALL IT BEAR'; // SpeechOcean762 train/ 000010011
const RATE = 16000;
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;
const PHONEMES = `phonemes { symbol accuracy startMs endMs produced producedIpa producedConfidence deleted substituted }`;
const ASSESSMENT = `source words { text accuracy startMs endMs errorType ${PHONEMES} }
  pauses { afterWordIndex startMs endMs durationMs }
  insertions { errorType afterWordIndex startMs endMs durationMs phones ipa }`;
const LATEST = `query($id: ID!) { utterance(id: $id) { audio { durationMs } latestAssessment { ${ASSESSMENT} } } }`;
const ATTACH = `mutation($u: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $labels) { ${ASSESSMENT} } }`;

const silence = (ms: number) => new Float32Array(Math.round((ms * RATE) / 1000));
const at = (ms: number) => Math.round((ms * RATE) / 1000);
function join(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
/** The query the README's "Timing and miscues" section shows, as written there. */
function readmeQuery(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Timing and miscues'));
  return /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** What must hold of any model assessment's timing and miscues, whatever the recording. */
function expectCoherent(a: any, durationMs: number): void {
  let previousEnd = 0;
  for (const w of a.words) {
    expect(w.startMs).toBeGreaterThanOrEqual(previousEnd);
    expect(w.endMs).toBeGreaterThan(w.startMs);
    expect(w.endMs).toBeLessThanOrEqual(durationMs);
    previousEnd = w.endMs;
    // the phonemes tile the word, in order
    expect(w.phonemes[0].startMs).toBe(w.startMs);
    expect(w.phonemes.at(-1).endMs).toBe(w.endMs);
    w.phonemes.slice(1).forEach((p: any, j: number) => expect(p.startMs).toBe(w.phonemes[j].endMs));
    for (const p of w.phonemes) {
      if (p.deleted) expect([p.produced, p.producedIpa, p.producedConfidence, p.substituted]).toEqual([null, null, null, false]);
      else {
        expect(p.producedIpa).toBe(arpabetToIpa(p.produced));
        expect(p.producedConfidence).toBeGreaterThanOrEqual(0);
        expect(p.producedConfidence).toBeLessThanOrEqual(1);
        expect(p.produced === stripStress(p.symbol)).toBe(!p.substituted);
      }
    }
    const marked = w.phonemes.some((p: any) => p.deleted || p.substituted);
    if (w.errorType === 'OMITTED') expect(w.phonemes.every((p: any) => p.deleted)).toBe(true);
    else expect(w.errorType).toBe(marked ? 'MISPRONOUNCED' : 'NONE');
  }
  for (const p of a.pauses) {
    expect(p.durationMs).toBe(p.endMs - p.startMs);
    expect(p.durationMs).toBeGreaterThanOrEqual(200);
    expect(p.startMs).toBeGreaterThanOrEqual(a.words[p.afterWordIndex].endMs);
    expect(p.endMs).toBeLessThanOrEqual(a.words[p.afterWordIndex + 1].startMs);
  }
  for (const i of a.insertions) {
    expect(i.errorType).toBe('INSERTED');
    expect(i.ipa).toBe(i.phones.map((p: string) => arpabetToIpa(p)).join(''));
    expect(i.durationMs).toBe(i.endMs - i.startMs);
  }
}

describeWithSpeech('timing and miscues through the API', () => {
  describe.each(DATABASES)('on %s', (kind) => {
    let t: TestApp;
    let learnerId: string;
    let samples: Float32Array;

    async function assess(bytes: Uint8Array, name: string): Promise<{ id: string; durationMs: number; a: any }> {
      const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', { bytes, name });
      expect(res.errors).toBeUndefined();
      expect((await waitForJob(t.admin, res.data.submitUtterance.job.id)).status).toBe('SUCCEEDED');
      const id = res.data.submitUtterance.utterance.id;
      const u = (await t.admin.request(LATEST, { id })).data.utterance;
      return { id, durationMs: u.audio.durationMs, a: u.latestAssessment };
    }

    let original: Awaited<ReturnType<typeof assess>>;
    beforeAll(async () => {
      t = await startTestApp(kind);
      learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "timing-1"}) { id } }`)).data.createLearner.id;
      samples = (await decodeAudio(readSpeechOceanFlac(SAMPLE_UTTERANCE_ID), { minSeconds: 0, maxSeconds: 60 })).samples;
      original = await assess(readSpeechOceanFlac(SAMPLE_UTTERANCE_ID), 'recording.flac');
    }, 180_000);
    afterAll(() => t?.dispose());

    test('every word and phoneme has times inside the recording, in order; miscue marks agree with each other', () => {
      const { a, durationMs } = original;
      expect(a.source).toBe('MODEL');
      expect(a.words.map((w: any) => w.text)).toEqual(['WE', 'CALL', 'IT', 'BEAR']);
      expectCoherent(a, durationMs);
      // the speech of this recording starts about 0.6 s in (the words are not stretched over the silence)
      expect(a.words[0].startMs).toBeGreaterThan(300);
    });

    test('times are relative to the uploaded recording: 1.5 s of silence in front shifts every word by 1.5 s', async () => {
      const padded = await assess(encodeWav(join(silence(1500), samples), RATE), 'padded.wav');
      expectCoherent(padded.a, padded.durationMs);
      const shifts = original.a.words.flatMap((w: any, i: number) => [padded.a.words[i].startMs - w.startMs, padded.a.words[i].endMs - w.endMs]);
      expect(Math.abs(median(shifts) - 1500)).toBeLessThanOrEqual(40);
    }, 120_000);

    // Spliced into the widest gap the first assessment found between two words: the place a learner
    // would pause. (Where two words touch, the recogniser's weak spike of a word-final sound can land
    // on either side of a silence put there; then the silence is inside that word's span.)
    test('0.8 s of silence spliced between two words is reported as a pause after the first of them, where it was put', async () => {
      const w = original.a.words;
      const gaps = w.slice(1).map((next: any, i: number) => next.startMs - w[i].endMs);
      const after = gaps.indexOf(Math.max(...gaps));
      const splice = Math.round((w[after].endMs + w[after + 1].startMs) / 2);
      const spliced = await assess(encodeWav(join(samples.subarray(0, at(splice)), silence(800), samples.subarray(at(splice))), RATE), 'pause.wav');
      expectCoherent(spliced.a, spliced.durationMs);
      const pause = spliced.a.pauses.find((p: any) => p.afterWordIndex === after);
      expect(pause).toBeDefined();
      expect(pause.durationMs).toBeGreaterThanOrEqual(600);
      expect(pause.startMs).toBeLessThanOrEqual(splice + 100);
      expect(pause.endMs).toBeGreaterThanOrEqual(splice + 700);
      // the words after the splice moved by the 0.8 s put in, the ones before did not
      expect(Math.abs(spliced.a.words[after + 1].endMs - w[after + 1].endMs - 800)).toBeLessThanOrEqual(60);
      expect(Math.abs(spliced.a.words[0].endMs - w[0].endMs)).toBeLessThanOrEqual(60);
    }, 120_000);

    test('a word whose audio is silenced is OMITTED, the others are not', async () => {
      const w = original.a.words[1];
      const muted = Float32Array.from(samples);
      muted.fill(0, at(w.startMs), at(w.endMs));
      const m = await assess(encodeWav(muted, RATE), 'muted.wav');
      expectCoherent(m.a, m.durationMs);
      expect(m.a.words.map((x: any) => x.errorType === 'OMITTED')).toEqual([false, true, false, false]);
    }, 120_000);

    test("the README's query reads the same timing and miscues", async () => {
      const res = await t.admin.request(readmeQuery(), { id: original.id });
      expect(res.errors).toBeUndefined();
      const a = res.data.utterance.latestAssessment;
      expect(a.words.map((w: any) => [w.startMs, w.endMs, w.errorType])).toEqual(original.a.words.map((w: any) => [w.startMs, w.endMs, w.errorType]));
      expect(a.words[0].phonemes[0].ipa).toBe('w');
      expect(a.pauses).toEqual(original.a.pauses);
    });

    test('human labels have no timing or miscues', async () => {
      const labels = {
        sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
        words: original.a.words.map((w: any) => ({ text: w.text, accuracy: 8, stress: 10, total: 8, phonemes: w.phonemes.map(() => 2) })),
      };
      const res = await t.admin.request(ATTACH, { u: original.id, labels });
      expect(res.errors).toBeUndefined();
      const h = res.data.attachHumanLabels;
      expect([h.source, h.pauses, h.insertions]).toEqual(['HUMAN', null, null]);
      expect(h.words[0]).toMatchObject({ startMs: null, endMs: null, errorType: null });
      expect(h.words[0].phonemes[0]).toMatchObject({ startMs: null, produced: null, producedIpa: null, producedConfidence: null, deleted: null, substituted: null });
    });
  });
});
