-- A bulk re-assessment posts LTI grades only when asked to (reassessUtterances(input: {postGrades: true})).
ALTER TABLE "BulkOperation" ADD COLUMN "postGrades" BOOLEAN NOT NULL DEFAULT false;
