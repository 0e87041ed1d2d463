-- A rater's labels attached to a reading submitted to a line item post its user's grade again, the
-- reading counted by the rater's scores (src/lti/regrade.ts regradeRatedReading); such a score names
-- the HUMAN assessment it was made from when that reading is the user's newest. No row uses the new
-- value here, so ADD VALUE is safe inside the migration's transaction.
ALTER TYPE "LtiScoreReason" ADD VALUE 'HUMAN_LABELS';
