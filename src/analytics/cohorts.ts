/**
 * Cohorts: the learners of one group (Learner.groups, the LMS's course/class/section ids, on the
 * GIN index). Score distributions, weak sounds, learners whose scores dropped and learners without
 * recent practice, each one statement aggregated in SQL.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import {
  aspectColumn, bound, countsAsReading, distributions, distributionSql, groupLearners, latestModelAssessments, submittedIn,
  type Aspect, type DistributionRow, type Window,
} from './common.js';
import { soundChanges, soundStats, wordStats, type ChangeArgs, type SoundArgs, type SoundScope } from './sounds.js';
import { decodeRankCursor, encodeRankCursor } from '../graphql/pagination.js';
import { badInput } from '../errors.js';

export interface LearnerGroupModel {
  externalId: string;
  learnerCount: number;
}

export interface GroupComparisonModel {
  a: LearnerGroupModel | null;
  b: LearnerGroupModel | null;
  aId: string;
  bId: string;
}

export const MAX_LEARNERS = 100;

const inGroup = (organizationId: string, externalId: string) =>
  Prisma.sql`AND u."learnerId" IN (${groupLearners(organizationId, externalId)})`;

/** What one page of the organisation's groups asks for (src/graphql/loaders.ts makes the connection). */
export interface GroupListing {
  size: number;
  /** The groups just before `before` (descending), returned ascending; else those after `after`. */
  backward: boolean;
  after: string | null;
  before: string | null;
  /** A LIKE pattern, already escaped (src/graphql/filters.ts likeContains). */
  contains: string | null;
}

const byteOrder = Prisma.sql`COLLATE "C"`;

/** Every group id of the organisation's learners that matches, each with its learner count. */
function groupsOf(organizationId: string, contains: string | null) {
  return Prisma.sql`SELECT g.g AS "externalId", COUNT(DISTINCT l.id)::int AS "learnerCount"
    FROM "Learner" l CROSS JOIN LATERAL unnest(l.groups) AS g(g)
    WHERE l."organizationId" = ${organizationId}::uuid
      ${contains != null ? Prisma.sql`AND g.g ILIKE ${`%${contains}%`}` : Prisma.empty}
    GROUP BY g.g`;
}

/**
 * One page of the organisation's groups in byte order of their ids (the same on PostgreSQL and
 * PGlite, whatever the locale), one row more than asked when more follow, in one statement.
 */
export async function listGroups(prisma: PrismaClient, organizationId: string, q: GroupListing): Promise<{ rows: LearnerGroupModel[]; more: boolean }> {
  const rows = await prisma.$queryRaw<LearnerGroupModel[]>`
    SELECT * FROM (${groupsOf(organizationId, q.contains)}) g
     WHERE TRUE
       ${q.after != null ? Prisma.sql`AND g."externalId" ${byteOrder} > ${q.after}` : Prisma.empty}
       ${q.before != null ? Prisma.sql`AND g."externalId" ${byteOrder} < ${q.before}` : Prisma.empty}
     ORDER BY g."externalId" ${byteOrder} ${q.backward ? Prisma.sql`DESC` : Prisma.sql`ASC`}
     LIMIT ${q.size + 1}`;
  const page = rows.slice(0, q.size).map((r) => ({ externalId: r.externalId, learnerCount: Number(r.learnerCount) }));
  if (q.backward) page.reverse();
  return { rows: page, more: rows.length > q.size };
}

