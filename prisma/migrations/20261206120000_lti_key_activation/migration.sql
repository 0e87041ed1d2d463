-- A rotated tool key is published in the JWKS at once and signs only from activatesAt, a grace later
-- (src/lti/keys.ts), while the key it replaces signs until then (its retiredAt, now possibly ahead).
-- Keys made before this signed from their creation.
ALTER TABLE "LtiKey" ADD COLUMN "activatesAt" TIMESTAMPTZ(3);
UPDATE "LtiKey" SET "activatesAt" = "createdAt";
ALTER TABLE "LtiKey" ALTER COLUMN "activatesAt" SET NOT NULL;
ALTER TABLE "LtiKey" ALTER COLUMN "activatesAt" SET DEFAULT CURRENT_TIMESTAMP;
