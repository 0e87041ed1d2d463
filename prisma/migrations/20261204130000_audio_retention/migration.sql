-- Audio retention: an organisation keeps recordings for audioRetentionDays (0: for ever; null: the
-- server's SPEECHMARK_AUDIO_RETENTION_DAYS); a sweep then removes the file and stamps the utterance.
ALTER TABLE "Organization" ADD COLUMN "audioRetentionDays" INTEGER;
ALTER TABLE "Organization" ADD CONSTRAINT "Organization_audioRetentionDays_check" CHECK ("audioRetentionDays" IS NULL OR "audioRetentionDays" BETWEEN 0 AND 36500);
ALTER TABLE "Utterance" ADD COLUMN "audioRemovedAt" TIMESTAMPTZ(3);
CREATE INDEX "Utterance_audioRemovedAt_createdAt_idx" ON "Utterance"("audioRemovedAt", "createdAt");
