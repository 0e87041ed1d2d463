/**
 * A learner's scores over time (Learner.progress): per sentence aspect, buckets of a day, week or
 * month with count, mean and quartiles (percentile_cont), a 3-bucket moving average (a window
 * function), first/latest/best and the least-squares slope per week (regr_slope). Two statements,
 * whatever the number of utterances and of learners one request asks about.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { ASPECTS, aspectRows, bound, groupLearners, latestModelAssessments, slopePerWeek, submittedIn, type Aspect, type Window } from './common.js';

export type TimeBucket = 'DAY' | 'WEEK' | 'MONTH';
/** date_trunc's unit for each bucket width. */
export const TIME_BUCKET_UNIT: Record<TimeBucket, string> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };
export const MAX_BUCKETS = 400;

export interface ProgressArgs extends Window {
  bucket?: TimeBucket | null;
  /** An IANA zone name; the buckets follow its calendar. UTC when omitted. */
  timeZone?: string | null;
  referenceText?: string | null;
  modelVersion?: string | null;
  lastBuckets?: number | null;
}

interface BucketRow {
  learner: string;
  aspect: Aspect;
  start: Date;
  n: number;
  /** Distinct learners with a score in the bucket. */
  learners: number;
  mean: number;
  p25: number;
  median: number;
  p75: number;
  moving: number;
}

interface SummaryRow {
  learner: string;
  aspect: Aspect;
  n: number;
  utterances: number;
  first: number | null;
  latest: number | null;
  best: number | null;
  mean: number | null;
  slope: number | null;
}

export type LearnerProgress = ReturnType<typeof progressOf>;

/** An IANA zone name, or a POSIX-style name PostgreSQL also reads (EST5EDT): letters first, no bare offsets. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * The time zone the buckets follow, checked against the IANA database Node carries (ICU), as the
 * database is given it. A bare offset ("+02:00", "-5") is refused: PostgreSQL reads it as a POSIX
 * zone, whose sign is the opposite of ISO 8601's, so "+02:00" would silently mean two hours west.
 * A name without a slash is passed on as the zone ICU resolves it to (CET → Europe/Brussels, with its
 * summer time): PostgreSQL looks "CET", "EET", "WET", "MET" up as abbreviations first, fixed offsets
 * all year, so July's buckets would have started an hour off. A name with one (Area/Location) is
 * passed on as given: ICU resolves current names to old ones (Asia/Kolkata → Asia/Calcutta) that a
 * PostgreSQL on the system's time zone data may not have.
 */
export function timeZoneOf(name: string | null | undefined): string {
  if (name == null) return 'UTC';
  if (name.length > 64 || !ZONE_NAME.test(name)) throw unknownTimeZone(name);
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw unknownTimeZone(name);
  }
  return name.includes('/') ? name : resolved;
}

function unknownTimeZone(name: string): AppError {
  return badInput(`timeZone must be an IANA time zone name such as Europe/Berlin or UTC; got ${JSON.stringify(name.slice(0, 64))}.`, 'timeZone');
}

/** A zone Node knows but the database's older time zone data does not is the caller's input too, not INTERNAL. */
export function zoneRefusedByDatabase(e: unknown, zone: string): unknown {
  return /time zone .* not recognized/i.test(String((e as Error | undefined)?.message)) ? unknownTimeZone(zone) : e;
}

/** Progress of several learners with the same arguments: still two statements (partitioned by learner). */
export async function learnerProgress(prisma: PrismaClient, organizationId: string, learnerIds: string[], args: ProgressArgs) {
  const rows = await progressRows(prisma, organizationId, {
    series: Prisma.sql`l."learnerId"::text`,
    utterances: Prisma.sql`AND u."learnerId" = ANY(${learnerIds}::uuid[])`,
  }, args);
  return new Map(learnerIds.map((id) => [id, rows.of(id)]));
}

/** A group's progress: every utterance of its learners in one series (LearnerGroup.progress). */
export async function groupProgress(prisma: PrismaClient, organizationId: string, externalId: string, args: ProgressArgs) {
  const rows = await progressRows(prisma, organizationId, {
    series: Prisma.sql`'group'::text`,
    utterances: Prisma.sql`AND u."learnerId" IN (${groupLearners(organizationId, externalId)})`,
  }, args);
  return rows.of('group');
}

