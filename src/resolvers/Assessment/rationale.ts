import type { AssessmentResolvers } from '../../generated/graphql.js';

export const rationale: AssessmentResolvers['rationale'] = (assessment, _args, ctx) =>
  ctx.loaders.rationaleByAssessment.load(assessment.id);
