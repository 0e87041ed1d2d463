-- CreateEnum
CREATE TYPE "WordErrorType" AS ENUM ('NONE', 'OMITTED', 'INSERTED', 'MISPRONOUNCED');

-- AlterTable
ALTER TABLE "Assessment" ADD COLUMN     "timeline" JSONB;

-- AlterTable
ALTER TABLE "PhonemeAssessment" ADD COLUMN     "deleted" BOOLEAN,
ADD COLUMN     "endMs" INTEGER,
ADD COLUMN     "producedConfidence" DOUBLE PRECISION,
ADD COLUMN     "producedSymbol" TEXT,
ADD COLUMN     "startMs" INTEGER,
ADD COLUMN     "substituted" BOOLEAN;

-- AlterTable
ALTER TABLE "WordAssessment" ADD COLUMN     "endMs" INTEGER,
ADD COLUMN     "errorType" "WordErrorType",
ADD COLUMN     "startMs" INTEGER;