/**
 * The two statements behind a progress: `scope.series` names the series a score belongs to (a
 * learner, or one for a whole group), `scope.utterances` narrows the utterances read.
 */
async function progressRows(prisma: PrismaClient, organizationId: string, scope: { series: Prisma.Sql; utterances: Prisma.Sql }, args: ProgressArgs) {
  const bucket = args.bucket ?? 'WEEK';
  const unit = TIME_BUCKET_UNIT[bucket];
  const zone = timeZoneOf(args.timeZone);
  const last = bound('lastBuckets', args.lastBuckets, 52, MAX_BUCKETS);
  // Matched as the utterance filters match it (utterances(filter: {referenceText})): case and
  // surrounding spaces ignored, so the same text finds the same utterances in both places.
  const text = args.referenceText == null ? Prisma.empty
    : Prisma.sql`AND lower(u."referenceText") = lower(${args.referenceText.trim()})`;
  const latest = latestModelAssessments({
    organizationId,
    modelVersion: args.modelVersion,
    utterances: Prisma.sql`${scope.utterances} ${submittedIn(args)} ${text}`,
  });
  const scores = Prisma.sql`latest AS (${latest}),
    scores AS (SELECT ${scope.series} AS learner, l."learnerId" AS who, l.at, l."utteranceId", s.aspect, s.score FROM latest l CROSS JOIN LATERAL ${aspectRows('l')})`;
  const [buckets, summary] = await Promise.all([
    prisma.$queryRaw<BucketRow[]>`WITH ${scores},
      buckets AS (
        SELECT learner, aspect, date_trunc(${unit}::text, at AT TIME ZONE ${zone}::text) AS start, COUNT(*)::int AS n,
          COUNT(DISTINCT who)::int AS learners,
          AVG(score)::float8 AS mean,
          percentile_cont(0.25) WITHIN GROUP (ORDER BY score) AS p25,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median,
          percentile_cont(0.75) WITHIN GROUP (ORDER BY score) AS p75
        FROM scores GROUP BY learner, aspect, start),
      windowed AS (
        SELECT b.*, AVG(mean) OVER (PARTITION BY learner, aspect ORDER BY start ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)::float8 AS moving,
          ROW_NUMBER() OVER (PARTITION BY learner, aspect ORDER BY start DESC) AS back
        FROM buckets b)
      SELECT learner, aspect, start AT TIME ZONE ${zone}::text AS start, n, learners, mean, p25, median, p75, moving
      FROM windowed WHERE back <= ${last}::int ORDER BY learner, aspect, start`,
    prisma.$queryRaw<SummaryRow[]>`WITH ${scores}
      SELECT learner, aspect, COUNT(*)::int AS n,
        (array_agg(score ORDER BY at, "utteranceId"))[1] AS first,
        (array_agg(score ORDER BY at DESC, "utteranceId" DESC))[1] AS latest,
        MAX(score) AS best, AVG(score)::float8 AS mean,
        ${slopePerWeek(Prisma.sql`score`, Prisma.sql`at`)} AS slope
      FROM scores GROUP BY learner, aspect`,
  ]).catch((e: unknown) => {
    throw zoneRefusedByDatabase(e, zone);
  });
  return {
    of: (series: string) => progressOf(bucket, args.timeZone ?? 'UTC', buckets.filter((b) => b.learner === series), summary.filter((r) => r.learner === series)),
  };
}

function progressOf(bucket: TimeBucket, timeZone: string, buckets: BucketRow[], summary: SummaryRow[]) {
  return {
    bucket,
    timeZone,
    utterances: summary.length ? Number(summary[0]!.n) : 0,
    aspects: ASPECTS.map((aspect) => {
      const s = summary.find((r) => r.aspect === aspect);
      return {
        aspect,
        series: buckets.filter((b) => b.aspect === aspect).map((b) => ({
          start: b.start, count: Number(b.n), learners: Number(b.learners), mean: b.mean, p25: b.p25, median: b.median, p75: b.p75, movingAverage: b.moving,
        })),
        first: s?.first ?? null,
        latest: s?.latest ?? null,
        best: s?.best ?? null,
        mean: s?.mean ?? null,
        slopePerWeek: s?.slope ?? null,
      };
    }),
  };
}
