-- Voidings an LRS took, recorded per statement as each attempt hears its answer (src/xapi/voiding.ts):
-- an attempt that stops mid-way (the LRS drops, its lease is lost) leaves the rest to the next one,
-- which sends only those instead of every voiding again. Null for voidings not taken yet (and for
-- every row before this: sent again once, answered 409 and compared, as before).
ALTER TABLE "XapiVoiding" ADD COLUMN "confirmedAt" TIMESTAMPTZ(3);
ALTER TABLE "XapiVoiding" ADD COLUMN "confirmedEndpoint" TEXT;
