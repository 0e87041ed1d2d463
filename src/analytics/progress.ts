/**
 * A learner's scores over time (Learner.progress): per sentence aspect, buckets of a day, week or
 * month with count, mean and quartiles (percentile_cont), a 3-bucket moving average (a window
 * function), first/latest/best and the least-squares slope per week (regr_slope). Two statements,
 * whatever the number of utterances and of learners one request asks about.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { ASPECTS, aspectRows, bound, latestModelAssessments, submittedIn, weeks, type Aspect, type Window } from './common.js';

export type TimeBucket = 'DAY' | 'WEEK' | 'MONTH';
const UNIT: Record<TimeBucket, string> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };
export const MAX_BUCKETS = 400;

export interface ProgressArgs extends Window {
  bucket?: TimeBucket | null;
  referenceText?: string | null;
  modelVersion?: string | null;
  lastBuckets?: number | null;
}

interface BucketRow {
  learner: string;
  aspect: Aspect;
  start: Date;
  n: number;
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

/** Progress of several learners with the same arguments: still two statements (partitioned by learner). */
export async function learnerProgress(prisma: PrismaClient, organizationId: string, learnerIds: string[], args: ProgressArgs) {
  const bucket = args.bucket ?? 'WEEK';
  const unit = UNIT[bucket];
  const last = bound('lastBuckets', args.lastBuckets, 52, MAX_BUCKETS);
  // Matched as the utterance filters match it (utterances(filter: {referenceText})): case and
  // surrounding spaces ignored, so the same text finds the same utterances in both places.
  const text = args.referenceText == null ? Prisma.empty
    : Prisma.sql`AND lower(u."referenceText") = lower(${args.referenceText.trim()})`;
  const latest = latestModelAssessments({
    organizationId,
    modelVersion: args.modelVersion,
    utterances: Prisma.sql`AND u."learnerId" = ANY(${learnerIds}::uuid[]) ${submittedIn(args)} ${text}`,
  });
  const scores = Prisma.sql`latest AS (${latest}),
    scores AS (SELECT l."learnerId"::text AS learner, l.at, l."utteranceId", s.aspect, s.score FROM latest l CROSS JOIN LATERAL ${aspectRows('l')})`;
  const [buckets, summary] = await Promise.all([
    prisma.$queryRaw<BucketRow[]>`WITH ${scores},
      buckets AS (
        SELECT learner, aspect, date_trunc(${unit}::text, at AT TIME ZONE 'UTC') AS start, COUNT(*)::int AS n,
          AVG(score)::float8 AS mean,
          percentile_cont(0.25) WITHIN GROUP (ORDER BY score) AS p25,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS median,
          percentile_cont(0.75) WITHIN GROUP (ORDER BY score) AS p75
        FROM scores GROUP BY learner, aspect, start),
      windowed AS (
        SELECT b.*, AVG(mean) OVER (PARTITION BY learner, aspect ORDER BY start ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)::float8 AS moving,
          ROW_NUMBER() OVER (PARTITION BY learner, aspect ORDER BY start DESC) AS back
        FROM buckets b)
      SELECT learner, aspect, start AT TIME ZONE 'UTC' AS start, n, mean, p25, median, p75, moving
      FROM windowed WHERE back <= ${last}::int ORDER BY learner, aspect, start`,
    prisma.$queryRaw<SummaryRow[]>`WITH ${scores}
      SELECT learner, aspect, COUNT(*)::int AS n,
        (array_agg(score ORDER BY at, "utteranceId"))[1] AS first,
        (array_agg(score ORDER BY at DESC, "utteranceId" DESC))[1] AS latest,
        MAX(score) AS best, AVG(score)::float8 AS mean,
        regr_slope(score, ${weeks(Prisma.sql`at`)}) AS slope
      FROM scores GROUP BY learner, aspect`,
  ]);
  return new Map(learnerIds.map((id) => [
    id, progressOf(bucket, buckets.filter((b) => b.learner === id), summary.filter((r) => r.learner === id)),
  ]));
}

function progressOf(bucket: TimeBucket, buckets: BucketRow[], summary: SummaryRow[]) {
  return {
    bucket,
    utterances: summary.length ? Number(summary[0]!.n) : 0,
    aspects: ASPECTS.map((aspect) => {
      const s = summary.find((r) => r.aspect === aspect);
      return {
        aspect,
        series: buckets.filter((b) => b.aspect === aspect).map((b) => ({
          start: b.start, count: Number(b.n), mean: b.mean, p25: b.p25, median: b.median, p75: b.p75, movingAverage: b.moving,
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
