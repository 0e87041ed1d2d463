-- CreateEnum
CREATE TYPE "LtiScoreAspect" AS ENUM ('TOTAL', 'ACCURACY', 'FLUENCY', 'PROSODY', 'COMPLETENESS');

-- CreateEnum
CREATE TYPE "GradeDeliveryStatus" AS ENUM ('PENDING', 'DELIVERED', 'FAILED');

-- CreateTable
CREATE TABLE "LtiPlatform" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "deploymentId" TEXT NOT NULL,
    "tokenEndpoint" TEXT NOT NULL,
    "audience" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiPlatform_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LtiKey" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "platformId" UUID NOT NULL,
    "publicJwk" JSONB NOT NULL,
    "privateKeyPem" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" TIMESTAMPTZ(3),

    CONSTRAINT "LtiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LtiLineItem" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "platformId" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "aspect" "LtiScoreAspect" NOT NULL,
    "scoreMaximum" DOUBLE PRECISION NOT NULL,
    "label" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiLineItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LtiSubmission" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "utteranceId" UUID NOT NULL,
    "lineItemId" UUID NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiSubmission_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LtiScoreDelivery" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assessmentId" UUID NOT NULL,
    "lineItemId" UUID NOT NULL,
    "userId" TEXT NOT NULL,
    "scoreGiven" DOUBLE PRECISION NOT NULL,
    "scoreMaximum" DOUBLE PRECISION NOT NULL,
    "comment" TEXT,
    "scoredAt" TIMESTAMPTZ(3) NOT NULL,
    "status" "GradeDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "lastHttpStatus" INTEGER,
    "deliveredAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LtiScoreDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LtiPlatform_organizationId_createdAt_id_idx" ON "LtiPlatform"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "LtiPlatform_organizationId_issuer_clientId_deploymentId_key" ON "LtiPlatform"("organizationId", "issuer", "clientId", "deploymentId");

-- CreateIndex
CREATE INDEX "LtiKey_platformId_createdAt_idx" ON "LtiKey"("platformId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "LtiLineItem_organizationId_createdAt_id_idx" ON "LtiLineItem"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "LtiLineItem_platformId_url_key" ON "LtiLineItem"("platformId", "url");

-- CreateIndex
CREATE UNIQUE INDEX "LtiSubmission_utteranceId_key" ON "LtiSubmission"("utteranceId");

-- CreateIndex
CREATE INDEX "LtiSubmission_lineItemId_idx" ON "LtiSubmission"("lineItemId");

-- CreateIndex
CREATE INDEX "LtiScoreDelivery_organizationId_assessmentId_idx" ON "LtiScoreDelivery"("organizationId", "assessmentId");

-- CreateIndex
CREATE INDEX "LtiScoreDelivery_status_nextAttemptAt_idx" ON "LtiScoreDelivery"("status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "LtiScoreDelivery_assessmentId_lineItemId_key" ON "LtiScoreDelivery"("assessmentId", "lineItemId");

-- AddForeignKey
ALTER TABLE "LtiPlatform" ADD CONSTRAINT "LtiPlatform_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiKey" ADD CONSTRAINT "LtiKey_platformId_fkey" FOREIGN KEY ("platformId") REFERENCES "LtiPlatform"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiLineItem" ADD CONSTRAINT "LtiLineItem_platformId_fkey" FOREIGN KEY ("platformId") REFERENCES "LtiPlatform"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiSubmission" ADD CONSTRAINT "LtiSubmission_lineItemId_fkey" FOREIGN KEY ("lineItemId") REFERENCES "LtiLineItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiSubmission" ADD CONSTRAINT "LtiSubmission_utteranceId_fkey" FOREIGN KEY ("utteranceId") REFERENCES "Utterance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiScoreDelivery" ADD CONSTRAINT "LtiScoreDelivery_lineItemId_fkey" FOREIGN KEY ("lineItemId") REFERENCES "LtiLineItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LtiScoreDelivery" ADD CONSTRAINT "LtiScoreDelivery_assessmentId_fkey" FOREIGN KEY ("assessmentId") REFERENCES "Assessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
