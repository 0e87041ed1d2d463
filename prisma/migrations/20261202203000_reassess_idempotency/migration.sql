-- reassessUtterance(idempotencyKey:): a retry returns the job the key first created.
ALTER TABLE "Job" ADD COLUMN "idempotencyKey" TEXT;
CREATE UNIQUE INDEX "Job_organizationId_idempotencyKey_key" ON "Job"("organizationId", "idempotencyKey");
