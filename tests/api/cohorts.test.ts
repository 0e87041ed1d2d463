/**
 * Cohorts and the model audit (issue 9): a group with a learner who improves, one who gets worse
 * and one who never practised, all weak on one sound; another group to compare with; model
 * versions with and without human labels. Every aggregate is checked against a recomputation here.
 */
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { errorCode } from '../support/client.js';
import { keyWithScopes, otherOrganization, seedModelAssessment, seedUtterance } from '../support/seed.js';
import { writeSeed } from '../../src/seed/write.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { ASPECT_KEYS, close, expectedSoundChanges, labels, mean, percentile, phonesOf, seedLearner, sentence, weekStart, type Take } from '../support/history.js';

const DATABASES = await testDatabases();
const ASPECTS = ['ACCURACY', 'FLUENCY', 'PROSODY', 'COMPLETENESS', 'TOTAL'] as const;

const take = (at: string, total: number, r: number, extra: Partial<Take> = {}): Take => ({ at, total, th: 2, r, think: 9, bear: r < 1.5 ? 6 : 9, ...extra });
const IMPROVER = [take('2026-01-05T10:00:00Z', 4, 0, { superseded: 1 }), take('2026-01-12T10:00:00Z', 6, 1), take('2026-01-19T10:00:00Z', 9, 1)];
const DECLINER = [take('2026-01-05T10:00:00Z', 9, 1), take('2026-01-12T10:00:00Z', 8, 2), take('2026-01-18T10:00:00Z', 5, 0)];
const OTHER = [take('2026-01-06T10:00:00Z', 10, 2), take('2026-01-07T10:00:00Z', 7, 2, { th: 1 })];

const GROUP = `query($g: String!, $since: DateTime, $latest: Int, $days: Int, $min: Int) { group(externalId: $g) {
  externalId learnerCount
  scoreDistribution { aspect count mean p10 p25 median p75 p90 }
  weakSounds(minCount: $min) { phoneme ipa count errors errorRate meanAccuracy exampleWords }
  droppedLearners(since: $since, latest: $latest) { learner { externalId } recentMean recentCount earlierMean earlierCount drop }
  inactiveLearners(days: $days) { learner { externalId } lastPracticeAt } } }`;
const COMPARE = `query($a: String!, $b: String!) { compareGroups(a: $a, b: $b) {
  a { externalId learnerCount } b { externalId learnerCount } aspects { aspect meanA meanB difference } } }`;
const AUDIT = `query($v: String) { modelAudit(modelVersion: $v) { modelVersion utterances
  scoreDistribution { aspect count mean p10 p25 median p75 p90 }
  agreement { utterancesCompared sentence { aspect meanAbsoluteDifference exactMatchShare }
    wordAccuracyMae wordExactMatchShare wordsCompared phonemeAccuracyMae phonemesCompared } } }`;

function distribution(takes: Take[]) {
  return ASPECTS.map((aspect, i) => {
    const xs = takes.map((t) => sentence(t.total)[ASPECT_KEYS[i]!]);
    return {
      aspect, count: xs.length, mean: mean(xs), p10: percentile(xs, 0.1), p25: percentile(xs, 0.25),
      median: percentile(xs, 0.5), p75: percentile(xs, 0.75), p90: percentile(xs, 0.9),
    };
  });
}

