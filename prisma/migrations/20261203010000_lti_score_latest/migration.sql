-- Re-sending grades: a user's latest score of a line item, found on an index (src/lti/resend.ts).
CREATE INDEX "LtiScore_lineItemId_userId_scoredAt_id_idx" ON "LtiScore"("lineItemId", "userId", "scoredAt", "id");
