-- The event feed (Query.eventFeed): every committed event gets a position in its organisation's
-- feed, in the order it became readable, so a poller that resumes after its last position misses
-- nothing (ordering by createdAt could: it is set before the transaction commits).
ALTER TABLE "OutboxEvent" ADD COLUMN "feedPosition" BIGINT;

CREATE TABLE "EventFeedSequence" (
    "organizationId" UUID NOT NULL,
    "lastPosition" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "EventFeedSequence_pkey" PRIMARY KEY ("organizationId")
);
ALTER TABLE "EventFeedSequence" ADD CONSTRAINT "EventFeedSequence_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Events already kept take their places in the order they were made.
UPDATE "OutboxEvent" e SET "feedPosition" = n."position"
  FROM (SELECT "id", row_number() OVER (PARTITION BY "organizationId" ORDER BY "createdAt", "id") AS "position" FROM "OutboxEvent") n
 WHERE e."id" = n."id";
INSERT INTO "EventFeedSequence" ("organizationId", "lastPosition")
  SELECT "organizationId", max("feedPosition") FROM "OutboxEvent" GROUP BY "organizationId";

-- The feed in position order; its NULLs are the sequencer's work (an organisation's events not yet placed).
CREATE UNIQUE INDEX "OutboxEvent_organizationId_feedPosition_key" ON "OutboxEvent"("organizationId", "feedPosition");
