/**
 * Model audit per model version (ADMIN): score distributions over the latest assessment of each
 * utterance per version, and agreement with the utterance's latest human labels, pooled in SQL with
 * the definitions of src/assessment/agreement.ts (absolute differences; words compared by position
 * in the reference, phonemes by position in the word; exact match of word accuracy). Two statements.
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { ASPECTS, distributions, distributionSql, latestModelAssessments, type Aspect, type DistributionRow } from './common.js';

interface AgreementRow {
  version: string;
  utterances: number;
  compared: number;
  sentence: Record<string, number | null>;
  words: number;
  word_mae: number | null;
  word_exact: number | null;
  phonemes: number;
  phoneme_mae: number | null;
}

const sentenceAgreement = Prisma.raw(ASPECTS.map((a) => {
  const c = a.toLowerCase();
  return `'${a}_mae', AVG(abs(m.${c} - h.${c}))::float8, '${a}_exact', AVG((m.${c} = h.${c})::int)::float8`;
}).join(', '));

export async function modelAudit(prisma: PrismaClient, organizationId: string, modelVersion?: string | null) {
  const latest = latestModelAssessments({
    organizationId, modelVersion, perVersion: true, includeWrongText: true, utterances: Prisma.sql`AND a."modelVersion" IS NOT NULL`,
  });
  const [dist, agreement] = await Promise.all([
    prisma.$queryRaw<DistributionRow[]>(distributionSql(latest, Prisma.sql`l."modelVersion"`)),
    prisma.$queryRaw<AgreementRow[]>`WITH m AS (${latest}),
      h AS (
        SELECT DISTINCT ON (a."utteranceId") a.id, a."utteranceId", a.accuracy, a.fluency, a.prosody, a.completeness, a.total
        FROM "Assessment" a WHERE a."organizationId" = ${organizationId}::uuid AND a.source = 'HUMAN'
        ORDER BY a."utteranceId", a."createdAt" DESC, a.id DESC),
      versions AS (SELECT m."modelVersion" AS version, COUNT(*)::int AS utterances FROM m GROUP BY m."modelVersion"),
      sentences AS (
        SELECT m."modelVersion" AS version, COUNT(*)::int AS compared, json_build_object(${sentenceAgreement}) AS sentence
        FROM m JOIN h ON h."utteranceId" = m."utteranceId" GROUP BY m."modelVersion"),
      words AS (
        SELECT m."modelVersion" AS version, COUNT(*)::int AS words,
          AVG(abs(wm.accuracy - wh.accuracy))::float8 AS word_mae, AVG((wm.accuracy = wh.accuracy)::int)::float8 AS word_exact
        FROM m JOIN h ON h."utteranceId" = m."utteranceId"
        JOIN "WordAssessment" wm ON wm."assessmentId" = m.id AND wm."organizationId" = ${organizationId}::uuid
        JOIN "WordAssessment" wh ON wh."assessmentId" = h.id AND wh."organizationId" = ${organizationId}::uuid AND wh.index = wm.index
        GROUP BY m."modelVersion"),
      phonemes AS (
        SELECT m."modelVersion" AS version, COUNT(*)::int AS phonemes, AVG(abs(pm.accuracy - ph.accuracy))::float8 AS phoneme_mae
        FROM m JOIN h ON h."utteranceId" = m."utteranceId"
        JOIN "WordAssessment" wm ON wm."assessmentId" = m.id AND wm."organizationId" = ${organizationId}::uuid
        JOIN "WordAssessment" wh ON wh."assessmentId" = h.id AND wh."organizationId" = ${organizationId}::uuid AND wh.index = wm.index
        JOIN "PhonemeAssessment" pm ON pm."wordAssessmentId" = wm.id AND pm."organizationId" = ${organizationId}::uuid
        JOIN "PhonemeAssessment" ph ON ph."wordAssessmentId" = wh.id AND ph."organizationId" = ${organizationId}::uuid AND ph.index = pm.index
        GROUP BY m."modelVersion")
      SELECT v.version, v.utterances, COALESCE(s.compared, 0) AS compared, s.sentence,
        COALESCE(w.words, 0) AS words, w.word_mae, w.word_exact, COALESCE(p.phonemes, 0) AS phonemes, p.phoneme_mae
      FROM versions v
      LEFT JOIN sentences s ON s.version = v.version
      LEFT JOIN words w ON w.version = v.version
      LEFT JOIN phonemes p ON p.version = v.version
      ORDER BY v.version`,
  ]);
  return agreement.map((r) => ({
    modelVersion: r.version,
    utterances: Number(r.utterances),
    scoreDistribution: distributions(dist.filter((d) => d.key === r.version)),
    agreement: {
      utterancesCompared: Number(r.compared),
      sentence: ASPECTS.map((aspect: Aspect) => ({
        aspect,
        meanAbsoluteDifference: r.sentence?.[`${aspect}_mae`] ?? null,
        exactMatchShare: r.sentence?.[`${aspect}_exact`] ?? null,
      })),
      wordAccuracyMae: r.word_mae,
      wordExactMatchShare: r.word_exact,
      wordsCompared: Number(r.words),
      phonemeAccuracyMae: r.phoneme_mae,
      phonemesCompared: Number(r.phonemes),
    },
  }));
}
