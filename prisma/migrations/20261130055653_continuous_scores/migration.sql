-- AlterTable
ALTER TABLE "Assessment" ADD COLUMN     "accuracyScore" DOUBLE PRECISION,
ADD COLUMN     "completenessScore" DOUBLE PRECISION,
ADD COLUMN     "fluencyScore" DOUBLE PRECISION,
ADD COLUMN     "prosodyScore" DOUBLE PRECISION,
ADD COLUMN     "totalScore" DOUBLE PRECISION;

-- AlterTable
ALTER TABLE "WordAssessment" ADD COLUMN     "accuracyScore" DOUBLE PRECISION,
ADD COLUMN     "totalScore" DOUBLE PRECISION;
