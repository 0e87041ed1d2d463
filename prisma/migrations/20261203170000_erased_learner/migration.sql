-- Erased learners, so that a roster sync does not create them again: the organisation and a salted
-- sha256 of the externalId (the id itself is not kept). createLearner removes the row.
CREATE TABLE "ErasedLearner" (
    "organizationId" UUID NOT NULL,
    "externalIdSha256" TEXT NOT NULL,
    "erasedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ErasedLearner_pkey" PRIMARY KEY ("organizationId","externalIdSha256")
);
ALTER TABLE "ErasedLearner" ADD CONSTRAINT "ErasedLearner_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
