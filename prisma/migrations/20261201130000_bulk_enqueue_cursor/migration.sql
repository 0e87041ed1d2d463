-- Bulk re-assessment queues its jobs batch by batch from a cursor kept on the operation (the last
-- utterance id queued, and when), under the operation's row lock: a request returns after a bounded
-- time and the rest is queued in the background, and an operation whose process ended part-way is
-- taken up again from its cursor by any API or worker process (src/assessment/bulk.ts).
ALTER TABLE "BulkOperation" ADD COLUMN "enqueuedThrough" UUID;
ALTER TABLE "BulkOperation" ADD COLUMN "enqueuedThroughAt" TIMESTAMPTZ(3);
