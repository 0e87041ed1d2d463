-- The events feed (Query.events) pages newest first; these let a filter by type, or by learner,
-- read one page from an index instead of walking or sorting the organisation's events.
CREATE INDEX "OutboxEvent_organizationId_type_createdAt_id_idx" ON "OutboxEvent"("organizationId", "type", "createdAt" DESC, "id" DESC);
-- Replaces the learner's single-column index (erasure's cascade still uses its leading column).
DROP INDEX "OutboxEvent_learnerId_idx";
CREATE INDEX "OutboxEvent_learnerId_createdAt_id_idx" ON "OutboxEvent"("learnerId", "createdAt" DESC, "id" DESC);
