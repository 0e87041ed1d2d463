-- AlterTable
ALTER TABLE "Assessment" ADD COLUMN     "completenessRule" TEXT,
ADD COLUMN     "totalRule" TEXT,
ADD COLUMN     "wordTotalRule" TEXT;

-- AlterTable
ALTER TABLE "WordAssessment" ALTER COLUMN "stress" DROP NOT NULL;
