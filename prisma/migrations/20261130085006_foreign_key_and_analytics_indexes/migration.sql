-- CreateIndex
CREATE INDEX "Assessment_utteranceId_idx" ON "Assessment"("utteranceId");

-- CreateIndex
CREATE INDEX "Assessment_organizationId_source_modelVersion_id_idx" ON "Assessment"("organizationId", "source", "modelVersion", "id");

-- CreateIndex
CREATE INDEX "Job_utteranceId_idx" ON "Job"("utteranceId");

-- CreateIndex
CREATE INDEX "PhonemeAssessment_assessmentId_idx" ON "PhonemeAssessment"("assessmentId");

-- CreateIndex
CREATE INDEX "Utterance_learnerId_idx" ON "Utterance"("learnerId");
