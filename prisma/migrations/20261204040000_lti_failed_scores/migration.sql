-- A reading whose job fails for good, for a line item where the user has no grade yet, owes a score
-- posted as AGS gradingProgress Failed (activityProgress Submitted) without scoreGiven: the gradebook
-- then shows the submission and that it could not be graded (src/lti/deliver.ts queueLtiFailure).
-- Such a score names its job instead of an assessment. No row uses FAILED here, so ADD VALUE is safe
-- inside the migration's transaction.
ALTER TYPE "LtiGradingProgress" ADD VALUE 'FAILED';

ALTER TABLE "LtiScore" ALTER COLUMN "assessmentId" DROP NOT NULL,
                       ALTER COLUMN "scoreGiven" DROP NOT NULL,
                       ADD COLUMN "jobId" UUID;

-- Exactly one of the assessment graded and the job that failed; a score given exactly with an
-- assessment; FAILED exactly for a job's score (compared as text: the new value cannot be used here).
ALTER TABLE "LtiScore" ADD CONSTRAINT "LtiScore_graded_or_failed_check"
  CHECK (("assessmentId" IS NULL) <> ("jobId" IS NULL)
     AND ("assessmentId" IS NULL) = ("scoreGiven" IS NULL)
     AND ("jobId" IS NOT NULL) = ("gradingProgress"::text = 'FAILED'));

CREATE UNIQUE INDEX "LtiScore_jobId_lineItemId_key" ON "LtiScore"("jobId", "lineItemId");

ALTER TABLE "LtiScore" ADD CONSTRAINT "LtiScore_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;
