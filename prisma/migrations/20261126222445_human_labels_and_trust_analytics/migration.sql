-- DropIndex
DROP INDEX "Assessment_organizationId_modelVersion_idx";

-- AlterTable
ALTER TABLE "Assessment" ADD COLUMN     "rater" TEXT;

-- AlterTable
ALTER TABLE "Rationale" ADD COLUMN     "humanCheck" JSONB;

-- CreateIndex
CREATE INDEX "Assessment_organizationId_modelVersion_createdAt_id_idx" ON "Assessment"("organizationId", "modelVersion", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Assessment_organizationId_source_createdAt_id_idx" ON "Assessment"("organizationId", "source", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Rationale_flags_idx" ON "Rationale" USING GIN ("flags");
