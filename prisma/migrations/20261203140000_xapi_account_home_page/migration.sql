-- An organisation's own xAPI account home page (setXapiAccountHomePage): the LMS its learners'
-- externalIds belong to, so an LRS joins our statements with the LMS's own about the same learner.
ALTER TABLE "Organization" ADD COLUMN "xapiAccountHomePage" TEXT;
