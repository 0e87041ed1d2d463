/**
 * `npm run seed` as a real child process, on a temporary PGlite folder and on a PostgreSQL schema:
 * the same seed gives the same history (checksums computed here, in SQL, over every table it
 * writes), and the history has the promised shape.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { openDatabase, type Database } from '../../src/db/client.js';
import { stripStress } from '../../src/text/phones.js';
import { dropTestSchema, postgresUnavailable, TEST_POSTGRES_URL } from '../support/db.js';

// --end given: the same rows whatever the day (the default end is today).
const ARGS = ['--end', '2026-06-01', '--learners', '20', '--utterances', '400', '--groups', '4', '--seed', '7'];

function runSeed(env: Record<string, string | undefined>, args = ARGS): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/seed.ts', ...args], {
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** Aggregate fingerprints of everything the seed writes (organisation ids left out: they differ per database). */
async function checksums(db: Database) {
  return db.executor.withConnection(async (c) => {
    const one = async (sql: string) => Object.values((await c.query<Record<string, unknown>>(sql))[0]!)[0];
    return {
      learners: await one(`SELECT md5(string_agg(concat_ws('|', id, "externalId", "displayName", array_to_string(groups, ','), "createdAt"), ';' ORDER BY id)) FROM "Learner"`),
      utterances: await one(`SELECT md5(string_agg(concat_ws('|', id, "learnerId", "referenceText", "referenceWords"::text, "durationMs", "createdAt"), ';' ORDER BY id)) FROM "Utterance"`),
      jobs: await one(`SELECT md5(string_agg(concat_ws('|', id, "utteranceId", status, "requestedModelVersion", "createdAt", "finishedAt"), ';' ORDER BY id)) FROM "Job"`),
      assessments: await one(`SELECT md5(string_agg(concat_ws('|', id, "utteranceId", "jobId", source, "modelVersion", accuracy, fluency, prosody, completeness, total, rater, "createdAt"), ';' ORDER BY id)) FROM "Assessment"`),
      words: await one(`SELECT md5(string_agg(concat_ws('|', id, "assessmentId", index, text, accuracy, stress, total), ';' ORDER BY id)) FROM "WordAssessment"`),
      phonemes: await one(`SELECT md5(string_agg(concat_ws('|', id, "wordAssessmentId", index, symbol, accuracy), ';' ORDER BY id)) FROM "PhonemeAssessment"`),
      rationales: await one(`SELECT md5(string_agg(concat_ws('|', id, "assessmentId", text, array_to_string(flags, ','), "wordPrecision", "phonemeRecall"), ';' ORDER BY id)) FROM "Rationale"`),
    };
  });
}

