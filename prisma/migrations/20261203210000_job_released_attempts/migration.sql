-- Attempts a stopping worker handed back (releaseJob). Each still raises maxAttempts by one; this
-- count lets the retry backoff follow the failed attempts alone (a release is no failure).
ALTER TABLE "Job" ADD COLUMN "releasedAttempts" INTEGER NOT NULL DEFAULT 0;
