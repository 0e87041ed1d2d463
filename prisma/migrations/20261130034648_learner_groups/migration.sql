-- AlterTable
ALTER TABLE "Learner" ADD COLUMN     "groups" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "Learner_groups_idx" ON "Learner" USING GIN ("groups");
