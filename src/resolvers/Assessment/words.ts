import type { AssessmentResolvers } from '../../generated/graphql.js';

export const words: AssessmentResolvers['words'] = (assessment, _args, ctx) =>
  ctx.loaders.wordsByAssessment.load(assessment.id);
