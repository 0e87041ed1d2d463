/**
 * Intonation feedback through the API: espeak-ng reads one sentence twice, once on a narrow pitch
 * range (SSML `range="x-low"`: nearly one note) and once on a wide one (`x-high`); each reading goes up
 * as a multipart upload and the real scorer's pitch tracker measures it. The narrow reading is
 * MONOTONE, the wide one is not. The contour, each word's pitch and the summary are checked against
 * each other (a word's pitch recomputed from the contour points inside its time). Human labels and a
 * row stored before pitch was kept have no intonation. The query is the README's.
 */
import { readFileSync } from 'node:fs';
import { fromGlobalId } from '../../src/graphql/ids.js';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';

const DATABASES = await testDatabases();

const TEXT = 'We will see you tomorrow at the stream, and then we will go to the park.';
const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`;

function readmeQuery(): string {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Intonation'));
  return /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

(hasEspeak ? describe.each(DATABASES) : describe.skip.each(DATABASES))('intonation feedback on %s', (kind) => {
  let t: TestApp;
  let learnerId: string;

  beforeAll(async () => {
    t = await startTestApp(kind);
    learnerId = (await t.admin.request(`mutation { createLearner(input: {externalId: "intonation-1"}) { id } }`)).data.createLearner.id;
  });
  afterAll(() => t?.dispose());

  /** The README's query on the assessment of TEXT read by espeak-ng on pitch range `range`. */
  async function assess(range: string) {
    const ssml = `<speak><prosody range="${range}">${TEXT}</prosody></speak>`;
    const res = await t.admin.upload(SUBMIT, { input: { learnerId, referenceText: TEXT, audio: null } }, 'variables.input.audio', {
      bytes: espeakWav(ssml, { ssml: true }), name: 'take.wav',
    });
    expect(res.errors).toBeUndefined();
    const job = await waitForJob(t.admin, res.data.submitUtterance.job.id);
    expect(job.status).toBe('SUCCEEDED');
    const read = await t.admin.request(readmeQuery().replace('<id>', job.assessment.id));
    expect(read.errors).toBeUndefined();
    return { utteranceId: res.data.submitUtterance.utterance.id as string, id: job.assessment.id as string, ...read.data.assessment };
  }

  /** What every intonation must satisfy, whatever the reading. */
  function expectConsistent(a: any) {
    const { intonation, words } = a;
    expect(intonation.contour.length).toBeGreaterThan(20);
    expect(intonation.voicedMs).toBe(intonation.contour.length * 20);
    const times = intonation.contour.map((p: any) => p.timeMs);
    expect(times).toEqual([...times].sort((x: number, y: number) => x - y));
    for (const p of intonation.contour) {
      // hz and semitones name one pitch: semitones from the median pitch
      expect(12 * Math.log2(p.hz / intonation.medianPitchHz)).toBeCloseTo(p.semitones, 0);
    }
    const semis = intonation.contour.map((p: any) => p.semitones).sort((x: number, y: number) => x - y);
    expect(semis[Math.floor(semis.length / 2)]).toBeCloseTo(0, 0);
    const withPitch = words.filter((w: any) => w.pitch);
    expect(withPitch.length).toBeGreaterThan(words.length / 2);
    for (const w of words) {
      const inside = intonation.contour.filter((p: any) => p.timeMs >= w.startMs && p.timeMs < w.endMs).map((p: any) => p.semitones);
      if (w.errorType === 'OMITTED' || !inside.length) {
        expect(w.pitch).toBeNull();
        continue;
      }
      expect(w.pitch.voicedMs).toBe(inside.length * 20);
      expect(w.pitch.meanSemitones).toBeCloseTo(mean(inside), 1);
      expect(w.pitch.spanSemitones).toBeCloseTo(Math.max(...inside) - Math.min(...inside), 1);
    }
  }

  test('a reading on one note is MONOTONE; the same sentence read with a wide range is not', async () => {
    const flat = await assess('x-low');
    const lively = await assess('x-high');
    expectConsistent(flat);
    expectConsistent(lively);
    expect(flat.intonation.pitchSpanSemitones).toBeLessThan(2);
    expect(flat.intonation.errorTypes).toEqual(['MONOTONE']);
    expect(lively.intonation.pitchSpanSemitones).toBeGreaterThan(2);
    expect(lively.intonation.pitchSpanSemitones).toBeGreaterThan(flat.intonation.pitchSpanSemitones * 2);
    expect(lively.intonation.errorTypes).toEqual([]);
    // the rationale does not praise a one-note reading's tune, and still passes its own checks
    const rationale = async (id: string) => (await t.admin.request(`query($id: ID!) { assessment(id: $id) { sentence { prosody } rationale { text plausibility { prosody } } } }`, { id })).data.assessment;
    const told = await rationale(flat.id);
    expect(told.rationale.plausibility.prosody).toBe('CONSISTENT');
    expect(told.rationale.text).not.toMatch(/lively|intonation and rhythm/);
    expect(told.rationale.text).toMatch(/one note|very flat/);
    // espeak-ng's voice sits around 100-200 Hz
    expect(flat.intonation.medianPitchHz).toBeGreaterThan(70);
    expect(flat.intonation.medianPitchHz).toBeLessThan(250);
  });

  test('human labels and a row stored before pitch was kept have no intonation', async () => {
    const { utteranceId, id } = await assess('medium');
    const model = (await t.admin.request(`query($id: ID!) { assessment(id: $id) { words { text phonemes { symbol } } } }`, { id })).data.assessment;
    const res = await t.admin.request(`mutation($u: ID!, $labels: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $labels) { source intonation { voicedMs } words { pitch { meanSemitones } } } }`, {
      u: utteranceId,
      labels: {
        sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
        words: model.words.map((w: any) => ({ text: w.text, accuracy: 8, stress: 10, total: 8, phonemes: w.phonemes.map(() => 2) })),
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.attachHumanLabels.intonation).toBeNull();
    expect(res.data.attachHumanLabels.words.every((w: any) => w.pitch === null)).toBe(true);

    // A timeline of the first version (pauses and insertions only), as rows written before pitch was kept.
    const prisma = t.app.services.prisma;
    const where = { id: fromGlobalId(id)!.id };
    const row = await prisma.assessment.findUniqueOrThrow({ where, select: { timeline: true } });
    const stored = row.timeline as { v: number; pauses: unknown; insertions: unknown; pitch: unknown };
    expect(stored.v).toBe(2);
    expect(Array.isArray(stored.pitch)).toBe(true);
    await prisma.assessment.update({ where, data: { timeline: { v: 1, pauses: stored.pauses, insertions: stored.insertions } as object } });
    const old = (await t.admin.request(readmeQuery().replace('<id>', id))).data.assessment;
    expect(old.intonation).toBeNull();
    expect(old.words.every((w: any) => w.pitch === null)).toBe(true);
    expect(old.words.some((w: any) => w.startMs !== null)).toBe(true); // the rest of the timing still reads
  });
});
