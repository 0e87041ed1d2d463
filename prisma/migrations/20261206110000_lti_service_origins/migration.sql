-- A platform's credentials are bound to its origins (src/lti/origins.ts): the signed client
-- assertion and the AGS/NRPS access tokens go only to the issuer's origin and to those listed
-- here. Nothing is filled in for platforms registered before: one whose token endpoint or services
-- are on another origin than its issuer's (Canvas, D2L Brightspace, Blackboard Learn) has its grade
-- deliveries retried with ORIGIN_NOT_BOUND, and its roster syncs and line item creations refused,
-- until an admin lists those origins (updateLtiPlatform(input: {serviceOrigins})).
ALTER TABLE "LtiPlatform" ADD COLUMN "serviceOrigins" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
