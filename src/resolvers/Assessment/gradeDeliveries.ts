import type { AssessmentResolvers } from '../../generated/graphql.js';

export const gradeDeliveries: AssessmentResolvers['gradeDeliveries'] = (assessment, _args, ctx) =>
  ctx.loaders.gradeDeliveriesByAssessment.load(assessment.id);