describe.each(DATABASES)('cohorts and model audit on %s', (kind) => {
  let t: TestApp;
  const statements: string[] = [];
  const ext: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false }, { onQuery: (sql) => statements.push(sql) });
    const prisma = t.app.services.prisma;
    const org = (await prisma.organization.findFirstOrThrow()).id;
    ext.improver = (await seedLearner(prisma, org, IMPROVER, ['class-a'])).externalId;
    ext.decliner = (await seedLearner(prisma, org, DECLINER, ['class-a', 'all'])).externalId;
    ext.idle = (await seedLearner(prisma, org, [], ['class-a'])).externalId;
    ext.other = (await seedLearner(prisma, org, OTHER, ['class-b', 'all'])).externalId;
    const other = await otherOrganization(t);
    await seedLearner(prisma, other.org.id, DECLINER, ['class-a']);
    ext.otherKey = other.client.apiKey!;
  });
  afterAll(() => t?.dispose());

  const group = async (variables: Record<string, unknown>) => {
    const res = await t.admin.request(GROUP, variables);
    expect(res.errors).toBeUndefined();
    return res.data.group;
  };

  test('a group: learner count, score distribution, the weak sound, dropped and inactive learners', async () => {
    statements.length = 0;
    const g = await group({ g: 'class-a', latest: 1, days: 14 });
    const reads = statements.filter((s) => !/"ApiKey"/.test(s)).length;
    expect(g).toMatchObject({ externalId: 'class-a', learnerCount: 3 });
    close(g.scoreDistribution, distribution([...IMPROVER, ...DECLINER]));
    // R is the weak sound: recomputed from the phones of every take of the group.
    const rows = [...IMPROVER, ...DECLINER].flatMap(phonesOf);
    const r = rows.filter(([p]) => p === 'R').map(([, a]) => a);
    close(g.weakSounds[0], {
      phoneme: 'R', ipa: 'ɹ', count: r.length, errors: r.filter((a) => a < 1.5).length,
      errorRate: r.filter((a) => a < 1.5).length / r.length, meanAccuracy: mean(r), exampleWords: ['BEAR'],
    });
    expect(g.weakSounds.slice(1).every((s: any) => s.errors === 0)).toBe(true);
    // latest 1 vs earlier: the decliner dropped from mean(9, 8) to 5; the improver did not.
    close(g.droppedLearners, [{ learner: { externalId: ext.decliner }, recentMean: 5, recentCount: 1, earlierMean: 8.5, earlierCount: 2, drop: 3.5 }]);
    // Never practised first, then the longest inactive.
    expect(g.inactiveLearners).toEqual([
      { learner: { externalId: ext.idle }, lastPracticeAt: null },
      { learner: { externalId: ext.decliner }, lastPracticeAt: '2026-01-18T10:00:00.000Z' },
      { learner: { externalId: ext.improver }, lastPracticeAt: '2026-01-19T10:00:00.000Z' },
    ]);
    // group count, distribution, sounds, drops (+ learners), inactive (+ learners), key lookup: constant.
    expect(reads).toBeLessThanOrEqual(8);
  });

  test("weakWords: the group's words most often wrong, recomputed from the latest assessment of every take", async () => {
    const WORDS = `query($g: String!, $min: Int, $first: Int, $from: DateTime) { group(externalId: $g) {
      weakWords(minCount: $min, first: $first, from: $from) { word count meanAccuracy errors errorRate } } }`;
    const words = async (variables: Record<string, unknown>) => {
      const res = await t.admin.request(WORDS, { g: 'class-a', ...variables });
      expect(res.errors).toBeUndefined();
      return res.data.group.weakWords;
    };
    const expected = (takes: Take[]) => {
      const out = ['THINK', 'BEAR'].map((word) => {
        const xs = takes.map((tk) => labels(tk).words.find((w) => w.text === word)!.accuracy);
        const errors = xs.filter((x) => x < 8).length;
        return { word, count: xs.length, meanAccuracy: mean(xs), errors, errorRate: errors / xs.length };
      });
      return out.sort((a, b) => b.errors - a.errors || b.errorRate - a.errorRate || (a.word < b.word ? -1 : 1));
    };
    const all = await words({});
    close(all, expected([...IMPROVER, ...DECLINER]));
    expect(all[0].word).toBe('BEAR');
    expect(all[0].errors).toBeGreaterThan(0);
    close(await words({ first: 1 }), expected([...IMPROVER, ...DECLINER]).slice(0, 1));
    expect(await words({ min: 7 })).toEqual([]);
    // A window: only the takes submitted from the 12th.
    const late = (tk: Take) => tk.at >= '2026-01-12';
    close(await words({ from: '2026-01-12T00:00:00Z' }), expected([...IMPROVER, ...DECLINER].filter(late)));
    const bad = await t.admin.request(WORDS, { g: 'class-a', first: 101 });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.extensions!.argument).toBe('first');
  });

  test('the whole organisation: its weak sounds and words over every learner, recomputed; another organisation\'s never counted', async () => {
    const ORG = `query($from: DateTime, $first: Int) { viewer { organization {
      weakSounds(from: $from, first: $first) { phoneme ipa count errors errorRate meanAccuracy exampleWords }
      weakWords(from: $from) { word count meanAccuracy errors errorRate } } } }`;
    const org = async (variables: Record<string, unknown>) => {
      const res = await t.admin.request(ORG, variables);
      expect(res.errors).toBeUndefined();
      return res.data.viewer.organization;
    };
    const everyone = [...IMPROVER, ...DECLINER, ...OTHER];
    const soundOf = (takes: Take[], phone: string) => {
      const xs = takes.flatMap(phonesOf).filter(([p]) => p === phone).map(([, a]) => a);
      const errors = xs.filter((a) => a < 1.5).length;
      return { phoneme: phone, count: xs.length, errors, errorRate: errors / xs.length, meanAccuracy: mean(xs) };
    };
    const wordsOf = (takes: Take[]) => ['THINK', 'BEAR'].map((word) => {
      const xs = takes.map((tk) => labels(tk).words.find((w) => w.text === word)!.accuracy);
      const errors = xs.filter((x) => x < 8).length;
      return { word, count: xs.length, meanAccuracy: mean(xs), errors, errorRate: errors / xs.length };
    }).sort((a, b) => b.errors - a.errors || b.errorRate - a.errorRate || (a.word < b.word ? -1 : 1));
    // From the running sums (no window), then from the phoneme rows (a window that takes everything): the same.
    for (const variables of [{}, { from: '2026-01-01T00:00:00Z' }]) {
      const o = await org({ ...variables, first: 41 });
      // R first (the learners' weak sound), then TH (OTHER's second take), each recomputed over every learner.
      close(o.weakSounds[0], { ...soundOf(everyone, 'R'), ipa: 'ɹ', exampleWords: ['BEAR'] });
      close(o.weakSounds[1], { ...soundOf(everyone, 'TH'), ipa: 'θ', exampleWords: ['THINK'] });
      expect(o.weakSounds.slice(2).every((x: any) => x.errors === 0)).toBe(true);
      close(o.weakWords, wordsOf(everyone));
    }
    // A window: only the takes submitted from the 12th.
    const late = (tk: Take) => tk.at >= '2026-01-12';
    close((await org({ from: '2026-01-12T00:00:00Z' })).weakSounds[0], { ...soundOf(everyone.filter(late), 'R'), ipa: 'ɹ', exampleWords: ['BEAR'] });
    // Bounds as a group's.
    expect(errorCode(await t.admin.request(ORG, { first: 42 }))).toBe('BAD_USER_INPUT');
  });

  test("soundChanges: the class's sounds between two periods over every member's takes, recomputed; another group's take does not count", async () => {
    const CHANGES = `query($g: String!, $a: DateTime, $b: DateTime, $c: DateTime, $d: DateTime, $first: Int) { group(externalId: $g) {
      soundChanges(period1From: $a, period1To: $b, period2From: $c, period2To: $d, first: $first) {
        phoneme ipa before after countBefore countAfter errorRateBefore errorRateAfter change direction } } }`;
    const periods = { a: '2026-01-01T00:00:00Z', b: '2026-01-12T00:00:00Z', c: '2026-01-12T00:00:00Z', d: '2026-02-01T00:00:00Z' };
    const ask = async (variables: Record<string, unknown>) => {
      const res = await t.admin.request(CHANGES, { g: 'class-a', ...periods, ...variables });
      expect(res.errors).toBeUndefined();
      return res.data.group.soundChanges;
    };
    // class-a's members' takes; the idle one has none.
    const expected = expectedSoundChanges([...IMPROVER, ...DECLINER], periods);
    const changes = await ask({});
    close(changes.map(({ ipa: _ipa, ...c }: any) => c), expected);
    expect(changes.find((c: any) => c.phoneme === 'TH')).toMatchObject({ ipa: 'θ', countBefore: 2, countAfter: 4 });
    expect(changes.some((c: any) => c.direction !== 'UNCHANGED')).toBe(true);
    close((await ask({ first: 2 })).map(({ ipa: _ipa, ...c }: any) => c), expected.slice(0, 2));
    // Period 1 after period 2: BAD_USER_INPUT naming the bounds, as for one learner.
    const bad = await t.admin.request(CHANGES, { g: 'class-a', a: '2026-03-01T00:00:00Z', b: '2026-03-02T00:00:00Z', c: periods.c, d: periods.d });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.extensions!.arguments).toEqual(['period1From', 'period2To']);
  });

  test('hardestTexts: per text (case aside), the latest reading of each utterance, lowest mean total first', async () => {
    const prisma = t.app.services.prisma;
    // An organisation of its own: the other tests count this one's model versions and groups.
    const { org: own, client } = await otherOrganization(t);
    const org = own.id;
    const learner = () => prisma.learner.create({ data: { organizationId: org, externalId: `texts-${Math.random()}`, groups: ['class-t'] } });
    const read = async (learnerId: string, text: string, totals: number[], at: string) => {
      const u = await prisma.utterance.create({
        data: {
          organizationId: org, learnerId, referenceText: text, referenceWords: [] as never, audioSha256: 'd'.repeat(64), audioFormat: 'wav',
          audioBytes: 1, durationMs: 1000, sourceSampleRate: 16000, sourceChannels: 1, speechMs: 900, createdAt: new Date(at),
        },
      });
      // Each later total re-assesses the reading: only the last counts.
      for (const [i, total] of totals.entries()) {
        await seedModelAssessment(prisma, u, labels({ total, th: 2, r: 2, think: 9, bear: 9 }), null, { createdAt: new Date(Date.parse(at) + (i + 1) * 60_000) });
      }
    };
    const [a, b, c] = [await learner(), await learner(), await learner()];
    await read(a.id, 'Think bear', [4], '2026-02-01T10:00:00Z');
    await read(a.id, 'We call it bear', [9], '2026-02-02T10:00:00Z');
    await read(b.id, 'THINK BEAR', [6], '2026-02-03T10:00:00Z');
    await read(b.id, 'We call it bear', [2, 7], '2026-02-04T10:00:00Z');
    await read(c.id, 'Hello', [10], '2026-02-05T10:00:00Z');
    const TEXTS = `query($min: Int, $first: Int, $from: DateTime) { group(externalId: "class-t") {
      hardestTexts(minCount: $min, first: $first, from: $from) { referenceText readings learners meanAccuracy meanFluency meanProsody meanTotal } } }`;
    const texts = async (variables: Record<string, unknown>) => {
      const res = await client.request(TEXTS, variables);
      expect(res.errors).toBeUndefined();
      return res.data.group.hardestTexts;
    };
    const stat = (referenceText: string, totals: number[], learners: number) => ({
      referenceText, readings: totals.length, learners,
      meanAccuracy: mean(totals.map((x) => sentence(x).accuracy)), meanFluency: mean(totals.map((x) => sentence(x).fluency)),
      meanProsody: mean(totals.map((x) => sentence(x).prosody)), meanTotal: mean(totals),
    });
    // Of 'Think bear' and 'THINK BEAR', the first in byte order is shown.
    close(await texts({}), [stat('THINK BEAR', [4, 6], 2), stat('We call it bear', [9, 7], 2), stat('Hello', [10], 1)]);
    close(await texts({ min: 2 }), [stat('THINK BEAR', [4, 6], 2), stat('We call it bear', [9, 7], 2)]);
    close(await texts({ first: 1 }), [stat('THINK BEAR', [4, 6], 2)]);
    close(await texts({ from: '2026-02-04T00:00:00Z' }), [stat('We call it bear', [7], 1), stat('Hello', [10], 1)]);
    const bad = await client.request(TEXTS, { first: 101 });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.extensions!.argument).toBe('first');
    // The bootstrap organisation has no such group.
    const mine = await t.admin.request(TEXTS, {});
    expect(mine.errors).toBeUndefined();
    expect(mine.data.group).toBeNull();
  });

  test('drops since a date; nobody inactive over a long window', async () => {
    const g = await group({ g: 'class-a', since: '2026-01-10T00:00:00Z', latest: 1, days: 36_500 });
    close(g.droppedLearners, [{ learner: { externalId: ext.decliner }, recentMean: 5, earlierMean: 8, drop: 3 }]);
    expect(g.inactiveLearners.map((x: any) => x.learner.externalId)).toEqual([ext.idle]);
    expect((await group({ g: 'nobody' }))).toBeNull();
    expect(errorCode(await t.admin.request(GROUP, { g: 'class-a', latest: -1 }))).toBe('BAD_USER_INPUT');
  });

  test('a learner who fell by exactly minDrop is listed ("that much or more"), whatever the floating point of the means; latest must be at least 1', async () => {
    // TOTAL 1,2,1,2,1 then 1,0,0,1,0: means 1.4 and 0.4, a difference of 0.9999999999999999 in float8.
    const prisma = t.app.services.prisma;
    const org = (await prisma.organization.findFirstOrThrow()).id;
    const totals = [1, 2, 1, 2, 1, 1, 0, 0, 1, 0];
    const takes = totals.map((total, i) => ({ at: `2026-02-${String(i + 1).padStart(2, '0')}T10:00:00Z`, total, th: 2, r: 2, think: 9, bear: 9, version: 'v-exact' }));
    const seeded = await seedLearner(prisma, org, takes, ['exact-drop']);
    const exact = seeded.externalId;
    const DROPS = `query($since: DateTime) { group(externalId: "exact-drop") {
      droppedLearners(since: $since, latest: 5, minDrop: 1) { learner { externalId } recentMean earlierMean drop } droppedLearnerCount(since: $since, latest: 5, minDrop: 1) } }`;
    for (const since of [null, '2026-01-01T00:00:00Z']) { // from the rollups, and from the assessments
      const res = await t.admin.request(DROPS, { since });
      expect(res.errors).toBeUndefined();
      close(res.data.group, { droppedLearners: [{ learner: { externalId: exact }, recentMean: 0.4, earlierMean: 1.4, drop: 1 }], droppedLearnerCount: 1 });
    }
    const none = await t.admin.request(`{ group(externalId: "exact-drop") { droppedLearners(latest: 0) { drop } } }`);
    expect({ code: errorCode(none), argument: none.errors?.[0]?.extensions?.argument }).toEqual({ code: 'BAD_USER_INPUT', argument: 'latest' });
    await prisma.learner.delete({ where: { id: seeded.id } }); // the organisation-wide figures below count without it
  });

  test('drops without a date (score histograms + latest takes) equal drops since the beginning (the assessments themselves)', async () => {
    const DROPS = `query($g: String!, $since: DateTime, $latest: Int, $aspect: SentenceAspect) { group(externalId: $g) {
      droppedLearners(since: $since, latest: $latest, aspect: $aspect, minDrop: -100) { learner { externalId } recentMean recentCount earlierMean earlierCount drop } } }`;
    for (const g of ['class-a', 'all']) {
      for (const aspect of ASPECTS) {
        for (const latest of [1, 2]) {
          const run = async (since: string | null) => {
            const res = await t.admin.request(DROPS, { g, since, latest, aspect });
            expect(res.errors).toBeUndefined();
            return res.data.group.droppedLearners;
          };
          const fromRollup = await run(null);
          expect(fromRollup.length).toBeGreaterThan(0);
          close(fromRollup, await run('1970-01-01T00:00:00Z'));
        }
      }
    }
  });

  test('compareGroups: each group and the difference of mean scores', async () => {
    const res = await t.admin.request(COMPARE, { a: 'class-a', b: 'class-b' });
    expect(res.errors).toBeUndefined();
    const c = res.data.compareGroups;
    expect(c.a).toEqual({ externalId: 'class-a', learnerCount: 3 });
    expect(c.b).toEqual({ externalId: 'class-b', learnerCount: 1 });
    const [da, db] = [distribution([...IMPROVER, ...DECLINER]), distribution(OTHER)];
    close(c.aspects, ASPECTS.map((aspect, i) => ({ aspect, meanA: da[i]!.mean, meanB: db[i]!.mean, difference: db[i]!.mean - da[i]!.mean })));
    const none = (await t.admin.request(COMPARE, { a: 'class-a', b: 'nobody' })).data.compareGroups;
    expect(none.b).toBeNull();
    expect(none.aspects[0]).toMatchObject({ meanB: null, difference: null });
  });

  test('compareGroups over a window: both distributions, the median difference, and the sounds that differ most', async () => {
    const Q = `query($a: String!, $b: String!, $from: DateTime) { compareGroups(a: $a, b: $b) {
      aspects(from: $from) { aspect meanA meanB difference medianDifference a { count mean median p90 } b { count mean median p90 } }
      sounds(from: $from, minCount: 1, first: 3) { phoneme ipa errorRateDifference a { count errors errorRate } b { count errors errorRate } } } }`;
    const from = '2026-01-06T00:00:00Z';
    const res = await t.admin.request(Q, { a: 'class-a', b: 'class-b', from });
    expect(res.errors).toBeUndefined();
    const c = res.data.compareGroups;
    const inWindow = (takes: Take[]) => takes.filter((x) => x.at >= from);
    const [ta, tb] = [inWindow([...IMPROVER, ...DECLINER]), inWindow(OTHER)];
    const [da, db] = [distribution(ta), distribution(tb)];
    close(c.aspects, ASPECTS.map((aspect, i) => ({
      aspect, meanA: da[i]!.mean, meanB: db[i]!.mean, difference: db[i]!.mean - da[i]!.mean, medianDifference: db[i]!.median - da[i]!.median,
      a: { count: da[i]!.count, mean: da[i]!.mean, median: da[i]!.median, p90: da[i]!.p90 },
      b: { count: db[i]!.count, mean: db[i]!.mean, median: db[i]!.median, p90: db[i]!.p90 },
    })));
    // Per sound, each group's error rate over the same takes; the largest absolute difference first.
    const rates = (takes: Take[]) => {
      const m = new Map<string, { count: number; errors: number }>();
      for (const [phone, acc] of takes.flatMap(phonesOf)) {
        const r = m.get(phone) ?? { count: 0, errors: 0 };
        m.set(phone, { count: r.count + 1, errors: r.errors + (acc < 1.5 ? 1 : 0) });
      }
      return m;
    };
    const [ra, rb] = [rates(ta), rates(tb)];
    const want = [...ra].filter(([phone]) => rb.has(phone)).map(([phone, a]) => {
      const b = rb.get(phone)!;
      return { phoneme: phone, a: { ...a, errorRate: a.errors / a.count }, b: { ...b, errorRate: b.errors / b.count }, errorRateDifference: b.errors / b.count - a.errors / a.count };
    }).sort((x, y) => Math.abs(y.errorRateDifference) - Math.abs(x.errorRateDifference) || (x.phoneme < y.phoneme ? -1 : 1)).slice(0, 3);
    expect(want[0]!.errorRateDifference).not.toBe(0);
    close(c.sounds.map(({ ipa: _ipa, ...x }: any) => x), want);
    expect(c.sounds[0].ipa).toMatch(/\S/);
    const tooMany = await t.admin.request(Q.replace('first: 3', 'first: 99'), { a: 'class-a', b: 'class-b', from });
    expect(errorCode(tooMany)).toBe('BAD_USER_INPUT');
  });

  test('counts beside the capped lists: inactive and dropped learners however many `first` shows', async () => {
    const Q = `query($g: String!) { group(externalId: $g) {
      inactiveLearners(days: 14, first: 1) { learner { externalId } } inactiveLearnerCount(days: 14)
      all: inactiveLearners(days: 14, first: 100) { learner { externalId } }
      droppedLearners(latest: 1, minDrop: -100, first: 1) { drop } droppedLearnerCount(latest: 1, minDrop: -100)
      allDropped: droppedLearners(latest: 1, minDrop: -100, first: 100) { drop } } }`;
    const g = (await t.admin.request(Q, { g: 'class-a' })).data.group;
    // Every class-a learner last practised in January 2026: all three are inactive now.
    expect(g.inactiveLearners).toHaveLength(1);
    expect(g.inactiveLearnerCount).toBe(3);
    expect(g.all).toHaveLength(3);
    // With any drop allowed, every learner with earlier takes is listed: the improver and the decliner.
    expect(g.droppedLearners).toHaveLength(1);
    expect(g.droppedLearnerCount).toBe(2);
    expect(g.allDropped).toHaveLength(2);
  });

  test('cohorts need SCORES_READ and stay inside the organisation', async () => {
    const writer = await keyWithScopes(t, ['ASSESS_WRITE']);
    expect(errorCode(await writer.request(GROUP, { g: 'class-a' }))).toBe('FORBIDDEN');
    expect(errorCode(await writer.request(COMPARE, { a: 'class-a', b: 'all' }))).toBe('FORBIDDEN');
    const reader = await keyWithScopes(t, ['SCORES_READ']);
    expect((await reader.request(GROUP, { g: 'class-a' })).errors).toBeUndefined();
    const other = t.admin.withKey(ext.otherKey);
    const g = (await other.request(GROUP, { g: 'class-a', latest: 1 })).data.group;
    expect(g).toMatchObject({ learnerCount: 1 });
    close(g.scoreDistribution, distribution(DECLINER));
    expect(g.droppedLearners).toHaveLength(1);
    expect(g.droppedLearners[0].learner.externalId).not.toBe(ext.decliner);
  });

  test('model audit: distributions per version and agreement with human labels (admin scope)', async () => {
    const prisma = t.app.services.prisma;
    // One utterance of the decliner re-scored by v2 and labelled by a rater: agreement is computed for it only.
    const decliner = await prisma.learner.findFirstOrThrow({ where: { externalId: ext.decliner } });
    const u = await prisma.utterance.findFirstOrThrow({ where: { learnerId: decliner.id }, orderBy: { createdAt: 'asc' } });
    const modelTake = take(u.createdAt.toISOString(), 7, 1, { think: 8, bear: 6 });
    const humanTake = take(u.createdAt.toISOString(), 9, 2, { think: 8, bear: 9, th: 1 });
    const write = (source: 'MODEL' | 'HUMAN', l: ReturnType<typeof labels>) => prisma.$transaction((tx) => writeAssessment(tx, {
      organizationId: u.organizationId, utteranceId: u.id, jobId: null, source, inferenceMs: null, rationale: null, labels: l,
      model: source === 'MODEL' ? { name: 'seed-model', version: 'v2', executionProvider: 'cpu' } : null, rater: source === 'HUMAN' ? 'r1' : null,
    } as never));
    const older = await write('HUMAN', labels({ ...humanTake, total: 1 }));
    await prisma.assessment.update({ where: { id: older }, data: { createdAt: new Date('2020-01-01T00:00:00Z') } });
    await write('MODEL', labels(modelTake));
    await write('HUMAN', labels(humanTake)); // the latest human labels count

    const res = await t.admin.request(AUDIT, {});
    expect(res.errors).toBeUndefined();
    const [v1, v2] = res.data.modelAudit;
    // v1: every take of this organisation (the decliner's first utterance still counts once for v1).
    const all = [...IMPROVER, ...DECLINER, ...OTHER];
    expect(v1).toMatchObject({ modelVersion: 'v1', utterances: all.length, agreement: { utterancesCompared: 1 } });
    close(v1.scoreDistribution, distribution(all));
    expect(v2).toMatchObject({ modelVersion: 'v2', utterances: 1 });
    close(v2.scoreDistribution, distribution([modelTake]));
    const m = labels(modelTake);
    const h = labels(humanTake);
    const wd = m.words.map((w, i) => Math.abs(w.accuracy - h.words[i]!.accuracy));
    const pd = m.words.flatMap((w, i) => w.phonemes.map((p, j) => Math.abs(p.accuracy - h.words[i]!.phonemes[j]!.accuracy)));
    close(v2.agreement, {
      utterancesCompared: 1,
      sentence: ASPECTS.map((aspect, i) => {
        const d = Math.abs(m.sentence[ASPECT_KEYS[i]!] - h.sentence[ASPECT_KEYS[i]!]);
        return { aspect, meanAbsoluteDifference: d, exactMatchShare: d === 0 ? 1 : 0 };
      }),
      wordAccuracyMae: mean(wd), wordExactMatchShare: wd.filter((d) => d === 0).length / wd.length, wordsCompared: wd.length,
      phonemeAccuracyMae: mean(pd), phonemesCompared: pd.length,
    });
    expect((await t.admin.request(AUDIT, { v: 'v2' })).data.modelAudit).toHaveLength(1);
    // The same definitions as Assessment.agreementWithHuman.
    const a = await t.admin.request(`query($id: ID!) { learner(id: $id) { utterances(first: 5) { edges { node { id latestAssessment {
      model { version } agreementWithHuman { wordAccuracyMae wordExactMatchShare phonemeAccuracyMae sentence { total } } } } } } } }`,
    { id: (await import('../../src/graphql/ids.js')).toGlobalId('Learner', decliner.id) });
    const node = a.data.learner.utterances.edges.map((e: any) => e.node).find((n: any) => fromGlobalId(n.id)!.id === u.id);
    close(node.latestAssessment.agreementWithHuman, {
      wordAccuracyMae: v2.agreement.wordAccuracyMae, wordExactMatchShare: v2.agreement.wordExactMatchShare,
      phonemeAccuracyMae: v2.agreement.phonemeAccuracyMae, sentence: { total: v2.agreement.sentence[4].meanAbsoluteDifference },
    });
    const reader = await keyWithScopes(t, ['SCORES_READ', 'ASSESS_WRITE']);
    expect(errorCode(await reader.request(AUDIT, {}))).toBe('FORBIDDEN');
    expect((await t.admin.withKey(ext.otherKey).request(AUDIT, {})).data.modelAudit.map((x: any) => x.utterances)).toEqual([DECLINER.length]);
  });
});

