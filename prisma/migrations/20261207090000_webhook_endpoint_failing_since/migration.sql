-- An endpoint's current run of failed attempts (null once one is delivered): failing for
-- SPEECHMARK_WEBHOOK_DISABLE_AFTER_DAYS disables it.
ALTER TABLE "WebhookEndpoint" ADD COLUMN "failingSince" TIMESTAMPTZ(3);
