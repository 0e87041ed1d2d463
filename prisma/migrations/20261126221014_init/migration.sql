-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateEnum
CREATE TYPE "LabelSource" AS ENUM ('MODEL', 'HUMAN');

-- CreateTable
CREATE TABLE "Organization" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "scopes" TEXT[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Learner" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "externalId" TEXT NOT NULL,
    "displayName" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Learner_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Utterance" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "learnerId" UUID NOT NULL,
    "referenceText" TEXT NOT NULL,
    "referenceWords" JSONB NOT NULL,
    "audioSha256" TEXT NOT NULL,
    "audioFormat" TEXT NOT NULL,
    "audioBytes" INTEGER NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "sourceSampleRate" INTEGER NOT NULL,
    "sourceChannels" INTEGER NOT NULL,
    "speechMs" INTEGER NOT NULL,
    "idempotencyKey" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Utterance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "utteranceId" UUID NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "requestedModelVersion" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL DEFAULT 3,
    "runAfter" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "lockedBy" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "rawOutput" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Assessment" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "utteranceId" UUID NOT NULL,
    "jobId" UUID,
    "source" "LabelSource" NOT NULL DEFAULT 'MODEL',
    "modelName" TEXT,
    "modelVersion" TEXT,
    "executionProvider" TEXT,
    "accuracy" INTEGER NOT NULL,
    "fluency" INTEGER NOT NULL,
    "prosody" INTEGER NOT NULL,
    "completeness" INTEGER NOT NULL,
    "total" INTEGER NOT NULL,
    "inferenceMs" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Assessment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WordAssessment" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assessmentId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "accuracy" INTEGER NOT NULL,
    "stress" INTEGER NOT NULL,
    "total" INTEGER NOT NULL,

    CONSTRAINT "WordAssessment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PhonemeAssessment" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assessmentId" UUID NOT NULL,
    "wordAssessmentId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "symbol" TEXT NOT NULL,
    "accuracy" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "PhonemeAssessment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Rationale" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assessmentId" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "flags" TEXT[],
    "plausibility" JSONB NOT NULL,
    "wordCheck" JSONB NOT NULL,
    "phonemeCheck" JSONB NOT NULL,
    "wordPrecision" DOUBLE PRECISION,
    "wordRecall" DOUBLE PRECISION,
    "phonemePrecision" DOUBLE PRECISION,
    "phonemeRecall" DOUBLE PRECISION,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Rationale_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_organizationId_idx" ON "ApiKey"("organizationId");

-- CreateIndex
CREATE INDEX "Learner_organizationId_createdAt_id_idx" ON "Learner"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Learner_organizationId_externalId_key" ON "Learner"("organizationId", "externalId");

-- CreateIndex
CREATE INDEX "Utterance_organizationId_learnerId_createdAt_id_idx" ON "Utterance"("organizationId", "learnerId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Utterance_organizationId_createdAt_id_idx" ON "Utterance"("organizationId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Utterance_organizationId_idempotencyKey_key" ON "Utterance"("organizationId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "Job_status_runAfter_idx" ON "Job"("status", "runAfter");

-- CreateIndex
CREATE INDEX "Job_status_leaseExpiresAt_idx" ON "Job"("status", "leaseExpiresAt");

-- CreateIndex
CREATE INDEX "Job_organizationId_utteranceId_createdAt_idx" ON "Job"("organizationId", "utteranceId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Assessment_jobId_key" ON "Assessment"("jobId");

-- CreateIndex
CREATE INDEX "Assessment_organizationId_utteranceId_createdAt_id_idx" ON "Assessment"("organizationId", "utteranceId", "createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Assessment_organizationId_modelVersion_idx" ON "Assessment"("organizationId", "modelVersion");

-- CreateIndex
CREATE INDEX "WordAssessment_organizationId_assessmentId_idx" ON "WordAssessment"("organizationId", "assessmentId");

-- CreateIndex
CREATE UNIQUE INDEX "WordAssessment_assessmentId_index_key" ON "WordAssessment"("assessmentId", "index");

-- CreateIndex
CREATE INDEX "PhonemeAssessment_organizationId_assessmentId_idx" ON "PhonemeAssessment"("organizationId", "assessmentId");

-- CreateIndex
CREATE UNIQUE INDEX "PhonemeAssessment_wordAssessmentId_index_key" ON "PhonemeAssessment"("wordAssessmentId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "Rationale_assessmentId_key" ON "Rationale"("assessmentId");

-- CreateIndex
CREATE INDEX "Rationale_organizationId_createdAt_idx" ON "Rationale"("organizationId", "createdAt");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Learner" ADD CONSTRAINT "Learner_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Utterance" ADD CONSTRAINT "Utterance_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Utterance" ADD CONSTRAINT "Utterance_learnerId_fkey" FOREIGN KEY ("learnerId") REFERENCES "Learner"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_utteranceId_fkey" FOREIGN KEY ("utteranceId") REFERENCES "Utterance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Assessment" ADD CONSTRAINT "Assessment_utteranceId_fkey" FOREIGN KEY ("utteranceId") REFERENCES "Utterance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Assessment" ADD CONSTRAINT "Assessment_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WordAssessment" ADD CONSTRAINT "WordAssessment_assessmentId_fkey" FOREIGN KEY ("assessmentId") REFERENCES "Assessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PhonemeAssessment" ADD CONSTRAINT "PhonemeAssessment_assessmentId_fkey" FOREIGN KEY ("assessmentId") REFERENCES "Assessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PhonemeAssessment" ADD CONSTRAINT "PhonemeAssessment_wordAssessmentId_fkey" FOREIGN KEY ("wordAssessmentId") REFERENCES "WordAssessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Rationale" ADD CONSTRAINT "Rationale_assessmentId_fkey" FOREIGN KEY ("assessmentId") REFERENCES "Assessment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
