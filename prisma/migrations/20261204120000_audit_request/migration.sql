-- The request behind an audit event: its X-Request-Id (the same as on the request's log line and
-- any masked error) and the client's address. Null for events written before, and on the command line.
ALTER TABLE "AuditEvent" ADD COLUMN "requestId" TEXT;
ALTER TABLE "AuditEvent" ADD COLUMN "ipAddress" TEXT;
