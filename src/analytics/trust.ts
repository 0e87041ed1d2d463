/**
 * Trust analytics per model version (DESIGN.md "Rationale checks"): flag shares and mean
 * faithfulness, against the model's own labels and against human labels. Aggregated in SQL
 * (GROUP BY, unnest) so the cost does not grow with rows shipped to the API process.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { RATIONALE_FLAGS, type RationaleFlag } from '../types.js';

export interface FlagShare {
  flag: RationaleFlag;
  count: number;
  share: number;
}

export interface TrustChecks {
  rationales: number;
  flags: FlagShare[];
  words: { precision: number | null; recall: number | null };
  phonemes: { precision: number | null; recall: number | null };
}

/** What people's verdicts (src/admin/reviews.ts) say about the rationales and the checks. */
export interface ReviewStats {
  reviewed: number;
  accurate: number;
  inaccurate: number;
  flaggedAccurate: number;
  trustedInaccurate: number;
  flagPrecision: number | null;
}

export interface ModelTrustStats {
  modelVersion: string;
  assessments: number;
  rationales: number;
  selfCheck: TrustChecks;
  vsHuman: TrustChecks;
  reviews: ReviewStats;
}

interface TotalsRow {
  version: string;
  assessments: number;
  rationales: number;
  human_rationales: number;
  wp: number | null; wr: number | null; pp: number | null; pr: number | null;
  hwp: number | null; hwr: number | null; hpp: number | null; hpr: number | null;
  reviewed: number; accurate: number; reviewed_flagged: number; flagged_accurate: number; trusted_inaccurate: number;
}

interface FlagRow {
  version: string;
  against: 'self' | 'human';
  flag: string;
  n: number;
}

/** MODEL assessments of the tenant (and version), joined to their rationale when they have one. */
function scope(organizationId: string, modelVersion: string | null | undefined) {
  const version = modelVersion == null ? Prisma.empty : Prisma.sql`AND a."modelVersion" = ${modelVersion}`;
  return Prisma.sql`a."organizationId" = ${organizationId}::uuid AND a.source = 'MODEL'
    AND a."modelVersion" IS NOT NULL ${version}`;
}

/** JSONB numbers of humanCheck; a JSON null (sentence-only labels) reads as SQL NULL, ignored by AVG. */
const human = (level: 'words' | 'phonemes', key: 'precision' | 'recall') =>
  Prisma.raw(`(r."humanCheck"->'${level}'->>'${key}')::float8`);

function totals(prisma: PrismaClient, where: Prisma.Sql) {
  return prisma.$queryRaw<TotalsRow[]>`
    SELECT a."modelVersion" AS version,
      COUNT(*)::int AS assessments,
      COUNT(r.id)::int AS rationales,
      COUNT(r."humanCheck")::int AS human_rationales,
      AVG(r."wordPrecision")::float8 AS wp, AVG(r."wordRecall")::float8 AS wr,
      AVG(r."phonemePrecision")::float8 AS pp, AVG(r."phonemeRecall")::float8 AS pr,
      AVG(${human('words', 'precision')}) AS hwp, AVG(${human('words', 'recall')}) AS hwr,
      AVG(${human('phonemes', 'precision')}) AS hpp, AVG(${human('phonemes', 'recall')}) AS hpr,
      COUNT(v.id)::int AS reviewed,
      COUNT(*) FILTER (WHERE v.verdict = 'ACCURATE')::int AS accurate,
      COUNT(v.id) FILTER (WHERE cardinality(r.flags) > 0)::int AS reviewed_flagged,
      COUNT(*) FILTER (WHERE v.verdict = 'ACCURATE' AND cardinality(r.flags) > 0)::int AS flagged_accurate,
      COUNT(*) FILTER (WHERE v.verdict = 'INACCURATE' AND cardinality(r.flags) = 0)::int AS trusted_inaccurate
    FROM "Assessment" a
    LEFT JOIN "Rationale" r ON r."assessmentId" = a.id AND r."organizationId" = a."organizationId"
    -- one review per rationale at most (unique rationaleId): the join adds no rows
    LEFT JOIN "RationaleReview" v ON v."rationaleId" = r.id AND v."organizationId" = a."organizationId"
    WHERE ${where}
    GROUP BY a."modelVersion"
    ORDER BY a."modelVersion"`;
}

/** Rationales per (version, flag), against the model's own labels and against human labels. */
function flagCounts(prisma: PrismaClient, where: Prisma.Sql) {
  return prisma.$queryRaw<FlagRow[]>`
    SELECT a."modelVersion" AS version, 'self' AS against, f.flag, COUNT(*)::int AS n
    FROM "Assessment" a
    JOIN "Rationale" r ON r."assessmentId" = a.id AND r."organizationId" = a."organizationId"
    CROSS JOIN LATERAL unnest(r.flags) AS f(flag)
    WHERE ${where}
    GROUP BY a."modelVersion", f.flag
    UNION ALL
    SELECT a."modelVersion" AS version, 'human' AS against, f.flag, COUNT(*)::int AS n
    FROM "Assessment" a
    JOIN "Rationale" r ON r."assessmentId" = a.id AND r."organizationId" = a."organizationId"
    CROSS JOIN LATERAL jsonb_array_elements_text(r."humanCheck"->'flags') AS f(flag)
    WHERE ${where} AND r."humanCheck" IS NOT NULL
    GROUP BY a."modelVersion", f.flag`;
}

function reviewStats(r: TotalsRow): ReviewStats {
  const [reviewed, accurate, reviewedFlagged, flaggedAccurate] = [r.reviewed, r.accurate, r.reviewed_flagged, r.flagged_accurate].map(Number) as [number, number, number, number];
  return {
    reviewed,
    accurate,
    inaccurate: reviewed - accurate,
    flaggedAccurate,
    trustedInaccurate: Number(r.trusted_inaccurate),
    flagPrecision: reviewedFlagged === 0 ? null : (reviewedFlagged - flaggedAccurate) / reviewedFlagged,
  };
}

function shares(counts: Map<string, number>, rationales: number): FlagShare[] {
  return RATIONALE_FLAGS.map((flag) => {
    const count = counts.get(flag) ?? 0;
    return { flag, count, share: rationales === 0 ? 0 : count / rationales };
  });
}

export async function rationaleAnalytics(
  prisma: PrismaClient,
  organizationId: string,
  modelVersion?: string | null,
): Promise<ModelTrustStats[]> {
  const where = scope(organizationId, modelVersion);
  const [rows, flags] = await Promise.all([totals(prisma, where), flagCounts(prisma, where)]);
  const counts = (version: string, against: FlagRow['against']) =>
    new Map(flags.filter((f) => f.version === version && f.against === against).map((f) => [f.flag, Number(f.n)]));
  return rows.map((r) => ({
    modelVersion: r.version,
    assessments: Number(r.assessments),
    rationales: Number(r.rationales),
    selfCheck: {
      rationales: Number(r.rationales),
      flags: shares(counts(r.version, 'self'), Number(r.rationales)),
      words: { precision: r.wp, recall: r.wr },
      phonemes: { precision: r.pp, recall: r.pr },
    },
    vsHuman: {
      rationales: Number(r.human_rationales),
      flags: shares(counts(r.version, 'human'), Number(r.human_rationales)),
      words: { precision: r.hwp, recall: r.hwr },
      phonemes: { precision: r.hpp, recall: r.hpr },
    },
    reviews: reviewStats(r),
  }));
}
