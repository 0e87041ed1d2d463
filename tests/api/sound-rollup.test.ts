/**
 * The learner rollups (src/analytics/rollup.ts: sounds, example words, score histograms) against a recomputation from the raw rows, done here
 * in JavaScript from the stored assessments, words and phonemes: after submissions, a re-assessment
 * (and a late older one), human labels, READ_WRONG_TEXT assessments (which count nowhere), the
 * seeder, the migrations' backfill and an erasure. Then
 * the GraphQL answers from the rollups against the same fields read from the phoneme rows (a window
 * that holds everything takes the raw path).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestApp, testDatabases, type TestApp } from '../support/app.js';
import { close, labels, seedLearner, type Take } from '../support/history.js';
import { writeAssessment } from '../../src/assessment/persist.js';
import { writeSeed } from '../../src/seed/write.js';
import { toGlobalId } from '../../src/graphql/ids.js';
import { SLOPE_ORIGIN_EPOCH } from '../../src/analytics/rollup.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';

const DATABASES = await testDatabases();

const take = (at: string, th: number, r: number, extra: Partial<Take> = {}): Take => ({ at, total: 6, th, r, think: 7, bear: r < 1.5 ? 5 : 9, ...extra });
const A: Take[] = [take('2026-01-05T10:00:00Z', 0.5, 1, { superseded: 3 }), take('2026-01-12T10:00:00.123Z', 1, 2), take('2026-02-01T09:30:00Z', 2, 0.2)];
const B: Take[] = [take('2026-01-06T10:00:00Z', 2, 1.4), take('2026-01-20T10:00:00Z', 1.2, 1.6, { version: 'v2' })];

const ERASE = `mutation($id: ID!) { eraseLearner(id: $id) { utterances } }`;
const WEAK = `query($g: String!, $from: DateTime, $min: Int, $first: Int) { group(externalId: $g) {
  weakSounds(from: $from, minCount: $min, first: $first) { phoneme ipa count errors errorRate meanAccuracy slopePerWeek exampleWords } } }`;
const DISTRIBUTION = `query($g: String!, $from: DateTime) { group(externalId: $g) {
  scoreDistribution(from: $from) { aspect count mean p10 p25 median p75 p90 } } }`;
const PROFILE = `query($id: ID!, $from: DateTime) { learner(id: $id) {
  soundProfile(from: $from) { phoneme ipa count errors errorRate meanAccuracy slopePerWeek exampleWords } } }`;
const DROPPED = `query($g: String!, $since: DateTime) { group(externalId: $g) {
  droppedLearners(since: $since, latest: 1, minDrop: -100) { recentMean recentCount earlierMean earlierCount drop } } }`;
const LEARNER = `query($id: ID!, $from: DateTime) { learner(id: $id) {
  progress(from: $from) { bucket utterances aspects { aspect first latest best mean slopePerWeek series { start count mean p25 median p75 movingAverage } } }
  soundProfile(from: $from, first: 40) { phoneme ipa count errors errorRate meanAccuracy slopePerWeek exampleWords }
  wordProfile(from: $from) { word count meanAccuracy errors errorRate } } }`;

interface Sums { count: number; sumAccuracy: number; errors: number; sumX: number; sumXX: number; sumXY: number }

/** Per "learner phone" and "learner phone word", from the latest MODEL assessment of each utterance, in JavaScript. */
async function recomputed(prisma: PrismaClient, organizationId: string) {
  const assessments = await prisma.assessment.findMany({
    where: { organizationId, source: 'MODEL' },
    include: { utterance: true, words: { include: { phonemes: true } } },
  });
  const latest = new Map<string, (typeof assessments)[number]>();
  for (const a of assessments) {
    const seen = latest.get(a.utteranceId);
    const newer = !seen || a.createdAt > seen.createdAt || (+a.createdAt === +seen.createdAt && a.id > seen.id);
    if (newer) latest.set(a.utteranceId, a);
  }
  const sounds = new Map<string, Sums>();
  const words = new Map<string, number>();
  const scores = new Map<string, number>();
  for (const a of latest.values()) {
    if (a.flags.includes('READ_WRONG_TEXT')) continue; // not a reading of the reference: counts nowhere
    for (const [aspect, score] of [['ACCURACY', a.accuracy], ['FLUENCY', a.fluency], ['PROSODY', a.prosody], ['COMPLETENESS', a.completeness], ['TOTAL', a.total]]) {
      const key = `${a.utterance.learnerId} ${aspect} ${score}`;
      scores.set(key, (scores.get(key) ?? 0) + 1);
    }
    const x = a.utterance.createdAt.getTime() / 1000 - SLOPE_ORIGIN_EPOCH;
    for (const w of a.words) {
      for (const p of w.phonemes) {
        // The unstressed AH0 (/ə/) and ER0 (/ɚ/) are sounds of their own; other stress digits go.
        const phone = p.symbol === 'AH0' || p.symbol === 'ER0' ? p.symbol : p.symbol.replace(/[012]$/, '');
        const key = `${a.utterance.learnerId} ${phone}`;
        const s = sounds.get(key) ?? { count: 0, sumAccuracy: 0, errors: 0, sumX: 0, sumXX: 0, sumXY: 0 };
        const err = p.accuracy < 1.5 ? 1 : 0;
        sounds.set(key, {
          count: s.count + 1, sumAccuracy: s.sumAccuracy + p.accuracy, errors: s.errors + err,
          sumX: s.sumX + x, sumXX: s.sumXX + x * x, sumXY: s.sumXY + x * p.accuracy,
        });
        if (err) words.set(`${key} ${w.text.toUpperCase()}`, (words.get(`${key} ${w.text.toUpperCase()}`) ?? 0) + 1);
      }
    }
  }
  return { sounds, words, scores };
}

