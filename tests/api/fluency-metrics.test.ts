/**
 * Assessment.fluencyMetrics through HTTP: a real upload scored by the real model, its measures checked
 * against a straightforward recomputation from what the same query serves (the words' times and
 * miscues, the pauses, the reference pronunciations); an assessment without an alignment has none.
 */
import { readFileSync } from 'node:fs';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { seedLearner } from '../support/history.js';
import { toGlobalId } from '../../src/graphql/ids.js';

const DATABASES = await testDatabases();

const SUBMIT = `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { job { id } } }`;
const READ = `query($id: ID!) { assessment(id: $id) {
  fluencyMetrics { wordCount syllableCount speakingMs articulationMs wordsPerMinute speechRate articulationRate
    pauseCount totalPauseMs longestPauseMs meanLengthOfRun phonationTimeRatio }
  words { startMs endMs errorType } pauses { startMs endMs durationMs }
  utterance { referenceWords { phonemes } } } }`;

describe.each(DATABASES)('fluency measures on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(kind);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  test('an uploaded reading: the measures agree with its words, pauses and reference pronunciations', async () => {
    const learner = await t.admin.request(`mutation { createLearner(input: {externalId: "fluency-${kind}"}) { id } }`);
    const up = await t.admin.upload(SUBMIT, { input: { learnerId: learner.data.createLearner.id, referenceText: 'We call it bear, the big brown bear', audio: null } },
      'variables.input.audio', { bytes: speechLikeWav(3), name: 'take.wav' });
    expect(up.errors).toBeUndefined();
    const done = await waitForJob(t.admin, up.data.submitUtterance.job.id);
    expect(done.status).toBe('SUCCEEDED');
    const res = await t.admin.request(READ, { id: done.assessment.id });
    expect(res.errors).toBeUndefined();
    const a = res.data.assessment;
    const m = a.fluencyMetrics;
    expect(m).not.toBeNull();

    // The same measures, recomputed here from what the API serves.
    const spoken = a.words.map((w: any, i: number) => ({ ...w, i })).filter((w: any) => w.errorType !== 'OMITTED');
    const start = Math.min(...spoken.map((w: any) => w.startMs));
    const end = Math.max(...spoken.map((w: any) => w.endMs));
    const inside = a.pauses.filter((p: any) => p.startMs >= start && p.endMs <= end);
    const pauseMs = inside.reduce((n: number, p: any) => n + p.durationMs, 0);
    const syllables = spoken.reduce((n: number, w: any) =>
      n + a.utterance.referenceWords[w.i].phonemes.filter((p: string) => /^(AA|AE|AH|AO|AW|AY|EH|ER|EY|IH|IY|OW|OY|UH|UW)[012]?$/.test(p)).length, 0);
    expect(m).toMatchObject({
      wordCount: spoken.length, syllableCount: syllables, speakingMs: end - start, articulationMs: end - start - pauseMs,
      pauseCount: inside.length, totalPauseMs: pauseMs, longestPauseMs: Math.max(0, ...inside.map((p: any) => p.durationMs)),
    });
    expect(m.wordsPerMinute).toBeCloseTo((spoken.length * 60_000) / (end - start), 1);
    expect(m.speechRate).toBeCloseTo((syllables * 1000) / (end - start), 2);
    expect(m.articulationRate).toBeCloseTo((syllables * 1000) / (end - start - pauseMs), 2);
    expect(m.meanLengthOfRun).toBeCloseTo(syllables / (inside.length + 1), 2);
    expect(m.phonationTimeRatio).toBeCloseTo((end - start - pauseMs) / (end - start), 3);
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