interface Target {
  env: Record<string, string>;
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'speechmark-seed-'));
  return {
    env: { SPEECHMARK_DATA_DIR: dir },
    open: () => openDatabase({ databaseUrl: undefined, dataDir: dir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

function postgresTarget(): Target {
  const schema = `seed_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  const u = new URL(TEST_POSTGRES_URL);
  u.searchParams.set('schema', schema);
  const url = u.toString();
  return {
    env: { DATABASE_URL: url },
    open: () => openDatabase({ databaseUrl: url, dataDir: os.tmpdir() }),
    cleanup: () => dropTestSchema(schema),
  };
}

const postgres = (await postgresUnavailable()) === null;
if (!postgres && process.env.CI) throw new Error(`CI needs PostgreSQL at ${TEST_POSTGRES_URL}`);

describe('npm run seed', () => {
  const targets: Target[] = [];
  afterAll(async () => {
    for (const t of targets) await t.cleanup();
  });

  test('same seed, same history, on PGlite twice' + (postgres ? ' and on PostgreSQL' : ''), async () => {
    const runs = [await pgliteTarget(), await pgliteTarget(), ...(postgres ? [postgresTarget()] : [])];
    targets.push(...runs);
    const sums = [];
    for (const t of runs) {
      const { code, out } = await runSeed(t.env);
      expect({ code, out }).toEqual({ code: 0, out: expect.stringMatching(/seeded 20 learners, 400 utterances, \d+ assessments \(\d+ human\), \d+ word rows, \d+ phoneme rows in [\d.]+ s/) });
      const db = await t.open();
      try {
        sums.push(await checksums(db));
      } finally {
        await db.close();
      }
    }
    for (const s of sums.slice(1)) expect(s).toEqual(sums[0]);
    // A different seed is a different history.
    const other = await pgliteTarget();
    targets.push(other);
    expect((await runSeed(other.env, [...ARGS.slice(0, -1), '8'])).code).toBe(0);
    const db = await other.open();
    try {
      const s = await checksums(db);
      expect(s.utterances).not.toEqual(sums[0]!.utterances);
      expect(s.phonemes).not.toEqual(sums[0]!.phonemes);
    } finally {
      await db.close();
    }
  }, 360_000); // three seeding processes (each starts PGlite and migrates); a hang guard, not a speed test

  test('the history has learners in groups, trajectories, sound weaknesses, versions, re-assessments and human labels', async () => {
    const t = await pgliteTarget();
    targets.push(t);
    expect((await runSeed(t.env, ['--learners', '30', '--utterances', '1500', '--groups', '5', '--seed', '3'])).code).toBe(0);
    // Seeding the same organisation again is refused rather than doubled.
    const again = await runSeed(t.env, ['--learners', '30', '--utterances', '1500', '--groups', '5', '--seed', '3']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/already has seeded learners/);
    const db = await t.open();
    try {
      const p = db.prisma;
      expect(await p.learner.count()).toBe(30);
      expect(await p.utterance.count()).toBe(1500);
      // Without --end the history runs up to today (00:00 UTC), so recent practice has something to find.
      const { _max } = await p.utterance.aggregate({ _max: { createdAt: true } });
      const today = Date.parse(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
      expect(_max.createdAt!.getTime()).toBeLessThanOrEqual(today);
      expect(_max.createdAt!.getTime()).toBeGreaterThan(today - 7 * 24 * 3600_000);
      const learners = await p.learner.findMany({ orderBy: { externalId: 'asc' } });
      expect(new Set(learners.flatMap((l) => l.groups))).toEqual(new Set(['group-001', 'group-002', 'group-003', 'group-004', 'group-005']));
      for (const l of learners) expect(l.groups.length).toBeGreaterThanOrEqual(1);
      // Each utterance keeps its learner's groups as a submission does (the xAPI grouping's snapshot).
      const utterances = await p.utterance.findMany({ select: { learnerId: true, learnerGroups: true } });
      const groupsOf = new Map(learners.map((l) => [l.id, l.groups]));
      expect(utterances.filter((u) => JSON.stringify(u.learnerGroups) !== JSON.stringify(groupsOf.get(u.learnerId)))).toEqual([]);
      // Every utterance has a MODEL assessment with words, phonemes and a rationale; placeholder audio.
      const modelAssessed = await p.utterance.count({ where: { assessments: { some: { source: 'MODEL' } } } });
      expect(modelAssessed).toBe(1500);
      expect(await p.utterance.count({ where: { audioFormat: 'seed-placeholder' } })).toBe(1500);
      const model = await p.assessment.count({ where: { source: 'MODEL' } });
      expect(await p.rationale.count()).toBe(model);
      expect(model).toBeGreaterThan(1500); // some re-assessments
      expect(await p.assessment.count({ where: { source: 'HUMAN' } })).toBeGreaterThan(0);
      const versions = await p.assessment.groupBy({ by: ['modelVersion'], where: { source: 'MODEL' }, _count: true });
      expect(versions.length).toBe(3);
      // Word and phoneme rows match the reference words' canonical phones.
      const u = await p.utterance.findFirstOrThrow({ include: { assessments: { where: { source: 'MODEL' }, include: { words: { include: { phonemes: true } } } } } });
      const ref = u.referenceWords as { text: string; phones: string[] }[];
      const words = [...u.assessments[0]!.words].sort((a, b) => a.index - b.index);
      expect(words.map((w) => w.text)).toEqual(ref.map((w) => w.text));
      expect(words.map((w) => [...w.phonemes].sort((a, b) => a.index - b.index).map((x) => x.symbol))).toEqual(ref.map((w) => w.phones));

      // Trajectories: improving learners' later half scores higher than their earlier half, declining lower.
      const halves = await db.executor.withConnection((c) =>
        c.query<{ displayName: string; early: number; late: number }>(`
          WITH latest AS (
            SELECT DISTINCT ON (u.id) u."learnerId", u."createdAt", a.total
            FROM "Utterance" u JOIN "Assessment" a ON a."utteranceId" = u.id AND a.source = 'MODEL'
            ORDER BY u.id, a."createdAt" DESC
          ), ranked AS (
            SELECT "learnerId", total, ntile(2) OVER (PARTITION BY "learnerId" ORDER BY "createdAt") AS half FROM latest
          )
          SELECT l."displayName", avg(total) FILTER (WHERE half = 1)::float AS early, avg(total) FILTER (WHERE half = 2)::float AS late
          FROM ranked JOIN "Learner" l ON l.id = ranked."learnerId"
          GROUP BY l."displayName" HAVING count(*) >= 10`),
      );
      const by = (kind: string) => halves.filter((h) => h.displayName.endsWith(`(${kind})`));
      expect(by('improving').length).toBeGreaterThan(2);
      expect(by('declining').length).toBeGreaterThan(0);
      for (const h of by('improving')) expect(h.late).toBeGreaterThan(h.early);
      for (const h of by('declining')) expect(h.late).toBeLessThan(h.early);

      // Sound weaknesses: in every group, some phoneme scores far below the group's other phonemes.
      const phonemes = await db.executor.withConnection((c) =>
        c.query<{ grp: string; symbol: string; mean: number; n: number }>(`
          SELECT g AS grp, p.symbol, avg(p.accuracy)::float AS mean, count(*)::int AS n
          FROM "PhonemeAssessment" p JOIN "Assessment" a ON a.id = p."assessmentId" AND a.source = 'MODEL'
          JOIN "Utterance" u ON u.id = a."utteranceId" JOIN "Learner" l ON l.id = u."learnerId", unnest(l.groups[1:1]) AS g
          GROUP BY g, p.symbol`),
      );
      for (const grp of ['group-001', 'group-002', 'group-003', 'group-004', 'group-005']) {
        const rows = new Map<string, { sum: number; n: number }>();
        for (const r of phonemes.filter((x) => x.grp === grp)) {
          const s = stripStress(r.symbol);
          const acc = rows.get(s) ?? { sum: 0, n: 0 };
          rows.set(s, { sum: acc.sum + r.mean * r.n, n: acc.n + r.n });
        }
        const means = [...rows.values()].filter((r) => r.n >= 30).map((r) => r.sum / r.n).sort((a, b) => a - b);
        const median = means[Math.floor(means.length / 2)]!;
        expect(means[0]!).toBeLessThan(median - 0.4);
      }
    } finally {
      await db.close();
    }
  });
});
