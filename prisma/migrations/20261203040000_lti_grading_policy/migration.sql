-- A line item's grading policy: how a user's grade is made from every reading they submitted to it
-- (the latest, the best, or the mean), and what each posted score was made with.
CREATE TYPE "LtiGradingPolicy" AS ENUM ('LATEST', 'BEST', 'MEAN');
ALTER TABLE "LtiLineItem" ADD COLUMN "gradingPolicy" "LtiGradingPolicy" NOT NULL DEFAULT 'LATEST';
ALTER TABLE "LtiScore" ADD COLUMN "gradingPolicy" "LtiGradingPolicy" NOT NULL DEFAULT 'LATEST',
  ADD COLUMN "attemptsGraded" INTEGER NOT NULL DEFAULT 1;
-- A user's submissions to a line item, read when a score under BEST or MEAN is computed; replaces
-- the line item's single-column index (a line item's deletion cascades along its leading column).
DROP INDEX "LtiSubmission_lineItemId_idx";
CREATE INDEX "LtiSubmission_lineItemId_userId_idx" ON "LtiSubmission"("lineItemId", "userId");
