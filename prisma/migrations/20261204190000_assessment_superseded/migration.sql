-- A model assessment replaced by a newer one of the same utterance (a re-assessment) says when:
-- the review queues (flaggedAssessments, reviewedAssessments: superseded false) can then list only
-- what learners see now without a per-row subquery (src/assessment/persist.ts keeps it).
ALTER TABLE "Assessment" ADD COLUMN "supersededAt" TIMESTAMPTZ(3);

-- Existing rows: each model assessment but an utterance's latest, superseded when the next was made.
UPDATE "Assessment" a SET "supersededAt" = n."next"
  FROM (SELECT "id", lead("createdAt") OVER (PARTITION BY "utteranceId" ORDER BY "createdAt", "id") AS "next"
          FROM "Assessment" WHERE "source" = 'MODEL') n
 WHERE a."id" = n."id" AND n."next" IS NOT NULL;
