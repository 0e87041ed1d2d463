-- The identity inputs of an event's xAPI statements (the account home page, the IRI base), frozen
-- when its XAPI delivery is queued and at its first attempt, so that a retry or re-send after an
-- admin changed the organisation's account home page posts the same statement (src/xapi/identity.ts).
-- Null for events queued before: their statements are built from the live settings, as before.
ALTER TABLE "OutboxEvent" ADD COLUMN "xapiIdentity" JSONB;
