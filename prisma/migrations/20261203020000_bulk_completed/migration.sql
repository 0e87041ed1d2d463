-- bulkOperation.completed: when every job of a bulk re-assessment has finished (set once, with its event).
ALTER TABLE "BulkOperation" ADD COLUMN "completedAt" TIMESTAMPTZ(3);
-- Operations that finished before this release are marked completed (when their last job ended), so
-- no bulkOperation.completed is sent for them long after the fact.
UPDATE "BulkOperation" b
   SET "completedAt" = greatest((SELECT max(j."finishedAt") FROM "Job" j WHERE j."bulkOperationId" = b."id"), b."enqueuedAt")
 WHERE b."enqueuedAt" IS NOT NULL AND b."cancelledAt" IS NULL
   AND NOT EXISTS (SELECT 1 FROM "Job" j WHERE j."bulkOperationId" = b."id" AND j."status" IN ('QUEUED', 'RUNNING'));
