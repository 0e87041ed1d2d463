-- Statements an erasure or a deletion voids in the LRS, one row per statement, kept with the event
-- (learner.erased, utterance.deleted) whose XAPI delivery sends the voiding statements.
CREATE TABLE "XapiVoiding" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "eventId" UUID NOT NULL,
    "statementId" TEXT NOT NULL,
    "voidedAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "XapiVoiding_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "XapiVoiding_eventId_statementId_key" ON "XapiVoiding"("eventId", "statementId");

ALTER TABLE "XapiVoiding" ADD CONSTRAINT "XapiVoiding_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "OutboxEvent"("id") ON DELETE CASCADE ON UPDATE CASCADE;
