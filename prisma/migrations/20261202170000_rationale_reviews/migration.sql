-- A person's verdict on a model rationale (reviewRationale): the review queue (flaggedAssessments)
-- can then show what is still to be read, and rationaleAnalytics how often the checks' flags were
-- right. One row per rationale, replaced by a new verdict; it goes with its rationale.
CREATE TYPE "RationaleVerdict" AS ENUM ('ACCURATE', 'INACCURATE');

CREATE TABLE "RationaleReview" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "rationaleId" UUID NOT NULL,
    "verdict" "RationaleVerdict" NOT NULL,
    "note" TEXT,
    "reviewerApiKeyId" UUID,
    "reviewer" TEXT NOT NULL,
    "reviewedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RationaleReview_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "RationaleReview_rationaleId_key" ON "RationaleReview"("rationaleId");
CREATE INDEX "RationaleReview_organizationId_reviewedAt_idx" ON "RationaleReview"("organizationId", "reviewedAt");

ALTER TABLE "RationaleReview" ADD CONSTRAINT "RationaleReview_rationaleId_fkey" FOREIGN KEY ("rationaleId") REFERENCES "Rationale"("id") ON DELETE CASCADE ON UPDATE CASCADE;
