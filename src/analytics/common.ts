/**
 * Shared SQL pieces of the history analytics (DESIGN.md "Around the result"): which assessments
 * count, the sentence aspects as rows, and bounds on every list. Everything aggregates in SQL;
 * JavaScript only renames columns and fills in absent aspects.
 */
import { Prisma } from '../generated/prisma/client.js';
import { badInput } from '../errors.js';
import { arpabetToIpa } from '../text/phones.js';

export const ASPECTS = ['ACCURACY', 'FLUENCY', 'PROSODY', 'COMPLETENESS', 'TOTAL'] as const;
export type Aspect = (typeof ASPECTS)[number];

/** Column of each aspect; only these fixed names ever reach the SQL text. */
const COLUMN: Record<Aspect, string> = {
  ACCURACY: 'accuracy', FLUENCY: 'fluency', PROSODY: 'prosody', COMPLETENESS: 'completeness', TOTAL: 'total',
};

export function aspectColumn(alias: string, aspect: Aspect): Prisma.Sql {
  if (!(aspect in COLUMN)) throw badInput(`Unknown aspect ${JSON.stringify(aspect)}.`, 'aspect');
  return Prisma.raw(`${alias}."${COLUMN[aspect]}"`);
}

/** `CROSS JOIN LATERAL` body: one (aspect, score) row per sentence aspect of `alias`. */
export function aspectRows(alias: string): Prisma.Sql {
  return Prisma.raw(
    `(VALUES ${ASPECTS.map((a) => `('${a}', ${alias}."${COLUMN[a]}"::float8)`).join(', ')}) AS s(aspect, score)`,
  );
}

/** DESIGN.md: a phoneme below 1.5 and a word below 8 are errors. */
export const PHONEME_ERROR_BELOW = 1.5;
export const WORD_ERROR_BELOW = 8;
const WEEK_SECONDS = 7 * 24 * 3600;
/** Weeks since the epoch of a timestamp expression, the x of every regr_slope (slopes are per week). */
export const weeks = (expr: Prisma.Sql) => Prisma.sql`(EXTRACT(EPOCH FROM ${expr})::float8 / ${WEEK_SECONDS}::float8)`;

/**
 * The least-squares slope of `y` per week of `at`, an aggregate: null unless two times differ.
 * regr_slope alone is not: summing the same float x six times leaves a spread of 1e-25, not 0, and
 * a slope of 10^11 came out of six phones of one recording.
 */
export const slopePerWeek = (y: Prisma.Sql, at: Prisma.Sql) =>
  Prisma.sql`CASE WHEN min(${at}) <> max(${at}) THEN regr_slope(${y}, ${weeks(at)}) END`;

/** A list bound: the default when omitted, BAD_USER_INPUT when negative or over the cap. */
export function bound(name: string, value: number | null | undefined, fallback: number, max: number): number {
  if (value == null) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw badInput(`${name} must be an integer from 0 to ${max}; got ${value}.`, name, { max });
  }
  return value;
}

export interface Window {
  from?: Date | null;
  to?: Date | null;
}

/**
 * A time range [from, to): BAD_USER_INPUT unless `from` is before `to` (when both are given). An
 * inverted range would silently match nothing, which reads as "no practice" rather than a mistake.
 */
export function checkRange(from: Date | null | undefined, to: Date | null | undefined, names: [string, string] = ['from', 'to']): void {
  if (from && to && from.getTime() >= to.getTime()) {
    throw badInput(`${names[0].split('.').pop()} (${from.toISOString()}) must be before ${names[1].split('.').pop()} (${to.toISOString()}).`, names);
  }
}

/** Utterances submitted in [from, to) (checked by checkRange). */
export function submittedIn(w: Window, alias = 'u'): Prisma.Sql {
  return within(Prisma.raw(`${alias}."createdAt"`), w);
}

/** `AND col` in [from, to) (checked as submittedIn checks it); nothing for an open window. */
export function within(col: Prisma.Sql, w: Window): Prisma.Sql {
  checkRange(w.from, w.to);
  return Prisma.sql`${w.from ? Prisma.sql`AND ${col} >= ${w.from}::timestamptz` : Prisma.empty}
    ${w.to ? Prisma.sql`AND ${col} < ${w.to}::timestamptz` : Prisma.empty}`;
}

/** Learners of the organisation in group `externalId` (on the GIN index of Learner.groups). */
export function groupLearners(organizationId: string, externalId: string): Prisma.Sql {
  return Prisma.sql`SELECT gl.id FROM "Learner" gl
    WHERE gl."organizationId" = ${organizationId}::uuid AND gl.groups @> ARRAY[${externalId}]::text[]`;
}

/**
 * The one rule of what a learner's analytics count (progress, sound profile, weak words, cohorts
 * and the rollups behind them): an assessment flagged READ_WRONG_TEXT (src/assessment/wrong-text.ts)
 * scored speech that is not a reading of the reference, so its scores and phonemes say nothing about
 * how the learner reads that text. A predicate on Assessment row `alias` (flags never change once
 * written, so the rollups can add and subtract by it).
 */
