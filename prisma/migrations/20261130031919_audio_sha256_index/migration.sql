-- CreateIndex
CREATE INDEX "Utterance_audioSha256_idx" ON "Utterance"("audioSha256");
