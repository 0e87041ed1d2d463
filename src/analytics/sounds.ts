/**
 * Sound and word profiles (Learner.soundProfile, wordProfile, soundChanges; LearnerGroup.weakSounds, weakWords, soundChanges)
 * from the stored phoneme and word rows of the latest model assessment of each utterance. One
 * statement each, for any number of learners of one request (partitioned by learner), aggregated in
 * SQL (GROUP BY, FILTER, regr_slope, ROW_NUMBER for the per-learner bound).
 */
import { shiftWithin } from '../instants.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { WEEK_SECONDS } from './rollup.js';
import { bound, ipaOf, latestModelAssessments, PHONEME_ERROR_BELOW, soundKey, slopePerWeek, submittedIn, WORD_ERROR_BELOW, type Window } from './common.js';
import { badInput } from '../errors.js';

/** Every sound a profile can hold: the 39 ARPAbet phones, and AH0 and ER0 kept apart (common.ts soundKey). */
export const MAX_SOUNDS = 41;
export const MAX_WORDS = 100;
const EXAMPLE_WORDS = 3;
/** A sound IMPROVED or WORSENED when its mean accuracy moved by at least this much. */
export const CHANGE_THRESHOLD = 0.1;

export interface SoundArgs extends Window {
  modelVersion?: string | null;
  first?: number | null;
  minCount?: number | null;
}

interface SoundRow {
  key: string;
  phone: string;
  n: number;
  mean: number;
  errors: number;
  error_rate: number;
  slope: number | null;
  examples: string[];
}

/** Sounds (common.ts soundKey: stress stripped, but AH0 and ER0 kept apart) of the latest assessments whose utterances match `utterances`, with word and time. */
function phones(organizationId: string, utterances: Prisma.Sql, modelVersion: string | null | undefined, key: Prisma.Sql) {
  return Prisma.sql`latest AS (${latestModelAssessments({ organizationId, utterances, modelVersion })}),
    ph AS (
      SELECT ${key} AS key, ${soundKey(Prisma.sql`p.symbol`)} AS phone, p.accuracy, upper(w.text) AS word, l.at
      FROM latest l
      -- Assessment → its words → their phonemes, each step on an index keyed by the step before:
      -- joining phonemes to words by the word's id made the planner hash all of WordAssessment.
      JOIN "WordAssessment" w ON w."assessmentId" = l.id AND w."organizationId" = ${organizationId}::uuid
      JOIN "PhonemeAssessment" p ON p."wordAssessmentId" = w.id)`;
}

/**
 * Which learners a sound statistic covers and what it is per: `where(column)` conditions (starting
 * with AND) on a learner id column; `key(alias)` the key of a row of `alias` (the learner, for
 * several learners in one statement; a constant for a group).
 */
export interface SoundScope {
  where: (learnerId: Prisma.Sql) => Prisma.Sql;
  key: (alias: string) => Prisma.Sql;
}

export const learnersScope = (learnerIds: string[]): SoundScope => ({
  where: (col) => Prisma.sql`AND ${col} = ANY(${learnerIds}::uuid[])`,
  key: (alias) => Prisma.raw(`${alias}."learnerId"::text`),
});

/**
 * The rollups (./rollup.ts) sum the latest model assessment of every utterance: they answer only
 * without a submission window and without a model version. With either, the phoneme rows are read
 * (the same numbers, from the same rows, just more of them).
 */
export const rollupAnswers = (args: SoundArgs) => args.from == null && args.to == null && args.modelVersion == null;

/** Per phoneme, highest error rate first, at most `first` per key (`fallback` when omitted). */
export async function soundStats(prisma: PrismaClient, organizationId: string, scope: SoundScope, args: SoundArgs, fallback: number) {
  const first = bound('first', args.first, fallback, MAX_SOUNDS);
  const minCount = bound('minCount', args.minCount, 1, 1_000_000);
  const rows = rollupAnswers(args)
    ? await prisma.$queryRaw<SoundRow[]>(rollupSoundSql(organizationId, scope, first, minCount))
    : await prisma.$queryRaw<SoundRow[]>(phonemeSoundSql(organizationId, scope, args, first, minCount));
  return rows.map((r) => ({
    key: r.key,
    phoneme: r.phone, ipa: ipaOf(r.phone), count: Number(r.n), meanAccuracy: r.mean, errors: Number(r.errors),
    errorRate: r.error_rate, slopePerWeek: r.slope, exampleWords: r.examples,
  }));
}

