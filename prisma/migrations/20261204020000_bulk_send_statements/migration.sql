-- ReassessUtterancesInput.sendStatements: a bulk re-assessment sends xAPI statements only when asked.
-- Operations started before were sending them: they keep doing so until they finish (a cancelled
-- one's running jobs still finish: cancelled ones too).
ALTER TABLE "BulkOperation" ADD COLUMN "sendStatements" BOOLEAN NOT NULL DEFAULT false;
UPDATE "BulkOperation" SET "sendStatements" = true WHERE "completedAt" IS NULL;
