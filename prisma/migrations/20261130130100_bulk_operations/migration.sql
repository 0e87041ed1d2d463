-- Bulk re-assessment (src/assessment/bulk.ts): the operation, and its jobs.
-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "bulkOperationId" UUID;

-- CreateTable
CREATE TABLE "BulkOperation" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "learnerId" UUID,
    "groupExternalId" TEXT,
    "wholeOrganisation" BOOLEAN NOT NULL DEFAULT false,
    "since" TIMESTAMPTZ(3),
    "requestedModelVersion" TEXT,
    "idempotencyKey" TEXT,
    "total" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "enqueuedAt" TIMESTAMPTZ(3),
    "cancelledAt" TIMESTAMPTZ(3),

    CONSTRAINT "BulkOperation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BulkOperation_organizationId_createdAt_idx" ON "BulkOperation"("organizationId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "BulkOperation_organizationId_idempotencyKey_key" ON "BulkOperation"("organizationId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "Job_bulkOperationId_status_idx" ON "Job"("bulkOperationId", "status");

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_bulkOperationId_fkey" FOREIGN KEY ("bulkOperationId") REFERENCES "BulkOperation"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BulkOperation" ADD CONSTRAINT "BulkOperation_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

