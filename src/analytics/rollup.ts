/**
 * The learner rollups (LearnerSoundRollup, LearnerSoundWordRollup, LearnerScoreRollup; DESIGN.md
 * "small rollups maintained in the same completing transaction"): per learner and phone, the sums
 * over the phonemes of the latest MODEL assessment of each of the learner's utterances, so
 * LearnerGroup.weakSounds of a 500-learner cohort adds up ~20,000 rollup rows instead of ~1,300,000
 * phoneme rows; per learner, aspect and score (integers 0-10), how many latest assessments have it,
 * so LearnerGroup.scoreDistribution reads a histogram instead of ~50,000 utterances.
 *
 * One definition of "a learner's sums": `addContributions` below, of a set of signed assessments;
 * an assessment flagged READ_WRONG_TEXT adds and subtracts nothing (common.ts countsAsReading, the
 * rule the windowed analytics apply through latestModelAssessments).
 * The completing transaction (writeAssessment) adds the new latest assessment of an utterance and
 * subtracts the one it replaced; the seeder adds the latest assessment of each utterance of the
 * learners it wrote; the migrations 20261130053418_sound_rollups and 20261130060507_score_rollups
 * backfilled with the same SQL.
 *
 * The sums are numeric: exact, so a subtraction takes back exactly what an addition put in (a
 * learner left with one utterance has Σxx·n − Σx² = 0, hence a null slope, as regr_slope says).
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { aspectRows, countsAsReading, latestModelAssessments, PHONEME_ERROR_BELOW, soundKey } from './common.js';

/** x of the slope sums: seconds from 2026-01-01T00:00:00Z to the utterance (small, exact numbers). */
export const SLOPE_ORIGIN_EPOCH = 1_767_225_600;
export const WEEK_SECONDS = 7 * 24 * 3600;

type Db = Pick<PrismaClient, '$executeRaw'>;

/**
 * Adds to the rollups the phonemes and sentence scores of `changes` (a query of (id uuid, sign int): assessments and
 * whether they count +1 or -1). Rows are upserted in (learner, phone[, word]) order, so two workers
 * adding to the same learner take the row locks in the same order and cannot deadlock; each
 * statement touches a row once (GROUP BY), subtraction and addition netted.
 */
export async function addContributions(db: Db, changes: Prisma.Sql): Promise<void> {
  const phonemes = Prisma.sql`changes AS (${changes}),
    ph AS (
      SELECT a."organizationId" AS org, u."learnerId" AS learner, c.sign,
        ${soundKey(Prisma.sql`p.symbol`)} AS phone, upper(w.text) AS word,
        p.accuracy::numeric AS y, p.accuracy < ${PHONEME_ERROR_BELOW}::float8 AS err,
        EXTRACT(EPOCH FROM u."createdAt") - ${SLOPE_ORIGIN_EPOCH}::numeric AS x
      FROM changes c
      JOIN "Assessment" a ON a.id = c.id AND ${countsAsReading('a')}
      JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
      JOIN "WordAssessment" w ON w."assessmentId" = a.id
      JOIN "PhonemeAssessment" p ON p."wordAssessmentId" = w.id)`;
  await db.$executeRaw`WITH ${phonemes}
    INSERT INTO "LearnerSoundRollup" AS r
      ("organizationId", "learnerId", phone, count, "sumAccuracy", errors, "sumX", "sumXX", "sumXY")
    SELECT org, learner, phone, SUM(sign)::int, SUM(sign * y), COALESCE(SUM(sign) FILTER (WHERE err), 0)::int,
      SUM(sign * x), SUM(sign * x * x), SUM(sign * x * y)
    FROM ph GROUP BY org, learner, phone ORDER BY org, learner, phone
    ON CONFLICT ("organizationId", "learnerId", phone) DO UPDATE SET
      count = r.count + EXCLUDED.count, "sumAccuracy" = r."sumAccuracy" + EXCLUDED."sumAccuracy",
      errors = r.errors + EXCLUDED.errors, "sumX" = r."sumX" + EXCLUDED."sumX",
      "sumXX" = r."sumXX" + EXCLUDED."sumXX", "sumXY" = r."sumXY" + EXCLUDED."sumXY"`;
  await db.$executeRaw`WITH ${phonemes}
    INSERT INTO "LearnerSoundWordRollup" AS r ("organizationId", "learnerId", phone, word, errors)
    SELECT org, learner, phone, word, SUM(sign)::int
    FROM ph WHERE err GROUP BY org, learner, phone, word HAVING SUM(sign) <> 0 ORDER BY org, learner, phone, word
    ON CONFLICT ("organizationId", "learnerId", phone, word) DO UPDATE SET errors = r.errors + EXCLUDED.errors`;
  await db.$executeRaw`WITH changes AS (${changes})
    INSERT INTO "LearnerScoreRollup" AS r ("organizationId", "learnerId", aspect, score, count)
    SELECT a."organizationId", u."learnerId", s.aspect, s.score::int, SUM(c.sign)::int
    FROM changes c
    JOIN "Assessment" a ON a.id = c.id AND ${countsAsReading('a')}
    JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
    CROSS JOIN LATERAL ${aspectRows('a')}
    GROUP BY 1, 2, 3, 4 HAVING SUM(c.sign) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT ("organizationId", "learnerId", aspect, score) DO UPDATE SET count = r.count + EXCLUDED.count`;
}

/**
 * In the transaction that wrote MODEL assessment `assessmentId` of the utterance (whose row the
 * caller has locked, so completions of one utterance take turns): when it is now the utterance's
 * latest model assessment (the order of latestModelAssessments), add it and subtract the one it
 * replaced. A re-assessment therefore never counts twice.
 */
export async function applyNewModelAssessment(
  tx: Db, organizationId: string, utteranceId: string, assessmentId: string,
): Promise<void> {
  await addContributions(tx, Prisma.sql`
    WITH model AS (
      SELECT id, "createdAt" FROM "Assessment"
      WHERE "organizationId" = ${organizationId}::uuid AND "utteranceId" = ${utteranceId}::uuid AND source = 'MODEL'),
    latest AS (SELECT id FROM model ORDER BY "createdAt" DESC, id DESC LIMIT 1),
    replaced AS (SELECT id FROM model WHERE id <> ${assessmentId}::uuid ORDER BY "createdAt" DESC, id DESC LIMIT 1)
    SELECT id, 1 AS sign FROM latest WHERE id = ${assessmentId}::uuid
    UNION ALL
    SELECT id, -1 AS sign FROM replaced WHERE EXISTS (SELECT 1 FROM latest WHERE id = ${assessmentId}::uuid)`);
}

/** Adds the latest model assessment of each utterance of `learnerIds`, learners not counted yet (the seeder's new ones). */
export async function addNewLearners(db: Db, organizationId: string, learnerIds: string[]): Promise<void> {
  const latest = latestModelAssessments({ organizationId, utterances: Prisma.sql`AND u."learnerId" = ANY(${learnerIds}::uuid[])` });
  await addContributions(db, Prisma.sql`SELECT id, 1 AS sign FROM (${latest}) l`);
}
