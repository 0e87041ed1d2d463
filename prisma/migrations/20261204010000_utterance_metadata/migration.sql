-- The integrator's own key-value pairs given at submission (SubmitUtteranceInput.metadata), echoed
-- in the API, the events and the export. A constant default: no table rewrite on PostgreSQL 11+.
ALTER TABLE "Utterance" ADD COLUMN "metadata" JSONB NOT NULL DEFAULT '{}';

-- utterances(filter: {metadata}): containment (@>) found through the index, not by a scan.
CREATE INDEX "Utterance_metadata_idx" ON "Utterance" USING GIN ("metadata" jsonb_path_ops);
