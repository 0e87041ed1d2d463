-- CreateTable
CREATE TABLE "LearnerScoreRollup" (
    "organizationId" UUID NOT NULL,
    "learnerId" UUID NOT NULL,
    "aspect" TEXT NOT NULL,
    "score" INTEGER NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "LearnerScoreRollup_pkey" PRIMARY KEY ("organizationId","learnerId","aspect","score")
);

-- AddForeignKey
ALTER TABLE "LearnerScoreRollup" ADD CONSTRAINT "LearnerScoreRollup_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill from the stored rows: the latest MODEL assessment of each utterance (ORDER BY as
-- src/analytics/common.ts latestModelAssessments), counted per sentence aspect and score as
-- src/analytics/rollup.ts addContributions does with sign +1.
WITH latest AS (
  SELECT DISTINCT ON (a."utteranceId") a.id
  FROM "Assessment" a
  JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
  WHERE a.source = 'MODEL'
  ORDER BY a."utteranceId", a."createdAt" DESC, a.id DESC)
INSERT INTO "LearnerScoreRollup" ("organizationId", "learnerId", aspect, score, count)
SELECT a."organizationId", u."learnerId", s.aspect, s.score, COUNT(*)::int
FROM latest l
JOIN "Assessment" a ON a.id = l.id
JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
CROSS JOIN LATERAL (VALUES ('ACCURACY', a.accuracy), ('FLUENCY', a.fluency), ('PROSODY', a.prosody),
  ('COMPLETENESS', a.completeness), ('TOTAL', a.total)) AS s(aspect, score)
GROUP BY 1, 2, 3, 4;
