-- Issue 10: LTI scores and xAPI statements are delivered through the outbox (Delivery), beside
-- webhooks. LtiScoreDelivery (a score and its own retry state) becomes LtiScore (the score owed)
-- plus an LTI_SCORE Delivery that carries the state; existing rows are moved over, keeping their
-- ids, status, attempt counts and next attempt times.

-- The channel enum is recreated rather than extended: a value added with ALTER TYPE ... ADD VALUE
-- cannot be used in the transaction that adds it, and the rows moved below use LTI_SCORE.
ALTER TYPE "DeliveryChannel" RENAME TO "DeliveryChannel_old";
CREATE TYPE "DeliveryChannel" AS ENUM ('WEBHOOK', 'LTI_SCORE', 'XAPI');
ALTER TABLE "Delivery" ALTER COLUMN "channel" TYPE "DeliveryChannel" USING "channel"::text::"DeliveryChannel";
DROP TYPE "DeliveryChannel_old";

-- AlterTable
ALTER TABLE "Delivery" ADD COLUMN     "ltiScoreId" UUID;

-- CreateTable
CREATE TABLE "LtiScore" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assessmentId" UUID NOT NULL,
    "lineItemId" UUID NOT NULL,
    "userId" TEXT NOT NULL,
    "scoreGiven" DOUBLE PRECISION NOT NULL,
    "scoreMaximum" DOUBLE PRECISION NOT NULL,
    "comment" TEXT,
    "scoredAt" TIMESTAMPTZ(3) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiScore_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "XapiLrs" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "endpoint" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "password" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "XapiLrs_pkey" PRIMARY KEY ("id")
);

-- The scores owed, with their ids.
INSERT INTO "LtiScore" ("id", "organizationId", "assessmentId", "lineItemId", "userId", "scoreGiven", "scoreMaximum", "comment", "scoredAt", "createdAt")
SELECT "id", "organizationId", "assessmentId", "lineItemId", "userId", "scoreGiven", "scoreMaximum", "comment", "scoredAt", "createdAt"
  FROM "LtiScoreDelivery";

-- A delivery needs an event. Scores written before the outbox existed have no assessment.completed
-- event to hang on, so each moved score gets an event of its own, type `lti.score` (never sent to
-- webhooks: only emitEvent fans events out to endpoints), about the assessment's learner so that
-- erasing the learner still removes it.
WITH moved AS MATERIALIZED (
  SELECT s.*, gen_random_uuid() AS "eventId", u."learnerId"
    FROM "LtiScoreDelivery" s
    JOIN "Assessment" a ON a."id" = s."assessmentId"
    JOIN "Utterance" u ON u."id" = a."utteranceId"
),
events AS (
  INSERT INTO "OutboxEvent" ("id", "organizationId", "learnerId", "type", "body", "createdAt")
  SELECT m."eventId", m."organizationId", m."learnerId", 'lti.score',
         json_build_object('type', 'lti.score', 'timestamp', to_char(m."createdAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                           'data', json_build_object('ltiScoreId', m."id", 'assessmentId', m."assessmentId"))::text,
         m."createdAt"
    FROM moved m
)
INSERT INTO "Delivery" ("id", "organizationId", "eventId", "channel", "ltiScoreId", "status", "attempts", "runAfter",
                        "lastStatusCode", "lastErrorCode", "lastError", "deliveredAt", "createdAt", "updatedAt")
SELECT gen_random_uuid(), m."organizationId", m."eventId", 'LTI_SCORE', m."id", m."status"::text::"DeliveryStatus", m."attempts", m."nextAttemptAt",
       m."lastHttpStatus",
       CASE WHEN m."lastError" IS NULL THEN NULL WHEN m."lastHttpStatus" IS NULL THEN 'CONNECTION_FAILED' ELSE 'HTTP_STATUS' END,
       m."lastError", m."deliveredAt", m."createdAt", now()
  FROM moved m;

-- DropTable
DROP TABLE "LtiScoreDelivery";

-- DropEnum
DROP TYPE "GradeDeliveryStatus";

-- CreateIndex
CREATE INDEX "LtiScore_organizationId_assessmentId_idx" ON "LtiScore"("organizationId", "assessmentId");

-- CreateIndex
CREATE UNIQUE INDEX "LtiScore_assessmentId_lineItemId_key" ON "LtiScore"("assessmentId", "lineItemId");

-- CreateIndex
CREATE UNIQUE INDEX "XapiLrs_organizationId_key" ON "XapiLrs"("organizationId");

-- CreateIndex
CREATE INDEX "Delivery_ltiScoreId_idx" ON "Delivery"("ltiScoreId");

-- AddForeignKey
ALTER TABLE "LtiScore" ADD CONSTRAINT "LtiScore_lineItemId_fkey" FOREIGN KEY ("lineItemId") REFERENCES "LtiLineItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiScore" ADD CONSTRAINT "LtiScore_assessmentId_fkey" FOREIGN KEY ("assessmentId") REFERENCES "Assessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delivery" ADD CONSTRAINT "Delivery_ltiScoreId_fkey" FOREIGN KEY ("ltiScoreId") REFERENCES "LtiScore"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "XapiLrs" ADD CONSTRAINT "XapiLrs_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
