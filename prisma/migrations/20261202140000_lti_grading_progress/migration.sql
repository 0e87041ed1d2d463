-- A score owed for a READ_WRONG_TEXT assessment (the learner read another sentence) is posted with
-- AGS gradingProgress PendingManual instead of FullyGraded, so the gradebook waits for a teacher
-- (src/lti/deliver.ts). Scores already owed keep FullyGraded, as they were computed.
CREATE TYPE "LtiGradingProgress" AS ENUM ('FULLY_GRADED', 'PENDING_MANUAL');
ALTER TABLE "LtiScore" ADD COLUMN "gradingProgress" "LtiGradingProgress" NOT NULL DEFAULT 'FULLY_GRADED';