/** The rollup rows; rows a re-assessment brought back to zero are left in place and mean nothing. */
async function stored(prisma: PrismaClient, organizationId: string) {
  const sounds = new Map<string, Sums>();
  for (const r of await prisma.learnerSoundRollup.findMany({ where: { organizationId } })) {
    if (r.count === 0) continue;
    sounds.set(`${r.learnerId} ${r.phone}`, {
      count: r.count, sumAccuracy: Number(r.sumAccuracy), errors: r.errors, sumX: Number(r.sumX), sumXX: Number(r.sumXX), sumXY: Number(r.sumXY),
    });
  }
  const words = new Map<string, number>();
  for (const r of await prisma.learnerSoundWordRollup.findMany({ where: { organizationId } })) {
    if (r.errors !== 0) words.set(`${r.learnerId} ${r.phone} ${r.word}`, r.errors);
  }
  const scores = new Map<string, number>();
  for (const r of await prisma.learnerScoreRollup.findMany({ where: { organizationId } })) {
    if (r.count !== 0) scores.set(`${r.learnerId} ${r.aspect} ${r.score}`, r.count);
  }
  return { sounds, words, scores };
}

async function expectConsistent(prisma: PrismaClient, organizationId: string) {
  const want = await recomputed(prisma, organizationId);
  const got = await stored(prisma, organizationId);
  expect([...got.sounds.keys()].sort()).toEqual([...want.sounds.keys()].sort());
  for (const [key, w] of want.sounds) {
    const g = got.sounds.get(key)!;
    expect({ key, count: g.count, errors: g.errors }).toEqual({ key, count: w.count, errors: w.errors });
    for (const f of ['sumAccuracy', 'sumX', 'sumXX', 'sumXY'] as const) {
      expect(Math.abs(g[f] - w[f])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w[f])));
    }
  }
  expect(Object.fromEntries([...got.words].sort())).toEqual(Object.fromEntries([...want.words].sort()));
  expect(Object.fromEntries([...got.scores].sort())).toEqual(Object.fromEntries([...want.scores].sort()));
  return want;
}

