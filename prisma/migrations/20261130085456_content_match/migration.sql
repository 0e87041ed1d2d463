-- AlterTable
ALTER TABLE "Assessment" ADD COLUMN     "contentMatch" DOUBLE PRECISION,
ADD COLUMN     "flags" TEXT[] DEFAULT ARRAY[]::TEXT[];
