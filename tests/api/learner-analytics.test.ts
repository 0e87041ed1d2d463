/**
 * Learner analytics (issue 9): progress, sound and word profiles, sound changes. Small histories
 * with known answers (a learner who improves, one who gets worse), each aggregate checked against a
 * straightforward recomputation here; statement counts that do not grow with the data.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment } from '../support/seed.js';
import { analyzeReferenceText } from '../../src/text/reference.js';
import { timeZoneOf } from '../../src/analytics/progress.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import {
  ASPECT_KEYS, close, expectedSoundChanges, mean, percentile, phonesOf, seedLearner, sentence, slope, weekStart, weeksOf, type Take,
} from '../support/history.js';

const DATABASES = await testDatabases();

const IMPROVER: Take[] = [
  { at: '2026-01-05T10:00:00Z', total: 4, superseded: 2, th: 0, r: 2, think: 4, bear: 9 },
  { at: '2026-01-07T10:00:00Z', total: 5, th: 1, r: 2, think: 6, bear: 9 },
  { at: '2026-01-13T10:00:00Z', total: 7, th: 2, r: 1, think: 9, bear: 7 },
  { at: '2026-01-21T10:00:00Z', total: 8, th: 2, r: 1, think: 9, bear: 7 },
  { at: '2026-01-22T10:00:00Z', total: 9, th: 2, r: 0.5, think: 10, bear: 6, version: 'v2' },
];
const DECLINER: Take[] = [
  { at: '2026-01-05T10:00:00Z', total: 8, th: 2, r: 2, think: 9, bear: 9 },
  { at: '2026-01-12T10:00:00Z', total: 6, th: 1, r: 2, think: 7, bear: 9 },
];

const PROGRESS = `query($id: ID!, $bucket: TimeBucket, $from: DateTime, $to: DateTime, $v: String, $last: Int, $text: String) {
  learner(id: $id) { progress(bucket: $bucket, from: $from, to: $to, modelVersion: $v, lastBuckets: $last, referenceText: $text) {
    bucket utterances aspects { aspect first latest best mean slopePerWeek
      series { start count mean p25 median p75 movingAverage } } } } }`;
const SOUNDS = `query($id: ID!, $first: Int, $v: String) { learner(id: $id) {
  soundProfile(first: $first, modelVersion: $v) { phoneme ipa count meanAccuracy errors errorRate slopePerWeek exampleWords } } }`;
const WORDS = `query($id: ID!, $first: Int) { learner(id: $id) { wordProfile(first: $first) { word count meanAccuracy errors errorRate } } }`;
const CHANGES = `query($id: ID!, $a: DateTime, $b: DateTime, $c: DateTime, $d: DateTime) { learner(id: $id) {
  soundChanges(period1From: $a, period1To: $b, period2From: $c, period2To: $d) {
    phoneme ipa before after countBefore countAfter errorRateBefore errorRateAfter change direction } } }`;
const ALL = `query($id: ID!) { learner(id: $id) {
  progress { utterances aspects { aspect first latest slopePerWeek series { start mean median movingAverage } } }
  soundProfile { phoneme errorRate exampleWords } wordProfile { word errors }
  soundChanges(period1From: "2026-01-01T00:00:00Z", period1To: "2026-01-12T00:00:00Z", period2From: "2026-01-12T00:00:00Z", period2To: "2027-01-01T00:00:00Z") { phoneme change } } }`;

const ASPECTS = ['ACCURACY', 'FLUENCY', 'PROSODY', 'COMPLETENESS', 'TOTAL'] as const;

/** The expected progress: buckets by `key`, quartiles, 3-bucket moving average, first/latest/best, slope per week. */
function expectedProgress(takes: Take[], key: (at: string) => string, last = 52) {
  const sorted = [...takes].sort((a, b) => a.at.localeCompare(b.at));
  return {
    utterances: sorted.length,
    aspects: ASPECTS.map((aspect, i) => {
      const score = (t: Take) => sentence(t.total)[ASPECT_KEYS[i]!];
      const starts = [...new Set(sorted.map((t) => key(t.at)))].sort();
      const buckets = starts.map((start) => {
        const xs = sorted.filter((t) => key(t.at) === start).map(score);
        return { start, count: xs.length, mean: mean(xs), p25: percentile(xs, 0.25), median: percentile(xs, 0.5), p75: percentile(xs, 0.75) };
      });
      const series = buckets.map((b, j) => ({ ...b, movingAverage: mean(buckets.slice(Math.max(0, j - 2), j + 1).map((x) => x.mean)) }));
      const ys = sorted.map(score);
      return {
        aspect, series: series.slice(-last), first: ys[0], latest: ys.at(-1), best: Math.max(...ys), mean: mean(ys),
        slopePerWeek: slope(sorted.map((t) => weeksOf(t.at)), ys),
      };
    }),
  };
}