export async function countGroups(prisma: PrismaClient, organizationId: string, contains: string | null): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT COUNT(*)::int AS n FROM (${groupsOf(organizationId, contains)}) g`;
  return Number(row?.n ?? 0);
}

/** Learner counts of one or two groups in one statement; a group nobody is in is null. */
export async function groups(prisma: PrismaClient, organizationId: string, externalIds: string[]): Promise<(LearnerGroupModel | null)[]> {
  const rows = await prisma.$queryRaw<{ g: string; n: number }[]>`
    SELECT g.g, COUNT(l.id)::int AS n
    FROM unnest(${externalIds}::text[]) AS g(g)
    LEFT JOIN "Learner" l ON l."organizationId" = ${organizationId}::uuid AND l.groups @> ARRAY[g.g]
    GROUP BY g.g`;
  return externalIds.map((id) => {
    const n = Number(rows.find((r) => r.g === id)?.n ?? 0);
    return n > 0 ? { externalId: id, learnerCount: n } : null;
  });
}

export interface DistributionArgs extends Window {
  modelVersion?: string | null;
}

/**
 * Without a window or model version, from the score histograms (LearnerScoreRollup): the same count,
 * mean and percentile_cont (rank floor/ceil of p·(n−1), linearly interpolated), exact because scores
 * are integers. With either, from the latest assessments themselves.
 */
export async function groupDistribution(prisma: PrismaClient, organizationId: string, externalId: string, args: DistributionArgs) {
  if (args.from == null && args.to == null && args.modelVersion == null) {
    return distributions(await prisma.$queryRaw<DistributionRow[]>(histogramDistributionSql(organizationId, externalId)));
  }
  const latest = latestModelAssessments({
    organizationId, modelVersion: args.modelVersion, utterances: Prisma.sql`${inGroup(organizationId, externalId)} ${submittedIn(args)}`,
  });
  return distributions(await prisma.$queryRaw<DistributionRow[]>(distributionSql(latest, Prisma.sql`NULL::text`)));
}

function histogramDistributionSql(organizationId: string, externalId: string) {
  return Prisma.sql`WITH h AS (
      SELECT r.aspect, r.score, SUM(r.count)::bigint AS c FROM "LearnerScoreRollup" r
      WHERE r."organizationId" = ${organizationId}::uuid AND r."learnerId" IN (${groupLearners(organizationId, externalId)})
      GROUP BY r.aspect, r.score HAVING SUM(r.count) > 0),
    cum AS (
      SELECT aspect, score, SUM(c) OVER (PARTITION BY aspect ORDER BY score) AS upto,
        SUM(c) OVER (PARTITION BY aspect) AS n, SUM(c * score) OVER (PARTITION BY aspect) AS total
      FROM h),
    q AS (
      SELECT DISTINCT a.aspect, a.n, a.total, p.i, p.p * (a.n - 1) AS pos
      FROM cum a CROSS JOIN unnest(ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]::float8[]) WITH ORDINALITY AS p(p, i)),
    v AS (
      SELECT q.*,
        (SELECT c.score FROM cum c WHERE c.aspect = q.aspect AND c.upto > floor(q.pos) ORDER BY c.score LIMIT 1)::float8 AS lo,
        (SELECT c.score FROM cum c WHERE c.aspect = q.aspect AND c.upto > ceil(q.pos) ORDER BY c.score LIMIT 1)::float8 AS hi
      FROM q)
    SELECT NULL::text AS key, aspect, n::int AS n, total::float8 / n AS mean,
      array_agg(lo + (hi - lo) * (pos - floor(pos)) ORDER BY i) AS pct
    FROM v GROUP BY aspect, n, total`;
}

/** A group's learners as one key: the group's statistics in the statements that give each learner theirs. */
const groupScope = (organizationId: string, externalId: string): SoundScope => ({
  where: (col) => Prisma.sql`AND ${col} IN (${groupLearners(organizationId, externalId)})`,
  key: () => Prisma.sql`'group'::text`,
});

/** Every learner of the organisation as one key: the statements' own organisation filter is the whole scope. */
const organizationScope: SoundScope = { where: () => Prisma.empty, key: () => Prisma.sql`'organization'::text` };

/** The group's learners (`externalId`), or with null every learner of the organisation (Organization.weakSounds). */
const scopeOf = (organizationId: string, externalId: string | null) => (externalId === null ? organizationScope : groupScope(organizationId, externalId));

/** The sounds a group (or, with a null group, the whole organisation) gets wrong most often. */
export async function weakSounds(prisma: PrismaClient, organizationId: string, externalId: string | null, args: SoundArgs) {
  const rows = await soundStats(prisma, organizationId, scopeOf(organizationId, externalId), args, 10);
  return rows.map(({ key: _key, ...s }) => s);
}

/** The reference words a group (or the whole organisation) gets wrong most often, as Learner.wordProfile ranks one learner's. */
export async function weakWords(prisma: PrismaClient, organizationId: string, externalId: string | null, args: SoundArgs) {
  const rows = await wordStats(prisma, organizationId, scopeOf(organizationId, externalId), { ...args, first: args.first ?? 10 });
  return rows.map(({ key: _key, ...w }) => w);
}

/** How the group's sounds moved between two periods, as Learner.soundChanges measures one learner's. */
export async function groupSoundChanges(prisma: PrismaClient, organizationId: string, externalId: string, args: ChangeArgs) {
  const rows = await soundChanges(prisma, organizationId, groupScope(organizationId, externalId), args);
  return rows.map(({ key: _key, ...c }) => c);
}

const MAX_TEXTS = 100;

interface TextRow {
  text: string;
  readings: number;
  learners: number;
  accuracy: number;
  fluency: number;
  prosody: number;
  total: number;
}

/**
 * The reference texts a group reads worst: per text ignoring case (as the utterance filter matches
 * a stored text: lower() of each side; texts are stored trimmed), the latest model assessment of
 * each reading, the lowest mean total first, among texts read at least `minCount` times. One
 * statement. The text shown and the last tie-break are in byte order (COLLATE "C"), the same on
 * every database whatever its collation.
 */
export async function hardestTexts(prisma: PrismaClient, organizationId: string, externalId: string, args: SoundArgs) {
  const first = bound('first', args.first, 10, MAX_TEXTS);
  const minCount = bound('minCount', args.minCount, 1, 1_000_000);
  const latest = latestModelAssessments({
    organizationId, modelVersion: args.modelVersion, utterances: Prisma.sql`${inGroup(organizationId, externalId)} ${submittedIn(args)}`,
  });
  const rows = await prisma.$queryRaw<TextRow[]>`WITH latest AS (${latest})
    SELECT min(u."referenceText" COLLATE "C") AS text, COUNT(*)::int AS readings, COUNT(DISTINCT l."learnerId")::int AS learners,
      AVG(l.accuracy)::float8 AS accuracy, AVG(l.fluency)::float8 AS fluency, AVG(l.prosody)::float8 AS prosody, AVG(l.total)::float8 AS total
    FROM latest l JOIN "Utterance" u ON u.id = l."utteranceId" AND u."organizationId" = ${organizationId}::uuid
    GROUP BY lower(u."referenceText") HAVING COUNT(*) >= ${minCount}::int
    ORDER BY AVG(l.total), COUNT(*) DESC, lower(u."referenceText") COLLATE "C" LIMIT ${first}::int`;
  return rows.map((r) => ({
    referenceText: r.text, readings: Number(r.readings), learners: Number(r.learners),
    meanAccuracy: r.accuracy, meanFluency: r.fluency, meanProsody: r.prosody, meanTotal: r.total,
  }));
}

export interface DropArgs {
  since?: Date | null;
  aspect?: Aspect | null;
  latest?: number | null;
  minDrop?: number | null;
  first?: number | null;
}

interface DropRow {
  learner_id: string;
  recent: number;
  rc: number;
  earlier: number;
  ec: number;
  drop: number;
}

/**
 * Learners whose latest-N mean is at least minDrop below their earlier mean; largest drop first.
 * Without `since`, each learner's total comes from the score histograms (LearnerScoreRollup) and
 * only the latest N takes are read (an index probe per learner); the earlier mean is the rest. With
 * `since`, from the latest assessments of the window themselves. Both give the same answers.
 */
export async function droppedLearners(prisma: PrismaClient, organizationId: string, externalId: string, args: DropArgs & { after?: string | null }) {
  const first = bound('first', args.first, 20, MAX_LEARNERS);
  const kind = dropCursorKind(args);
  const after = args.after == null ? null : decodeRankCursor(kind, args.after, 'number');
  // Ranked, compared and put in the cursor rounded to 1e-9: means computed again for the next page
  // may differ in the last bits (another plan adds in another order), the rounded value does not.
  const drop = Prisma.sql`round((earlier - recent)::numeric, 9)::float8`;
  // The next page starts after the cursor's row in the list's order (drop descending, then id).
  const past = after === null ? Prisma.sql`true`
    : Prisma.sql`(${drop} < ${after.value}::float8 OR (${drop} = ${after.value}::float8 AND "learnerId" > ${after.id}::uuid))`;
  const rows = await prisma.$queryRaw<DropRow[]>`WITH ${droppedSql(organizationId, externalId, args)}
    SELECT "learnerId"::text AS learner_id, recent, rc, earlier, ec, ${drop} AS drop
    FROM dropped WHERE ${past} ORDER BY drop DESC, "learnerId" LIMIT ${first}::int`;
  return rows.map((r) => ({
    learnerId: r.learner_id, recentMean: r.recent, recentCount: Number(r.rc), earlierMean: r.earlier, earlierCount: Number(r.ec), drop: r.drop,
    cursor: encodeRankCursor(kind, { value: r.drop, id: r.learner_id }),
  }));
}

/** A cursor belongs to the list made with the same arguments: they are part of its kind. */
function dropCursorKind(args: DropArgs): string {
  return `dropped/${args.aspect ?? 'TOTAL'}/${args.latest ?? 5}/${args.minDrop ?? 1}/${args.since?.toISOString() ?? ''}`;
}
const inactiveCursorKind = (days: number | null | undefined) => `inactive/${days ?? 14}`;

/** How many learners droppedLearners would list without its `first`. */
export async function droppedLearnerCount(prisma: PrismaClient, organizationId: string, externalId: string, args: DropArgs): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: number }[]>`WITH ${droppedSql(organizationId, externalId, args)} SELECT count(*)::int AS n FROM dropped`;
  return row!.n;
}

/** `per` (each learner's recent and earlier means) and `dropped` (those that dropped by minDrop), as CTEs. */
function droppedSql(organizationId: string, externalId: string, args: DropArgs): Prisma.Sql {
  // At least 1: no recent take, no recent mean, and every learner would be left out whatever the data.
  if (args.latest != null && args.latest < 1) throw badInput(`latest must be an integer from 1 to 1000; got ${args.latest}.`, 'latest', { max: 1000 });
  const n = bound('latest', args.latest, 5, 1000);
  const minDrop = args.minDrop ?? 1;
  const aspect = args.aspect ?? 'TOTAL';
  const sql = args.since == null
    ? droppedFromRollupSql(organizationId, externalId, aspect, n)
    : droppedFromAssessmentsSql(organizationId, externalId, aspect, n, args.since);
  return Prisma.sql`per AS (${sql}),
    dropped AS (SELECT * FROM per WHERE ec > 0 AND round((earlier - recent)::numeric, 9) >= ${minDrop}::numeric)`;
}

/** Per learner ("learnerId", recent, rc, earlier, ec) from the latest assessments submitted since `since`. */
function droppedFromAssessmentsSql(organizationId: string, externalId: string, aspect: Aspect, n: number, since: Date): Prisma.Sql {
  const latest = latestModelAssessments({
    organizationId, utterances: Prisma.sql`${inGroup(organizationId, externalId)} ${submittedIn({ from: since })}`,
  });
  return Prisma.sql`WITH latest AS (${latest}),
    ranked AS (
      SELECT l."learnerId", ${aspectColumn('l', aspect)}::float8 AS score,
        ROW_NUMBER() OVER (PARTITION BY l."learnerId" ORDER BY l.at DESC, l."utteranceId" DESC) AS rk
      FROM latest l)
    SELECT "learnerId",
      AVG(score) FILTER (WHERE rk <= ${n}::int)::float8 AS recent, COUNT(*) FILTER (WHERE rk <= ${n}::int)::int AS rc,
      AVG(score) FILTER (WHERE rk > ${n}::int)::float8 AS earlier, COUNT(*) FILTER (WHERE rk > ${n}::int)::int AS ec
    FROM ranked GROUP BY "learnerId"`;
}

/**
 * The same from the histograms: a learner's sum and count of `aspect` over every latest model
 * assessment, minus those of the latest N utterances that have one (same order as above: submitted
 * last, then utterance id), both leaving out READ_WRONG_TEXT as the histograms do.
 */
function droppedFromRollupSql(organizationId: string, externalId: string, aspect: Aspect, n: number): Prisma.Sql {
  return Prisma.sql`WITH totals AS (
      SELECT r."learnerId", SUM(r.count * r.score)::float8 AS s, SUM(r.count)::int AS c
      FROM "LearnerScoreRollup" r
      WHERE r."organizationId" = ${organizationId}::uuid AND r.aspect = ${aspect}
        AND r."learnerId" IN (${groupLearners(organizationId, externalId)})
      GROUP BY r."learnerId" HAVING SUM(r.count) > 0),
    split AS (
      SELECT t."learnerId", t.s, t.c, recent.s AS rs, recent.c AS rc
      FROM totals t CROSS JOIN LATERAL (
        SELECT SUM(x.score)::float8 AS s, COUNT(*)::int AS c FROM (
          SELECT la.score FROM "Utterance" u
          CROSS JOIN LATERAL (
            SELECT ${aspectColumn('a', aspect)}::float8 AS score, a.flags FROM "Assessment" a
            WHERE a."organizationId" = u."organizationId" AND a."utteranceId" = u.id AND a.source = 'MODEL'
            ORDER BY a."createdAt" DESC, a.id DESC LIMIT 1) la
          WHERE u."organizationId" = ${organizationId}::uuid AND u."learnerId" = t."learnerId" AND ${countsAsReading('la')}
          ORDER BY u."createdAt" DESC, u.id DESC LIMIT ${n}::int) x) recent)
    SELECT "learnerId", rs / NULLIF(rc, 0) AS recent, rc,
      (s - rs) / NULLIF(c - rc, 0) AS earlier, c - rc AS ec
    FROM split`;
}

/** Learners of the group with no utterance since `days` ago, never-practised first, then the longest inactive. */
export async function inactiveLearners(
  prisma: PrismaClient, organizationId: string, externalId: string,
  args: { days?: number | null; first?: number | null; after?: string | null }, now = new Date(),
) {
  const first = bound('first', args.first, 20, MAX_LEARNERS);
  const after = args.after == null ? null : decodeRankCursor(inactiveCursorKind(args.days), args.after, 'instant');
  // After the cursor's row in the list's order: never practised (null) first, then the oldest, then id.
  const past = after === null ? Prisma.sql`true`
    : after.value === null ? Prisma.sql`(last IS NOT NULL OR learner_id::uuid > ${after.id}::uuid)`
    : Prisma.sql`(last > ${after.value}::timestamptz OR (last = ${after.value}::timestamptz AND learner_id::uuid > ${after.id}::uuid))`;
  const rows = await prisma.$queryRaw<{ learner_id: string; last: Date | null }[]>`
    SELECT learner_id, last FROM (${inactiveSql(organizationId, externalId, args.days, now)}) i
    WHERE ${past}
    ORDER BY last ASC NULLS FIRST, learner_id::uuid LIMIT ${first}::int`;
  return rows.map((r) => ({
    learnerId: r.learner_id, lastPracticeAt: r.last,
    cursor: encodeRankCursor(inactiveCursorKind(args.days), { value: r.last?.toISOString() ?? null, id: r.learner_id }),
  }));
}

/** How many learners inactiveLearners would list without its `first`. */
export async function inactiveLearnerCount(
  prisma: PrismaClient, organizationId: string, externalId: string, args: { days?: number | null }, now = new Date(),
): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM (${inactiveSql(organizationId, externalId, args.days, now)}) i`;
  return row!.n;
}

/**
 * The group's learners without an utterance since `days` before `now`, with their latest one's
 * time. Each learner's latest utterance is the first entry of the (organisation, learner,
 * createdAt DESC) index: one short index probe per learner instead of grouping all of a
 * 500-learner cohort's utterances.
 */
function inactiveSql(organizationId: string, externalId: string, daysArg: number | null | undefined, now: Date): Prisma.Sql {
  const days = bound('days', daysArg, 14, 36_500);
  const cutoff = new Date(now.getTime() - days * 24 * 3600 * 1000);
  return Prisma.sql`
    SELECT l.id::text AS learner_id, latest.at AS last
    FROM "Learner" l
    LEFT JOIN LATERAL (
      SELECT u."createdAt" AS at FROM "Utterance" u
      WHERE u."organizationId" = l."organizationId" AND u."learnerId" = l.id
      ORDER BY u."createdAt" DESC LIMIT 1) latest ON true
    WHERE l."organizationId" = ${organizationId}::uuid AND l.groups @> ARRAY[${externalId}]::text[]
      AND (latest.at IS NULL OR latest.at < ${cutoff}::timestamptz)`;
}
