-- The learner's groups when a recording was submitted: the xAPI statement's contextActivities.grouping
-- (a snapshot, so a statement built again later is the same). Older recordings keep none.
ALTER TABLE "Utterance" ADD COLUMN "learnerGroups" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
