-- Workers serving several model bundles list every version in their heartbeat (modelVersion stays the default's).
ALTER TABLE "WorkerHeartbeat" ADD COLUMN "modelVersions" TEXT[] DEFAULT ARRAY[]::TEXT[];
