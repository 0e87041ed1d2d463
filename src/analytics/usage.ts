/**
 * What an organisation used (Organization.usage): recordings and their audio, the learners who
 * recorded, model assessments and their inference time, jobs that failed for good, grades,
 * statements and webhooks delivered, per calendar
 * day, week or month in a time zone, and over the whole window. Counted from the rows the database
 * holds, so erased learners and deleted utterances leave it (see the schema's description).
 *
 * Two statements whatever the window, in one read-only REPEATABLE READ transaction (one snapshot):
 * the buckets (four grouped scans, each on an index led by the organisation, joined on the bucket
 * start) and the totals (distinct learners over the window cannot be summed from the buckets).
 */
import { TEST_EVENT_TYPE } from '../outbox/events.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { bound, within, type Window } from './common.js';
import { runTransaction } from '../db/transaction.js';
import { MAX_BUCKETS, timeZoneOf, TIME_BUCKET_UNIT, zoneRefusedByDatabase, type TimeBucket } from './progress.js';

export interface UsageArgs extends Window {
  bucket?: TimeBucket | null;
  timeZone?: string | null;
  lastBuckets?: number | null;
}

export interface UsageFigures {
  recordings: number;
  audioSeconds: number;
  activeLearners: number;
  modelAssessments: number;
  inferenceSeconds: number;
  failedJobs: number;
  gradesPosted: number;
  statementsSent: number;
  webhooksDelivered: number;
}

export interface UsageBucket {
  start: Date;
  figures: UsageFigures;
}

export interface OrganizationUsage {
  bucket: TimeBucket;
  timeZone: string;
  buckets: UsageBucket[];
  totals: UsageFigures;
}

interface FigureRow {
  recordings: number;
  audioMs: number;
  activeLearners: number;
  modelAssessments: number;
  inferenceMs: number;
  failedJobs: number;
  gradesPosted: number;
  statementsSent: number;
  webhooksDelivered: number;
}

/**
 * The four sources, each grouped by `key` (a bucket start, or one constant for the totals):
 * recordings by when they were submitted, assessments by when they were written, failed jobs by
 * when they failed, deliveries by when they were delivered.
 */
function sources(organizationId: string, w: Window, key: (col: Prisma.Sql) => Prisma.Sql): Prisma.Sql {
  const org = Prisma.sql`${organizationId}::uuid`;
  return Prisma.sql`
    recorded AS (
      SELECT ${key(Prisma.sql`u."createdAt"`)} AS k, count(*)::int AS recordings,
        coalesce(sum(u."durationMs"), 0)::float8 AS "audioMs", count(DISTINCT u."learnerId")::int AS "activeLearners"
      FROM "Utterance" u WHERE u."organizationId" = ${org} ${within(Prisma.sql`u."createdAt"`, w)} GROUP BY 1),
    assessed AS (
      SELECT ${key(Prisma.sql`a."createdAt"`)} AS k, count(*)::int AS "modelAssessments", coalesce(sum(a."inferenceMs"), 0)::float8 AS "inferenceMs"
      FROM "Assessment" a WHERE a."organizationId" = ${org} AND a.source = 'MODEL' ${within(Prisma.sql`a."createdAt"`, w)} GROUP BY 1),
    failed AS (
      SELECT ${key(Prisma.sql`j."finishedAt"`)} AS k, count(*)::int AS "failedJobs"
      FROM "Job" j WHERE j."organizationId" = ${org} AND j.status = 'FAILED' ${within(Prisma.sql`j."finishedAt"`, w)} GROUP BY 1),
    delivered AS (
      SELECT ${key(Prisma.sql`d."deliveredAt"`)} AS k,
        -- A Failed score (grading failed) is no grade; an erasure's voiding statements are no usage.
        (count(*) FILTER (WHERE d.channel = 'LTI_SCORE' AND s."gradingProgress" <> 'FAILED'))::int AS "gradesPosted",
        (count(*) FILTER (WHERE d.channel = 'XAPI' AND e.type = 'assessment.completed'))::int AS "statementsSent",
        (count(*) FILTER (WHERE d.channel = 'WEBHOOK'))::int AS "webhooksDelivered"
      FROM "Delivery" d
        JOIN "OutboxEvent" e ON e."id" = d."eventId"
        LEFT JOIN "LtiScore" s ON s."id" = d."ltiScoreId"
      WHERE d."organizationId" = ${org} AND d.status = 'DELIVERED' ${within(Prisma.sql`d."deliveredAt"`, w)}
        -- An admin's test request is no usage.
        AND e.type <> ${TEST_EVENT_TYPE}
        -- A re-send of what a peer already accepted (the same event to the same endpoint, the same
        -- score, the same statement) is counted once, when first accepted, in buckets and totals alike.
        AND NOT EXISTS (
          SELECT 1 FROM "Delivery" p
           WHERE p."eventId" = d."eventId" AND p.channel = d.channel AND p.status = 'DELIVERED'
             AND p."webhookEndpointId" IS NOT DISTINCT FROM d."webhookEndpointId" AND p."ltiScoreId" IS NOT DISTINCT FROM d."ltiScoreId"
             AND (p."deliveredAt" < d."deliveredAt" OR (p."deliveredAt" = d."deliveredAt" AND p."id" < d."id")))
      GROUP BY 1),
    keys AS (SELECT k FROM recorded UNION SELECT k FROM assessed UNION SELECT k FROM failed UNION SELECT k FROM delivered)`;
}