function expectedSounds(takes: Take[]) {
  const rows = takes.flatMap((t) => phonesOf(t).map(([phone, acc, word]) => ({ phone, acc, word, x: weeksOf(t.at) })));
  const phones = [...new Set(rows.map((r) => r.phone))];
  return phones.map((phone) => {
    const of = rows.filter((r) => r.phone === phone);
    const errors = of.filter((r) => r.acc < 1.5);
    const words = [...new Set(errors.map((r) => r.word))]
      .map((w) => ({ w, n: errors.filter((r) => r.word === w).length }))
      .sort((a, b) => b.n - a.n || a.w.localeCompare(b.w)).slice(0, 3).map((x) => x.w);
    return {
      phoneme: phone, count: of.length, meanAccuracy: mean(of.map((r) => r.acc)), errors: errors.length,
      errorRate: errors.length / of.length, slopePerWeek: slope(of.map((r) => r.x), of.map((r) => r.acc)), exampleWords: words,
    };
  }).sort((a, b) => b.errorRate - a.errorRate || b.errors - a.errors || (a.phoneme < b.phoneme ? -1 : 1));
}

describe.each(DATABASES)('learner analytics on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  let improver: string;
  let decliner: string;
  let organizationId: string;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    organizationId = (await prisma.organization.findFirstOrThrow()).id;
    improver = toGlobalId('Learner', (await seedLearner(prisma, organizationId, IMPROVER)).id);
    decliner = toGlobalId('Learner', (await seedLearner(prisma, organizationId, DECLINER)).id);
  });
  afterAll(() => t?.dispose());

  const ask = async (query: string, variables: Record<string, unknown>) => {
    const res = await t.admin.request(query, variables);
    expect(res.errors).toBeUndefined();
    return res.data.learner;
  };
  const iso = (s: { start: string }) => s.start;

  test('weekly progress of a learner who improves: buckets, quartiles, moving average, trend (re-assessments count once)', async () => {
    const p = (await ask(PROGRESS, { id: improver })).progress;
    expect(p.bucket).toBe('WEEK');
    close(p, expectedProgress(IMPROVER, weekStart));
    const total = p.aspects.find((a: any) => a.aspect === 'TOTAL');
    expect(total.series.map(iso)).toEqual(['2026-01-05T00:00:00.000Z', '2026-01-12T00:00:00.000Z', '2026-01-19T00:00:00.000Z']);
    expect(total.first).toBe(4); // the re-assessed score, not the superseded 2
    expect(total.slopePerWeek).toBeGreaterThan(0);
  });

  test('daily progress of one model version in a window, the latest buckets only', async () => {
    const vars = { id: improver, bucket: 'DAY', v: 'v1', from: '2026-01-06T00:00:00Z', to: '2026-02-01T00:00:00Z', last: 2 };
    const p = (await ask(PROGRESS, vars)).progress;
    const takes = IMPROVER.filter((x) => !x.version && x.at >= '2026-01-06');
    close(p, expectedProgress(takes, (at) => `${at.slice(0, 10)}T00:00:00.000Z`, 2));
    expect(p.aspects[0].series).toHaveLength(2);
  });

  test('progress of one reference text matches it as the utterance filter does (case and spaces ignored)', async () => {
    const text = ' Think BEAR ';
    const p = (await ask(PROGRESS, { id: improver, text })).progress;
    close(p, expectedProgress(IMPROVER, weekStart));
    const page = await t.admin.request(`query($id: ID!, $text: String) { learner(id: $id) {
      utterances(first: 50, filter: { referenceText: $text }) { totalCount } } }`, { id: improver, text });
    expect(page.data.learner.utterances.totalCount).toBe(p.utterances);
    expect((await ask(PROGRESS, { id: improver, text: 'think bears' })).progress.utterances).toBe(0);
  });

  test('a learner who gets worse: negative trend, latest below first', async () => {
    const p = (await ask(PROGRESS, { id: decliner, bucket: 'MONTH' })).progress;
    close(p, expectedProgress(DECLINER, (at) => `${at.slice(0, 7)}-01T00:00:00.000Z`));
    const total = p.aspects.find((a: any) => a.aspect === 'TOTAL');
    expect(total).toMatchObject({ first: 8, latest: 6, best: 8 });
    expect(total.slopePerWeek).toBeLessThan(0);
  });

  test('sound profile: per phoneme accuracy, error rate, trend and example words, worst first', async () => {
    const sounds = (await ask(SOUNDS, { id: improver })).soundProfile;
    close(sounds.map(({ ipa: _ipa, ...s }: any) => s), expectedSounds(IMPROVER));
    expect(sounds[0]).toMatchObject({ phoneme: 'R', ipa: 'ɹ', exampleWords: ['BEAR'] });
    expect(sounds.find((s: any) => s.phoneme === 'TH')).toMatchObject({ ipa: 'θ', errors: 2 });
    expect(sounds.find((s: any) => s.phoneme === 'TH').slopePerWeek).toBeGreaterThan(0);
    const top = (await ask(SOUNDS, { id: improver, first: 2, v: 'v1' })).soundProfile;
    close(top.map(({ ipa: _ipa, ...s }: any) => s), expectedSounds(IMPROVER.filter((x) => !x.version)).slice(0, 2));
    expect(errorCode(await t.admin.request(SOUNDS, { id: improver, first: 1000 }))).toBe('BAD_USER_INPUT');
  });

  test('a sound heard only at one instant has no trend: slopePerWeek is null, not the noise of summing one time six times', async () => {
    // Six phones of one sound in one recording, its time and accuracies those that once gave a slope of 4.7e11.
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.create({ data: { organizationId, externalId: 'one-instant' } });
    const u = await prisma.utterance.create({ data: {
      organizationId, learnerId: learner.id, referenceText: 'a a a a a a', referenceWords: analyzeReferenceText('a a a a a a') as never,
      audioSha256: 'c'.repeat(64), audioFormat: 'wav', audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900,
      createdAt: new Date('2026-04-01T19:05:34.918Z'),
    } });
    const accuracies = [0.4, 1.9, 1.2, 2.0, 0.8, 1.6];
    await seedModelAssessment(prisma, u, {
      sentence: sentence(5),
      words: accuracies.map((accuracy) => ({ text: 'A', accuracy: 5, stress: 10, total: 5, phonemes: [{ symbol: 'AH0', accuracy }] })),
    }, null, { version: 'v1', createdAt: new Date('2026-04-01T19:06:00Z') });
    const id = toGlobalId('Learner', learner.id);
    // With a model version (read from the assessments) and without (from the rollups): the same null.
    for (const v of ['v1', null]) {
      const sounds = (await ask(SOUNDS, { id, v })).soundProfile;
      expect({ v, sounds }).toEqual({ v, sounds: [expect.objectContaining({ phoneme: 'AH0', count: 6, slopePerWeek: null })] });
    }
  });

  test('word profile: the words most often wrong first', async () => {
    const words = (await ask(WORDS, { id: improver })).wordProfile;
    const expected = ['THINK', 'BEAR'].map((w) => {
      const xs = IMPROVER.map((x) => (w === 'THINK' ? x.think : x.bear));
      const errors = xs.filter((a) => a < 8).length;
      return { word: w, count: xs.length, meanAccuracy: mean(xs), errors, errorRate: errors / xs.length };
    }).sort((a, b) => b.errors - a.errors || b.errorRate - a.errorRate || a.word.localeCompare(b.word));
    close(words, expected);
    expect((await ask(WORDS, { id: improver, first: 1 })).wordProfile).toHaveLength(1);
  });

  test('word profile over a window: only the takes submitted in it', async () => {
    const from = '2026-01-13T00:00:00Z';
    const res = await t.admin.request(`query($id: ID!, $from: DateTime) { learner(id: $id) { wordProfile(from: $from) { word count meanAccuracy errors errorRate } } }`, { id: improver, from });
    expect(res.errors).toBeUndefined();
    const takes = IMPROVER.filter((x) => x.at >= from);
    const expected = ['THINK', 'BEAR'].map((w) => {
      const xs = takes.map((x) => (w === 'THINK' ? x.think : x.bear));
      const errors = xs.filter((a) => a < 8).length;
      return { word: w, count: xs.length, meanAccuracy: mean(xs), errors, errorRate: errors / xs.length };
    }).sort((a, b) => b.errors - a.errors || b.errorRate - a.errorRate || a.word.localeCompare(b.word));
    expect(takes.length).toBeLessThan(IMPROVER.length);
    close(res.data.learner.wordProfile, expected);
  });

  test('a sound whose mean moved by exactly 0.1 (accuracies are stored to 0.1) improved or got worse: 1.2 - 1.1 is not "unchanged"', async () => {
    const takes: Take[] = [
      { at: '2026-05-04T10:00:00Z', total: 6, th: 1.1, r: 1.2, think: 8, bear: 8 },
      { at: '2026-05-18T10:00:00Z', total: 6, th: 1.2, r: 1.1, think: 8, bear: 8 },
    ];
    const id = toGlobalId('Learner', (await seedLearner(t.app.services.prisma, organizationId, takes)).id);
    const changes = (await ask(CHANGES, { id, a: '2026-05-01T00:00:00Z', b: '2026-05-11T00:00:00Z', c: '2026-05-11T00:00:00Z', d: '2026-06-01T00:00:00Z' })).soundChanges;
    expect(changes.filter((c: any) => c.phoneme === 'TH' || c.phoneme === 'R').map((c: any) => [c.phoneme, c.change, c.direction]).sort())
      .toEqual([['R', -0.1, 'WORSENED'], ['TH', 0.1, 'IMPROVED']]);
  });

  test('a sound assessed in one period only has no direction: UNKNOWN, with nothing before', async () => {
    const periods = { a: '2025-01-01T00:00:00Z', b: '2025-02-01T00:00:00Z', c: '2026-01-01T00:00:00Z', d: '2026-02-01T00:00:00Z' };
    const changes = (await ask(CHANGES, { id: improver, ...periods })).soundChanges;
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) expect(c).toMatchObject({ direction: 'UNKNOWN', countBefore: 0, before: null, change: null });
  });

  test('sound changes between two periods: TH improved, R got worse', async () => {
    const periods = { a: '2026-01-01T00:00:00Z', b: '2026-01-12T00:00:00Z', c: '2026-01-12T00:00:00Z', d: '2026-02-01T00:00:00Z' };
    const changes = (await ask(CHANGES, { id: improver, ...periods })).soundChanges;
    const expected = expectedSoundChanges(IMPROVER, periods);
    close(changes.map(({ ipa: _ipa, ...c }: any) => c), expected);
    expect(changes.find((c: any) => c.phoneme === 'TH').direction).toBe('IMPROVED');
    expect(changes.find((c: any) => c.phoneme === 'R').direction).toBe('WORSENED');
  });

  test('an inverted date range, or period 1 after period 2, is BAD_USER_INPUT naming the arguments, not an empty answer', async () => {
    const refused = async (query: string, variables: Record<string, unknown>, pattern: RegExp) => {
      const res = await t.admin.request(query, { id: improver, ...variables });
      expect({ variables, code: errorCode(res) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      expect(res.errors![0]!.message).toMatch(pattern);
    };
    const [early, late] = ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'];
    await refused(PROGRESS, { from: late, to: early }, /^from \(2026-02-01.*\) must be before to/);
    await refused(PROGRESS, { from: early, to: early }, /must be before/);
    await refused(`query($id: ID!, $from: DateTime, $to: DateTime) { learner(id: $id) { soundProfile(from: $from, to: $to) { phoneme } } }`, { from: late, to: early }, /must be before/);
    await refused(`query($id: ID!, $f: LearnerUtteranceFilter) { learner(id: $id) { utterances(filter: $f) { totalCount } } }`,
      { f: { createdAfter: late, createdBefore: early } }, /^createdAfter .* must be before createdBefore/);
    await refused(CHANGES, { a: early, b: '2026-01-12T00:00:00Z', c: early, d: early }, /period2From .* must be before period2To/);
    // the periods swapped: IMPROVED would read as WORSENED
    await refused(CHANGES, { a: '2026-01-12T00:00:00Z', b: late, c: early, d: '2026-01-12T00:00:00Z' }, /Period 1 is the earlier period/);
    // Only the arguments given are named: period 1 starting after the default period 2 names period1From alone.
    const alone = await t.admin.request(CHANGES, { id: improver, a: '2099-01-01T00:00:00Z' });
    expect(alone.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'period1From' });
    expect(alone.errors![0]!.extensions).not.toHaveProperty('arguments');
    const both = await t.admin.request(CHANGES, { id: improver, a: '2026-01-12T00:00:00Z', b: late, c: early, d: '2026-01-12T00:00:00Z' });
    expect(both.errors![0]!.extensions).toMatchObject({ argument: 'period1From', arguments: ['period1From', 'period2To'] });
    // a range with only one end, adjacent or overlapping periods, and period 1 alone (period 2 by default) are fine
    expect((await t.admin.request(CHANGES, { id: improver, a: early, b: late, c: '2026-01-12T00:00:00Z', d: late })).errors).toBeUndefined();
    expect((await t.admin.request(CHANGES, { id: improver, a: '2026-01-12T00:00:00Z', b: late })).errors).toBeUndefined();
    expect((await t.admin.request(PROGRESS, { id: improver, from: early })).errors).toBeUndefined();
    expect((await t.admin.request(CHANGES, { id: improver, a: early, b: '2026-01-12T00:00:00Z', c: '2026-01-12T00:00:00Z', d: late })).errors).toBeUndefined();
  });

  test('needs SCORES_READ; another organisation cannot reach the learner', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await writer.request(ALL, { id: improver }))).toBe('FORBIDDEN');
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect((await reader.request(ALL, { id: improver })).errors).toBeUndefined();
    const other = await otherOrganization(t);
    const res = await other.client.request(ALL, { id: improver });
    expect(res.errors).toBeUndefined();
    expect(res.data.learner).toBeNull();
  });

  test('statements per request do not grow with the data', async () => {
    const reads = async () => {
      statements.length = 0;
      const res = await t.admin.request(ALL, { id: decliner });
      expect(res.errors).toBeUndefined();
      return statements.filter((s) => !/"ApiKey"/.test(s)).length;
    };
    const before = await reads();
    const more: Take[] = Array.from({ length: 30 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 1, 1 + i, 9)).toISOString(), total: i % 11, th: i % 3, r: (i + 1) % 3, think: i % 11, bear: (i * 7) % 11,
    }));
    const prisma = t.app.services.prisma;
    const learner = await prisma.learner.findUniqueOrThrow({ where: { id: (await import('../../src/graphql/ids.js')).fromGlobalId(decliner)!.id } });
    const extra = await seedLearner(prisma, organizationId, more);
    await prisma.utterance.updateMany({ where: { learnerId: extra.id }, data: { learnerId: learner.id } });
    const after = await reads();
    expect(after).toBe(before);
    // learner, 2 progress, sound, word, change statements (the key's look-up is not counted)
    expect(before).toBeLessThanOrEqual(6);
  });

  test('a page of learners with every analytics field: the same statements for 2 learners as for 6, and the same answers', async () => {
    const PAGE = `query { learners(first: 50) { edges { node { id
      progress { utterances aspects { aspect latest slopePerWeek series { start mean } } }
      soundProfile(first: 3) { phoneme errorRate } wordProfile(first: 1) { word errors }
      soundChanges(period1From: "2026-01-01T00:00:00Z", period1To: "2026-01-12T00:00:00Z", period2From: "2026-01-12T00:00:00Z", period2To: "2027-01-01T00:00:00Z") { phoneme change } } } } }`;
    const page = async () => {
      statements.length = 0;
      const res = await t.admin.request(PAGE);
      expect(res.errors).toBeUndefined();
      return { nodes: res.data.learners.edges.map((e: any) => e.node), reads: statements.filter((s) => !/"ApiKey"/.test(s)).length };
    };
    const small = await page();
    const prisma = t.app.services.prisma;
    for (let i = 0; i < 4; i++) await seedLearner(prisma, organizationId, DECLINER);
    const large = await page();
    expect(large.nodes.length).toBeGreaterThanOrEqual(small.nodes.length + 4);
    expect(large.reads).toBe(small.reads);
    // Batched answers are each learner's own: the improver's equal its single-learner answer.
    const alone = await ask(ALL, { id: improver });
    const inPage = large.nodes.find((n: any) => n.id === improver);
    expect(inPage.progress.utterances).toBe(alone.progress.utterances);
    expect(inPage.soundProfile).toEqual(alone.soundProfile.slice(0, 3).map(({ phoneme, errorRate }: any) => ({ phoneme, errorRate })));
    expect(inPage.wordProfile).toEqual(alone.wordProfile.slice(0, 1));
    expect(inPage.soundChanges).toEqual(alone.soundChanges);
  });

  test("buckets follow the calendar of the time zone asked for, across a daylight-saving change", async () => {
    // Berlin moves to summer time at 2026-03-29T01:00Z (UTC+1 → UTC+2). Local times of the takes:
    // Sunday 29 March 00:30 (CET), Monday 30 March 00:30 (CEST), Monday 30 March 23:30 (CEST).
    const nightOwl: Take[] = [
      { at: '2026-03-28T23:30:00Z', total: 4, th: 1, r: 2, think: 5, bear: 8 },
      { at: '2026-03-29T22:30:00Z', total: 6, th: 1, r: 2, think: 6, bear: 8 },
      { at: '2026-03-30T21:30:00Z', total: 8, th: 2, r: 2, think: 8, bear: 9 },
    ];
    const id = toGlobalId('Learner', (await seedLearner(t.app.services.prisma, organizationId, nightOwl)).id);
    const ZONED = `query($id: ID!, $bucket: TimeBucket, $tz: String) { learner(id: $id) { progress(bucket: $bucket, timeZone: $tz) {
      bucket timeZone utterances aspects { aspect first latest best mean slopePerWeek series { start count mean p25 median p75 movingAverage } } } } }`;
    // Local midnights as instants: 29 March 00:00 CET = 28 March 23:00Z; 30 March 00:00 CEST = 29 March 22:00Z.
    const berlinDay: Record<string, string> = {
      '2026-03-28T23:30:00Z': '2026-03-28T23:00:00.000Z', '2026-03-29T22:30:00Z': '2026-03-29T22:00:00.000Z', '2026-03-30T21:30:00Z': '2026-03-29T22:00:00.000Z',
    };
    // Weeks from local Monday 00:00: 23 March (CET) = 22 March 23:00Z; 30 March (CEST) = 29 March 22:00Z.
    const berlinWeek: Record<string, string> = {
      '2026-03-28T23:30:00Z': '2026-03-22T23:00:00.000Z', '2026-03-29T22:30:00Z': '2026-03-29T22:00:00.000Z', '2026-03-30T21:30:00Z': '2026-03-29T22:00:00.000Z',
    };
    const day = (await ask(ZONED, { id, bucket: 'DAY', tz: 'Europe/Berlin' })).progress;
    expect(day).toMatchObject({ bucket: 'DAY', timeZone: 'Europe/Berlin' });
    close(day, expectedProgress(nightOwl, (at) => berlinDay[at]!));
    const week = (await ask(ZONED, { id, bucket: 'WEEK', tz: 'Europe/Berlin' })).progress;
    close(week, expectedProgress(nightOwl, (at) => berlinWeek[at]!));
    // The same takes in UTC fall on three days and other weeks; omitted, the zone is UTC.
    // CET is applied as the IANA zone it names (Europe/Brussels: Berlin's rules these years), with its
    // summer time; PostgreSQL alone reads it as a fixed +01:00. Echoed as asked for.
    const cet = (await ask(ZONED, { id, bucket: 'DAY', tz: 'CET' })).progress;
    expect(cet.timeZone).toBe('CET');
    close({ ...cet, timeZone: 'Europe/Berlin' }, { ...day, timeZone: 'Europe/Berlin' });
    // An Area/Location name goes to the database as given: ICU would make Asia/Kolkata the old
    // Asia/Calcutta, which a PostgreSQL on the system's time zone data (without tzdata-legacy) lacks.
    expect([timeZoneOf('CET'), timeZoneOf('Asia/Kolkata'), timeZoneOf('Europe/Kyiv')]).toEqual(['Europe/Brussels', 'Asia/Kolkata', 'Europe/Kyiv']);
    expect((await ask(ZONED, { id, bucket: 'DAY', tz: 'Asia/Kolkata' })).progress.timeZone).toBe('Asia/Kolkata');
    const utc = (await ask(ZONED, { id, bucket: 'DAY' })).progress;
    expect(utc.timeZone).toBe('UTC');
    close(utc, expectedProgress(nightOwl, (at) => `${at.slice(0, 10)}T00:00:00.000Z`));
    close((await ask(ZONED, { id, bucket: 'WEEK', tz: 'UTC' })).progress, expectedProgress(nightOwl, weekStart));

    for (const tz of ['Mars/Olympus_Mons', '+02:00', 'UTC+2', '', 'Europe/Berlin; DROP TABLE "Learner"']) {
      const res = await t.admin.request(ZONED, { id, bucket: 'DAY', tz });
      expect([tz, errorCode(res)]).toEqual([tz, 'BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toMatch(/^timeZone must be an IANA time zone name/);
    }
  });
});
