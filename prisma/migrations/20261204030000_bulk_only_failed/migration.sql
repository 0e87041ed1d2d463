-- ReassessUtterancesInput.onlyFailed / failedWithCode: a bulk re-assessment of the utterances whose latest job FAILED.
ALTER TABLE "BulkOperation" ADD COLUMN "onlyFailed" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "BulkOperation" ADD COLUMN "failedWithCode" TEXT;