/** From the phoneme rows of the latest assessments (of the version, in the window). */
function phonemeSoundSql(organizationId: string, scope: SoundScope, args: SoundArgs, first: number, minCount: number) {
  const utterances = Prisma.sql`${scope.where(Prisma.sql`u."learnerId"`)} ${submittedIn(args)}`;
  return Prisma.sql`WITH ${phones(organizationId, utterances, args.modelVersion, scope.key('l'))},
    words AS (
      SELECT key, phone, word, COUNT(*) FILTER (WHERE accuracy < ${PHONEME_ERROR_BELOW}::float8) AS errs FROM ph GROUP BY key, phone, word),
    examples AS (
      SELECT key, phone, (array_agg(word ORDER BY errs DESC, word) FILTER (WHERE errs > 0))[1:${EXAMPLE_WORDS}::int] AS words
      FROM words GROUP BY key, phone),
    stats AS (
      SELECT key, phone, COUNT(*)::int AS n, AVG(accuracy)::float8 AS mean,
        COUNT(*) FILTER (WHERE accuracy < ${PHONEME_ERROR_BELOW}::float8)::int AS errors,
        ${slopePerWeek(Prisma.sql`accuracy`, Prisma.sql`at`)} AS slope
      FROM ph GROUP BY key, phone HAVING COUNT(*) >= ${minCount}::int),
    ranked AS (
      SELECT s.key, s.phone, s.n, s.mean, s.errors, s.errors::float8 / s.n AS error_rate, s.slope,
        COALESCE(e.words, ARRAY[]::text[]) AS examples,
        ROW_NUMBER() OVER (PARTITION BY s.key ORDER BY s.errors::float8 / s.n DESC, s.errors DESC, s.phone) AS rk
      FROM stats s LEFT JOIN examples e ON e.key = s.key AND e.phone = s.phone)
    SELECT * FROM ranked WHERE rk <= ${first}::int ORDER BY key, rk`;
}

/**
 * From the rollups: the same columns, ranking and example words. regr_slope from the sums,
 * (nΣxy − ΣxΣy) / (nΣxx − (Σx)²), x in seconds, times a week's seconds; null where all x are equal.
 * Example words only for the phones kept.
 */
function rollupSoundSql(organizationId: string, scope: SoundScope, first: number, minCount: number) {
  return Prisma.sql`WITH stats AS (
      SELECT ${scope.key('r')} AS key, r.phone, SUM(r.count)::int AS n, SUM(r."sumAccuracy") AS sy, SUM(r.errors)::int AS errors,
        SUM(r."sumX") AS sx, SUM(r."sumXX") AS sxx, SUM(r."sumXY") AS sxy
      FROM "LearnerSoundRollup" r
      WHERE r."organizationId" = ${organizationId}::uuid ${scope.where(Prisma.sql`r."learnerId"`)}
      GROUP BY 1, r.phone HAVING SUM(r.count) >= GREATEST(${minCount}::int, 1)),
    ranked AS (
      SELECT key, phone, n, (sy / n)::float8 AS mean, errors, errors::float8 / n AS error_rate,
        ((n * sxy - sx * sy) * ${WEEK_SECONDS}::numeric / NULLIF(n * sxx - sx * sx, 0))::float8 AS slope,
        ROW_NUMBER() OVER (PARTITION BY key ORDER BY errors::float8 / n DESC, errors DESC, phone) AS rk
      FROM stats),
    kept AS (SELECT * FROM ranked WHERE rk <= ${first}::int),
    words AS (
      SELECT ${scope.key('w')} AS key, w.phone, w.word, SUM(w.errors) AS errs
      FROM "LearnerSoundWordRollup" w
      WHERE w."organizationId" = ${organizationId}::uuid ${scope.where(Prisma.sql`w."learnerId"`)}
        AND w.phone IN (SELECT phone FROM kept)
      GROUP BY 1, w.phone, w.word HAVING SUM(w.errors) > 0),
    examples AS (
      SELECT key, phone, (array_agg(word ORDER BY errs DESC, word))[1:${EXAMPLE_WORDS}::int] AS words FROM words GROUP BY key, phone)
    SELECT k.key, k.phone, k.n, k.mean, k.errors, k.error_rate, k.slope, COALESCE(e.words, ARRAY[]::text[]) AS examples
    FROM kept k LEFT JOIN examples e ON e.key = k.key AND e.phone = k.phone
    ORDER BY k.key, k.rk`;
}


