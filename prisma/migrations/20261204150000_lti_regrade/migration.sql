-- Why a score was posted: an assessment (the default), a job that failed for good, a re-grade an admin
-- asked for (regradeLtiLineItem), or a re-grade after one of the user's readings was deleted
-- (src/lti/regrade.ts). A re-grade's score names the assessment of the user's latest reading, which
-- already has the score it was first posted with: an assessment may now have several scores per line
-- item, so the unique index goes (the organisation + assessment index still serves the lookups).
CREATE TYPE "LtiScoreReason" AS ENUM ('ASSESSED', 'GRADING_FAILED', 'REGRADED', 'READING_DELETED');

ALTER TABLE "LtiScore" ADD COLUMN "reason" "LtiScoreReason" NOT NULL DEFAULT 'ASSESSED';
UPDATE "LtiScore" SET "reason" = 'GRADING_FAILED' WHERE "jobId" IS NOT NULL;

-- A failed job's score, and only it, says so.
ALTER TABLE "LtiScore" ADD CONSTRAINT "LtiScore_reason_check" CHECK (("reason" = 'GRADING_FAILED') = ("jobId" IS NOT NULL));

DROP INDEX "LtiScore_assessmentId_lineItemId_key";