/**
 * Paging the ranked lists by `after`: on a seeded cohort larger than a page, with learners who never
 * practised (null last practice) and two who last practised at the same instant, pages of 7 read one
 * after another equal the whole list, in its order, on both databases.
 */
describe.each(DATABASES)('paging dropped and inactive learners on %s', (kind) => {
  let t: TestApp;
  const PAGES = `query($g: String!, $first: Int, $dropAfter: String, $idleAfter: String, $since: DateTime, $days: Int = 14) { group(externalId: $g) {
    droppedLearners(latest: 1, minDrop: -100, since: $since, first: $first, after: $dropAfter) { learner { externalId } drop cursor }
    droppedLearnerCount(latest: 1, minDrop: -100, since: $since)
    inactiveLearners(days: $days, first: $first, after: $idleAfter) { learner { externalId } lastPracticeAt cursor }
    inactiveLearnerCount(days: $days) } }`;

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    const prisma = t.app.services.prisma;
    const org = (await prisma.organization.findFirstOrThrow()).id;
    await writeSeed(prisma, { learners: 40, utterances: 600, groups: 1, seed: 5, months: 3, end: new Date('2026-06-01T00:00:00Z'), organizationId: org });
    for (let i = 0; i < 3; i++) await prisma.learner.create({ data: { organizationId: org, externalId: `never-${i}`, groups: ['group-001'] } });
    for (const externalId of ['tied-a', 'tied-b']) {
      const l = await prisma.learner.create({ data: { organizationId: org, externalId, groups: ['group-001'] } });
      const u = await seedUtterance(prisma, org, 'We call it bear');
      await prisma.utterance.update({ where: { id: u.id }, data: { learnerId: l.id, createdAt: new Date('2026-05-01T12:00:00.000Z') } });
    }
  }, 120_000);
  afterAll(() => t?.dispose());

  test('pages of 7 by cursor equal the whole list, ties and never-practised learners included', async () => {
    const whole = (await t.admin.request(PAGES, { g: 'group-001', first: 100 })).data.group;
    expect(whole.inactiveLearners).toHaveLength(whole.inactiveLearnerCount);
    expect(whole.inactiveLearnerCount).toBeGreaterThan(40);
    expect(whole.droppedLearners).toHaveLength(whole.droppedLearnerCount);
    expect(whole.droppedLearnerCount).toBeGreaterThan(14);
    expect(whole.inactiveLearners.slice(0, 3).map((x: any) => x.lastPracticeAt)).toEqual([null, null, null]);
    const drops = whole.droppedLearners.map((x: any) => x.drop);
    expect(new Set(drops).size).toBeLessThan(drops.length); // ties on the drop: the id orders them

    const walk = async (field: 'droppedLearners' | 'inactiveLearners', cursorVar: 'dropAfter' | 'idleAfter', extra: Record<string, unknown> = {}) => {
      const pages: any[] = [];
      let after: string | undefined;
      for (;;) {
        const page = (await t.admin.request(PAGES, { g: 'group-001', first: 7, [cursorVar]: after, ...extra })).data.group[field];
        if (page.length === 0) return pages;
        expect(page.length).toBeLessThanOrEqual(7);
        pages.push(...page);
        after = page.at(-1).cursor;
      }
    };
    expect(await walk('inactiveLearners', 'idleAfter')).toEqual(whole.inactiveLearners);
    expect(await walk('droppedLearners', 'dropAfter')).toEqual(whole.droppedLearners);
    // With `since`, the means come from a window's assessments (averaged again for every page).
    const since = '2026-04-01T00:00:00Z';
    const windowed = (await t.admin.request(PAGES, { g: 'group-001', first: 100, since })).data.group;
    expect(windowed.droppedLearners.length).toBeGreaterThan(7);
    expect(windowed.droppedLearners).not.toEqual(whole.droppedLearners);
    expect(await walk('droppedLearners', 'dropAfter', { since })).toEqual(windowed.droppedLearners);
    const tied = whole.inactiveLearners.filter((x: any) => x.learner.externalId.startsWith('tied-'));
    expect(tied.map((x: any) => x.lastPracticeAt)).toEqual(['2026-05-01T12:00:00.000Z', '2026-05-01T12:00:00.000Z']);
  });

  test("group progress: the group's utterances as one weekly series, with how many learners practised, recomputed from the rows", async () => {
    const prisma = t.app.services.prisma;
    const Q = `query($g: String!) { group(externalId: $g) { learnerCount progress(bucket: WEEK, lastBuckets: 400) {
      bucket timeZone utterances aspects { aspect first latest best mean series { start count learners mean median p25 p75 } } } } }`;
    const res = await t.admin.request(Q, { g: 'group-001' });
    expect(res.errors).toBeUndefined();
    const p = res.data.group.progress;
    // Every utterance of the group's learners, by its latest MODEL assessment, READ_WRONG_TEXT left out.
    const utterances = await prisma.utterance.findMany({
      where: { learner: { groups: { has: 'group-001' } } },
      include: { assessments: { where: { source: 'MODEL' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 1 } },
    });
    const counted = utterances.filter((u) => u.assessments[0] && !u.assessments[0].flags.includes('READ_WRONG_TEXT'));
    expect(counted.length).toBeGreaterThan(500);
    expect(p).toMatchObject({ bucket: 'WEEK', timeZone: 'UTC', utterances: counted.length });
    const total = p.aspects.find((a: any) => a.aspect === 'TOTAL');
    const byWeek = new Map<string, { scores: number[]; learners: Set<string> }>();
    for (const u of counted) {
      const week = weekStart(u.createdAt.toISOString());
      const b = byWeek.get(week) ?? { scores: [], learners: new Set() };
      b.scores.push(u.assessments[0]!.total);
      b.learners.add(u.learnerId);
      byWeek.set(week, b);
    }
    const want = [...byWeek].sort(([a], [b]) => a.localeCompare(b)).map(([start, b]) => ({
      start, count: b.scores.length, learners: b.learners.size, mean: mean(b.scores),
      median: percentile(b.scores, 0.5), p25: percentile(b.scores, 0.25), p75: percentile(b.scores, 0.75),
    }));
    close(total.series, want);
    expect(Math.max(...total.series.map((b: any) => b.learners))).toBeGreaterThan(1);
    const ordered = [...counted].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    close({ first: total.first, latest: total.latest, best: total.best, mean: total.mean }, {
      first: ordered[0]!.assessments[0]!.total, latest: ordered.at(-1)!.assessments[0]!.total,
      best: Math.max(...counted.map((u) => u.assessments[0]!.total)), mean: mean(counted.map((u) => u.assessments[0]!.total)),
    });
    // A learner's own progress counts one learner in each bucket.
    const one = counted[0]!.learnerId;
    const own = await t.admin.request(`query($id: ID!) { node(id: $id) { ... on Learner { progress { aspects { series { learners } } } } } }`, { id: toGlobalId('Learner', one) });
    expect(new Set(own.data.node.progress.aspects.flatMap((a: any) => a.series.map((b: any) => b.learners)))).toEqual(new Set([1]));
    // The arguments are checked as for a learner's progress.
    const bad = await t.admin.request(`{ group(externalId: "group-001") { progress(timeZone: "+02:00") { bucket } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test("a cursor that is not this list's is BAD_USER_INPUT", async () => {
    const whole = (await t.admin.request(PAGES, { g: 'group-001', first: 2 })).data.group;
    const idle = whole.inactiveLearners[0].cursor;
    const drop = whole.droppedLearners[0].cursor;
    // A cursor of the same list made with other arguments is not this list's either.
    const otherArgs = [{ idleAfter: idle, days: 30 }, { dropAfter: drop, since: '2026-04-01T00:00:00Z' }];
    for (const variables of [{ dropAfter: idle }, { idleAfter: drop }, { idleAfter: 'not-a-cursor' }, { dropAfter: Buffer.from('dropped:["x","y"]').toString('base64url') }, ...otherArgs]) {
      const res = await t.admin.request(PAGES, { g: 'group-001', ...variables });
      expect([variables, res.errors?.[0]?.extensions?.code]).toEqual([variables, 'BAD_USER_INPUT']);
    }
  });
});