/** One list per learner (empty when a learner has no rows). */
export function perKey<T extends { key: string }>(ids: string[], rows: T[]): Map<string, Omit<T, 'key'>[]> {
  const out = new Map<string, Omit<T, 'key'>[]>(ids.map((id) => [id, []]));
  for (const { key, ...rest } of rows) out.get(key)?.push(rest);
  return out;
}

interface WordRow {
  key: string;
  word: string;
  n: number;
  mean: number;
  errors: number;
}

/**
 * Per key of `scope` (each learner, or the group) and reference word: the most often wrong first,
 * at most `first` per key, among words assessed at least `minCount` times.
 */
export async function wordStats(prisma: PrismaClient, organizationId: string, scope: SoundScope, args: SoundArgs) {
  const first = bound('first', args.first, 20, MAX_WORDS);
  const minCount = bound('minCount', args.minCount, 1, 1_000_000);
  const latest = latestModelAssessments({
    organizationId, modelVersion: args.modelVersion, utterances: Prisma.sql`${scope.where(Prisma.sql`u."learnerId"`)} ${submittedIn(args)}`,
  });
  const rows = await prisma.$queryRaw<WordRow[]>`WITH latest AS (${latest}),
    stats AS (
      SELECT ${scope.key('l')} AS key, upper(w.text) AS word, COUNT(*)::int AS n, AVG(w.accuracy)::float8 AS mean,
        COUNT(*) FILTER (WHERE w.accuracy < ${WORD_ERROR_BELOW}::int)::int AS errors
      FROM latest l JOIN "WordAssessment" w ON w."assessmentId" = l.id AND w."organizationId" = ${organizationId}::uuid
      GROUP BY 1, upper(w.text) HAVING COUNT(*) >= ${minCount}::int),
    ranked AS (
      SELECT stats.*, ROW_NUMBER() OVER (PARTITION BY key ORDER BY errors DESC, errors::float8 / n DESC, word) AS rk FROM stats)
    SELECT key, word, n, mean, errors FROM ranked WHERE rk <= ${first}::int ORDER BY key, rk`;
  return rows.map((r) => ({
    key: r.key, word: r.word, count: Number(r.n), meanAccuracy: r.mean, errors: Number(r.errors), errorRate: Number(r.errors) / Number(r.n),
  }));
}

export interface ChangeArgs {
  period1From?: Date | null;
  period1To?: Date | null;
  period2From?: Date | null;
  period2To?: Date | null;
  modelVersion?: string | null;
  first?: number | null;
}

interface ChangeRow {
  key: string;
  phone: string;
  before: number | null;
  after: number | null;
  n1: number;
  n2: number;
  e1: number | null;
  e2: number | null;
}

const DAY_MS = 24 * 3600 * 1000;