describe.each(DATABASES)('learner rollups on %s', (kind) => {
  let t: TestApp;
  let prisma: PrismaClient;
  let org: string;
  const learners: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(kind, { inProcessWorker: false });
    prisma = t.app.services.prisma;
    org = (await prisma.organization.findFirstOrThrow()).id;
  });
  afterAll(() => t?.dispose());

  const write = (utteranceId: string, source: 'MODEL' | 'HUMAN', l: ReturnType<typeof labels>, createdAt?: Date, flags: 'READ_WRONG_TEXT'[] = []) =>
    prisma.$transaction((tx) => writeAssessment(tx, {
      organizationId: org, utteranceId, jobId: null, source, inferenceMs: null, rationale: null, labels: l, createdAt, flags,
      model: source === 'MODEL' ? { name: 'seed-model', version: 'v3', executionProvider: 'cpu' } : null, rater: source === 'HUMAN' ? 'r1' : null,
    }));

  test('after submissions (one superseded in place): the rollup equals the recomputation', async () => {
    learners.a = (await seedLearner(prisma, org, A, ['rollup'])).id;
    learners.b = (await seedLearner(prisma, org, B, ['rollup'])).id;
    const want = await expectConsistent(prisma, org);
    // The superseded assessment (TH 0, R 0) does not count: 3 TH of A, one error (0.5).
    expect(want.sounds.get(`${learners.a} TH`)).toMatchObject({ count: 3, errors: 2 });
  });

  test('a re-assessment replaces the utterance\'s contribution; a late older assessment changes nothing', async () => {
    const u = await prisma.utterance.findFirstOrThrow({ where: { learnerId: learners.a }, orderBy: { createdAt: 'desc' } });
    const before = await stored(prisma, org);
    await write(u.id, 'MODEL', labels(take(u.createdAt.toISOString(), 2, 2, { think: 10, bear: 10 })));
    const after = await expectConsistent(prisma, org);
    expect(after.sounds.get(`${learners.a} R`)!.errors).toBe(before.sounds.get(`${learners.a} R`)!.errors - 1);
    expect(after.sounds.get(`${learners.a} R`)!.count).toBe(before.sounds.get(`${learners.a} R`)!.count);
    const reassessed = await stored(prisma, org);
    // Older than the latest: not the latest, so not counted.
    await write(u.id, 'MODEL', labels(take(u.createdAt.toISOString(), 0, 0)), new Date('2020-01-01T00:00:00Z'));
    await expectConsistent(prisma, org);
    expect(await stored(prisma, org)).toEqual(reassessed);
  });

  test('human labels do not count', async () => {
    const u = await prisma.utterance.findFirstOrThrow({ where: { learnerId: learners.b }, orderBy: { createdAt: 'asc' } });
    const before = await stored(prisma, org);
    await write(u.id, 'HUMAN', labels(take(u.createdAt.toISOString(), 0, 0)));
    expect(await stored(prisma, org)).toEqual(before);
    await expectConsistent(prisma, org);
  });

  test('GraphQL: scoreDistribution, weakSounds and soundProfile from the rollups equal the same fields read from the phoneme rows', async () => {
    const all = '1970-01-01T00:00:00Z'; // a window: the raw path, over the same rows
    for (const vars of [{ g: 'rollup' }, { g: 'rollup', min: 4, first: 3 }, { g: 'rollup', min: 0, first: 40 }]) {
      const fast = await t.admin.request(WEAK, vars);
      const raw = await t.admin.request(WEAK, { ...vars, from: all });
      expect(fast.errors).toBeUndefined();
      expect(fast.data.group.weakSounds.length).toBeGreaterThan(0);
      expectSameStats(fast.data.group.weakSounds, raw.data.group.weakSounds);
    }
    const fast = await t.admin.request(DISTRIBUTION, { g: 'rollup' });
    const raw = await t.admin.request(DISTRIBUTION, { g: 'rollup', from: all });
    expect(fast.errors).toBeUndefined();
    expect(fast.data.group.scoreDistribution[0].count).toBe(A.length + B.length);
    expect(fast.data.group.scoreDistribution).toEqual(raw.data.group.scoreDistribution);
    for (const id of [learners.a!, learners.b!]) {
      const fast = await t.admin.request(PROFILE, { id: toGlobalId('Learner', id) });
      const raw = await t.admin.request(PROFILE, { id: toGlobalId('Learner', id), from: all });
      expect(fast.errors).toBeUndefined();
      expectSameStats(fast.data.learner.soundProfile, raw.data.learner.soundProfile);
    }
  });

  test('READ_WRONG_TEXT counts nowhere: a learner with such a recording has the progress, profiles and cohort figures of the learner without it', async () => {
    const extra = take('2026-02-08T10:00:00Z', 0, 0, { think: 0, bear: 0 });
    learners.plain = (await seedLearner(prisma, org, A, ['plain'])).id;
    learners.wrong = (await seedLearner(prisma, org, [...A, extra], ['wrong'])).id;
    const u = await prisma.utterance.findFirstOrThrow({ where: { learnerId: learners.wrong }, orderBy: { createdAt: 'desc' } });
    const flaggedAt = new Date('2026-02-08T11:00:00Z');
    // Re-assessed as another sentence (replacing an ordinary assessment takes that one back out).
    await write(u.id, 'MODEL', { ...labels(extra), sentence: { ...labels(extra).sentence, completeness: 0, total: 0 } }, flaggedAt, ['READ_WRONG_TEXT']);
    await expectConsistent(prisma, org);
    const all = '1970-01-01T00:00:00Z'; // with a window: the raw path; without: the rollups
    const same = async () => {
      for (const from of [undefined, all]) {
        const [plain, wrong] = await Promise.all([learners.plain!, learners.wrong!].map((id) => t.admin.request(LEARNER, { id: toGlobalId('Learner', id), from })));
        expect(wrong.errors).toBeUndefined();
        expect(plain.data.learner.progress.utterances).toBe(A.length);
        expect(wrong.data.learner.soundProfile.length).toBeGreaterThan(0);
        close(wrong.data, plain.data); // equal, numbers within float noise (the slopes' sums differ in order)
        const [gp, gw] = await Promise.all(['plain', 'wrong'].map((g) => t.admin.request(DISTRIBUTION, { g, from })));
        expect(gw.data.group.scoreDistribution[0].count).toBe(A.length);
        expect(gw.data.group.scoreDistribution).toEqual(gp.data.group.scoreDistribution);
        const [wp, ww] = await Promise.all(['plain', 'wrong'].map((g) => t.admin.request(WEAK, { g, from, min: 0, first: 40 })));
        close(ww.data.group.weakSounds, wp.data.group.weakSounds);
        const [dp, dw] = await Promise.all(['plain', 'wrong'].map((g) => t.admin.request(DROPPED, { g, since: from })));
        expect(dw.data.group.droppedLearners).toHaveLength(1);
        expect(dw.data.group.droppedLearners).toEqual(dp.data.group.droppedLearners);
      }
    };
    await same();
    // Re-assessed as a reading after all: it counts (the flagged one is taken out by adding nothing back).
    await write(u.id, 'MODEL', labels(extra), new Date(flaggedAt.getTime() + 60_000));
    await expectConsistent(prisma, org);
    const counted = (await t.admin.request(LEARNER, { id: toGlobalId('Learner', learners.wrong!) })).data.learner;
    expect(counted.progress.utterances).toBe(A.length + 1);
    expect(counted.soundProfile.find((s: any) => s.phoneme === 'TH').count).toBe(A.length + 1);
    // And flagged once more: back to the learner without it.
    await write(u.id, 'MODEL', labels(extra), new Date(flaggedAt.getTime() + 120_000), ['READ_WRONG_TEXT']);
    await expectConsistent(prisma, org);
    await same();
  });

  test('the seeder leaves the rollups consistent', async () => {
    await writeSeed(prisma, {
      organizationId: org, learners: 12, utterances: 150, groups: 2, seed: 7, months: 2, end: new Date('2026-03-01T00:00:00Z'), batchSize: 40,
    });
    const want = await expectConsistent(prisma, org);
    expect(want.sounds.size).toBeGreaterThan(12 * 10);
    // Percentiles of a seeded group (interpolated between ranks) from the histograms and from the rows.
    const fast = await t.admin.request(DISTRIBUTION, { g: 'group-001' });
    const raw = await t.admin.request(DISTRIBUTION, { g: 'group-001', from: '1970-01-01T00:00:00Z' });
    expect(fast.data.group.scoreDistribution[0].count).toBeGreaterThan(50);
    expect(fast.data.group.scoreDistribution).toEqual(raw.data.group.scoreDistribution);
    // The schwa is its own sound, named /ə/, beside the stressed /ʌ/, from the rollups and from the rows alike.
    const weak = async (from?: string) =>
      (await t.admin.request(WEAK, { g: 'group-001', from, min: 1, first: 40 })).data.group.weakSounds as { phoneme: string; ipa: string }[];
    const named = (sounds: { phoneme: string; ipa: string }[]) => Object.fromEntries(sounds.map((x) => [x.phoneme, x.ipa]));
    expect(named(await weak())).toMatchObject({ AH0: 'ə', AH: 'ʌ' });
    close(await weak(), await weak('1970-01-01T00:00:00Z'));
  });

  test('the seeder marks superseded assessments as the write path and the migration\'s backfill do', async () => {
    const marks = async () => (await prisma.assessment.findMany({ where: { organizationId: org }, select: { id: true, supersededAt: true }, orderBy: { id: 'asc' } }))
      .map((a) => [a.id, a.supersededAt?.toISOString() ?? null]);
    const seeded = await marks();
    // Re-assessed utterances are there: some rows are superseded, and each utterance keeps one current model assessment.
    expect(seeded.filter(([, at]) => at !== null).length).toBeGreaterThan(0);
    const current = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM "Utterance" u WHERE u."organizationId" = ${org}::uuid
         AND (SELECT count(*) FROM "Assessment" a WHERE a."utteranceId" = u.id AND a."source" = 'MODEL' AND a."supersededAt" IS NULL) <> 1
         AND EXISTS (SELECT 1 FROM "Assessment" a WHERE a."utteranceId" = u.id AND a."source" = 'MODEL')`;
    expect(current[0]!.n).toBe(0);
    const sql = await readFile(path.join(process.cwd(), 'prisma/migrations/20261204190000_assessment_superseded/migration.sql'), 'utf8');
    const update = sql.slice(sql.indexOf('UPDATE')).trim().replace(/;$/, '');
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE "Assessment" SET "supersededAt" = NULL WHERE "organizationId" = ${org}::uuid`;
      await tx.$executeRawUnsafe(update);
    });
    expect(await marks()).toEqual(seeded);
  });

  test('the migration\'s backfill rebuilds the same rollups', async () => {
    const before = await stored(prisma, org);
    const backfill: string[] = [];
    for (const name of ['20261130053418_sound_rollups', '20261130060507_score_rollups']) {
      const sql = await readFile(path.join(process.cwd(), 'prisma/migrations', name, 'migration.sql'), 'utf8');
      backfill.push(...sql.slice(sql.indexOf('-- Backfill')).split(/;\s*\n/).map((s) => s.trim()).filter((s) => /\S/.test(s.replace(/^--.*$/gm, ''))));
    }
    expect(backfill).toHaveLength(5);
    // The backfills count READ_WRONG_TEXT assessments as the rollups did then; the later migration takes them back out.
    const skip = await readFile(path.join(process.cwd(), 'prisma/migrations/20261130122500_rollups_skip_wrong_text/migration.sql'), 'utf8');
    backfill.push(...skip.split(/;\s*\n/).map((s) => s.trim()).filter((s) => /\S/.test(s.replace(/^--.*$/gm, ''))));
    // They also merged AH0 into AH and ER0 into ER, which a later migration splits.
    const schwa = await readFile(path.join(process.cwd(), 'prisma/migrations/20261201120000_schwa_sounds/migration.sql'), 'utf8');
    backfill.push(...schwa.split(/;\s*\n/).map((s) => s.trim()).filter((s) => /\S/.test(s.replace(/^--.*$/gm, ''))));
    expect(await prisma.assessment.count({ where: { organizationId: org, flags: { has: 'READ_WRONG_TEXT' } } })).toBeGreaterThan(0);
    expect([...before.sounds.keys()].filter((k) => k.endsWith(' AH0')).length).toBeGreaterThan(0);
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`DELETE FROM "LearnerSoundRollup"`;
      await tx.$executeRaw`DELETE FROM "LearnerSoundWordRollup"`;
      await tx.$executeRaw`DELETE FROM "LearnerScoreRollup"`;
      for (const statement of backfill) await tx.$executeRawUnsafe(statement);
    });
    await expectConsistent(prisma, org);
    const after = await stored(prisma, org);
    expect([...after.sounds.keys()].sort()).toEqual([...before.sounds.keys()].sort());
    expect(Object.fromEntries(after.words)).toEqual(Object.fromEntries(before.words));
    expect(Object.fromEntries(after.scores)).toEqual(Object.fromEntries(before.scores));
  });

  test('erasure removes the learner\'s rollup rows and leaves the others consistent', async () => {
    const res = await t.admin.request(ERASE, { id: toGlobalId('Learner', learners.a!) });
    expect(res.errors).toBeUndefined();
    expect(await prisma.learnerSoundRollup.count({ where: { learnerId: learners.a } })).toBe(0);
    expect(await prisma.learnerSoundWordRollup.count({ where: { learnerId: learners.a } })).toBe(0);
    expect(await prisma.learnerScoreRollup.count({ where: { learnerId: learners.a } })).toBe(0);
    expect(await prisma.learnerSoundRollup.count({ where: { learnerId: learners.b } })).toBeGreaterThan(0);
    await expectConsistent(prisma, org);
  });
});

/** Same phonemes in the same order, same counts and example words, numbers within float noise. */
function expectSameStats(fast: any[], raw: any[]) {
  expect(fast.map((s) => [s.phoneme, s.ipa, s.count, s.errors, s.exampleWords])).toEqual(raw.map((s) => [s.phoneme, s.ipa, s.count, s.errors, s.exampleWords]));
  fast.forEach((s, i) => {
    for (const f of ['errorRate', 'meanAccuracy', 'slopePerWeek']) {
      const [a, b] = [s[f], raw[i][f]];
      if (b === null) expect(a).toBeNull();
      else expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
    }
  });
}
