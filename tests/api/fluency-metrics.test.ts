/**
 * Assessment.fluencyMetrics through HTTP: a real upload scored by the real model, its measures checked
 * against a straightforward recomputation from what the same query serves (the words' times, miscues,
 * syllables and breaks, the insertions); an assessment without an alignment has none.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { espeakWav, hasEspeak } from '../support/espeak.js';
import { seedLearner } from '../support/history.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const READ = `query($id: ID!) { assessment(id: $id) {
  fluencyMetrics { wordCount syllableCount speakingMs articulationMs wordsPerMinute speechRate articulationRate
    pauseCount totalPauseMs longestPauseMs meanLengthOfRun phonationTimeRatio }
  words { startMs endMs errorType syllables { index } breakBefore { silenceMs } } pauses { startMs endMs durationMs } insertions { startMs endMs } } }`;

describe.each(DATABASES)('fluency measures on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  // Real speech of the reference text without ../shared: espeak-ng (skipped, with this reason, where it is not installed).
  (hasEspeak ? test : test.skip)('an uploaded reading (espeak-ng): the measures agree with its words, pauses and reference pronunciations', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "fluency-${kind}"}) { id } }`);
    // The sentence read by espeak-ng with a break in the middle: a reading with a pause in it.
    const up = await t.admin.upload(SUBMIT, { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear, the big brown bear', audio: null } },
      'variables.input.audio', { bytes: espeakWav('We call it bear, <break time="900ms"/> the big brown bear.', { ssml: true }), name: 'take.wav' });
    expect(up.errors).toBeUndefined();
    const done = await waitForJob(t.admin, up.data.submitUtterance.job.id);
    expect(done.status).toBe('SUCCEEDED');
    const res = await t.admin.request(READ, { id: done.assessment.id });
    expect(res.errors).toBeUndefined();
    const a = res.data.assessment;
    const m = a.fluencyMetrics;
    expect(m).not.toBeNull();

    // The same measures, recomputed here from what the API serves: between each two spoken words,
    // all the time from the one's end to the other's start (a skipped word's place included), less
    // inserted speech, counted when 200 ms or more; it is what breakBefore gives as silenceMs.
    const spoken = a.words.filter((w: any) => w.errorType !== 'OMITTED');
    const insertedAt = (ms: number) => a.insertions.some((x: any) => x.startMs <= ms && ms < x.endMs);
    const silences: number[] = [];
    for (let k = 1; k < spoken.length; k++) {
      let ms = 0;
      for (let at = spoken[k - 1].endMs; at < spoken[k].startMs; at++) if (!insertedAt(at)) ms++;
      expect(spoken[k].breakBefore.silenceMs).toBe(ms);
      if (ms >= 200) silences.push(ms);
    }
    const start = spoken[0].startMs;
    const end = Math.max(...spoken.map((w: any) => w.endMs));
    const pauseMs = silences.reduce((n, ms) => n + ms, 0);
    // Syllables as each word's `syllables` splits it (syllabic consonants included).
    const syllables = spoken.reduce((n: number, w: any) => n + w.syllables.length, 0);
    const rounded = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;
    expect(m).toEqual({
      wordCount: spoken.length, syllableCount: syllables, speakingMs: end - start, articulationMs: end - start - pauseMs,
      pauseCount: silences.length, totalPauseMs: pauseMs, longestPauseMs: Math.max(0, ...silences),
      wordsPerMinute: rounded((spoken.length * 60_000) / (end - start), 1),
      speechRate: rounded((syllables * 1000) / (end - start), 2),
      articulationRate: rounded((syllables * 1000) / (end - start - pauseMs), 2),
      meanLengthOfRun: rounded(syllables / (silences.length + 1), 2),
      phonationTimeRatio: rounded((end - start - pauseMs) / (end - start), 3),
    });
    // The second of silence is a pause between two spoken words.
    expect(m.pauseCount).toBeGreaterThanOrEqual(1);
    expect(m.longestPauseMs).toBeGreaterThanOrEqual(500);
    expect(syllables).toBeGreaterThanOrEqual(spoken.length); // every word of this text has a vowel

    // The README's query, as written, on this assessment.
    const readme = readFileSync('README.md', 'utf8');
    const query = /```graphql\n(query Fluency[\s\S]*?)```/.exec(readme)![1]!;
    const fromReadme = await t.admin.request(query, { id: done.assessment.id });
    expect(fromReadme.errors).toBeUndefined();
    expect(fromReadme.data.assessment.fluencyMetrics).toEqual({
      wordsPerMinute: m.wordsPerMinute, speechRate: m.speechRate, articulationRate: m.articulationRate, meanLengthOfRun: m.meanLengthOfRun,
      phonationTimeRatio: m.phonationTimeRatio, pauseCount: m.pauseCount, totalPauseMs: m.totalPauseMs, longestPauseMs: m.longestPauseMs,
    });
  });

  test('a reading of another sentence (READ_WRONG_TEXT) has no measures', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "fluency-wrong-${kind}"}) { id } }`);
    const up = await t.admin.upload(SUBMIT, { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear, the big brown bear', audio: null } },
      'variables.input.audio', { bytes: speechLikeWav(3), name: 'take.wav' });
    const done = await waitForJob(t.admin, up.data.submitUtterance.job.id);
    const res = await t.admin.request(`query($id: ID!) { assessment(id: $id) { flags pauses { startMs } fluencyMetrics { wordCount } } }`, { id: done.assessment.id });
    expect(res.data.assessment.flags).toContain('READ_WRONG_TEXT');
    expect(res.data.assessment.pauses).not.toBeNull(); // aligned all the same
    expect(res.data.assessment.fluencyMetrics).toBeNull();
  });

  test('an assessment without an alignment (stored before it, or labels) has no measures', async () => {
    const prisma = t.app.services.prisma;
    const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    await seedLearner(prisma, org.id, [{ at: '2026-11-01T10:00:00Z', total: 6, th: 1, r: 1, think: 6, bear: 6 }]);
    const row = await prisma.assessment.findFirstOrThrow({ where: { modelName: 'seed-model' }, orderBy: { createdAt: 'desc' } });
    const res = await t.admin.request(READ, { id: toGlobalId('Assessment', row.id) });
    expect(res.errors).toBeUndefined();
    expect(res.data.assessment).toMatchObject({ fluencyMetrics: null, pauses: null });
  });
});