const FIGURES = Prisma.sql`coalesce(r.recordings, 0) AS recordings, coalesce(r."audioMs", 0) AS "audioMs",
  coalesce(r."activeLearners", 0) AS "activeLearners", coalesce(a."modelAssessments", 0) AS "modelAssessments",
  coalesce(a."inferenceMs", 0) AS "inferenceMs", coalesce(f."failedJobs", 0) AS "failedJobs",
  coalesce(d."gradesPosted", 0) AS "gradesPosted", coalesce(d."statementsSent", 0) AS "statementsSent",
  coalesce(d."webhooksDelivered", 0) AS "webhooksDelivered"`;
/** Every key of `keys` with its figures from the four sources. */
const JOINED = (keys: string) =>
  Prisma.sql`${Prisma.raw(keys)} LEFT JOIN recorded r USING (k) LEFT JOIN assessed a USING (k) LEFT JOIN failed f USING (k) LEFT JOIN delivered d USING (k)`;

function figures(row: FigureRow | undefined): UsageFigures {
  return {
    recordings: row?.recordings ?? 0,
    audioSeconds: (row?.audioMs ?? 0) / 1000,
    activeLearners: row?.activeLearners ?? 0,
    modelAssessments: row?.modelAssessments ?? 0,
    inferenceSeconds: (row?.inferenceMs ?? 0) / 1000,
    failedJobs: row?.failedJobs ?? 0,
    gradesPosted: row?.gradesPosted ?? 0,
    statementsSent: row?.statementsSent ?? 0,
    webhooksDelivered: row?.webhooksDelivered ?? 0,
  };
}

export async function organizationUsage(prisma: PrismaClient, organizationId: string, args: UsageArgs): Promise<OrganizationUsage> {
  const bucket = args.bucket ?? 'MONTH';
  const unit = TIME_BUCKET_UNIT[bucket];
  const zone = timeZoneOf(args.timeZone);
  const last = bound('lastBuckets', args.lastBuckets, 12, MAX_BUCKETS);
  const start = (col: Prisma.Sql) => Prisma.sql`date_trunc(${unit}::text, ${col} AT TIME ZONE ${zone}::text)`;
  // Both statements read one snapshot (REPEATABLE READ), so the totals are those of the buckets'
  // rows: a recording committed between them cannot be in one and not the other. Set by the first
  // statement, not Prisma's isolationLevel option, which the PGlite adapter ignores (it sets it
  // before its BEGIN). Read-only, so a long window may run long: 2 minutes.
  const [buckets, totals] = await runTransaction(prisma, async (tx) => {
    await tx.$executeRaw`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`;
    const rows = await tx.$queryRaw<(FigureRow & { start: Date })[]>`WITH ${sources(organizationId, args, start)},
      newest AS (SELECT k FROM keys ORDER BY k DESC LIMIT ${last}::int)
      SELECT k AT TIME ZONE ${zone}::text AS start, ${FIGURES}
      FROM ${JOINED('newest')} ORDER BY k`;
    const whole = await tx.$queryRaw<FigureRow[]>`WITH ${sources(organizationId, args, () => Prisma.sql`true`)}
      SELECT ${FIGURES} FROM ${JOINED('keys')}`;
    return [rows, whole] as const;
  }, { timeout: 120_000 }).catch((e: unknown) => { throw zoneRefusedByDatabase(e, zone); });
  return {
    bucket,
    timeZone: args.timeZone ?? 'UTC',
    buckets: buckets.map((row) => ({ start: row.start, figures: figures(row) })),
    totals: figures(totals[0]),
  };
}