/** Per learner and phoneme, mean accuracy in two periods; the largest change first, at most `first` per learner. */
export async function soundChanges(prisma: PrismaClient, organizationId: string, scope: SoundScope, args: ChangeArgs, now = new Date()) {
  const first = bound('first', args.first, MAX_SOUNDS, MAX_SOUNDS);
  const p2To = args.period2To ?? now;
  const p2From = args.period2From ?? shiftWithin(p2To, -30 * DAY_MS);
  const p1To = args.period1To ?? p2From;
  const p1From = args.period1From ?? shiftWithin(p1To, -30 * DAY_MS);
  // Each bound's source: the argument given for it, else the one its default was derived from (null: now).
  const src2To = args.period2To != null ? 'period2To' : null;
  const src2From = args.period2From != null ? 'period2From' : src2To;
  const src1To = args.period1To != null ? 'period1To' : src2From;
  const src1From = args.period1From != null ? 'period1From' : src1To;
  const refuse = (message: string, sources: (string | null)[], fallback: [string, string]) => {
    const named = [...new Set(sources.filter((n): n is string => n !== null))];
    return badInput(message, named.length === 1 ? named[0]! : named.length > 1 ? [named[0]!, named[1]!, ...named.slice(2)] : fallback);
  };
  if (p1From.getTime() >= p1To.getTime()) {
    throw refuse(`period1From (${p1From.toISOString()}) must be before period1To (${p1To.toISOString()}).`, [src1From, src1To], ['period1From', 'period1To']);
  }
  if (p2From.getTime() >= p2To.getTime()) {
    throw refuse(`period2From (${p2From.toISOString()}) must be before period2To (${p2To.toISOString()}).`, [src2From, src2To], ['period2From', 'period2To']);
  }
  // Period 1 is the earlier one (they may overlap): wholly after period 2, IMPROVED and WORSENED
  // would mean the opposite.
  if (p1From.getTime() >= p2To.getTime()) {
    throw refuse(`Period 1 is the earlier period: period1From (${p1From.toISOString()}) must be before period2To (${p2To.toISOString()}).`, [src1From, src2To], ['period1From', 'period2To']);
  }
  const in1 = Prisma.sql`(at >= ${p1From}::timestamptz AND at < ${p1To}::timestamptz)`;
  const in2 = Prisma.sql`(at >= ${p2From}::timestamptz AND at < ${p2To}::timestamptz)`;
  const err = Prisma.sql`accuracy < ${PHONEME_ERROR_BELOW}::float8`;
  const rows = await prisma.$queryRaw<ChangeRow[]>`WITH ${phones(organizationId, scope.where(Prisma.sql`u."learnerId"`), args.modelVersion, scope.key('l'))},
    changes AS (
    SELECT key, phone,
      AVG(accuracy) FILTER (WHERE ${in1})::float8 AS before,
      AVG(accuracy) FILTER (WHERE ${in2})::float8 AS after,
      COUNT(*) FILTER (WHERE ${in1})::int AS n1,
      COUNT(*) FILTER (WHERE ${in2})::int AS n2,
      (COUNT(*) FILTER (WHERE ${in1} AND ${err}))::float8 / NULLIF(COUNT(*) FILTER (WHERE ${in1}), 0) AS e1,
      (COUNT(*) FILTER (WHERE ${in2} AND ${err}))::float8 / NULLIF(COUNT(*) FILTER (WHERE ${in2}), 0) AS e2
    FROM ph WHERE ${in1} OR ${in2}
    GROUP BY key, phone),
    ranked AS (SELECT changes.*, ROW_NUMBER() OVER (PARTITION BY key ORDER BY abs(after - before) DESC NULLS LAST, phone) AS rk FROM changes)
    SELECT * FROM ranked WHERE rk <= ${first}::int ORDER BY key, rk`;
  return rows.map((r) => {
    // Rounded before it is compared: accuracies are stored to 0.1, and 1.2 - 1.1 is 0.0999… in floating point.
    const change = r.before != null && r.after != null ? Math.round((r.after - r.before) * 1e9) / 1e9 : null;
    const direction = change == null ? 'UNKNOWN' as const
      : change >= CHANGE_THRESHOLD ? 'IMPROVED' as const
      : change <= -CHANGE_THRESHOLD ? 'WORSENED' as const : 'UNCHANGED' as const;
    return {
      key: r.key, phoneme: r.phone, ipa: ipaOf(r.phone), before: r.before, after: r.after, countBefore: Number(r.n1), countAfter: Number(r.n2),
      errorRateBefore: r.e1, errorRateAfter: r.e2, change, direction,
    };
  });
}