export function countsAsReading(alias: string): Prisma.Sql {
  return Prisma.sql`NOT (${Prisma.raw(`${alias}.flags`)} @> ARRAY['READ_WRONG_TEXT']::text[])`;
}

export interface LatestOptions {
  organizationId: string;
  /** Conditions on the utterance `u`, each starting with AND. */
  utterances: Prisma.Sql;
  modelVersion?: string | null;
  /** The latest assessment per (utterance, model version) instead of per utterance (model audit). */
  perVersion?: boolean;
  /**
   * Keep latest assessments flagged READ_WRONG_TEXT (the model audit: what a version output, not what
   * a learner read). Learner analytics leave it unset: such an utterance then does not count at all,
   * even when an older assessment of it was not flagged, since the newest verdict is the one shown.
   */
  includeWrongText?: boolean;
}

/**
 * The body of a CTE: the latest MODEL assessment of each utterance (of the version, when given), so
 * a re-assessed utterance counts once, left out when it is flagged READ_WRONG_TEXT (countsAsReading)
 * unless `includeWrongText`. Columns: id, "utteranceId", "learnerId", "modelVersion", at (the
 * utterance's submission time), and the five sentence scores.
 */
export function latestModelAssessments(o: LatestOptions): Prisma.Sql {
  const version = o.modelVersion == null ? Prisma.empty : Prisma.sql`AND a."modelVersion" = ${o.modelVersion}`;
  const distinct = o.perVersion ? Prisma.sql`a."utteranceId", a."modelVersion"` : Prisma.sql`a."utteranceId"`;
  const reading = o.includeWrongText ? Prisma.empty : Prisma.sql`WHERE ${countsAsReading('l')}`;
  return Prisma.sql`SELECT l.id, l."utteranceId", l."learnerId", l."modelVersion", l.at,
      l.accuracy, l.fluency, l.prosody, l.completeness, l.total
    FROM (SELECT DISTINCT ON (${distinct}) a.id, a."utteranceId", u."learnerId", a."modelVersion",
        u."createdAt" AS at, a.accuracy, a.fluency, a.prosody, a.completeness, a.total, a.flags
      FROM "Assessment" a
      JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
      WHERE a."organizationId" = ${o.organizationId}::uuid AND a.source = 'MODEL' ${version} ${o.utterances}
      ORDER BY ${distinct}, a."createdAt" DESC, a.id DESC) l
    ${reading}`;
}

/**
 * The sound a phoneme row counts as in learner analytics: ARPAbet without its stress digit, except
 * the unstressed AH0 (/ə/, the schwa in ABOUT) and ER0 (/ɚ/, in BUTTER), which are other sounds than
 * stressed AH (/ʌ/, in BUT) and ER (/ɝ/, in BIRD) and the commonest weak sounds: merged, a schwa
 * error would be reported as /ʌ/. One definition for the rollups (rollup.ts) and the windowed reads
 * (sounds.ts); the migration 20261201120000_schwa_sounds split the rollups written before it.
 */
export function soundKey(symbol: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`CASE WHEN ${symbol} IN ('AH0', 'ER0') THEN ${symbol} ELSE regexp_replace(${symbol}, '[012]$', '') END`;
}

export const ipaOf = (phone: string) => {
  try {
    return arpabetToIpa(phone);
  } catch {
    return phone;
  }
};

export interface AspectDistribution {
  aspect: Aspect;
  count: number;
  mean: number | null;
  p10: number | null;
  p25: number | null;
  median: number | null;
  p75: number | null;
  p90: number | null;
}

export interface DistributionRow {
  key: string | null;
  aspect: Aspect;
  n: number;
  mean: number | null;
  pct: number[] | null;
}

/** Count, mean and p10/p25/median/p75/p90 per (key, aspect) of the scores of `latest` (a CTE body with a `key` column). */
export function distributionSql(latest: Prisma.Sql, key: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`WITH latest AS (${latest}),
    scores AS (SELECT ${key} AS key, s.aspect, s.score FROM latest l CROSS JOIN LATERAL ${aspectRows('l')})
    SELECT key, aspect, COUNT(*)::int AS n, AVG(score)::float8 AS mean,
      percentile_cont(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]::float8[]) WITHIN GROUP (ORDER BY score) AS pct
    FROM scores GROUP BY key, aspect`;
}

/** One entry per aspect in enum order; an aspect without rows has count 0 and nulls. */
export function distributions(rows: DistributionRow[]): AspectDistribution[] {
  return ASPECTS.map((aspect) => {
    const r = rows.find((x) => x.aspect === aspect);
    const p = r?.pct ?? [null, null, null, null, null];
    return {
      aspect, count: r ? Number(r.n) : 0, mean: r?.mean ?? null,
      p10: p[0] ?? null, p25: p[1] ?? null, median: p[2] ?? null, p75: p[3] ?? null, p90: p[4] ?? null,
    };
  });
}
