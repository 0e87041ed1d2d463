-- CreateEnum
CREATE TYPE "AgeGroup" AS ENUM ('CHILD', 'ADULT');

-- AlterTable
ALTER TABLE "Learner" ADD COLUMN     "ageGroup" "AgeGroup";
