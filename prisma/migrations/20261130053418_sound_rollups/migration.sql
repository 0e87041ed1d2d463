-- CreateTable
CREATE TABLE "LearnerSoundRollup" (
    "organizationId" UUID NOT NULL,
    "learnerId" UUID NOT NULL,
    "phone" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "sumAccuracy" DECIMAL NOT NULL,
    "errors" INTEGER NOT NULL,
    "sumX" DECIMAL NOT NULL,
    "sumXX" DECIMAL NOT NULL,
    "sumXY" DECIMAL NOT NULL,

    CONSTRAINT "LearnerSoundRollup_pkey" PRIMARY KEY ("organizationId","learnerId","phone")
);

-- CreateTable
CREATE TABLE "LearnerSoundWordRollup" (
    "organizationId" UUID NOT NULL,
    "learnerId" UUID NOT NULL,
    "phone" TEXT NOT NULL,
    "word" TEXT NOT NULL,
    "errors" INTEGER NOT NULL,

    CONSTRAINT "LearnerSoundWordRollup_pkey" PRIMARY KEY ("organizationId","learnerId","phone","word")
);

-- AddForeignKey
ALTER TABLE "LearnerSoundRollup" ADD CONSTRAINT "LearnerSoundRollup_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LearnerSoundWordRollup" ADD CONSTRAINT "LearnerSoundWordRollup_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill from the stored rows: the latest MODEL assessment of each utterance (ORDER BY as
-- src/analytics/common.ts latestModelAssessments), summed as src/analytics/rollup.ts
-- addContributions does with sign +1 (x: seconds since 2026-01-01; an error: accuracy < 1.5).
CREATE TEMP TABLE "_sound_rollup_ph" AS
WITH latest AS (
  SELECT DISTINCT ON (a."utteranceId") a.id
  FROM "Assessment" a
  JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
  WHERE a.source = 'MODEL'
  ORDER BY a."utteranceId", a."createdAt" DESC, a.id DESC)
SELECT a."organizationId" AS org, u."learnerId" AS learner, 1 AS sign,
  regexp_replace(p.symbol, '[012]$', '') AS phone, upper(w.text) AS word,
  p.accuracy::numeric AS y, p.accuracy < 1.5::float8 AS err,
  EXTRACT(EPOCH FROM u."createdAt") - 1767225600::numeric AS x
FROM latest l
JOIN "Assessment" a ON a.id = l.id
JOIN "Utterance" u ON u.id = a."utteranceId" AND u."organizationId" = a."organizationId"
JOIN "WordAssessment" w ON w."assessmentId" = a.id
JOIN "PhonemeAssessment" p ON p."wordAssessmentId" = w.id;

INSERT INTO "LearnerSoundRollup" ("organizationId", "learnerId", phone, count, "sumAccuracy", errors, "sumX", "sumXX", "sumXY")
SELECT org, learner, phone, SUM(sign)::int, SUM(sign * y), COALESCE(SUM(sign) FILTER (WHERE err), 0)::int,
  SUM(sign * x), SUM(sign * x * x), SUM(sign * x * y)
FROM "_sound_rollup_ph" GROUP BY org, learner, phone;

INSERT INTO "LearnerSoundWordRollup" ("organizationId", "learnerId", phone, word, errors)
SELECT org, learner, phone, word, SUM(sign)::int
FROM "_sound_rollup_ph" WHERE err GROUP BY org, learner, phone, word HAVING SUM(sign) <> 0;

DROP TABLE "_sound_rollup_ph";
