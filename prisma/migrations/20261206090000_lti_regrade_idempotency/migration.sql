-- regradeLtiLineItem's idempotency key: each re-grade is a row holding the request it came with (line
-- item, a fingerprint of the user ids), its event and audit record, and how far its batches got, so a
-- retry with the same key replays it (or goes on from its cursor) instead of posting every grade again
-- under a second event. Keys are unique per organisation, as submitUtterance's and the bulk
-- re-assessments' are. Re-grades before this had no row and no key.
CREATE TABLE "LtiRegrade" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "lineItemId" UUID NOT NULL,
    "userIdsFingerprint" TEXT,
    "idempotencyKey" TEXT,
    "eventId" UUID NOT NULL,
    "auditEventId" UUID NOT NULL,
    "cursor" TEXT,
    "usersDone" INTEGER NOT NULL DEFAULT 0,
    "usersRegraded" INTEGER NOT NULL DEFAULT 0,
    "usersWithoutReadings" INTEGER,
    "completedAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiRegrade_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "LtiRegrade_organizationId_idempotencyKey_key" ON "LtiRegrade"("organizationId", "idempotencyKey");
CREATE INDEX "LtiRegrade_lineItemId_idx" ON "LtiRegrade"("lineItemId");
CREATE INDEX "LtiRegrade_eventId_idx" ON "LtiRegrade"("eventId");

ALTER TABLE "LtiRegrade" ADD CONSTRAINT "LtiRegrade_lineItemId_fkey" FOREIGN KEY ("lineItemId") REFERENCES "LtiLineItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "LtiRegrade" ADD CONSTRAINT "LtiRegrade_eventId_fkey" FOREIGN KEY ("eventId") REFERENCES "OutboxEvent"("id") ON DELETE CASCADE ON UPDATE CASCADE;
