-- Job priorities and the fair claim (src/jobs/queue.ts): INTERACTIVE before BULK, organisations round-robin.
-- CreateEnum
CREATE TYPE "JobPriority" AS ENUM ('INTERACTIVE', 'BULK');

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "priority" "JobPriority" NOT NULL DEFAULT 'INTERACTIVE';

-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "queueServedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "Job_organizationId_priority_status_runAfter_createdAt_id_idx" ON "Job"("organizationId", "priority", "status", "runAfter", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Organization_queueServedAt_id_idx" ON "Organization"("queueServedAt", "id");

